//! The ports: what the decision flow needs from the outside world.
//!
//! Adapters implement them (Redis, PostgreSQL, ONNX, in-memory); the flow
//! only ever sees these traits. Their errors speak of what went wrong for the
//! flow, not of the driver that failed.

use async_trait::async_trait;
use thiserror::Error;

use crate::application::Application;
use crate::cache_key::CacheKey;
use crate::decision::{DecisionId, DecisionPage, DecisionRecord, Verdict};

#[derive(Debug, Error)]
pub enum CacheError {
    #[error("the decision cache is unavailable: {0}")]
    Unavailable(String),
    #[error("the decision cache did not answer within {0} ms")]
    TimedOut(u64),
}

/// What the cache holds under one key.
#[derive(Debug, Clone, PartialEq)]
pub enum CacheEntry {
    Found(Verdict),
    Missing,
    /// Something is stored but it is not a verdict this service can read.
    Unreadable(String),
}

/// Remembers verdicts by cache key for a while. An optimisation only: the
/// flow survives every error it returns. Reads and writes take many keys so
/// that a batch costs one round trip each.
#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait DecisionCache: Send + Sync {
    /// The entry under each key, in the order of the keys.
    async fn read(&self, keys: &[CacheKey]) -> Result<Vec<CacheEntry>, CacheError>;
    /// Stores each verdict under its key, for the cache's time to live.
    async fn write(&self, entries: &[(CacheKey, Verdict)]) -> Result<(), CacheError>;
    /// Whether the cache answers at all (for readiness).
    async fn ping(&self) -> Result<(), CacheError>;
}

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("the decision log is unavailable: {0}")]
    Unavailable(String),
    #[error("no logged decision has the id {0}")]
    UnknownCursor(DecisionId),
}

/// The decision log: every decision ever served, in the order it was logged.
#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait DecisionStore: Send + Sync {
    /// Durably writes the records, all or none, before returning.
    async fn append(&self, records: &[DecisionRecord]) -> Result<(), StoreError>;
    async fn get(&self, id: DecisionId) -> Result<Option<DecisionRecord>, StoreError>;
    /// Up to `limit` records logged before `before` (or the newest), newest first.
    async fn list(
        &self,
        limit: u16,
        before: Option<DecisionId>,
    ) -> Result<DecisionPage, StoreError>;
    /// Whether the log answers at all (for readiness).
    async fn ping(&self) -> Result<(), StoreError>;
}

#[derive(Debug, Error)]
#[error("the model could not score: {0}")]
pub struct ScoringError(pub String);

/// What the service tells about the model it serves.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelInfo {
    pub version: String,
    /// Applications with a probability of default below it are approved.
    pub threshold: f32,
    /// The model card, served as it is.
    pub card: serde_json::Value,
}

/// The credit model. Scoring is pure computation in microseconds, so it is
/// a plain function rather than an async one.
#[cfg_attr(test, mockall::automock)]
pub trait Scorer: Send + Sync {
    fn model(&self) -> &ModelInfo;
    /// The probability of default of each application, in order.
    fn score(&self, applications: &[Application]) -> Result<Vec<f32>, ScoringError>;
}
