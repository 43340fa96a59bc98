//! Adapters that fail, to drive the service's failure paths over HTTP
//! without touching a real server.

use async_trait::async_trait;
use domain::{
    Application, CacheEntry, CacheError, CacheKey, Change, ChangePage, DecisionCache, DecisionId,
    DecisionPage, DecisionRecord, DecisionStore, HourlyTally, MinuteWindow, ModelInfo, Reason,
    RoutingError, RoutingRequest, RoutingStore, Scorer, ScoringError, StoreEntry, StoreError,
    Verdict,
};

/// A decision log that is down.
pub struct StoreOutage;

#[async_trait]
impl DecisionStore for StoreOutage {
    async fn append(&self, _: &[StoreEntry]) -> Result<(), StoreError> {
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
    fn score(&self, _: &[&Application]) -> Result<Vec<f32>, ScoringError> {
        Err(ScoringError(
            "the model's runtime failed (test fault)".to_owned(),
        ))
    }
    fn explain(&self, _: &[&Application]) -> Result<Vec<Vec<Reason>>, ScoringError> {
        Err(ScoringError(
            "the model's runtime failed (test fault)".to_owned(),
        ))
    }
}

/// A decision log whose monitoring reads wait until the test lets them go
/// (a slow report), while everything else goes straight to `inner`.
pub struct HeldReports {
    pub inner: std::sync::Arc<dyn DecisionStore>,
    /// A permit lets one report through.
    pub gate: std::sync::Arc<tokio::sync::Semaphore>,
    /// Reports waiting at the gate.
    pub waiting: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl HeldReports {
    pub fn new(inner: std::sync::Arc<dyn DecisionStore>) -> Self {
        Self {
            inner,
            gate: std::sync::Arc::new(tokio::sync::Semaphore::new(0)),
            waiting: std::sync::Arc::default(),
        }
    }
}

#[async_trait]
impl DecisionStore for HeldReports {
    async fn append(&self, entries: &[StoreEntry]) -> Result<(), StoreError> {
        self.inner.append(entries).await
    }
    async fn tally(&self, window: MinuteWindow) -> Result<Vec<HourlyTally>, StoreError> {
        use std::sync::atomic::Ordering;
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let permit = self.gate.acquire().await.expect("the gate stays open");
        permit.forget();
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        self.inner.tally(window).await
    }
    async fn get(&self, id: DecisionId) -> Result<Option<DecisionRecord>, StoreError> {
        self.inner.get(id).await
    }
    async fn list(
        &self,
        limit: u16,
        before: Option<DecisionId>,
    ) -> Result<DecisionPage, StoreError> {
        self.inner.list(limit, before).await
    }
    async fn ping(&self) -> Result<(), StoreError> {
        self.inner.ping().await
    }
}

/// A routing history on which another replica gets in first: before each
/// of the first `races` appends, it appends a change of its own (the same
/// routing, by "racer"), so the append, made against the generation read
/// before, finds it stale.
pub struct RacedRoutingStore {
    history: memory::MemoryRoutingStore,
    races: std::sync::atomic::AtomicUsize,
}

impl RacedRoutingStore {
    pub fn new(races: usize) -> Self {
        Self {
            history: memory::MemoryRoutingStore::new(),
            races: races.into(),
        }
    }
}

#[async_trait]
impl RoutingStore for RacedRoutingStore {
    async fn newest(&self) -> Result<Option<Change>, StoreError> {
        self.history.newest().await
    }

    async fn append(
        &self,
        expected: u64,
        routing: &RoutingRequest,
        by: &str,
    ) -> Result<Change, RoutingError> {
        use std::sync::atomic::Ordering;
        let raced = self
            .races
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                left.checked_sub(1)
            })
            .is_ok();
        if raced {
            let current = self.newest().await?.map_or(0, |change| change.generation);
            self.history.append(current, routing, "racer").await?;
        }
        self.history.append(expected, routing, by).await
    }

    async fn changes(&self, limit: u16, before: Option<u64>) -> Result<ChangePage, StoreError> {
        self.history.changes(limit, before).await
    }
}
