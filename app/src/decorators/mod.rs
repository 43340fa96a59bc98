//! Wrappers around the ports that change nothing the flow sees: metrics of
//! each port, and the circuit breaker that spares a cache that is down.

pub mod cache_breaker;
pub mod metered;
