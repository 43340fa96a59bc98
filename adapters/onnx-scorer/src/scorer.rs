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
    /// `min_logit` (the card refuses one below `MIN_LOGIT_FLOOR`, which is
    /// above f32 rounding). A typical decline has a
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
    fn reads_stop_at_the_limit_of_a_file_whose_size_is_wrong() {
        // /proc says its files are empty: only reading tells their size.
        let status = Path::new("/proc/self/status");
        assert_eq!(std::fs::metadata(status).unwrap().len(), 0);
        assert_eq!(
            read_bounded(status, 16),
            Err("it has more than 16 bytes".to_owned())
        );
    }

    /// Sparse files just past each bound: refused by their size, unread.
    #[test]
    fn a_model_or_a_card_past_its_bound_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("huge.onnx");
        std::fs::File::create(&model)
            .unwrap()
            .set_len(64 * 1024 * 1024 + 1)
            .unwrap();
        assert_eq!(
            OnnxScorer::from_path(&model).err().unwrap().to_string(),
            format!(
                "cannot read the model {}: it has 67108865 bytes; at most 67108864 are read",
                model.display()
            )
        );
        let model = dir.path().join("small.onnx");
        std::fs::copy(repository_model(), &model).unwrap();
        let card = dir.path().join("small.card.json");
        std::fs::File::create(&card)
            .unwrap()
            .set_len(4 * 1024 * 1024 + 1)
            .unwrap();
        assert_eq!(
            OnnxScorer::from_path(&model).err().unwrap().to_string(),
            format!(
                "the model card {} cannot be used: it has 4194305 bytes; at most 4194304 are read",
                card.display()
            )
        );
    }

    #[test]
    fn every_version_in_the_repository_loads() {
        let versions = model_dir("versions");
        for version in [
            "german-credit-2026.11.0",
            "german-credit-scorecard-2026.12.0",
        ] {
            let scorer = OnnxScorer::from_path(&versions.join(format!("{version}.onnx")))
                .unwrap_or_else(|error| panic!("{version}: {error}"));
            assert_eq!(scorer.model().version, version);
        }
    }

    /// Why loading `model/testdata/<file>` failed: it must be refused as a
    /// model, not for its card or its size.
    fn refusal_of_testdata(file: &str) -> String {
        match OnnxScorer::from_path(&model_dir("testdata").join(file)) {
            Err(ModelLoadError::InvalidModel { reason, .. }) => reason,
            Err(other) => panic!("{file} was refused for another reason: {other}"),
            Ok(_) => panic!("{file} loaded"),
        }
    }

    #[test]
    fn a_model_that_favours_the_young_is_refused() {
        let reason = refusal_of_testdata("young-favoured.onnx");
        assert!(
            reason.starts_with("its age term favours the young: age 62 has log-odds"),
            "{reason}"
        );
    }

    /// A feature whose value changed nothing is no reason, even with the
    /// smallest `min_logit` a card may set: the scorecard gives every value
    /// of a bin the same points, so a value in the most favourable one's
    /// bin rises by 0 alone, and by a rounding error in the reasons' run.
    #[test]
    fn a_feature_that_changed_nothing_is_no_reason() {
        let versions = model_dir("versions");
        let model_path = versions.join("german-credit-scorecard-2026.12.0.onnx");
        let card_path = versions.join("german-credit-scorecard-2026.12.0.card.json");
        let mut card: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&card_path).unwrap()).unwrap();
        card["reasons"]["min_logit"] = serde_json::json!(crate::card::MIN_LOGIT_FLOOR);
        let scorer = OnnxScorer::load(
            &model_path,
            &std::fs::read(&model_path).unwrap(),
            &card_path,
            &card.to_string(),
            &mut |_| {},
        )
        .unwrap();
        let best = scorer.reasons.references;
        let own = scorer.run(&[best]).unwrap().logits[0];
        let duration = best[DURATION];
        let same_bin = (1..=72)
            .map(|months| months as f32)
            .find(|&months| {
                let row = references_with(&scorer, DURATION, months);
                months != duration && scorer.run(&[row]).unwrap().logits[0] == own
            })
            .expect("another duration in the most favourable one's bin");
        let row = references_with(&scorer, DURATION, same_bin);
        assert_eq!(
            scorer.explain_features(&[row]).unwrap(),
            vec![Vec::<Reason>::new()]
        );
    }

    /// Reasons are ranked by the second output: a model whose second output
    /// is not the first's log-odds is refused by its trial run.
    #[test]
    fn a_model_whose_outputs_disagree_is_refused() {
        let reason = refusal_of_testdata("outputs-disagree.onnx");
        assert!(
            reason.starts_with("the model's second output is not the log-odds of its first"),
            "{reason}"
        );
    }

    /// The port scores and explains applications as their feature vectors.
    #[test]
    fn the_port_scores_and_explains_applications() {
        let scorer = OnnxScorer::built_in().unwrap();
        let read = |text: &str| {
            let body: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(text).unwrap();
            Application::from_json(&body).unwrap()
        };
        let example = read(include_str!(
            "../../../domain/testdata/example-application.json"
        ));
        let declined = read(include_str!(
            "../../../domain/testdata/declined-application.json"
        ));
        let rows = [encode(&example), encode(&declined)];
        let scores = scorer.score(&[&example, &declined]).unwrap();
        assert_eq!(scores, scorer.score_features(&rows).unwrap());
        assert!(scores[1] >= scorer.model().threshold, "{scores:?}");
        let reasons = scorer.explain(&[&declined]).unwrap();
        assert_eq!(reasons, scorer.explain_features(&rows[1..]).unwrap());
        assert!(!reasons[0].is_empty());
    }

    #[test]
    fn the_built_in_model_loads_with_its_card() {
        let scorer = OnnxScorer::built_in().unwrap();
        assert_eq!(scorer.model().version, "german-credit-2026.11.0");
        assert!(scorer.model().threshold > 0.0 && scorer.model().threshold < 1.0);
        assert_eq!(scorer.model().card["version"], "german-credit-2026.11.0");
        assert_eq!(OnnxScorer::built_in_version(), scorer.model().version);
    }

    /// `model/<path>` in the repository.
    fn model_dir(path: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../model")
            .join(path)
    }

    fn repository_model() -> PathBuf {
        model_dir("credit-model.onnx")
    }

    #[test]
    fn a_model_file_loads_with_the_card_beside_it_and_not_without() {
        let scorer = OnnxScorer::from_path(&repository_model()).unwrap();
        assert_eq!(scorer.model().version, "german-credit-2026.11.0");

        let dir = tempfile::tempdir().unwrap();
        let alone = dir.path().join("alone.onnx");
        std::fs::copy(repository_model(), &alone).unwrap();
        let Err(error) = OnnxScorer::from_path(&alone) else {
            panic!("a model without its card loaded");
        };
        assert!(
            matches!(&error, ModelLoadError::MissingCard { path } if *path == dir.path().join("alone.card.json")),
            "{error}"
        );
    }

    /// The most favourable row with one feature changed.
    fn references_with(scorer: &OnnxScorer, feature: usize, value: f32) -> [f32; FEATURE_COUNT] {
        let mut row = scorer.reasons.references;
        row[feature] = value;
        row
    }

    const AGE: usize = 11;
    const DURATION: usize = 1;
    const CREDIT_AMOUNT: usize = 4;

    #[test]
    fn each_row_gets_its_own_probability() {
        let scorer = OnnxScorer::built_in().unwrap();
        let best = scorer.reasons.references;
        let young = references_with(&scorer, AGE, 19.0);
        let scores = scorer.score_features(&[best, young, best]).unwrap();
        assert_eq!(scores.len(), 3);
        assert!(scores.iter().all(|p| (0.0..=1.0).contains(p)), "{scores:?}");
        assert_eq!(scores[0], scores[2]);
        assert!(scores[1] > scores[0], "younger is riskier here: {scores:?}");
    }

    fn codes(reasons: &[Reason]) -> Vec<&str> {
        reasons
            .iter()
            .map(|reason| reason.feature.as_str())
            .collect()
    }

    #[test]
    fn a_row_at_its_most_favourable_values_has_no_reason() {
        let scorer = OnnxScorer::built_in().unwrap();
        let reasons = scorer
            .explain_features(&[scorer.reasons.references])
            .unwrap();
        assert_eq!(reasons, vec![Vec::<Reason>::new()]);
    }

    #[test]
    fn a_reason_is_a_feature_that_raised_the_log_odds_most_first() {
        let scorer = OnnxScorer::built_in().unwrap();
        let long = references_with(&scorer, DURATION, 60.0);
        assert_eq!(
            codes(&scorer.explain_features(&[long]).unwrap()[0]),
            ["duration_months"]
        );
        // Every feature at its least favourable value: the largest rises,
        // at most the card's number of them, largest first.
        let worst = least_favourable(&scorer);
        assert_ranked(&scorer, worst, scorer.reasons.rules.at_most);
        // A low risk with three features off their best (its log-odds are
        // negative, where a ratio would rank them the other way round).
        let mut three = references_with(&scorer, DURATION, 60.0);
        three[AGE] = 19.0;
        three[CREDIT_AMOUNT] = 15_000.0;
        assert!(scorer.run(&[three]).unwrap().logits[0] < 0.0);
        assert_ranked(&scorer, three, 3);
    }

    /// `row`'s reasons are `count` features, those whose most favourable
    /// value lowers its log-odds the most, most first.
    fn assert_ranked(scorer: &OnnxScorer, row: [f32; FEATURE_COUNT], count: usize) {
        let reasons = &scorer.explain_features(&[row]).unwrap()[0];
        assert_eq!(reasons.len(), count, "{reasons:?}");
        let own = scorer.run(&[row]).unwrap().logits[0];
        let rise = |feature: usize| {
            let mut variant = row;
            variant[feature] = scorer.reasons.references[feature];
            own - scorer.run(&[variant]).unwrap().logits[0]
        };
        let position = |name: &str| {
            Application::FIELDS
                .iter()
                .position(|field| field.name == name)
                .unwrap()
        };
        let rises: Vec<f32> = reasons
            .iter()
            .map(|reason| rise(position(&reason.feature)))
            .collect();
        assert!(rises.windows(2).all(|pair| pair[0] > pair[1]), "{rises:?}");
        // No feature left out rose more than the last one kept.
        let smallest_kept = *rises.last().unwrap();
        for (feature, field) in Application::FIELDS.iter().enumerate() {
            if !codes(reasons).contains(&field.name) {
                let left_out = rise(feature);
                assert!(left_out <= smallest_kept, "{} rose {left_out}", field.name);
            }
        }
    }

    /// Each feature at the value whose log-odds are the highest, the others
    /// at their most favourable.
    fn least_favourable(scorer: &OnnxScorer) -> [f32; FEATURE_COUNT] {
        let mut worst = scorer.reasons.references;
        for (feature, field) in Application::FIELDS.iter().enumerate() {
            let candidates: Vec<f32> = match field.kind {
                domain::fields::FieldKind::Categorical { values, .. } => {
                    (0..values.len()).map(|code| code as f32).collect()
                }
                domain::fields::FieldKind::Boolean => vec![0.0, 1.0],
                domain::fields::FieldKind::Integer { min, max } => {
                    vec![min as f32, max as f32]
                }
                domain::fields::FieldKind::Number { exclusive_min, max } => {
                    vec![(exclusive_min + 1.0) as f32, max as f32]
                }
            };
            let rows: Vec<_> = candidates
                .iter()
                .map(|&value| references_with(scorer, feature, value))
                .collect();
            let logits = scorer.run(&rows).unwrap().logits;
            let highest = (0..rows.len())
                .max_by(|&a, &b| logits[a].total_cmp(&logits[b]))
                .unwrap();
            worst[feature] = candidates[highest];
        }
        worst
    }

    /// Regulation B: from the card's age on, age is never a reason, though
    /// the model scores it (this model favours age up to its maximum).
    #[test]
    fn age_is_no_reason_from_the_cards_age_on() {
        let scorer = OnnxScorer::built_in().unwrap();
        let from = f32::from(scorer.reasons.rules.age_never_a_reason_from);
        let younger = references_with(&scorer, AGE, from - 1.0);
        let at = references_with(&scorer, AGE, from);
        let reasons = scorer.explain_features(&[younger, at]).unwrap();
        assert_eq!(codes(&reasons[0]), ["age_years"]);
        assert_eq!(reasons[1], Vec::<Reason>::new());
        let scores = scorer
            .score_features(&[at, scorer.reasons.references])
            .unwrap();
        assert!(
            scores[0] > scores[1],
            "the model still scores age: {scores:?}"
        );
    }

    /// Rows explained together get what each gets alone: the one run's
    /// variants are told apart by position.
    #[test]
    fn rows_explained_together_get_their_own_reasons() {
        let scorer = OnnxScorer::built_in().unwrap();
        // The first has no variant: a later row read at the wrong place
        // would read its log-odds.
        let rows = [
            scorer.reasons.references,
            references_with(&scorer, DURATION, 60.0),
            least_favourable(&scorer),
            references_with(&scorer, AGE, 19.0),
            least_favourable(&scorer),
        ];
        let alone: Vec<Vec<Reason>> = rows
            .iter()
            .map(|row| scorer.explain_features(&[*row]).unwrap().remove(0))
            .collect();
        assert_eq!(scorer.explain_features(&rows).unwrap(), alone);
        assert!(alone.iter().filter(|reasons| reasons.is_empty()).count() == 1);
    }
}
