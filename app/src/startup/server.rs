//! The HTTP server: the decision flow over the adapters, served by actix-web
//! with the middleware every request passes (request log, API keys).
//!
//! It is assembled from actix-web's parts rather than `HttpServer`, so that
//! each accepted socket is read through a [`BoundedStream`]: the bounds of
//! a request's head hold for every request on a connection, not only the
//! first (see `connection.rs`). Open connections are bounded too, below the
//! process's descriptor limit (raised to its hard limit at start-up), so a
//! flood of held sockets queues in the listen backlog instead of failing
//! `accept` for everyone, and is cut by the head bound within seconds.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use actix_http::HttpService;
use actix_server::{Server as ActixServer, ServerHandle};
use actix_service::{IntoServiceFactory, ServiceFactoryExt, fn_service, map_config};
use actix_web::dev::AppConfig;
use actix_web::middleware::from_fn;
use actix_web::rt::net::TcpStream;
use actix_web::{App, web};
use domain::{DecisionCache, DecisionFlow, DecisionStore, Scorer};

use crate::decorators::cache_breaker::CacheBreaker;
use crate::decorators::metered::{MeteredCache, MeteredScorer, MeteredStore};
use crate::http::auth::ApiKeys;
use crate::http::body::{BodyTimeout, LargeBodies};
use crate::http::connection::{self, BoundedStream, FIRST_HEAD_WITHIN, KEEP_ALIVE};
use crate::http::observe;
use crate::http::reports::Reports;
use crate::metrics::Metrics;
use crate::models::{Models, Origin, Version, follower};
use crate::openapi;
use crate::routes;
use crate::routes::docs::OpenApiJson;
use crate::startup::config::Config;
use crate::startup::per_worker::{PerWorker, WORKERS};
use crate::startup::wiring::{Adapters, Closer, StartupError};

/// How long closing one backend may take at shutdown.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the requests in flight have to finish at shutdown.
const SHUTDOWN_TIMEOUT_SECS: u64 = 30;
/// After answering a request whose body it did not read to the end, how
/// long the server reads and discards the rest before closing.
const DISCONNECT_WITHIN: Duration = Duration::from_secs(1);
/// Connections waiting to be accepted while every worker is full.
const BACKLOG: u32 = 2048;
/// Descriptors kept for what is not a client connection: the backends'
/// connections, the model and card files, the listeners.
const DESCRIPTORS_KEPT: u64 = 256;

/// How the server is run, beyond its adapters.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Bearer keys for `/v1/*`; with no admin keys either, `None` turns
    /// authentication off.
    pub api_keys: Option<Vec<String>>,
    /// Bearer keys for admin operations, which are API keys too.
    pub admin_keys: Option<Vec<String>>,
    /// Where the configured model came from.
    pub model_origin: Origin,
    /// A directory of model versions the routing may choose from.
    pub models_dir: Option<std::path::PathBuf>,
    /// The longest a request body may take to arrive (408 past it).
    pub body_timeout: Duration,
    /// Where `/metrics` and `/monitoring` are served instead of the public
    /// address, when set.
    pub operator_addr: Option<SocketAddr>,
    /// Client connections open at once, in the whole process; `None` sizes
    /// it from the descriptor limit.
    pub max_connections: Option<usize>,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            api_keys: None,
            admin_keys: None,
            model_origin: Origin::BuiltIn,
            models_dir: None,
            body_timeout: Duration::from_secs(10),
            operator_addr: None,
            max_connections: None,
        }
    }
}

/// The HTTP server, bound and not yet running.
pub struct Server {
    addr: SocketAddr,
    operator_addr: Option<SocketAddr>,
    model_version: String,
    server: ActixServer,
    closers: Vec<Closer>,
}

impl Server {
    pub async fn build(config: &Config) -> Result<Self, StartupError> {
        let adapters = Adapters::for_config(config).await?;
        let options = ServeOptions {
            api_keys: config.api_keys.clone().map(|keys| keys.0),
            admin_keys: config.admin_keys.clone().map(|keys| keys.0),
            model_origin: match config.model {
                None => Origin::BuiltIn,
                Some(_) => Origin::File,
            },
            models_dir: config.models_dir.clone(),
            body_timeout: config.body_timeout,
            operator_addr: config.operator_addr,
            max_connections: None,
        };
        Self::build_with(config.addr, adapters, options).await
    }

    /// Serves `adapters` on `addr` (port 0 picks a free port).
    pub async fn build_with(
        addr: SocketAddr,
        adapters: Adapters,
        options: ServeOptions,
    ) -> Result<Self, StartupError> {
        let bind = |addr: SocketAddr| {
            let listener =
                listen_on(addr).map_err(|source| StartupError::Listen { addr, source })?;
            let bound = listener
                .local_addr()
                .map_err(|source| StartupError::Listen { addr, source })?;
            Ok::<_, StartupError>((listener, bound))
        };
        let (listener, addr) = bind(addr)?;
        let operator = options.operator_addr.map(bind).transpose()?;
        let operator_addr = operator.as_ref().map(|(_, bound)| *bound);
        let metrics = Arc::new(Metrics::new());
        // Measured as the flow sees it; the breaker spares a cache that is
        // down the calls it would only fail.
        let cache = adapters.cache.map(|cache| {
            let metrics = metrics.clone();
            cache.map(move |inner| {
                Arc::new(MeteredCache {
                    inner: Arc::new(CacheBreaker::new(inner)),
                    metrics: metrics.clone(),
                }) as Arc<dyn DecisionCache>
            })
        });
        let store = {
            let metrics = metrics.clone();
            adapters.store.map(move |inner| {
                Arc::new(MeteredStore {
                    inner,
                    metrics: metrics.clone(),
                }) as Arc<dyn DecisionStore>
            })
        };
        let metered = {
            let metrics = metrics.clone();
            move |inner: Arc<dyn Scorer>| -> Arc<dyn Scorer> {
                Arc::new(MeteredScorer {
                    inner,
                    metrics: metrics.clone(),
                })
            }
        };
        let configured = Version {
            scorer: metered(adapters.scorer),
            origin: options.model_origin,
        };
        let models = Models::start(
            configured,
            options.models_dir.clone(),
            adapters.routing,
            Arc::new(metered),
            metrics.clone(),
        )
        .await
        .map_err(|error| StartupError::Routing(error.to_string()))?;
        let model_version = models.routing().champion;
        let following = follower::follow(models.clone());
        let mut closers = adapters.closers;
        closers.insert(
            0,
            Box::new(move || {
                following.abort();
                Box::pin(async {})
            }),
        );
        let shared = Shared {
            models: web::Data::from(models),
            names: web::Data::new(adapters.names),
            metrics: web::Data::from(metrics),
            api_keys: web::Data::new(ApiKeys::new(
                options.api_keys.as_deref(),
                options.admin_keys.as_deref(),
            )),
            document: web::Data::new(OpenApiJson(openapi::document_json(openapi::Keys {
                required: options.api_keys.is_some() || options.admin_keys.is_some(),
            }))),
            body_timeout: web::Data::new(BodyTimeout(options.body_timeout)),
            large_bodies: web::Data::new(LargeBodies::default()),
            reports: web::Data::new(Reports::default()),
        };
        // Run on each worker's thread as it starts: its flow, on its own
        // handles of the backends.
        let flow = move || {
            web::Data::new(DecisionFlow::new(
                cache.as_ref().map(PerWorker::get),
                store.get(),
            ))
        };
        let workers = WORKERS.get();
        let max_connections = options
            .max_connections
            .unwrap_or_else(connections_the_descriptors_allow);
        // actix-server counts per worker.
        let per_worker = max_connections.div_ceil(workers).max(1);
        let mut builder = ActixServer::build()
            .workers(workers)
            .max_concurrent_connections(per_worker)
            .shutdown_timeout(SHUTDOWN_TIMEOUT_SECS);
        let draining = builder.graceful_shutdown_signal();
        let public = {
            let (shared, flow, draining) = (shared.clone(), flow.clone(), draining.clone());
            move || {
                connection::set_worker_capacity(per_worker);
                let app = shared
                    .app(flow())
                    .configure(|config| routes::configure_public(config, operator_addr.is_some()))
                    .default_service(web::to(routes::not_found))
                    // Every request is observed, the refused ones too.
                    .wrap(from_fn(observe::observe));
                bounded_http(app, draining.clone())
            }
        };
        builder = builder
            .listen("public", listener, public)
            .map_err(|source| StartupError::Listen { addr, source })?;
        if let Some((listener, operator_addr)) = operator {
            let operator = move || {
                let app = shared
                    .app(flow())
                    .configure(routes::configure_operator)
                    .default_service(web::to(routes::not_found))
                    .wrap(from_fn(observe::observe));
                bounded_http(app, draining.clone())
            };
            builder = builder
                .listen("operator", listener, operator)
                .map_err(|source| StartupError::Listen {
                    addr: operator_addr,
                    source,
                })?;
        }
        Ok(Self {
            addr,
            operator_addr,
            model_version,
            server: builder.run(),
            closers,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The version of the champion the server started under.
    pub fn model_version(&self) -> &str {
        &self.model_version
    }

    /// The operators' address, when they have one.
    pub fn operator_addr(&self) -> Option<SocketAddr> {
        self.operator_addr
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

/// What every worker's app shares, made once.
#[derive(Clone)]
struct Shared {
    models: web::Data<Models>,
    names: web::Data<crate::routes::health::BackendNames>,
    metrics: web::Data<Metrics>,
    api_keys: web::Data<ApiKeys>,
    document: web::Data<OpenApiJson>,
    body_timeout: web::Data<BodyTimeout>,
    large_bodies: web::Data<LargeBodies>,
    reports: web::Data<Reports>,
}

impl Shared {
    fn app(
        &self,
        flow: web::Data<DecisionFlow>,
    ) -> App<
        impl actix_web::dev::ServiceFactory<
            actix_web::dev::ServiceRequest,
            Config = (),
            Response = actix_web::dev::ServiceResponse,
            Error = actix_web::Error,
            InitError = (),
        > + use<>,
    > {
        App::new()
            .app_data(flow)
            .app_data(self.models.clone())
            .app_data(self.names.clone())
            .app_data(self.metrics.clone())
            .app_data(self.api_keys.clone())
            .app_data(self.document.clone())
            .app_data(self.body_timeout.clone())
            .app_data(self.large_bodies.clone())
            .app_data(self.reports.clone())
    }
}

/// HTTP/1 over each accepted socket, read through a [`BoundedStream`] whose
/// phase the app's requests see as connection data.
fn bounded_http<F, B>(
    app: App<F>,
    draining: actix_server::GracefulShutdownSignal,
) -> impl actix_service::ServiceFactory<
    TcpStream,
    Config = (),
    Response = (),
    Error = actix_http::error::DispatchError,
    InitError = (),
>
where
    F: actix_web::dev::ServiceFactory<
            actix_web::dev::ServiceRequest,
            Config = (),
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
            InitError = (),
        > + 'static,
    B: actix_web::body::MessageBody + 'static,
{
    let http = HttpService::build()
        .keep_alive(KEEP_ALIVE)
        .client_request_timeout(FIRST_HEAD_WITHIN)
        .client_disconnect_timeout(DISCONNECT_WITHIN)
        .graceful_shutdown_signal(move || {
            let draining = draining.clone();
            async move { draining.notified().await }
        })
        .on_connect_ext(|stream: &BoundedStream, data| {
            data.insert(stream.phase());
        })
        .h1(map_config(
            app.into_factory()
                .map_err(|error: actix_web::Error| error.error_response()),
            |_| AppConfig::default(),
        ));
    fn_service(|socket: TcpStream| async move {
        let stream = BoundedStream::new(socket);
        let peer = stream.peer_addr().ok();
        Ok((stream, peer))
    })
    .and_then(http)
}

/// A listening socket on `addr` whose backlog holds a flood's connections
/// while the workers are full (std's listener keeps only 128).
fn listen_on(addr: SocketAddr) -> std::io::Result<TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG as i32)?;
    Ok(socket.into())
}

/// Client connections the process can hold: its descriptor limit, raised
/// to the hard limit, less what the backends and files need.
fn connections_the_descriptors_allow() -> usize {
    let limit = match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => limit,
        Err(error) => {
            tracing::warn!(%error, "the descriptor limit cannot be read; assuming 1024");
            1024
        }
    };
    limit.saturating_sub(DESCRIPTORS_KEPT).max(16) as usize
}
