//! Logging, set up once at start-up: human-readable text by default, one
//! JSON object per line with `CREDIT_DECISIONS_LOG_FORMAT=json`. `RUST_LOG`
//! filters (default `info`).

use tracing_subscriber::EnvFilter;

use crate::startup::config::LogFormat;

pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}
