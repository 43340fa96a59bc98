//! A decision cache in a hash map, with a time to live per entry.
//!
//! Time is tokio's clock, so a test can pause and advance it instead of
//! sleeping through a TTL.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use async_trait::async_trait;
use domain::{CacheEntry, CacheError, CacheKey, DecisionCache, Verdict};

pub struct MemoryDecisionCache {
    ttl: Duration,
    entries: Mutex<HashMap<CacheKey, (Verdict, Instant)>>,
}

impl MemoryDecisionCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }
}

#[async_trait]
impl DecisionCache for MemoryDecisionCache {
    async fn read(&self, keys: &[CacheKey]) -> Result<Vec<CacheEntry>, CacheError> {
        let now = Instant::now();
        let mut entries = self.entries.lock().expect("cache lock poisoned");
        // Expired entries are dropped as they are met, as Redis does lazily.
        // Like Redis, an entry is still there at the instant it expires.
        let found = keys
            .iter()
            .map(|key| match entries.get(key) {
                Some((verdict, expires)) if *expires >= now => CacheEntry::Found(verdict.clone()),
                Some(_) => {
                    entries.remove(key);
                    CacheEntry::Missing
                }
                None => CacheEntry::Missing,
            })
            .collect();
        Ok(found)
    }

    async fn write(&self, new_entries: &[(CacheKey, Verdict)]) -> Result<(), CacheError> {
        let expires = Instant::now() + self.ttl;
        let mut entries = self.entries.lock().expect("cache lock poisoned");
        for (key, verdict) in new_entries {
            entries.insert(key.clone(), (verdict.clone(), expires));
        }
        Ok(())
    }

    async fn ping(&self) -> Result<(), CacheError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::Outcome;
    use pretty_assertions::assert_eq;

    const TTL: Duration = Duration::from_secs(60);

    /// The example application's key under model version `n`: distinct
    /// keys without building distinct applications.
    fn key(n: u8) -> CacheKey {
        let example: serde_json::Value = serde_json::from_str(include_str!(
            "../../../domain/testdata/example-application.json"
        ))
        .unwrap();
        let application = domain::Application::from_json(example.as_object().unwrap()).unwrap();
        CacheKey::for_application(&format!("v{n}"), &application)
    }

    fn verdict(outcome: Outcome) -> Verdict {
        let probability = match outcome {
            Outcome::Approve => 0.1,
            Outcome::Decline => 0.9,
        };
        Verdict::from_model(probability, 0.5, "v1")
    }

    async fn write(cache: &MemoryDecisionCache, key: CacheKey, outcome: Outcome) {
        cache.write(&[(key, verdict(outcome))]).await.unwrap();
    }

    fn found(entries: &[CacheEntry]) -> Vec<bool> {
        entries
            .iter()
            .map(|entry| matches!(entry, CacheEntry::Found(_)))
            .collect()
    }

    #[tokio::test(start_paused = true)]
    async fn an_entry_lives_through_its_ttl_and_not_a_moment_longer() {
        let cache = MemoryDecisionCache::new(TTL);
        write(&cache, key(1), Outcome::Approve).await;
        tokio::time::advance(TTL).await;
        assert_eq!(found(&cache.read(&[key(1)]).await.unwrap()), [true]);
        tokio::time::advance(Duration::from_millis(1)).await;
        assert_eq!(found(&cache.read(&[key(1)]).await.unwrap()), [false]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_write_starts_the_ttl_again_and_a_read_answers_each_key_in_order() {
        let cache = MemoryDecisionCache::new(TTL);
        write(&cache, key(1), Outcome::Approve).await;
        tokio::time::advance(TTL / 2).await;
        write(&cache, key(1), Outcome::Decline).await;
        tokio::time::advance(TTL).await;
        let entries = cache.read(&[key(2), key(1)]).await.unwrap();
        assert_eq!(found(&entries), [false, true]);
        let CacheEntry::Found(verdict) = &entries[1] else {
            unreachable!()
        };
        assert_eq!(verdict.outcome, Outcome::Decline, "the newer write is kept");
    }
}
