//! The credit-decisions domain: applications, decisions, the ports the
//! decision flow needs, and the flow itself.
//!
//! This crate does no I/O and knows no framework: adapters implement the
//! ports, the HTTP app calls [`DecisionService`].

pub mod application;
pub mod cache_key;
pub mod decision;
pub mod fields;
pub mod ports;
pub mod service;

pub use application::{Application, FieldError};
pub use cache_key::CacheKey;
pub use decision::{Decision, DecisionId, DecisionPage, DecisionRecord, Outcome, Source, Verdict};
pub use ports::{
    CacheEntry, CacheError, DecisionCache, DecisionStore, ModelInfo, Scorer, ScoringError,
    StoreError,
};
pub use service::{CacheStatus, DecideError, DecisionService, Readiness, Served};
