//! The decision log on PostgreSQL, with sea-orm.
//!
//! One table, `decisions`, one row per decision served: its id, when, where
//! its verdict came from, the verdict's columns for querying, and the request
//! and response as JSONB exactly as served. `seq`, an identity column, is the
//! order rows were written in: pages are read newest first along it. The
//! schema is created and migrated at start-up by [`Migrator`].

mod decision_log;
mod decision_row;
pub mod migration;

pub use decision_log::{PostgresDecisionLog, PostgresLogSettings};
pub use migration::Migrator;
