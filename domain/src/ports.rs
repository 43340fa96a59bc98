//! The ports: what the decision flow needs from the outside world.
//!
//! Adapters implement them (Redis, PostgreSQL, ONNX, in-memory); the flow
//! only ever sees these traits. Their errors speak of what went wrong for the
//! flow, not of the driver that failed.
//!
//! # Rules for a new adapter
//!
//! The port contract suite (`tests/src/scenarios/port_contracts.rs`) checks
//! these over every adapter; add yours to it.
//!
//! - **[`DecisionCache`]** is an optimisation, and must never hold a request
//!   up: every call returns within the adapter's own time bound.
//!   - `read` answers one [`CacheEntry`] per key, in key order: `Missing` for
//!     no entry (or an expired one), `Unreadable` for a stored value that is
//!     not a verdict (never an error: the flow rescores and overwrites it).
//!   - Any failure to reach the backend, or a call past its bound, is a
//!     [`CacheError`] (`TimedOut` for the bound); the flow then scores as on
//!     a miss and the request succeeds.
//!   - `write` stores every entry for the configured time to live; a later
//!     `read` of the same key in the same process sees it.
//! - **[`DecisionStore`]** holds the decision store, the record of truth.
//!   - `append` is all or nothing and durable when it returns `Ok`: the flow
//!     answers the client only then. Any doubt (connection lost, timeout,
//!     constraint violated) is [`StoreError::Unavailable`], and the client
//!     gets 503: a decision that may not be logged is never served.
//!   - `get` answers `Ok(None)` for an id never logged; `list` answers
//!     [`StoreError::UnknownCursor`] for a `before` never logged, pages
//!     newest first (in the order appended), and `next` only when an older
//!     record exists.
//!   - Records read back equal what was appended.
//!   - `tally` adds up the [`Cells`] of every entry whose `created_at` is in
//!     the window (whole minutes), by hour, model version and role (the
//!     served decision's under its version and arm, a shadow verdict's under
//!     the shadow's version), whatever its age: the same sums a scan of the
//!     store would give, in time that does not grow with the number of rows.
//! - **[`RoutingStore`]** keeps the routing's history, append-only: the
//!   newest change is the routing. `append` adds the next generation only if
//!   the newest is still the one the caller saw ([`RoutingError::Stale`]
//!   otherwise), so two operators cannot overwrite each other unseen.
//! - **[`Scorer`]** is pure computation, one per model version: one probability of default per
//!   application, in order, or a [`ScoringError`] (the client gets 503);
//!   `explain` gives a declined application's reasons from the same model.
//!
//! # Why `dyn` and `async_trait`
//!
//! The adapters are chosen at start-up from the configuration, and the test
//! suite wraps any of them in spies, so the flow holds `Arc<dyn Port>`
//! rather than being generic over three type parameters. Native `async fn`
//! in traits is not object-safe yet; `async_trait` boxes the futures, which
//! costs one allocation per call: nothing next to a network round trip.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use thiserror::Error;

use crate::application::Application;
use crate::cache_key::CacheKey;
use crate::decision::{
    CanonicalRequest, DecisionId, DecisionPage, DecisionRecord, Reason, Verdict,
};
use crate::model::ModelInfo;
use crate::monitoring::{Cells, HourlyTally, MinuteWindow};
use crate::routing::{Change, ChangePage, RoutingRequest};

#[derive(Debug, Error)]
pub enum CacheError {
    #[error("the decision cache is unavailable: {0}")]
    Unavailable(String),
    #[error("the decision cache did not answer within {0} ms")]
    TimedOut(u64),
    /// Not asked: it failed a moment ago, and is tried again in this many ms.
    #[error("the decision cache is paused after a failure; next try in {0} ms")]
    Paused(u64),
}

/// What the cache holds under one key.
#[derive(Debug, Clone, PartialEq)]
pub enum CacheEntry {
    Found(Verdict),
    Missing,
    /// Something is stored but it is not a verdict this service can read.
    Unreadable(String),
}

/// Remembers verdicts by cache key for a while. An optimisation only: the
/// flow survives every error it returns. Reads and writes take many keys so
/// that a batch costs one round trip each.
#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait DecisionCache: Send + Sync {
    /// The entry under each key, in the order of the keys.
    async fn read(&self, keys: &[CacheKey]) -> Result<Vec<CacheEntry>, CacheError>;
    /// Stores each verdict under its key, for the cache's time to live.
    async fn write(&self, entries: &[(CacheKey, Verdict)]) -> Result<(), CacheError>;
    /// Whether the cache answers at all (for readiness).
    async fn ping(&self) -> Result<(), CacheError>;
}

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("the decision store is unavailable: {0}")]
    Unavailable(String),
    #[error("no logged decision has the id {0}")]
    UnknownCursor(DecisionId),
}

/// A decision to store, with the cells it counts in for monitoring (under
/// its version and arm), and a shadow verdict's (under the shadow's version).
#[derive(Debug, Clone, PartialEq)]
pub struct StoreEntry {
    pub record: DecisionRecord,
    pub cells: Cells,
    pub shadow_cells: Option<Cells>,
}

/// A place in the log's reading order: by the time a decision was made,
/// then by the order it was logged in. A page starts after one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct LogPosition {
    pub at: DateTime<Utc>,
    pub seq: u64,
}

/// A page of the applications logged in a window, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestPage {
    pub requests: Vec<CanonicalRequest>,
    /// The last request's position when more may follow: the next page
    /// starts after it.
    pub next: Option<LogPosition>,
}

/// The applications a log holds, read without serving: what a backtest
/// scores. Nothing is written.
#[async_trait]
pub trait LoggedRequests: Send + Sync {
    /// How many were logged in `window`.
    async fn count(&self, window: MinuteWindow) -> Result<u64, StoreError>;
    /// Up to `limit` of them after `after` (none for the first page, then
    /// the previous page's `next`), oldest first. Ordered by time, a page
    /// is read from the time index wherever the window lies in the log.
    async fn page(
        &self,
        window: MinuteWindow,
        after: Option<LogPosition>,
        limit: u16,
    ) -> Result<RequestPage, StoreError>;
}

/// The decision store: every decision ever served, in the order it was logged.
#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait DecisionStore: Send + Sync {
    /// Durably writes the entries, all or none, before returning.
    async fn append(&self, entries: &[StoreEntry]) -> Result<(), StoreError>;
    async fn get(&self, id: DecisionId) -> Result<Option<DecisionRecord>, StoreError>;
    /// Up to `limit` records logged before `before` (or the newest), newest first.
    async fn list(
        &self,
        limit: u16,
        before: Option<DecisionId>,
    ) -> Result<DecisionPage, StoreError>;
    /// The cells of the decisions logged in the window, added up by hour
    /// and model version.
    async fn tally(&self, window: MinuteWindow) -> Result<Vec<HourlyTally>, StoreError>;
    /// Whether the store answers at all (for readiness).
    async fn ping(&self) -> Result<(), StoreError>;
}

#[derive(Debug, Error)]
#[error("the model could not score: {0}")]
pub struct ScoringError(pub String);

/// The credit model. Scoring is pure computation in microseconds, so it is
/// a plain function rather than an async one. It takes the applications by
/// reference: nothing is copied to be scored or explained.
#[cfg_attr(test, mockall::automock)]
// mockall cannot mock a reference inside a slice without its lifetime named.
#[allow(clippy::needless_lifetimes)]
pub trait Scorer: Send + Sync {
    fn model(&self) -> &ModelInfo;
    /// The probability of default of each application, in order.
    fn score<'a>(&self, applications: &[&'a Application]) -> Result<Vec<f32>, ScoringError>;
    /// The principal reasons each declined application was declined, from
    /// the model itself: most important first, at most four; in order.
    fn explain<'a>(&self, declined: &[&'a Application]) -> Result<Vec<Vec<Reason>>, ScoringError>;
}

#[derive(Debug, Error)]
pub enum RoutingError {
    /// The newest change is no longer the one the caller saw.
    #[error("the routing is at generation {current}, not {expected}")]
    Stale { expected: u64, current: u64 },
    #[error(transparent)]
    Unavailable(#[from] StoreError),
}

/// The routing's history: every change, append-only. With no change yet the
/// built-in routing holds (generation 0).
#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait RoutingStore: Send + Sync {
    /// The newest change, if any.
    async fn newest(&self) -> Result<Option<Change>, StoreError>;
    /// Appends `routing` as generation `expected + 1`, by `by`, if the
    /// newest change is still generation `expected` (0: none yet).
    async fn append(
        &self,
        expected: u64,
        routing: &RoutingRequest,
        by: &str,
    ) -> Result<Change, RoutingError>;
    /// Up to `limit` changes older than generation `before` (or the
    /// newest), newest first.
    async fn changes(&self, limit: u16, before: Option<u64>) -> Result<ChangePage, StoreError>;
}
