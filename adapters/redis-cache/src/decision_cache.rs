//! The `DecisionCache` port on Redis.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use domain::{CacheEntry, CacheError, CacheKey, DecisionCache, Verdict};
use fred::prelude::*;
use fred::types::RespVersion;
use fred::types::config::UnresponsiveConfig;

use crate::coherence::{near_cache_of, track};
use crate::commands::concurrently;
use crate::entry::{entry_of, stored_value};
use crate::near::NearCache;
use crate::settings::RedisCacheSettings;
use crate::url::config_of;

/// How often the client tries to reconnect while Redis is away.
const RECONNECT_DELAY_MS: u32 = 200;

pub struct RedisDecisionCache {
    client: Client,
    settings: RedisCacheSettings,
    clustered: bool,
    near: Option<Arc<NearCache>>,
}

impl RedisDecisionCache {
    /// Starts the client. It connects in the background: a Redis that is down
    /// now only means misses until it is back.
    pub async fn connect(settings: RedisCacheSettings) -> Result<Self, String> {
        let mut config = config_of(&settings.url)?;
        if settings.near_entries > 0 {
            // Invalidations come on the connection itself, as RESP3 pushes.
            config.version = RespVersion::RESP3;
        }
        let clustered = config.server.is_clustered();
        let timeout = settings.timeout;
        let client = Builder::from_config(config)
            .with_connection_config(|connection| {
                connection.connection_timeout = Duration::from_secs(1);
                connection.internal_command_timeout = Duration::from_secs(1);
                // Commands of concurrent requests are written one after the
                // other; with Nagle's algorithm on (fred leaves the OS default)
                // a short one waits for the ACK of the one before.
                connection.tcp.nodelay = Some(true);
                // A connection that stops answering (a dead peer, a black hole)
                // is closed and re-established rather than waited on.
                connection.unresponsive = UnresponsiveConfig {
                    max_timeout: Some(Duration::from_secs(2)),
                    interval: Duration::from_millis(500),
                };
            })
            .with_performance_config(|performance| {
                performance.default_command_timeout = timeout;
            })
            .set_policy(ReconnectPolicy::new_constant(0, RECONNECT_DELAY_MS))
            .build()
            .map_err(|error| format!("cannot build a Redis client: {error}"))?;
        client.connect();
        match tokio::time::timeout(Duration::from_secs(2), client.wait_for_connect()).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                tracing::warn!(%error, "Redis is not reachable yet; caching resumes when it is")
            }
            Err(_) => {
                tracing::warn!("Redis did not answer within 2 s; caching resumes when it does")
            }
        }
        let near = near_cache_of(&client, &settings);
        if let Some((near, canaries)) = &near {
            // Tracked before the first read, so that one is kept already.
            track(&client, near, canaries).await;
        }
        let near = near.map(|(near, _)| near);
        Ok(Self {
            client,
            settings,
            clustered,
            near,
        })
    }

    /// A handle on the same cache for the calling thread: a client of its
    /// own, whose connection task runs on this thread's runtime, so that a
    /// request served here never waits on another thread to reach Redis.
    /// It connects in the background, as [`Self::connect`] does.
    pub fn on_this_thread(&self) -> Self {
        let client = self.client.clone_new();
        let near = near_cache_of(&client, &self.settings).map(|(near, _)| near);
        client.connect();
        Self {
            client,
            settings: self.settings.clone(),
            clustered: self.clustered,
            near,
        }
    }

    /// How many verdicts the near cache holds now (0 when it is off).
    pub fn near_entries(&self) -> usize {
        self.near.as_ref().map_or(0, |near| near.len())
    }

    /// The Redis key of a cache key.
    pub fn redis_key(&self, key: &CacheKey) -> String {
        format!("{}:verdict:{}", self.settings.namespace, key.as_str())
    }

    /// Closes the connection (at shutdown).
    pub async fn close(&self) {
        let _ = self.client.quit().await;
    }

    /// The stored values of `keys`, in order, from Redis.
    async fn fetch(&self, keys: Vec<String>) -> Result<Vec<Value>, CacheError> {
        if self.clustered {
            self.bounded(self.read_each(keys)).await
        } else {
            self.bounded(self.client.mget::<Vec<Value>, _>(keys)).await
        }
    }

    /// Reads keys that may lie in different hash slots: one `GET` per key,
    /// each sent to the node that owns its key, all sent before any answer
    /// is awaited (see `concurrently`).
    ///
    /// Not one `MGET` per slot: random keys rarely share one of the 16,384
    /// slots, so grouping them saves nothing (measured with the example
    /// `cluster_batch`; docs/performance.md).
    async fn read_each(&self, keys: Vec<String>) -> Result<Vec<Value>, Error> {
        concurrently(keys.into_iter().map(|key| self.client.get(key))).await
    }

    async fn bounded<T>(
        &self,
        call: impl Future<Output = Result<T, Error>>,
    ) -> Result<T, CacheError> {
        match tokio::time::timeout(self.settings.timeout, call).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) if *error.kind() == ErrorKind::Timeout => Err(self.timed_out()),
            Ok(Err(error)) => Err(CacheError::Unavailable(error.to_string())),
            Err(_) => Err(self.timed_out()),
        }
    }

    fn timed_out(&self) -> CacheError {
        CacheError::TimedOut(self.settings.timeout.as_millis() as u64)
    }
}

#[async_trait]
impl DecisionCache for RedisDecisionCache {
    async fn read(&self, keys: &[CacheKey]) -> Result<Vec<CacheEntry>, CacheError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let redis_keys: Vec<String> = keys.iter().map(|key| self.redis_key(key)).collect();
        let signing = self.settings.signing_key.as_ref();
        let Some(near) = &self.near else {
            let values = self.fetch(redis_keys.clone()).await?;
            return Ok(values
                .into_iter()
                .zip(&redis_keys)
                .map(|(value, key)| entry_of(value, key, signing))
                .collect());
        };
        let mut entries: Vec<Option<CacheEntry>> = redis_keys
            .iter()
            .map(|key| near.get(key).map(CacheEntry::Found))
            .collect();
        let wanted: Vec<usize> = (0..entries.len())
            .filter(|&i| entries[i].is_none())
            .collect();
        if !wanted.is_empty() {
            let ticket = near.ticket();
            let wanted_keys: Vec<String> = wanted.iter().map(|&i| redis_keys[i].clone()).collect();
            let values = self.fetch(wanted_keys).await?;
            let mut found = Vec::new();
            for (&i, value) in wanted.iter().zip(values) {
                let entry = entry_of(value, &redis_keys[i], signing);
                if let CacheEntry::Found(verdict) = &entry {
                    found.push((redis_keys[i].clone(), verdict.clone()));
                }
                entries[i] = Some(entry);
            }
            if let Some(ticket) = ticket {
                near.keep(ticket, found);
            }
        }
        Ok(entries
            .into_iter()
            .map(|entry| entry.expect("every key answered from memory or Redis"))
            .collect())
    }

    async fn write(&self, entries: &[(CacheKey, Verdict)]) -> Result<(), CacheError> {
        if entries.is_empty() {
            return Ok(());
        }
        let ttl_ms = self.settings.ttl.as_millis() as i64;
        let redis_keys: Vec<String> = entries.iter().map(|(key, _)| self.redis_key(key)).collect();
        // Redis does not tell a client of its own writes, so the near cache
        // forgets these keys itself: before, and again once the writes are
        // done (a read in between may have kept the value they replace).
        let forget = || {
            if let Some(near) = &self.near {
                near.invalidate(redis_keys.iter().map(String::as_str));
            }
        };
        forget();
        let sets = redis_keys
            .iter()
            .zip(entries)
            .map(|(redis_key, (_, verdict))| {
                let value = stored_value(verdict, redis_key, self.settings.signing_key.as_ref());
                self.client.set::<Value, _, _>(
                    redis_key.as_str(),
                    value,
                    Some(Expiration::PX(ttl_ms)),
                    None,
                    false,
                )
            });
        let written = self.bounded(concurrently(sets)).await;
        forget();
        written.map(|_| ())
    }

    async fn ping(&self) -> Result<(), CacheError> {
        self.bounded(self.client.ping::<Value>(None))
            .await
            .map(|_| ())
    }
}

/// Against the Redis the suite runs on (`CREDIT_DECISIONS_TEST_REDIS_URL`,
/// by default the local port), in a namespace of each test's own; nothing
/// is written there.
#[cfg(test)]
mod tests {
    use super::*;

    async fn cache(ttl: Duration) -> RedisDecisionCache {
        let url = std::env::var("CREDIT_DECISIONS_TEST_REDIS_URL")
            .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
        let namespace = format!(
            "redis-cache-test-{}-{:?}",
            std::process::id(),
            std::time::SystemTime::now()
        );
        RedisDecisionCache::connect(RedisCacheSettings {
            url,
            namespace,
            ttl,
            timeout: Duration::from_secs(1),
            near_entries: 0,
            signing_key: None,
        })
        .await
        .unwrap()
    }

    fn key() -> CacheKey {
        let request = domain::CanonicalRequest::from_logged("{}".to_owned()).unwrap();
        CacheKey::for_canonical("v1", &request)
    }

    /// An error Redis answers is no timeout: it is reported with Redis's
    /// words (here a time to live Redis refuses).
    #[tokio::test]
    async fn an_error_redis_answers_is_unavailable_with_its_message() {
        let cache = cache(Duration::ZERO).await;
        cache
            .ping()
            .await
            .expect("Redis answers (scripts/test starts it)");
        let verdict = Verdict::from_model(0.1, 0.5, "v1");
        match cache.write(&[(key(), verdict)]).await {
            Err(CacheError::Unavailable(message)) => {
                assert!(message.contains("invalid expire time"), "{message}")
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(cache.read(&[key()]).await.unwrap(), [CacheEntry::Missing]);
    }

    #[tokio::test]
    async fn a_closed_cache_answers_no_more() {
        let cache = cache(Duration::from_secs(60)).await;
        cache
            .ping()
            .await
            .expect("Redis answers (scripts/test starts it)");
        cache.close().await;
        assert!(cache.ping().await.is_err());
    }
}
