//! Waiting for a condition, never for a fixed time.

use std::future::Future;
use std::time::{Duration, Instant};

/// Polls `check` every 20 ms until it holds; fails the test, naming `what`,
/// if it has not within `bound`.
pub async fn eventually<F, Fut>(what: &str, bound: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + bound;
    while !check().await {
        assert!(
            Instant::now() < deadline,
            "{what}: did not happen within {bound:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
