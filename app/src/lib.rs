//! The credit-decisions HTTP service: the contract's endpoints over the
//! decision flow of the `domain` crate, on the adapters the configuration
//! selects.

mod auth;
pub mod config;
mod instrumented;
mod json_body;
pub mod metrics;
mod observe;
pub mod openapi;
pub mod problem;
mod routes;
pub mod startup;
pub mod telemetry;

pub use actix_web::dev::ServerHandle;
pub use config::Config;
pub use routes::BATCH_MAX;
pub use startup::{Adapters, BackendNames, ServeOptions, Service, StartupError};
