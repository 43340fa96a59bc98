//! The decision cache on Redis, with fred.
//!
//! Keys are `<namespace>:verdict:<sha256>`: a configurable prefix and the
//! hash of the model version and the canonical application, never personal
//! data. Values are the verdict as JSON (signed when a signing key is set:
//! see `entry`), written with `SET … PX <ttl>`, so Redis expires them by
//! itself. A batch is one `MGET` and its `SET`s, all sent at once: a round
//! trip each.
//!
//! A near cache in front (`near`, on unless `near_entries` is 0) keeps the
//! verdicts this client read lately in memory, coherent with Redis through
//! client tracking, so a repeated application costs no round trip. Flushes,
//! which fred does not pass on, are noticed by canary keys (`flushes`).
//!
//! On a Redis Cluster (`redis-cluster://host:port,host:port`) the client
//! follows the cluster's slot map and its failovers. A multi-key command
//! must stay within one hash slot there, so a batch is read as one `GET` per
//! key, all sent at once (see `read_each` for why not an `MGET` per slot);
//! each `SET` of a write goes to its own node likewise.
//!
//! The cache is an optimisation, so it must never hold a request up: every
//! call is bounded by `timeout` (tens of milliseconds), past which it fails
//! and the flow treats it as a miss. The client reconnects by itself, forever,
//! when Redis goes away and comes back; the service starts even when Redis is
//! down at the time.

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use domain::{CacheEntry, CacheError, CacheKey, DecisionCache, Verdict};
use fred::interfaces::TrackingInterface;
use fred::prelude::*;
use fred::types::RespVersion;
use fred::types::config::{ClusterDiscoveryPolicy, UnresponsiveConfig};
use tokio::sync::broadcast::error::RecvError;

mod entry;
mod flushes;
mod near;

pub use entry::{LARGEST_ENTRY, SigningKey};
use entry::{entry_of, stored_value};
use flushes::Canaries;
use near::NearCache;

/// How often the client tries to reconnect while Redis is away.
const RECONNECT_DELAY_MS: u32 = 200;

#[derive(Debug, Clone)]
pub struct RedisCacheSettings {
    pub url: String,
    pub namespace: String,
    pub ttl: Duration,
    /// The longest any cache call may take.
    pub timeout: Duration,
    /// Verdicts the near cache keeps in memory for each client (each worker
    /// thread has one); 0 turns it off.
    pub near_entries: usize,
    /// Signs every entry written and refuses every entry read without a
    /// valid signature; `None` writes and reads entries unsigned.
    pub signing_key: Option<SigningKey>,
}

/// The longest the near cache keeps a verdict, whatever Redis says (and
/// never longer than the entry's TTL): the bound on how long an invalidation
/// lost in some way nothing noticed could leave one stale.
const NEAR_MAX_AGE: Duration = Duration::from_secs(60);

/// The longest the near cache waits for a reconnection fred announced to
/// complete before asking Redis to track it.
const RECONNECTED_WITHIN: Duration = Duration::from_secs(5);

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
    /// Grouping the keys into one `MGET` per slot was no faster: random keys
    /// rarely share one of the 16,384 slots. A 1,000-key batch on the
    /// three-primary test cluster took a median 3.9 ms this way and 4.1 ms
    /// grouped, over 300 rounds each (`cargo run --release -p redis-cache
    /// --example cluster_batch -- redis-cluster://127.0.0.1:7101 300`).
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

/// The near cache of a client about to connect, with the task that keeps it
/// coherent on the calling thread's runtime; `None` when it is off.
fn near_cache_of(
    client: &Client,
    settings: &RedisCacheSettings,
) -> Option<(Arc<NearCache>, Arc<Canaries>)> {
    let capacity = NonZeroUsize::new(settings.near_entries)?;
    let near = Arc::new(NearCache::new(capacity, NEAR_MAX_AGE.min(settings.ttl)));
    // Listening from now on: no event of a connection made later is missed.
    let events = Events {
        invalidations: client.invalidation_rx(),
        errors: client.error_rx(),
        reconnections: client.reconnect_rx(),
    };
    let canaries = Arc::new(Canaries::new(
        &settings.namespace,
        &format!("{}-{}", std::process::id(), client.id()),
    ));
    tokio::spawn(keep_coherent(
        client.clone(),
        events,
        near.clone(),
        canaries.clone(),
    ));
    Some((near, canaries))
}

/// What a client tells of its connections.
struct Events {
    invalidations: tokio::sync::broadcast::Receiver<fred::types::client::Invalidation>,
    errors: tokio::sync::broadcast::Receiver<(Error, Option<Server>)>,
    reconnections: tokio::sync::broadcast::Receiver<Server>,
}

/// Applies what Redis says of the keys this client read, and drops the near
/// cache whenever the connection may have missed some of it: lost, replaced,
/// or a listener that fell behind, or Redis flushed (seen by the canaries).
/// Runs until the client quits.
async fn keep_coherent(
    client: Client,
    events: Events,
    near: Arc<NearCache>,
    canaries: Arc<Canaries>,
) {
    let Events {
        mut invalidations,
        mut errors,
        mut reconnections,
    } = events;
    let mut flush_checks = tokio::time::interval(flushes::CHECK_EVERY);
    flush_checks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The first connection may have been made before these listened.
    if near.ticket().is_none() {
        track(&client, &near, &canaries).await;
    }
    loop {
        tokio::select! {
            message = invalidations.recv() => match message {
                // A flush names no keys (fred 10.1 passes RESP2's form of it
                // on; RESP3's is lost, which `NEAR_MAX_AGE` bounds).
                Ok(invalidation) if invalidation.keys.is_empty() => near.drop_all(),
                Ok(invalidation) => {
                    near.invalidate(invalidation.keys.iter().filter_map(|key| key.as_str()));
                }
                Err(RecvError::Lagged(_)) => near.drop_all(),
                Err(RecvError::Closed) => return,
            },
            event = errors.recv() => {
                if matches!(event, Err(RecvError::Closed)) {
                    return;
                }
                near.untracked();
                track(&client, &near, &canaries).await;
            }
            _ = flush_checks.tick() => {
                // Nothing is served from memory while untracked.
                if near.ticket().is_some() && client.is_connected()
                    && let Ok(true) = canaries.any_gone(&client).await
                {
                    near.drop_all();
                }
            }
            event = reconnections.recv() => {
                if matches!(event, Err(RecvError::Closed)) {
                    return;
                }
                near.untracked();
                // fred announces a new connection before it counts as
                // connected: wait for that (bounded, in case the moment
                // passed before this listened), then track it.
                let _ = tokio::time::timeout(RECONNECTED_WITHIN, client.wait_for_connect()).await;
                track(&client, &near, &canaries).await;
            }
        }
    }
}

/// Asks Redis to track this client's reads (on every node of a cluster),
/// not telling it of its own writes, with the canaries of flushes planted
/// first; the near cache serves once it has.
async fn track(client: &Client, near: &NearCache, canaries: &Canaries) {
    if !client.is_connected() {
        // The next connection is announced, and tracked then.
        return;
    }
    if let Err(error) = canaries.plant(client).await {
        tracing::warn!(%error, "the near cache's canaries cannot be planted; it stays off until Redis reconnects");
        return;
    }
    match client.start_tracking(None, false, false, false, true).await {
        Ok(()) => near.tracked(),
        Err(error) => {
            tracing::warn!(%error, "Redis does not track reads; the near cache stays off until it reconnects")
        }
    }
}

/// Sends every command before awaiting any answer, and gives the answers in
/// order, or the first error.
///
/// Not a fred pipeline: fred 10 writes a pipeline's commands one `writev` at
/// a time, because it flushes whenever no other command waits in its queue,
/// and a pipeline's commands never do. Commands sent on their own all wait in
/// the queue at once, so fred writes them together: a 100-key batch is a few
/// writes instead of 100 (Redis counted them: see the README's "Speed").
async fn concurrently<T>(
    commands: impl IntoIterator<Item = impl Future<Output = Result<T, Error>>>,
) -> Result<Vec<T>, Error> {
    futures::future::try_join_all(commands).await
}

/// The client configuration of a URL: `redis://`, `rediss://`, or
/// `redis-cluster://host:port,host:port` for a cluster (any reachable nodes;
/// the client discovers the rest).
fn config_of(url: &str) -> Result<Config, String> {
    let invalid = |error: Error| format!("not a Redis URL: {error}");
    let Some(nodes) = url.strip_prefix(CLUSTER_SCHEME) else {
        return Config::from_url(url).map_err(invalid);
    };
    // fred spells a cluster's further nodes as `?node=host:port` parameters.
    let (nodes, parameters) = nodes.split_once('?').unwrap_or((nodes, ""));
    let (first, others) = nodes.split_once(',').unwrap_or((nodes, ""));
    let mut query: Vec<String> = others
        .split(',')
        .filter(|node| !node.is_empty())
        .map(|node| format!("node={node}"))
        .collect();
    if !parameters.is_empty() {
        query.push(parameters.to_owned());
    }
    let url = if query.is_empty() {
        format!("{CLUSTER_SCHEME}{first}")
    } else {
        format!("{CLUSTER_SCHEME}{first}?{}", query.join("&"))
    };
    let mut config = Config::from_url(&url).map_err(invalid)?;
    // A node named in the URL may be the one that is down: reconnect through
    // any node the client has seen in the cluster's slot map too.
    config
        .server
        .set_cluster_discovery_policy(ClusterDiscoveryPolicy::UseCache)
        .map_err(invalid)?;
    Ok(config)
}

const CLUSTER_SCHEME: &str = "redis-cluster://";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cluster_url_lists_its_nodes() {
        let config =
            config_of("redis-cluster://10.0.0.1:7001,10.0.0.2:7002,10.0.0.3:7003").unwrap();
        let mut hosts: Vec<String> = config
            .server
            .hosts()
            .iter()
            .map(|server| format!("{}:{}", server.host, server.port))
            .collect();
        hosts.sort();
        assert_eq!(hosts, ["10.0.0.1:7001", "10.0.0.2:7002", "10.0.0.3:7003"]);
        let one = config_of("redis-cluster://:pw@10.0.0.1:7001").unwrap();
        assert_eq!(one.server.hosts().len(), 1);
        assert_eq!(one.password.as_deref(), Some("pw"));
        assert!(
            !config_of("redis://10.0.0.1:6379/2")
                .unwrap()
                .server
                .is_clustered()
        );
        assert!(config_of("redis-cluster://").is_err());
    }
}
