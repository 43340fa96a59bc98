//! The adapters the configuration selects, connected and ready to be served.
//!
//! `main` wires them from the environment ([`Adapters::for_config`]); the
//! test suite builds its own (fakes, spies, real backends on fresh state) and
//! hands them to the very same [`crate::Server`].

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use domain::{DecisionCache, DecisionStore, RoutingStore, Scorer};
use memory::{MemoryDecisionCache, MemoryDecisionStore, MemoryRoutingStore};
use onnx_scorer::{ModelLoadError, OnnxScorer};
use postgres_store::{GroupSettings, PostgresDecisionStore, PostgresStoreSettings};
use redis_cache::{RedisCacheSettings, RedisDecisionCache};
use thiserror::Error;

use crate::routes::health::BackendNames;
use crate::startup::config::{CacheConfig, Config, StoreConfig};
use crate::startup::per_worker::PerWorker;
use crate::startup::per_worker::WORKERS;

#[derive(Debug, Error)]
pub enum StartupError {
    #[error(transparent)]
    Model(#[from] ModelLoadError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("the Redis cache cannot be set up: {0}")]
    Redis(String),
    #[error("the PostgreSQL decision store cannot be set up: {0}")]
    Postgres(String),
    #[error("the routing cannot be read: {0}")]
    Routing(String),
}

/// The PostgreSQL store's settings of a configuration that selects it.
pub fn postgres_settings(store: &StoreConfig) -> PostgresStoreSettings {
    let StoreConfig::Postgres {
        url,
        owner_url,
        retention_months,
        timeout,
        pool_size,
        pool_mode,
        queue_rows,
        group_rows,
        writers,
    } = store
    else {
        panic!("postgres_settings of a configuration without the PostgreSQL store");
    };
    PostgresStoreSettings {
        max_connections: *pool_size,
        pool_mode: *pool_mode,
        retention_months: *retention_months,
        commit_timeout: *timeout,
        group: GroupSettings {
            queue_rows: *queue_rows,
            max_group_rows: *group_rows,
            writers: *writers,
        },
        owner_url: owner_url.as_ref().map(|owner| owner.expose().to_owned()),
        ..PostgresStoreSettings::new(url.expose())
    }
}

/// The connections each worker's reads get: the writers' count against the
/// pool, and the rest is shared out among the workers, one at least.
fn reads_per_worker(pool_size: u32, writers: usize, workers: usize) -> u32 {
    let for_reads = pool_size.saturating_sub(writers as u32);
    (for_reads / workers as u32).max(1)
}

/// Closes a backend's connections once the server has stopped.
pub type Closer = Box<dyn FnOnce() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send>;

/// The adapters the service runs on.
pub struct Adapters {
    pub cache: Option<PerWorker<dyn DecisionCache>>,
    pub store: PerWorker<dyn DecisionStore>,
    /// The configured model: the champion until the routing says otherwise.
    pub scorer: Arc<dyn Scorer>,
    /// Where the routing and its history are kept: the log's database with
    /// PostgreSQL, so that every replica on it follows one routing.
    pub routing: Arc<dyn RoutingStore>,
    pub names: BackendNames,
    /// Run in order after the last request is answered.
    pub closers: Vec<Closer>,
}

impl Adapters {
    /// The adapters the configuration selects, connected and ready.
    pub async fn for_config(config: &Config) -> Result<Self, StartupError> {
        let scorer = match &config.model {
            None => OnnxScorer::built_in()?,
            Some(path) => OnnxScorer::from_path(path)?,
        };
        let mut closers: Vec<Closer> = Vec::new();
        let (cache, cache_name): (Option<PerWorker<dyn DecisionCache>>, _) = match &config.cache {
            CacheConfig::Memory => (
                Some(PerWorker::Shared(Arc::new(MemoryDecisionCache::new(
                    config.cache_ttl,
                )))),
                "memory",
            ),
            CacheConfig::None => (None, "none"),
            CacheConfig::Redis {
                url,
                namespace,
                timeout,
                near_entries,
                signing_key,
            } => {
                let settings = RedisCacheSettings {
                    url: url.expose().to_owned(),
                    namespace: namespace.clone(),
                    ttl: config.cache_ttl,
                    timeout: *timeout,
                    near_entries: *near_entries,
                    signing_key: signing_key.clone(),
                };
                let cache = Arc::new(
                    RedisDecisionCache::connect(settings)
                        .await
                        .map_err(|error| StartupError::Redis(url.scrub(&error)))?,
                );
                let closing = cache.clone();
                closers.push(Box::new(move || {
                    Box::pin(async move { closing.close().await })
                }));
                let per_worker = PerWorker::made(move || {
                    Arc::new(cache.on_this_thread()) as Arc<dyn DecisionCache>
                });
                (Some(per_worker), "redis")
            }
        };
        let (store, routing, store_name): (PerWorker<dyn DecisionStore>, Arc<dyn RoutingStore>, _) =
            match &config.store {
                StoreConfig::Memory => (
                    PerWorker::Shared(Arc::new(MemoryDecisionStore::new())),
                    Arc::new(MemoryRoutingStore::new()),
                    "memory",
                ),
                StoreConfig::Postgres {
                    url,
                    owner_url,
                    pool_size,
                    writers,
                    ..
                } => {
                    let settings = postgres_settings(&config.store);
                    let scrub = |error: String| {
                        let error = url.scrub(&error);
                        owner_url
                            .as_ref()
                            .map_or(error.clone(), |owner| owner.scrub(&error))
                    };
                    let store = PostgresDecisionStore::connect(&settings)
                        .await
                        .map_err(|error| StartupError::Postgres(scrub(error)))?;
                    let closing = store.clone();
                    closers.push(Box::new(move || {
                        Box::pin(async move { closing.close().await })
                    }));
                    let routing = Arc::new(store.clone()) as Arc<dyn RoutingStore>;
                    let per_worker_pool = reads_per_worker(*pool_size, *writers, WORKERS.get());
                    let per_worker = PerWorker::made(move || {
                        Arc::new(store.on_this_thread(per_worker_pool)) as Arc<dyn DecisionStore>
                    });
                    (per_worker, routing, "postgres")
                }
            };
        Ok(Self {
            cache,
            store,
            scorer: Arc::new(scorer),
            routing,
            names: BackendNames {
                cache: cache_name,
                store: store_name,
            },
            closers,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use postgres_store::PoolMode;

    use super::*;

    #[test]
    fn the_pool_less_the_writers_is_shared_out_among_the_workers() {
        // (pool, writers, workers, each worker's reads)
        for (pool, writers, workers, reads) in [
            (16, 1, 2, 7),
            (16, 1, 4, 3),
            (16, 4, 3, 4),
            (3, 1, 1, 2),
            (2, 1, 2, 1),
            (2, 2, 2, 1),
        ] {
            assert_eq!(
                reads_per_worker(pool, writers, workers),
                reads,
                "{pool} connections, {writers} writers, {workers} workers"
            );
        }
    }

    #[test]
    fn the_store_gets_every_postgres_setting_the_configuration_read() {
        // None of them at its default, so that a setting dropped on the way
        // would show.
        let config = Config::from_lookup(|name| {
            let value = match name {
                "CREDIT_DECISIONS_STORE" => "postgres",
                "CREDIT_DECISIONS_DATABASE_URL" => "postgres://serving:s1@db/log",
                "CREDIT_DECISIONS_DATABASE_OWNER_URL" => "postgres://owner:s2@db/log",
                "CREDIT_DECISIONS_DATABASE_POOL_MODE" => "transaction",
                "CREDIT_DECISIONS_DATABASE_POOL_SIZE" => "12",
                "CREDIT_DECISIONS_LOG_RETENTION_MONTHS" => "13",
                "CREDIT_DECISIONS_LOG_TIMEOUT_MS" => "1234",
                "CREDIT_DECISIONS_LOG_WRITERS" => "3",
                "CREDIT_DECISIONS_LOG_GROUP_ROWS" => "500",
                "CREDIT_DECISIONS_LOG_QUEUE_ROWS" => "7000",
                _ => return None,
            };
            Some(value.to_owned())
        })
        .unwrap();
        let settings = postgres_settings(&config.store);
        assert_eq!(settings.url, "postgres://serving:s1@db/log");
        assert_eq!(
            settings.owner_url.as_deref(),
            Some("postgres://owner:s2@db/log")
        );
        assert_eq!(settings.pool_mode, PoolMode::Transaction);
        assert_eq!(settings.max_connections, 12);
        assert_eq!(settings.retention_months, 13);
        assert_eq!(settings.commit_timeout, Duration::from_millis(1234));
        assert_eq!(settings.group.writers, 3);
        assert_eq!(settings.group.max_group_rows, 500);
        assert_eq!(settings.group.queue_rows, 7000);
    }
}
