//! The `Scorer` port on tract-onnx.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use domain::{Application, ModelInfo, Reason, Scorer, ScoringError};
use sha2::{Digest, Sha256};
use tract_onnx::prelude::*;

use crate::card::{Card, ReasonRules};
use crate::error::ModelLoadError;
use crate::features::{FEATURE_COUNT, encode};

const BUILT_IN_MODEL: &[u8] = include_bytes!("../../../model/credit-model.onnx");
const BUILT_IN_CARD: &str = include_str!("../../../model/credit-model.card.json");
const BUILT_IN_NAME: &str = "the built-in model (model/credit-model.onnx)";

// `into_runnable` already gives an `Arc`, shared by clones of the scorer.
type Plan = Arc<TypedSimplePlan>;

/// What loading a model checks, in the order it checks them; each depends
/// on the ones before.
pub const CHECKS: [&str; 8] = [
    "the model file is a regular file within the size bound",
    "the card is beside it, a regular file within its bound, in UTF-8",
    "the card: JSON, a version, a threshold in (0, 1), the contract's features in order, a reason per feature, the baseline",
    "the model is ONNX that tract can optimise",
    "the card's SHA-256 is the model file's",
    "the card's most favourable values are values of their features",
    "a trial run: both outputs, a probability and its log-odds, agree",
    "the age rule: from the card's age on, being older never raises the log-odds above a younger age's",
];

/// The credit model, optimised once and shared by every worker.
#[derive(Clone)]
pub struct OnnxScorer {
    plan: Plan,
    info: ModelInfo,
    reasons: Arc<Reasons>,
}

/// What a decline's reasons are made of, from the card: each feature's most
/// favourable value (as a feature number), its reason, and the rules.
struct Reasons {
    references: [f32; FEATURE_COUNT],
    of_feature: Vec<Reason>,
    rules: ReasonRules,
    age: usize,
}

/// The model's two outputs for a set of feature vectors.
struct Scores {
    probabilities: Vec<f32>,
    logits: Vec<f32>,
}

impl OnnxScorer {
    /// The model built into the binary.
    pub fn built_in() -> Result<Self, ModelLoadError> {
        let name = PathBuf::from(BUILT_IN_NAME);
        Self::load(&name, BUILT_IN_MODEL, &name, BUILT_IN_CARD, &mut |_| {})
    }

    /// The version of the model built into the binary, from its card alone.
    pub fn built_in_version() -> String {
        let card: serde_json::Value =
            serde_json::from_str(BUILT_IN_CARD).expect("the built-in card is JSON");
        card["version"].as_str().unwrap_or("unknown").to_owned()
    }

    /// The model at `path`, with its card beside it: `credit-model.onnx`
    /// reads `credit-model.card.json`.
    pub fn from_path(path: &Path) -> Result<Self, ModelLoadError> {
        Self::inspect(path, &mut |_| {})
    }

    /// [`OnnxScorer::from_path`], telling `passed` each check as it passes,
    /// in order ([`CHECKS`]); the error is the first check that failed.
    pub fn inspect(
        path: &Path,
        passed: &mut dyn FnMut(&'static str),
    ) -> Result<Self, ModelLoadError> {
        let model = read_bounded(path, MODEL_SIZE_LIMIT).map_err(|reason| {
            ModelLoadError::UnreadableModel {
                path: path.to_owned(),
                reason,
            }
        })?;
        passed(CHECKS[0]);
        let card_path = card_path_for(path);
        if !card_path.exists() {
            return Err(ModelLoadError::MissingCard { path: card_path });
        }
        let card = read_bounded(&card_path, CARD_SIZE_LIMIT)
            .and_then(|bytes| String::from_utf8(bytes).map_err(|_| "it is not UTF-8".to_owned()))
            .map_err(|reason| ModelLoadError::InvalidCard {
                path: card_path.clone(),
                reason,
            })?;
        passed(CHECKS[1]);
        Self::load(path, &model, &card_path, &card, passed)
    }

    fn load(
        model_path: &Path,
        model: &[u8],
        card_path: &Path,
        card: &str,
        passed: &mut dyn FnMut(&'static str),
    ) -> Result<Self, ModelLoadError> {
        let invalid_card = |reason: String| ModelLoadError::InvalidCard {
            path: card_path.to_owned(),
            reason,
        };
        let (parsed, card_json) = Card::parse(card).map_err(invalid_card)?;
        passed(CHECKS[2]);
        let plan = optimise(model).map_err(|reason| ModelLoadError::InvalidModel {
            path: model_path.to_owned(),
            reason,
        })?;
        passed(CHECKS[3]);
        let digest = format!("{:x}", Sha256::digest(model));
        if !parsed.model.sha256.eq_ignore_ascii_case(&digest) {
            return Err(invalid_card(format!(
                "it describes the model with SHA-256 {}, but {} has SHA-256 {digest}",
                parsed.model.sha256,
                model_path.display()
            )));
        }
        passed(CHECKS[4]);
        let invalid_model = |reason: String| ModelLoadError::InvalidModel {
            path: model_path.to_owned(),
            reason,
        };
        let references: [f32; FEATURE_COUNT] = parsed
            .references()
            .map_err(invalid_card)?
            .try_into()
            .expect("the card has one feature per input, checked at parse");
        let of_feature: Vec<Reason> = parsed
            .features
            .iter()
            .map(|feature| {
                let reason = feature.reason.as_ref().expect("checked at parse");
                Reason {
                    code: reason.code.clone(),
                    feature: feature.name.clone(),
                    description: reason.description.clone(),
                }
            })
            .collect();
        let baseline = parsed.baseline().map_err(invalid_card)?;
        let rules = parsed.reasons.expect("checked at parse");
        let scorer = Self {
            plan,
            info: ModelInfo {
                version: parsed.version,
                threshold: parsed.threshold,
                card: card_json,
                baseline,
                reasons: domain::ReasonRules {
                    of_field: of_feature.clone(),
                    at_most: rules.at_most,
                    age_never_a_reason_from: rules.age_never_a_reason_from,
                },
            },
            reasons: Arc::new(Reasons {
                references,
                of_feature,
                rules,
                age: Application::FIELDS
                    .iter()
                    .position(|field| field.name == "age_years")
                    .expect("an application has an age"),
            }),
        };
        passed(CHECKS[5]);
        // A graph can be valid ONNX and still not take our input: try it once.
        scorer
            .run(&[[0.0; FEATURE_COUNT]])
            .map_err(|error| invalid_model(error.0))?;
        passed(CHECKS[6]);
        scorer.check_age_rule().map_err(invalid_model)?;
        passed(CHECKS[7]);
        Ok(scorer)
    }

    /// The probability of default for each feature vector.
    pub fn score_features(&self, rows: &[[f32; FEATURE_COUNT]]) -> Result<Vec<f32>, ScoringError> {
        self.run(rows).map(|scores| scores.probabilities)
    }

    /// Both outputs: the probability of default and its log-odds, checked to
    /// be one and the same (the sigmoid of the one is the other).
    fn run(&self, rows: &[[f32; FEATURE_COUNT]]) -> Result<Scores, ScoringError> {
        let flat: Vec<f32> = rows.iter().flatten().copied().collect();
        let input = Tensor::from_shape(&[rows.len(), FEATURE_COUNT], &flat)
            .map_err(|error| ScoringError(error.to_string()))?;
        let outputs = self
            .plan
            .run(tvec!(input.into()))
            .map_err(|error| ScoringError(format!("{error:#}")))?;
        let column = |index: usize, name: &str| -> Result<Vec<f32>, ScoringError> {
            let output = outputs
                .get(index)
                .ok_or_else(|| ScoringError(format!("the model has no output {index} ({name})")))?;
            let values: Vec<f32> = output
                .to_plain_array_view::<f32>()
                .map_err(|error| ScoringError(format!("the {name} output is not f32: {error}")))?
                .iter()
                .copied()
                .collect();
            if values.len() != rows.len() {
                return Err(ScoringError(format!(
                    "the model gave {} {name} values for {} applications",
                    values.len(),
                    rows.len()
                )));
            }
            Ok(values)
        };
        let probabilities = column(0, "probability_of_default")?;
        let logits = column(1, "logit")?;
        if let Some(bad) = probabilities.iter().find(|p| !(0.0..=1.0).contains(*p)) {
            return Err(ScoringError(format!(
                "the model gave {bad}, not a probability"
            )));
        }
        if let Some((p, l)) = probabilities
            .iter()
            .zip(&logits)
            .find(|(p, l)| (**p - 1.0 / (1.0 + (-**l).exp())).abs() > 1e-4)
        {
            return Err(ScoringError(format!(
                "the model's second output is not the log-odds of its first ({l} for {p})"
            )));
        }
        Ok(Scores {
            probabilities,
            logits,
        })
    }

    /// The reasons of each feature vector, in one run of the model: each
    /// vector as it is and with each feature in turn set to its most
    /// favourable value; the features whose value raised the log-odds the
    /// most, most first (ties in feature order).
    ///
    /// A feature already at its most favourable value gets no variant: the
    /// variant would be the vector itself, a rise of 0, which is never above
    /// `min_logit` (the card refuses one below 0). A typical decline has a
    /// quarter of its features there, so the run is that much smaller.
    pub fn explain_features(
        &self,
        rows: &[[f32; FEATURE_COUNT]],
    ) -> Result<Vec<Vec<Reason>>, ScoringError> {
        let references = &self.reasons.references;
        let mut variants = Vec::with_capacity(rows.len() * (FEATURE_COUNT + 1));
        for row in rows {
            variants.push(*row);
            for feature in self.varied_features(row) {
                let mut variant = *row;
                variant[feature] = references[feature];
                variants.push(variant);
            }
        }
        let logits = self.run(&variants)?.logits;
        // Each row's own log-odds, then its variants', in the order above.
        let mut at = 0;
        Ok(rows
            .iter()
            .map(|row| {
                let own = logits[at];
                let raised: Vec<(usize, f32)> = self
                    .varied_features(row)
                    .zip(&logits[at + 1..])
                    .map(|(feature, &logit)| (feature, own - logit))
                    .collect();
                at += 1 + raised.len();
                self.reasons_of(row, raised)
            })
            .collect())
    }

    /// The features of a row that are not at their most favourable value,
    /// in feature order: those that get a variant in the reasons' run.
    fn varied_features<'a>(
        &'a self,
        row: &'a [f32; FEATURE_COUNT],
    ) -> impl Iterator<Item = usize> + 'a {
        let references = &self.reasons.references;
        (0..FEATURE_COUNT).filter(move |&feature| row[feature] != references[feature])
    }

    /// The reasons of one row from how much each varied feature raised its
    /// log-odds.
    fn reasons_of(&self, row: &[f32; FEATURE_COUNT], mut raised: Vec<(usize, f32)>) -> Vec<Reason> {
        let reasons = &self.reasons;
        let elderly = row[reasons.age] >= f32::from(reasons.rules.age_never_a_reason_from);
        raised.retain(|&(feature, by)| {
            by > reasons.rules.min_logit && !(elderly && feature == reasons.age)
        });
        raised.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        raised
            .into_iter()
            .take(reasons.rules.at_most)
            .map(|(feature, _)| reasons.of_feature[feature].clone())
            .collect()
    }

    /// Regulation B §1002.6(b)(2)(ii): the model must never value an age at
    /// or past the card's elderly age below any younger age. Checked over
    /// every allowed age, all else at its most favourable value.
    fn check_age_rule(&self) -> Result<(), String> {
        let reasons = &self.reasons;
        let ages: Vec<u8> =
            (domain::fields::AgeYears::MIN..=domain::fields::AgeYears::MAX).collect();
        let rows: Vec<[f32; FEATURE_COUNT]> = ages
            .iter()
            .map(|&age| {
                let mut row = reasons.references;
                row[reasons.age] = f32::from(age);
                row
            })
            .collect();
        let logits = self.run(&rows).map_err(|error| error.0)?.logits;
        let mut lowest_younger = f32::INFINITY;
        for (&age, &logit) in ages.iter().zip(&logits) {
            if age >= reasons.rules.age_never_a_reason_from && logit > lowest_younger + 1e-6 {
                return Err(format!(
                    "its age term favours the young: age {age} has log-odds {logit}, above the \
                     {lowest_younger} of a younger age (Regulation B §1002.6(b)(2)(ii))"
                ));
            }
            lowest_younger = lowest_younger.min(logit);
        }
        Ok(())
    }
}

impl Scorer for OnnxScorer {
    fn model(&self) -> &ModelInfo {
        &self.info
    }

    fn score(&self, applications: &[&Application]) -> Result<Vec<f32>, ScoringError> {
        let rows: Vec<[f32; FEATURE_COUNT]> = applications.iter().map(|a| encode(a)).collect();
        self.score_features(&rows)
    }

    fn explain(&self, declined: &[&Application]) -> Result<Vec<Vec<Reason>>, ScoringError> {
        let rows: Vec<[f32; FEATURE_COUNT]> = declined.iter().map(|a| encode(a)).collect();
        self.explain_features(&rows)
    }
}

/// `dir/name.onnx` → `dir/name.card.json`.
/// The largest model file read: the built-in one is a few KiB; a model of
/// this service has no reason to be larger than this.
pub const MODEL_SIZE_LIMIT: u64 = 64 * 1024 * 1024;
/// The largest card read.
pub const CARD_SIZE_LIMIT: u64 = 4 * 1024 * 1024;

/// The bytes of a regular file of at most `limit` bytes. A device, a pipe,
/// a socket or a directory (`/dev/zero`, say) is refused before a byte is
/// read, and a file that grows past the limit while read is refused at the
/// limit.
///
/// The file's type is looked at before it is opened: opening a FIFO blocks
/// until a writer comes, which may be never. It is opened without blocking
/// too, and looked at again once open, in case the path changed in between.
fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let not_regular = || "it is not a regular file".to_owned();
    let metadata = std::fs::metadata(path).map_err(|error| error.to_string())?;
    if !metadata.is_file() {
        return Err(not_regular());
    }
    let file = open_without_blocking(path).map_err(|error| error.to_string())?;
    let metadata = file.metadata().map_err(|error| error.to_string())?;
    if !metadata.is_file() {
        return Err(not_regular());
    }
    if metadata.len() > limit {
        return Err(format!(
            "it has {} bytes; at most {limit} are read",
            metadata.len()
        ));
    }
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|error| error.to_string())?;
    if bytes.len() as u64 > limit {
        return Err(format!("it has more than {limit} bytes"));
    }
    Ok(bytes)
}

#[cfg(unix)]
fn open_without_blocking(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
}

#[cfg(not(unix))]
fn open_without_blocking(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::File::open(path)
}

fn card_path_for(model: &Path) -> PathBuf {
    model.with_extension("card.json")
}

fn optimise(model: &[u8]) -> Result<Plan, String> {
    let mut reader = model;
    tract_onnx::onnx()
        .model_for_read(&mut reader)
        .and_then(|model| model.into_optimized())
        .and_then(|model| model.into_runnable())
        .map_err(|error| format!("{error:#}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_card_of_a_model_lies_beside_it() {
        assert_eq!(
            card_path_for(Path::new("/srv/models/credit-model.onnx")),
            PathBuf::from("/srv/models/credit-model.card.json")
        );
    }

    #[test]
    fn a_device_is_refused_before_a_byte_is_read() {
        let Err(error) = OnnxScorer::from_path(Path::new("/dev/zero")) else {
            panic!("/dev/zero loaded as a model");
        };
        assert_eq!(
            error.to_string(),
            "cannot read the model /dev/zero: it is not a regular file"
        );
        assert!(OnnxScorer::from_path(Path::new("/tmp")).is_err());
    }

    /// Opening a FIFO blocks until a writer comes: it is refused without
    /// being opened.
    #[test]
    fn a_fifo_is_refused_without_waiting_for_a_writer() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("model.onnx");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let Err(error) = OnnxScorer::from_path(&fifo) else {
            panic!("a FIFO loaded as a model");
        };
        assert!(
            error.to_string().ends_with("it is not a regular file"),
            "{error}"
        );
    }

    #[test]
    fn reads_stop_at_the_limit() {
        let dir = std::env::temp_dir().join(format!("onnx-scorer-limit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("big.onnx");
        std::fs::write(&file, vec![0u8; 2048]).unwrap();
        assert_eq!(
            read_bounded(&file, 1024),
            Err("it has 2048 bytes; at most 1024 are read".to_owned())
        );
        assert_eq!(read_bounded(&file, 2048).unwrap().len(), 2048);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_built_in_model_loads_with_its_card() {
        let scorer = OnnxScorer::built_in().unwrap();
        assert_eq!(scorer.model().version, "german-credit-2026.11.0");
        assert!(scorer.model().threshold > 0.0 && scorer.model().threshold < 1.0);
        assert_eq!(scorer.model().card["version"], "german-credit-2026.11.0");
    }
}
