//! The `Scorer` port on tract-onnx.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use domain::{Application, ModelInfo, Scorer, ScoringError};
use sha2::{Digest, Sha256};
use tract_onnx::prelude::*;

use crate::card::Card;
use crate::error::ModelLoadError;
use crate::features::{FEATURE_COUNT, encode};

const BUILT_IN_MODEL: &[u8] = include_bytes!("../../../model/credit-model.onnx");
const BUILT_IN_CARD: &str = include_str!("../../../model/credit-model.card.json");
const BUILT_IN_NAME: &str = "the built-in model (model/credit-model.onnx)";

// `into_runnable` already gives an `Arc`, shared by clones of the scorer.
type Plan = Arc<TypedSimplePlan>;

/// The credit model, optimised once and shared by every worker.
#[derive(Clone)]
pub struct OnnxScorer {
    plan: Plan,
    info: ModelInfo,
}

impl OnnxScorer {
    /// The model built into the binary.
    pub fn built_in() -> Result<Self, ModelLoadError> {
        let name = PathBuf::from(BUILT_IN_NAME);
        Self::load(&name, BUILT_IN_MODEL, &name, BUILT_IN_CARD)
    }

    /// The model at `path`, with its card beside it: `credit-model.onnx`
    /// reads `credit-model.card.json`.
    pub fn from_path(path: &Path) -> Result<Self, ModelLoadError> {
        let model = std::fs::read(path).map_err(|error| ModelLoadError::UnreadableModel {
            path: path.to_owned(),
            reason: error.to_string(),
        })?;
        let card_path = card_path_for(path);
        let card = match std::fs::read_to_string(&card_path) {
            Ok(card) => card,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Err(ModelLoadError::MissingCard { path: card_path });
            }
            Err(error) => {
                return Err(ModelLoadError::InvalidCard {
                    path: card_path,
                    reason: error.to_string(),
                });
            }
        };
        Self::load(path, &model, &card_path, &card)
    }

    fn load(
        model_path: &Path,
        model: &[u8],
        card_path: &Path,
        card: &str,
    ) -> Result<Self, ModelLoadError> {
        let invalid_card = |reason: String| ModelLoadError::InvalidCard {
            path: card_path.to_owned(),
            reason,
        };
        let (parsed, card_json) = Card::parse(card).map_err(invalid_card)?;
        let plan = optimise(model).map_err(|reason| ModelLoadError::InvalidModel {
            path: model_path.to_owned(),
            reason,
        })?;
        let digest = format!("{:x}", Sha256::digest(model));
        if !parsed.model.sha256.eq_ignore_ascii_case(&digest) {
            return Err(invalid_card(format!(
                "it describes the model with SHA-256 {}, but {} has SHA-256 {digest}",
                parsed.model.sha256,
                model_path.display()
            )));
        }
        let scorer = Self {
            plan,
            info: ModelInfo {
                version: parsed.version,
                threshold: parsed.threshold,
                card: card_json,
            },
        };
        // A graph can be valid ONNX and still not take our input: try it once.
        scorer
            .score_features(&[[0.0; FEATURE_COUNT]])
            .map_err(|error| ModelLoadError::InvalidModel {
                path: model_path.to_owned(),
                reason: error.0,
            })?;
        Ok(scorer)
    }

    /// The probability of default for each feature vector.
    pub fn score_features(&self, rows: &[[f32; FEATURE_COUNT]]) -> Result<Vec<f32>, ScoringError> {
        let flat: Vec<f32> = rows.iter().flatten().copied().collect();
        let input = Tensor::from_shape(&[rows.len(), FEATURE_COUNT], &flat)
            .map_err(|error| ScoringError(error.to_string()))?;
        let outputs = self
            .plan
            .run(tvec!(input.into()))
            .map_err(|error| ScoringError(format!("{error:#}")))?;
        let output = outputs
            .first()
            .ok_or_else(|| ScoringError("the model has no output".to_owned()))?;
        let probabilities = output
            .to_plain_array_view::<f32>()
            .map_err(|error| ScoringError(format!("the output is not f32: {error}")))?;
        let probabilities: Vec<f32> = probabilities.iter().copied().collect();
        if probabilities.len() != rows.len() {
            return Err(ScoringError(format!(
                "the model gave {} outputs for {} applications",
                probabilities.len(),
                rows.len()
            )));
        }
        if let Some(bad) = probabilities.iter().find(|p| !(0.0..=1.0).contains(*p)) {
            return Err(ScoringError(format!(
                "the model gave {bad}, not a probability"
            )));
        }
        Ok(probabilities)
    }
}

impl Scorer for OnnxScorer {
    fn model(&self) -> &ModelInfo {
        &self.info
    }

    fn score(&self, applications: &[Application]) -> Result<Vec<f32>, ScoringError> {
        let rows: Vec<[f32; FEATURE_COUNT]> = applications.iter().map(encode).collect();
        self.score_features(&rows)
    }
}

/// `dir/name.onnx` → `dir/name.card.json`.
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
    fn the_built_in_model_loads_with_its_card() {
        let scorer = OnnxScorer::built_in().unwrap();
        assert_eq!(scorer.model().version, "german-credit-2026.11.0");
        assert!(scorer.model().threshold > 0.0 && scorer.model().threshold < 1.0);
        assert_eq!(scorer.model().card["version"], "german-credit-2026.11.0");
    }
}
