//! The HTTP server: the decision flow over the adapters, served by actix-web
//! with the middleware every request passes (request log, API keys).

use std::net::{SocketAddr, TcpListener};
use std::num::NonZeroUsize;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use actix_web::dev::{Server as ActixServer, ServerHandle};
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use domain::{DecisionCache, DecisionFlow, DecisionStore};

use crate::auth::ApiKeys;
use crate::cache_breaker::CacheBreaker;
use crate::config::Config;
use crate::instrumented::{InstrumentedCache, InstrumentedScorer, InstrumentedStore};
use crate::json_body::{BodyTimeout, LargeBodies};
use crate::metrics::Metrics;
use crate::observe;
use crate::openapi;
use crate::per_worker::PerWorker;
use crate::routes;
use crate::routes::docs::OpenApiJson;
use crate::wiring::{Adapters, Closer, StartupError};

/// The threads that serve requests: one per core, as actix-web's default.
/// Each holds its own connections to the backends (see `PerWorker`).
pub(crate) static WORKERS: LazyLock<NonZeroUsize> =
    LazyLock::new(|| std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN));

/// How long closing one backend may take at shutdown.
const CLOSE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// How the server is run, beyond its adapters.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Bearer keys for `/v1/*`; `None` turns authentication off.
    pub api_keys: Option<Vec<String>>,
    /// The longest a request body may take to arrive (408 past it).
    pub body_timeout: Duration,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            api_keys: None,
            body_timeout: Duration::from_secs(10),
        }
    }
}

/// The HTTP server, bound and not yet running.
pub struct Server {
    addr: SocketAddr,
    server: ActixServer,
    closers: Vec<Closer>,
}

impl Server {
    pub async fn build(config: &Config) -> Result<Self, StartupError> {
        let adapters = Adapters::for_config(config).await?;
        let options = ServeOptions {
            api_keys: config.api_keys.clone().map(|keys| keys.0),
            body_timeout: config.body_timeout,
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
        // Measured as the flow sees it; the breaker spares a cache that is
        // down the calls it would only fail.
        let cache = adapters.cache.map(|cache| {
            let metrics = metrics.clone();
            cache.map(move |inner| {
                Arc::new(InstrumentedCache {
                    inner: Arc::new(CacheBreaker::new(inner)),
                    metrics: metrics.clone(),
                }) as Arc<dyn DecisionCache>
            })
        });
        let store = {
            let metrics = metrics.clone();
            adapters.store.map(move |inner| {
                Arc::new(InstrumentedStore {
                    inner,
                    metrics: metrics.clone(),
                }) as Arc<dyn DecisionStore>
            })
        };
        let scorer = Arc::new(InstrumentedScorer {
            inner: adapters.scorer,
            metrics: metrics.clone(),
        });
        let names = web::Data::new(adapters.names);
        let metrics = web::Data::from(metrics);
        let api_keys = web::Data::new(ApiKeys::new(options.api_keys.as_deref()));
        let document = web::Data::new(OpenApiJson(openapi::document_json()));
        let body_timeout = web::Data::new(BodyTimeout(options.body_timeout));
        let large_bodies = web::Data::new(LargeBodies::default());
        let server = HttpServer::new(move || {
            // Run on each worker's thread as it starts: its flow, on its own
            // handles of the backends.
            let flow = web::Data::new(DecisionFlow::new(
                cache.as_ref().map(PerWorker::get),
                store.get(),
                scorer.clone(),
            ));
            App::new()
                .app_data(flow)
                .app_data(names.clone())
                .app_data(metrics.clone())
                .app_data(api_keys.clone())
                .app_data(document.clone())
                .app_data(body_timeout.clone())
                .app_data(large_bodies.clone())
                .configure(routes::configure)
                .default_service(web::to(routes::not_found))
                // Every request is observed, the refused ones too.
                .wrap(from_fn(observe::observe))
        })
        .workers(WORKERS.get())
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
