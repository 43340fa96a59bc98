//! In-memory adapters of the decision cache, the decision store and the
//! routing's history.
//!
//! They serve a service run with nothing installed, and they are the fakes
//! that the test suite runs the whole app on. They behave like the real
//! adapters in everything a caller can see (the port contract tests in
//! `tests/` run the same checks over both), but keep nothing across restarts.

mod decision_cache;
mod decision_store;
mod routing_store;

pub use decision_cache::MemoryDecisionCache;
pub use decision_store::MemoryDecisionStore;
pub use routing_store::MemoryRoutingStore;
