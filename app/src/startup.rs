//! Building the service: the adapters the configuration selects, wired into
//! the decision flow and served by actix-web.
//!
//! `main` and the test suite start the very same server: `main` through
//! [`Service::build`], the tests through [`Service::build_with`] with
//! adapters of their own (fakes, spies, real backends on fresh state).

use std::future::Future;
use std::net::{SocketAddr, TcpListener};
use std::pin::Pin;
use std::sync::Arc;

use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use domain::{DecisionCache, DecisionService, DecisionStore, Scorer};
use memory_adapters::{MemoryDecisionCache, MemoryDecisionStore};
use onnx_scorer::{ModelLoadError, OnnxScorer};
use postgres_store::{PostgresDecisionStore, PostgresStoreSettings};
use redis_cache::{RedisCacheSettings, RedisDecisionCache};
use thiserror::Error;

use crate::auth::{self, ApiKeys};
use crate::config::{CacheConfig, Config, StoreConfig};
use crate::instrumented::{InstrumentedCache, InstrumentedScorer, InstrumentedStore};
use crate::metrics::Metrics;
use crate::observe;
use crate::routes;

#[derive(Debug, Error)]
pub enum StartupError {
    #[error(transparent)]
    Model(#[from] ModelLoadError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("the Redis cache cannot be set up: {0}")]
    Redis(String),
    #[error("the PostgreSQL decision log cannot be set up: {0}")]
    Postgres(String),
}

/// What each port is plugged into, by name, for `/health/ready`.
#[derive(Debug, Clone, Copy)]
pub struct BackendNames {
    pub cache: &'static str,
    pub store: &'static str,
}

/// How long closing one backend may take at shutdown.
const CLOSE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Closes a backend's connections once the server has stopped.
pub type Closer = Box<dyn FnOnce() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send>;

/// The adapters the service runs on.
pub struct Adapters {
    pub cache: Option<Arc<dyn DecisionCache>>,
    pub store: Arc<dyn DecisionStore>,
    pub scorer: Arc<dyn Scorer>,
    pub names: BackendNames,
    /// Run in order after the last request is answered.
    pub closers: Vec<Closer>,
}

/// How the server is run, beyond its adapters.
#[derive(Debug, Clone, Default)]
pub struct ServeOptions {
    /// Bearer keys for `/v1/*`; `None` turns authentication off.
    pub api_keys: Option<Vec<String>>,
}

impl Adapters {
    /// The adapters the configuration selects, connected and ready.
    pub async fn for_config(config: &Config) -> Result<Self, StartupError> {
        let scorer = match &config.model {
            None => OnnxScorer::built_in()?,
            Some(path) => OnnxScorer::from_path(path)?,
        };
        let mut closers: Vec<Closer> = Vec::new();
        let (cache, cache_name): (Option<Arc<dyn DecisionCache>>, _) = match &config.cache {
            CacheConfig::Memory => (
                Some(Arc::new(MemoryDecisionCache::new(config.cache_ttl))),
                "memory",
            ),
            CacheConfig::None => (None, "none"),
            CacheConfig::Redis {
                url,
                namespace,
                timeout,
            } => {
                let settings = RedisCacheSettings {
                    url: url.clone(),
                    namespace: namespace.clone(),
                    ttl: config.cache_ttl,
                    timeout: *timeout,
                };
                let cache = Arc::new(
                    RedisDecisionCache::connect(settings)
                        .await
                        .map_err(StartupError::Redis)?,
                );
                let closing = cache.clone();
                closers.push(Box::new(move || {
                    Box::pin(async move { closing.close().await })
                }));
                (Some(cache), "redis")
            }
        };
        let (store, store_name): (Arc<dyn DecisionStore>, _) = match &config.store {
            StoreConfig::Memory => (Arc::new(MemoryDecisionStore::new()), "memory"),
            StoreConfig::Postgres { url } => {
                let store = PostgresDecisionStore::connect(&PostgresStoreSettings::new(url))
                    .await
                    .map_err(StartupError::Postgres)?;
                let closing = store.clone();
                closers.push(Box::new(move || {
                    Box::pin(async move { closing.close().await })
                }));
                (Arc::new(store), "postgres")
            }
        };
        Ok(Self {
            cache,
            store,
            scorer: Arc::new(scorer),
            names: BackendNames {
                cache: cache_name,
                store: store_name,
            },
            closers,
        })
    }
}

/// The HTTP server, bound and not yet running.
pub struct Service {
    addr: SocketAddr,
    server: Server,
    closers: Vec<Closer>,
}

impl Service {
    pub async fn build(config: &Config) -> Result<Self, StartupError> {
        let adapters = Adapters::for_config(config).await?;
        let options = ServeOptions {
            api_keys: config.api_keys.clone(),
        };
        Self::build_with(config.addr, adapters, options)
    }

    /// Serves `adapters` on `addr` (port 0 picks a free port).
    pub fn build_with(
        addr: SocketAddr,
        adapters: Adapters,
        options: ServeOptions,
    ) -> Result<Self, StartupError> {
        let listener =
            TcpListener::bind(addr).map_err(|source| StartupError::Listen { addr, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| StartupError::Listen { addr, source })?;
        let metrics = Arc::new(Metrics::new());
        let cache = adapters.cache.map(|inner| {
            Arc::new(InstrumentedCache {
                inner,
                metrics: metrics.clone(),
            }) as Arc<dyn DecisionCache>
        });
        let store = Arc::new(InstrumentedStore {
            inner: adapters.store,
            metrics: metrics.clone(),
        });
        let scorer = Arc::new(InstrumentedScorer {
            inner: adapters.scorer,
            metrics: metrics.clone(),
        });
        let service = web::Data::new(DecisionService::new(cache, store, scorer));
        let names = web::Data::new(adapters.names);
        let metrics = web::Data::from(metrics);
        let api_keys = web::Data::new(ApiKeys::new(options.api_keys.as_deref()));
        let server = HttpServer::new(move || {
            App::new()
                .app_data(service.clone())
                .app_data(names.clone())
                .app_data(metrics.clone())
                .app_data(api_keys.clone())
                .configure(routes::configure)
                .default_service(web::to(routes::not_found))
                // The last wrapped runs first: every request is observed,
                // the refused ones too.
                .wrap(from_fn(auth::require_key))
                .wrap(from_fn(observe::observe))
        })
        .listen(listener)
        .map_err(|source| StartupError::Listen { addr, source })?
        .run();
        Ok(Self {
            addr,
            server,
            closers: adapters.closers,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A handle to stop the server gracefully.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until SIGINT or SIGTERM; then stops accepting, finishes the
    /// requests in flight (their log rows committed) and closes the backends.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let result = self.server.await;
        for close in self.closers {
            // A backend that is down must not keep the process from exiting.
            if tokio::time::timeout(CLOSE_TIMEOUT, close()).await.is_err() {
                tracing::warn!("a backend did not close within {CLOSE_TIMEOUT:?}");
            }
        }
        result
    }
}
