//! The credit-decisions HTTP service: the contract's endpoints over the
//! decision flow of the `domain` crate, on the adapters the configuration
//! selects.
//!
//! - `commands/`: the subcommands besides serving (migrate, check-model,
//!   backtest);
//! - `startup/`: the command line, the configuration, the adapters it selects, the server
//!   that serves them on each worker thread, logging;
//! - `http/`: what every request passes through (the connection's bounds,
//!   the request log, API keys, reading bodies, problem answers) and the
//!   OpenAPI schemas of the bodies;
//! - `routes/`: the thin handlers of the contract's endpoints;
//! - `dashboard/`: the monitoring page, drawn on the server;
//! - `models/`: the model versions and the routing over them (champion,
//!   challenger, hot swap), followed from the routing store;
//! - `decorators/`: wrappers around the ports (metrics, the cache's
//!   circuit breaker);
//! - `openapi.rs`: the document, assembled from the handlers;
//! - `metrics.rs`: the Prometheus registry.

pub mod commands;
mod dashboard;
mod decorators;
mod http;
pub mod metrics;
pub mod models;
mod openapi;
mod routes;
pub mod startup;

pub use actix_server::ServerHandle;
pub use http::limits::BATCH_MAX;
pub use routes::health::BackendNames;
pub use startup::config::Config;
pub use startup::per_worker::PerWorker;
pub use startup::server::{ServeOptions, Server};
pub use startup::telemetry;
pub use startup::wiring::{Adapters, StartupError};
