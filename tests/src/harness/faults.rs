//! Adapters that fail, to drive the service's failure paths over HTTP
//! without touching a real server.

use async_trait::async_trait;
use domain::{
    Application, CacheEntry, CacheError, CacheKey, DecisionCache, DecisionId, DecisionPage,
    DecisionRecord, DecisionStore, HourlyTally, LogEntry, MinuteWindow, ModelInfo, Reason, Scorer,
    ScoringError, StoreError, Verdict,
};

/// A decision log that is down.
pub struct StoreOutage;

#[async_trait]
impl DecisionStore for StoreOutage {
    async fn append(&self, _: &[LogEntry]) -> Result<(), StoreError> {
        Err(down())
    }
    async fn tally(&self, _: MinuteWindow) -> Result<Vec<HourlyTally>, StoreError> {
        Err(down())
    }
    async fn get(&self, _: DecisionId) -> Result<Option<DecisionRecord>, StoreError> {
        Err(down())
    }
    async fn list(&self, _: u16, _: Option<DecisionId>) -> Result<DecisionPage, StoreError> {
        Err(down())
    }
    async fn ping(&self) -> Result<(), StoreError> {
        Err(down())
    }
}

fn down() -> StoreError {
    StoreError::Unavailable("connection refused (test outage)".to_owned())
}

/// A cache that is down.
pub struct CacheOutage;

#[async_trait]
impl DecisionCache for CacheOutage {
    async fn read(&self, _: &[CacheKey]) -> Result<Vec<CacheEntry>, CacheError> {
        Err(CacheError::Unavailable(
            "connection refused (test outage)".to_owned(),
        ))
    }
    async fn write(&self, _: &[(CacheKey, Verdict)]) -> Result<(), CacheError> {
        Err(CacheError::TimedOut(50))
    }
    async fn ping(&self) -> Result<(), CacheError> {
        Err(CacheError::Unavailable(
            "connection refused (test outage)".to_owned(),
        ))
    }
}

/// A model whose every run fails, with the card of a working one.
pub struct BrokenScorer(pub ModelInfo);

impl Scorer for BrokenScorer {
    fn model(&self) -> &ModelInfo {
        &self.0
    }
    fn score(&self, _: &[Application]) -> Result<Vec<f32>, ScoringError> {
        Err(ScoringError(
            "the model's runtime failed (test fault)".to_owned(),
        ))
    }
    fn explain(&self, _: &[Application]) -> Result<Vec<Vec<Reason>>, ScoringError> {
        Err(ScoringError(
            "the model's runtime failed (test fault)".to_owned(),
        ))
    }
}
