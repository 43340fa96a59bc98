//! Starting the service: the configuration read and checked, the adapters
//! it selects connected, the server that serves them on each worker thread
//! (each with handles of its own), and logging.

pub mod config;
pub mod per_worker;
pub mod secrets;
pub mod server;
pub mod telemetry;
pub mod wiring;
