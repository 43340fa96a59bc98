//! What every request passes through, and the answers it may get: the
//! connection's bounds, the request log, API keys, reading a JSON body
//! within its limits, problem+json errors, how many reports run at once,
//! and the OpenAPI schemas of what goes in and out.

pub mod auth;
pub mod body;
pub mod connection;
pub mod limits;
pub mod observe;
pub mod problem;
pub mod reports;
pub mod schemas;
mod strict_json;
