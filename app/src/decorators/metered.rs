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

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use domain::Window;

    use super::*;

    /// A cache and a store that answer every call with the error set last
    /// (none: success).
    #[derive(Default)]
    struct Failing {
        cache: Mutex<Option<CacheError>>,
        store: Mutex<Option<StoreError>>,
    }

    impl Failing {
        fn cache_result(&self) -> Result<(), CacheError> {
            match &*self.cache.lock().unwrap() {
                None => Ok(()),
                Some(CacheError::Unavailable(why)) => Err(CacheError::Unavailable(why.clone())),
                Some(CacheError::TimedOut(ms)) => Err(CacheError::TimedOut(*ms)),
                Some(CacheError::Paused(ms)) => Err(CacheError::Paused(*ms)),
            }
        }

        fn store_result(&self) -> Result<(), StoreError> {
            match &*self.store.lock().unwrap() {
                None => Ok(()),
                Some(StoreError::Unavailable(why)) => Err(StoreError::Unavailable(why.clone())),
                Some(StoreError::UnknownCursor(id)) => Err(StoreError::UnknownCursor(*id)),
            }
        }
    }

    #[async_trait]
    impl DecisionCache for Failing {
        async fn read(&self, keys: &[CacheKey]) -> Result<Vec<CacheEntry>, CacheError> {
            self.cache_result()
                .map(|()| vec![CacheEntry::Missing; keys.len()])
        }
        async fn write(&self, _: &[(CacheKey, Verdict)]) -> Result<(), CacheError> {
            self.cache_result()
        }
        async fn ping(&self) -> Result<(), CacheError> {
            self.cache_result()
        }
    }

    #[async_trait]
    impl DecisionStore for Failing {
        async fn append(&self, _: &[StoreEntry]) -> Result<(), StoreError> {
            self.store_result()
        }
        async fn get(&self, _: DecisionId) -> Result<Option<DecisionRecord>, StoreError> {
            self.store_result().map(|()| None)
        }
        async fn list(&self, _: u16, _: Option<DecisionId>) -> Result<DecisionPage, StoreError> {
            self.store_result().map(|()| DecisionPage {
                items: Vec::new(),
                next: None,
            })
        }
        async fn tally(&self, _: MinuteWindow) -> Result<Vec<HourlyTally>, StoreError> {
            self.store_result().map(|()| Vec::new())
        }
        async fn ping(&self) -> Result<(), StoreError> {
            self.store_result()
        }
    }

    fn metered() -> (Arc<Failing>, MeteredCache, MeteredStore, Arc<Metrics>) {
        let failing = Arc::new(Failing::default());
        let metrics = Arc::new(Metrics::new());
        let cache = MeteredCache {
            inner: failing.clone(),
            metrics: metrics.clone(),
        };
        let store = MeteredStore {
            inner: failing.clone(),
            metrics: metrics.clone(),
        };
        (failing, cache, store, metrics)
    }

    fn count(counter: &prometheus::IntCounterVec, operation: &str) -> u64 {
        counter.with_label_values(&[operation]).get()
    }

    #[tokio::test]
    async fn a_cache_failure_counts_as_an_error_of_its_operation_and_is_passed_on() {
        let (failing, cache, _, metrics) = metered();
        assert!(cache.read(&[]).await.is_ok());
        assert!(cache.write(&[]).await.is_ok());
        assert_eq!(count(&metrics.cache_errors, "read"), 0);

        *failing.cache.lock().unwrap() = Some(CacheError::Unavailable("down".into()));
        assert!(matches!(
            cache.read(&[]).await,
            Err(CacheError::Unavailable(_))
        ));
        *failing.cache.lock().unwrap() = Some(CacheError::TimedOut(50));
        assert!(matches!(
            cache.read(&[]).await,
            Err(CacheError::TimedOut(50))
        ));
        assert!(matches!(
            cache.write(&[]).await,
            Err(CacheError::TimedOut(50))
        ));
        assert_eq!(count(&metrics.cache_errors, "read"), 2);
        assert_eq!(count(&metrics.cache_errors, "write"), 1);
        assert_eq!(count(&metrics.cache_skipped, "read"), 0);
    }

    #[tokio::test]
    async fn a_call_the_breaker_skipped_counts_as_skipped_not_as_an_error() {
        let (failing, cache, _, metrics) = metered();
        *failing.cache.lock().unwrap() = Some(CacheError::Paused(200));
        assert!(matches!(
            cache.read(&[]).await,
            Err(CacheError::Paused(200))
        ));
        assert!(matches!(
            cache.write(&[]).await,
            Err(CacheError::Paused(200))
        ));
        assert_eq!(count(&metrics.cache_skipped, "read"), 1);
        assert_eq!(count(&metrics.cache_skipped, "write"), 1);
        assert_eq!(count(&metrics.cache_errors, "read"), 0);
        assert_eq!(count(&metrics.cache_errors, "write"), 0);
    }

    #[tokio::test]
    async fn pings_are_passed_on_and_not_counted() {
        let (failing, cache, store, metrics) = metered();
        assert!(cache.ping().await.is_ok());
        assert!(store.ping().await.is_ok());
        *failing.cache.lock().unwrap() = Some(CacheError::Unavailable("down".into()));
        *failing.store.lock().unwrap() = Some(StoreError::Unavailable("down".into()));
        assert!(cache.ping().await.is_err());
        assert!(store.ping().await.is_err());
        assert_eq!(count(&metrics.cache_errors, "ping"), 0);
        assert_eq!(count(&metrics.store_errors, "ping"), 0);
    }

    #[tokio::test]
    async fn a_store_outage_counts_under_its_operation_and_a_bad_cursor_does_not() {
        let (failing, _, store, metrics) = metered();
        assert!(store.list(10, None).await.is_ok());
        *failing.store.lock().unwrap() = Some(StoreError::Unavailable("down".into()));
        assert!(store.append(&[]).await.is_err());
        assert!(store.get(DecisionId::mint()).await.is_err());
        assert!(store.get(DecisionId::mint()).await.is_err());
        assert!(store.list(10, None).await.is_err());
        assert!(
            store
                .tally(MinuteWindow::covering(Window::day_before(
                    chrono::Utc::now()
                )))
                .await
                .is_err()
        );
        for (operation, expected) in [("append", 1), ("get", 2), ("list", 1), ("tally", 1)] {
            assert_eq!(
                count(&metrics.store_errors, operation),
                expected,
                "{operation}"
            );
        }
        // A client's mistake, not an outage.
        let cursor = DecisionId::mint();
        *failing.store.lock().unwrap() = Some(StoreError::UnknownCursor(cursor));
        assert!(matches!(
            store.list(10, Some(cursor)).await,
            Err(StoreError::UnknownCursor(_))
        ));
        assert_eq!(count(&metrics.store_errors, "list"), 1);
    }
}
