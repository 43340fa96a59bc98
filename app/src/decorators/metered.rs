//! Decorators that measure the ports for the metrics: errors of the cache and
//! of the store, and the model's time. They change nothing else.

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use domain::{
    Application, CacheEntry, CacheError, CacheKey, DecisionCache, DecisionId, DecisionPage,
    DecisionRecord, DecisionStore, HourlyTally, MinuteWindow, ModelInfo, Reason, Scorer,
    ScoringError, StoreEntry, StoreError, Verdict,
};

use crate::metrics::Metrics;

pub struct MeteredCache {
    pub inner: Arc<dyn DecisionCache>,
    pub metrics: Arc<Metrics>,
}

impl MeteredCache {
    fn count<T>(&self, operation: &str, result: Result<T, CacheError>) -> Result<T, CacheError> {
        // A call the breaker skipped is no new failure.
        let counter = match &result {
            Ok(_) => return result,
            Err(CacheError::Paused(_)) => &self.metrics.cache_skipped,
            Err(_) => &self.metrics.cache_errors,
        };
        counter.with_label_values(&[operation]).inc();
        result
    }
}

#[async_trait]
impl DecisionCache for MeteredCache {
    async fn read(&self, keys: &[CacheKey]) -> Result<Vec<CacheEntry>, CacheError> {
        let result = self.inner.read(keys).await;
        self.count("read", result)
    }

    async fn write(&self, entries: &[(CacheKey, Verdict)]) -> Result<(), CacheError> {
        let result = self.inner.write(entries).await;
        self.count("write", result)
    }

    async fn ping(&self) -> Result<(), CacheError> {
        self.inner.ping().await
    }
}

pub struct MeteredStore {
    pub inner: Arc<dyn DecisionStore>,
    pub metrics: Arc<Metrics>,
}

impl MeteredStore {
    fn count<T>(&self, operation: &str, result: Result<T, StoreError>) -> Result<T, StoreError> {
        if let Err(StoreError::Unavailable(_)) = &result {
            self.metrics
                .store_errors
                .with_label_values(&[operation])
                .inc();
        }
        result
    }
}

#[async_trait]
impl DecisionStore for MeteredStore {
    async fn append(&self, entries: &[StoreEntry]) -> Result<(), StoreError> {
        let result = self.inner.append(entries).await;
        self.count("append", result)
    }

    async fn get(&self, id: DecisionId) -> Result<Option<DecisionRecord>, StoreError> {
        let result = self.inner.get(id).await;
        self.count("get", result)
    }

    async fn list(
        &self,
        limit: u16,
        before: Option<DecisionId>,
    ) -> Result<DecisionPage, StoreError> {
        let result = self.inner.list(limit, before).await;
        self.count("list", result)
    }

    async fn tally(&self, window: MinuteWindow) -> Result<Vec<HourlyTally>, StoreError> {
        let result = self.inner.tally(window).await;
        self.count("tally", result)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.inner.ping().await
    }
}

pub struct MeteredScorer {
    pub inner: Arc<dyn Scorer>,
    pub metrics: Arc<Metrics>,
}

impl Scorer for MeteredScorer {
    fn model(&self) -> &ModelInfo {
        self.inner.model()
    }

    fn score(&self, applications: &[&Application]) -> Result<Vec<f32>, ScoringError> {
        let started = Instant::now();
        let result = self.inner.score(applications);
        self.metrics
            .scoring_duration
            .observe(started.elapsed().as_secs_f64());
        result
    }

    fn explain(&self, declined: &[&Application]) -> Result<Vec<Vec<Reason>>, ScoringError> {
        self.inner.explain(declined)
    }
}
