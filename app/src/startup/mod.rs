//! Starting the service: the command line, the configuration read and
//! checked (every setting in `variables.rs`), the adapters
//! it selects connected, the server that serves them on each worker thread
//! (each with handles of its own), and logging.

pub mod command_line;
pub mod config;
pub mod per_worker;
pub mod secrets;
pub mod server;
pub mod telemetry;
pub mod variables;
pub mod wiring;
