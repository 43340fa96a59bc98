//! The credit model, served with tract-onnx.
//!
//! The model trained by `model/train.py` is built into the binary; a path can
//! replace it (`CREDIT_DECISIONS_MODEL`), with its card beside it. Either way
//! the model is loaded, checked against its card and the contract's features,
//! and optimised once; every worker then shares the one plan.

mod card;
mod directory;
mod error;
mod features;
mod scorer;

pub use directory::{Refused, load_directory};
pub use error::ModelLoadError;
pub use features::{FEATURE_COUNT, encode};
pub use scorer::{CHECKS, OnnxScorer};
