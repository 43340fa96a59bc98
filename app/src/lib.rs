//! The credit-decisions HTTP service: the contract's endpoints over the
//! decision flow of the `domain` crate, on the adapters the configuration
//! selects.

mod auth;
mod cache_breaker;
pub mod config;
mod connection;
mod dashboard;
mod instrumented;
mod json_body;
pub mod metrics;
mod observe;
pub mod openapi;
pub mod per_worker;
pub mod problem;
mod reports;
mod routes;
pub mod schemas;
pub mod secrets;
mod server;
mod strict_json;
pub mod telemetry;
mod wiring;

pub use actix_server::ServerHandle;
pub use config::Config;
pub use per_worker::PerWorker;
pub use routes::BATCH_MAX;
pub use routes::health::BackendNames;
pub use server::{ServeOptions, Server};
pub use wiring::{Adapters, StartupError};
