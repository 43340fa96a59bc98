//! How the PostgreSQL store is set up: where it connects, as whom, and the
//! bounds it keeps.

use std::time::Duration;

use crate::connection::PoolMode;
use crate::group_commit::GroupSettings;

#[derive(Debug, Clone)]
pub struct PostgresStoreSettings {
    /// The role the service serves with: it writes and reads decisions.
    pub url: String,
    /// The role that owns the store's schema, when another: migrations,
    /// partition upkeep, retention and the tallies' fold run as it, and the
    /// serving role is granted what serving needs and nothing more. `None`:
    /// one role does both.
    pub owner_url: Option<String>,
    pub max_connections: u32,
    /// The longest a request waits for a connection before the store counts as
    /// unavailable (503) rather than hanging.
    pub acquire_timeout: Duration,
    /// The longest a request waits for its rows to be committed (a locked
    /// table, a slow disk): past it the request is answered 503, and the
    /// server cancels the statement.
    pub commit_timeout: Duration,
    /// Months a record is kept; older months are dropped whole.
    pub retention_months: u32,
    /// Whether a pooler in transaction mode (PgBouncer) stands between the
    /// service and PostgreSQL.
    pub pool_mode: PoolMode,
    /// How appends are grouped into commits.
    pub group: GroupSettings,
    /// How often the monitoring tallies' deltas are folded into per-minute
    /// rows: often enough that a report reads only a second's worth of them.
    pub fold_every: Duration,
}

impl PostgresStoreSettings {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            owner_url: None,
            max_connections: 16,
            acquire_timeout: Duration::from_secs(2),
            commit_timeout: Duration::from_secs(5),
            retention_months: 25,
            pool_mode: PoolMode::Session,
            group: GroupSettings {
                queue_rows: 10_000,
                max_group_rows: 2_000,
                writers: 1,
            },
            fold_every: Duration::from_secs(1),
        }
    }
}
