use std::path::PathBuf;

use thiserror::Error;

/// Why a model was refused at load. Each names the file at fault.
#[derive(Debug, Error)]
pub enum ModelLoadError {
    #[error("cannot read the model {path}: {reason}")]
    UnreadableModel { path: PathBuf, reason: String },
    #[error("{path} is not a valid ONNX model of this service: {reason}")]
    InvalidModel { path: PathBuf, reason: String },
    #[error("the model card {path} is missing: a model is served only with its card beside it")]
    MissingCard { path: PathBuf },
    #[error("the model card {path} cannot be used: {reason}")]
    InvalidCard { path: PathBuf, reason: String },
}
