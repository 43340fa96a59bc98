//! The credit-decisions domain: applications, decisions, the ports the
//! decision flow needs, and the flow itself.
//!
//! This crate does no I/O and knows no framework: adapters implement the
//! ports, the HTTP app calls [`DecisionFlow`].

pub mod application;
pub mod backtest;
pub mod cache_key;
pub mod decision;
pub mod fields;
pub mod flow;
pub mod model;
pub mod monitoring;
pub mod ports;
pub mod routing;

#[cfg(any(test, feature = "generators"))]
pub mod generators;
#[cfg(test)]
mod properties;

pub use application::{Application, FIELD_COUNT, FieldError, FieldSpec};
pub use cache_key::CacheKey;
pub use decision::{
    Arm, CanonicalRequest, Decision, DecisionId, DecisionPage, DecisionRecord, Outcome, Reason,
    Source, Verdict,
};
pub use flow::{CacheStatus, DecideError, DecisionFlow, Readiness, Routed, Served};
pub use model::{ModelInfo, ReasonRules, UntrustedVerdict};
pub use monitoring::{
    Baseline, Cells, Comparison, HourlyTally, MinuteWindow, MonitoringReport, Role, Tally, Window,
};
pub use ports::{
    CacheEntry, CacheError, DecisionCache, DecisionStore, LogPosition, LoggedRequests, RequestPage,
    RoutingError, RoutingStore, Scorer, ScoringError, StoreEntry, StoreError,
};
pub use routing::{Challenger, Change, ChangePage, Mode, Routing, RoutingRequest, changed_by};
