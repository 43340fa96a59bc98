//! The decision cache on Redis, with fred.
//!
//! Keys are `<namespace>:verdict:<sha256>`: a configurable prefix and the
//! hash of the model version and the canonical application, never personal
//! data. Values are the verdict as JSON (signed when a signing key is set:
//! see `entry`), written with `SET … PX <ttl>`, so Redis expires them by
//! itself. A batch is one `MGET` and its `SET`s, all sent at once: a round
//! trip each.
//!
//! A near cache in front (`near`, on unless `near_entries` is 0) keeps the
//! verdicts this client read lately in memory, coherent with Redis through
//! client tracking, so a repeated application costs no round trip. Flushes,
//! which fred does not pass on, are noticed by canary keys (`flushes`).
//!
//! On a Redis Cluster (`redis-cluster://host:port,host:port`) the client
//! follows the cluster's slot map and its failovers. A multi-key command
//! must stay within one hash slot there, so a batch is read as one `GET` per
//! key, all sent at once (see `read_each` for why not an `MGET` per slot);
//! each `SET` of a write goes to its own node likewise.
//!
//! The cache is an optimisation, so it must never hold a request up: every
//! call is bounded by `timeout` (tens of milliseconds), past which it fails
//! and the flow treats it as a miss. The client reconnects by itself, forever,
//! when Redis goes away and comes back; the service starts even when Redis is
//! down at the time.

mod coherence;
mod commands;
mod decision_cache;
mod entry;
mod flushes;
mod near;
mod settings;
mod url;

pub use decision_cache::RedisDecisionCache;
pub use entry::{LARGEST_ENTRY, SigningKey};
pub use settings::RedisCacheSettings;
