//! The decision store on PostgreSQL, with sea-orm.
//!
//! One table, `decisions`, partitioned by month of `created_at`: one row per
//! decision served, with its id, when, where its verdict came from, the
//! verdict's columns for querying, and the request and response as `json`,
//! the text exactly as served. `seq` (a sequence) is the order rows were
//! written in: pages are read newest first along it. The database itself
//! refuses UPDATE, DELETE and TRUNCATE; the only removal is dropping a month
//! past retention ([`partitions`]). The schema is created, or an earlier
//! release's migrated in place, at start-up by [`Migrator`]. The appends of
//! concurrent requests are written in one statement and one commit (group
//! commit), each answered only once its own rows are committed.

mod cells;
mod connection;
mod decision_store;
mod error;
mod group_commit;
mod log_reader;
pub mod migration;
#[cfg(target_os = "linux")]
mod nodelay;
pub mod partitions;
mod routing_store;
mod rows;
mod settings;
mod tally;
mod upkeep;
mod writer;

pub use connection::PoolMode;
pub use decision_store::{PostgresDecisionStore, REPORT_CONNECTIONS};
pub use group_commit::GroupSettings;
pub use log_reader::PostgresLogReader;
pub use migration::Migrator;
pub use settings::PostgresStoreSettings;
