//! A circuit breaker around the decision cache.
//!
//! The cache is an optimisation, so an outage must cost close to nothing per
//! request. Each call to a cache that is down costs up to its time bound
//! (`CREDIT_DECISIONS_CACHE_TIMEOUT_MS`); without the breaker every request
//! would pay that for a read and again for a write. With it, a failed call
//! opens the breaker: calls are skipped (a miss, at once) for a pause, then
//! one call goes through as a probe. A probe that fails doubles the pause,
//! up to [`LONGEST_PAUSE`]; one that succeeds closes the breaker. So during
//! an outage one request per pause pays the bound, and caching resumes
//! within one pause of the cache coming back.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use domain::{CacheEntry, CacheError, CacheKey, DecisionCache, Verdict};
use tokio::time::Instant;

/// The pause after the first failure.
pub const FIRST_PAUSE: Duration = Duration::from_millis(250);
/// The longest pause: the most caching can lag behind a recovered cache.
pub const LONGEST_PAUSE: Duration = Duration::from_secs(5);

pub struct CacheBreaker {
    inner: Arc<dyn DecisionCache>,
    state: Mutex<State>,
}

#[derive(Debug, Clone, Copy)]
enum State {
    Closed,
    /// Calls are skipped until `until`; then one goes through, and the
    /// pause is re-armed while it runs.
    Open {
        until: Instant,
        pause: Duration,
    },
}

impl CacheBreaker {
    pub fn new(inner: Arc<dyn DecisionCache>) -> Self {
        Self {
            inner,
            state: Mutex::new(State::Closed),
        }
    }

    /// Whether a call may go to the cache now.
    fn admit(&self) -> Result<(), CacheError> {
        let mut state = self.state.lock().expect("breaker lock poisoned");
        match *state {
            State::Closed => Ok(()),
            State::Open { until, pause } => {
                let now = Instant::now();
                if now < until {
                    return Err(CacheError::Paused((until - now).as_millis() as u64));
                }
                // This call is the probe; others wait for its outcome (or for
                // the re-armed pause, should the probe never finish).
                *state = State::Open {
                    until: now + pause,
                    pause,
                };
                Ok(())
            }
        }
    }

    fn record<T>(&self, outcome: Result<T, CacheError>) -> Result<T, CacheError> {
        let mut state = self.state.lock().expect("breaker lock poisoned");
        *state = match (&outcome, *state) {
            (Ok(_), _) => State::Closed,
            (Err(_), State::Closed) => State::Open {
                until: Instant::now() + FIRST_PAUSE,
                pause: FIRST_PAUSE,
            },
            (Err(_), State::Open { pause, .. }) => {
                let pause = (pause * 2).min(LONGEST_PAUSE);
                State::Open {
                    until: Instant::now() + pause,
                    pause,
                }
            }
        };
        outcome
    }
}

#[async_trait]
impl DecisionCache for CacheBreaker {
    async fn read(&self, keys: &[CacheKey]) -> Result<Vec<CacheEntry>, CacheError> {
        self.admit()?;
        self.record(self.inner.read(keys).await)
    }

    async fn write(&self, entries: &[(CacheKey, Verdict)]) -> Result<(), CacheError> {
        self.admit()?;
        self.record(self.inner.write(entries).await)
    }

    /// Readiness asks the cache itself, whatever the breaker says.
    async fn ping(&self) -> Result<(), CacheError> {
        self.inner.ping().await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    use super::*;

    /// A cache that fails while `down`, and holds its calls while `held`
    /// until `release`d, counting the calls that reach it.
    #[derive(Default)]
    struct Flaky {
        down: AtomicBool,
        held: AtomicBool,
        release: tokio::sync::Notify,
        calls: AtomicUsize,
    }

    #[async_trait]
    impl DecisionCache for Flaky {
        async fn read(&self, keys: &[CacheKey]) -> Result<Vec<CacheEntry>, CacheError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            if self.held.load(Ordering::SeqCst) {
                self.release.notified().await;
            }
            if self.down.load(Ordering::SeqCst) {
                Err(CacheError::Unavailable("down".to_owned()))
            } else {
                Ok(vec![CacheEntry::Missing; keys.len()])
            }
        }
        async fn write(&self, _: &[(CacheKey, Verdict)]) -> Result<(), CacheError> {
            self.read(&[]).await.map(|_| ())
        }
        async fn ping(&self) -> Result<(), CacheError> {
            match self.down.load(Ordering::SeqCst) {
                true => Err(CacheError::Unavailable("down".to_owned())),
                false => Ok(()),
            }
        }
    }

    fn breaker() -> (Arc<Flaky>, CacheBreaker) {
        let flaky = Arc::new(Flaky::default());
        (flaky.clone(), CacheBreaker::new(flaky))
    }

    fn calls(flaky: &Flaky) -> usize {
        flaky.calls.load(Ordering::SeqCst)
    }

    #[tokio::test(start_paused = true)]
    async fn after_a_failure_calls_are_skipped_for_a_growing_pause() {
        let (flaky, breaker) = breaker();
        flaky.down.store(true, Ordering::SeqCst);

        assert!(matches!(
            breaker.read(&[]).await,
            Err(CacheError::Unavailable(_))
        ));
        assert_eq!(calls(&flaky), 1);
        // Open: a read and a write cost nothing and reach nothing.
        for _ in 0..100 {
            assert!(matches!(
                breaker.read(&[]).await,
                Err(CacheError::Paused(_))
            ));
            assert!(matches!(
                breaker.write(&[]).await,
                Err(CacheError::Paused(_))
            ));
        }
        assert_eq!(calls(&flaky), 1);

        // Each failed probe doubles the pause, up to the longest.
        let mut pause = FIRST_PAUSE;
        for _ in 0..8 {
            tokio::time::advance(pause - Duration::from_millis(1)).await;
            assert!(matches!(
                breaker.read(&[]).await,
                Err(CacheError::Paused(_))
            ));
            let before = calls(&flaky);
            tokio::time::advance(Duration::from_millis(1)).await;
            assert!(breaker.read(&[]).await.is_err());
            assert_eq!(calls(&flaky), before + 1, "one probe after {pause:?}");
            pause = (pause * 2).min(LONGEST_PAUSE);
        }
        assert_eq!(pause, LONGEST_PAUSE);
    }

    #[tokio::test(start_paused = true)]
    async fn a_successful_probe_closes_the_breaker() {
        let (flaky, breaker) = breaker();
        flaky.down.store(true, Ordering::SeqCst);
        assert!(breaker.read(&[]).await.is_err());
        flaky.down.store(false, Ordering::SeqCst);
        assert!(matches!(
            breaker.read(&[]).await,
            Err(CacheError::Paused(_))
        ));

        tokio::time::advance(FIRST_PAUSE).await;
        assert!(breaker.read(&[]).await.is_ok(), "the probe");
        for _ in 0..10 {
            assert!(breaker.read(&[]).await.is_ok());
        }
        assert_eq!(calls(&flaky), 12);

        // A new failure starts again from the first pause.
        flaky.down.store(true, Ordering::SeqCst);
        assert!(breaker.read(&[]).await.is_err());
        tokio::time::advance(FIRST_PAUSE).await;
        let before = calls(&flaky);
        assert!(breaker.read(&[]).await.is_err());
        assert_eq!(calls(&flaky), before + 1);
    }

    #[tokio::test(start_paused = true)]
    async fn while_a_probe_is_out_the_other_calls_are_skipped() {
        let (flaky, breaker) = breaker();
        flaky.down.store(true, Ordering::SeqCst);
        assert!(breaker.read(&[]).await.is_err());
        tokio::time::advance(FIRST_PAUSE).await;

        // The probe reaches the cache, which does not answer yet.
        flaky.held.store(true, Ordering::SeqCst);
        let probe = breaker.read(&[]);
        tokio::pin!(probe);
        tokio::select! {
            biased;
            _ = &mut probe => panic!("the probe was answered before the cache answered"),
            _ = tokio::task::yield_now() => {}
        }
        assert_eq!(calls(&flaky), 2);
        flaky.held.store(false, Ordering::SeqCst);
        // Meanwhile the others are skipped, not sent after it.
        for _ in 0..10 {
            assert!(matches!(
                breaker.read(&[]).await,
                Err(CacheError::Paused(_))
            ));
        }
        assert_eq!(calls(&flaky), 2);
        flaky.release.notify_one();
        assert!(probe.await.is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn readiness_asks_the_cache_itself_whatever_the_breaker_says() {
        let (flaky, breaker) = breaker();
        flaky.down.store(true, Ordering::SeqCst);
        assert!(breaker.read(&[]).await.is_err());
        assert!(breaker.ping().await.is_err(), "down, and the breaker open");
        // Back up while the breaker is still open: readiness says so at once.
        flaky.down.store(false, Ordering::SeqCst);
        assert!(matches!(
            breaker.read(&[]).await,
            Err(CacheError::Paused(_))
        ));
        assert!(breaker.ping().await.is_ok());
    }
}
