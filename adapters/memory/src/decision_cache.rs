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
        let found = keys
            .iter()
            .map(|key| match entries.get(key) {
                Some((verdict, expires)) if *expires > now => CacheEntry::Found(verdict.clone()),
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
