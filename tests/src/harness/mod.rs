//! What every scenario needs: the app running on chosen adapters, spies
//! around each port, a client that speaks the contract, and test data.

pub mod answers;
pub mod data;
pub mod faults;
pub mod proxy;
pub mod real_backends;
pub mod redis_cluster;
pub mod service_process;
pub mod spies;
pub mod test_app;
pub mod throwaway_redis;
pub mod waiting;

pub use test_app::{TestApp, TestBackends};
pub use waiting::eventually;
