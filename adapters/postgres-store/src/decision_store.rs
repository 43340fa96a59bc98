//! The `DecisionStore` port on PostgreSQL: the decision log.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::{
    CanonicalRequest, Decision, DecisionId, DecisionPage, DecisionRecord, DecisionStore,
    HourlyTally, MinuteWindow, Source, StoreEntry, StoreError,
};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, QueryResult, Statement, Value};
use sea_orm_migration::MigratorTrait;

use tokio::task::AbortHandle;

use crate::connection::{Connection, PoolMode};
use crate::group_commit::{Commit, GroupCommit, GroupSettings};
use crate::migration::{self, Migrator};
use crate::partitions;
use crate::tally;
use crate::writer::WriterConnection;

#[derive(Debug, Clone)]
pub struct PostgresStoreSettings {
    /// The role the service serves with: it writes and reads decisions.
    pub url: String,
    /// The role that owns the log's schema, when another: migrations,
    /// partition upkeep, retention and the tallies' fold run as it, and the
    /// serving role is granted what serving needs and nothing more. `None`:
    /// one role does both.
    pub owner_url: Option<String>,
    pub max_connections: u32,
    /// The longest a request waits for a connection before the log counts as
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

/// How often partitions are made ahead and old ones dropped.
const MAINTENANCE_EVERY: Duration = Duration::from_secs(3600);

/// Monitoring reports computed at once: each on a connection of this pool,
/// never on the ones decisions are logged and read with.
pub const REPORT_CONNECTIONS: u32 = 2;

#[derive(Clone)]
pub struct PostgresDecisionStore {
    connection: Connection,
    /// The reports' own connections.
    reports: Connection,
    /// The longest a request waits for its rows to be committed, and for
    /// any read: a stalled server never answers, nor applies its own bound.
    commit_timeout: Duration,
    group: Arc<GroupCommit>,
    /// Made to run partition upkeep now (a missing month was seen).
    upkeep_now: Arc<tokio::sync::Notify>,
    maintenance: AbortHandle,
    folding: AbortHandle,
}

/// Every column of a record, as read back: the bodies as the text logged.
const RECORD_COLUMNS: &str =
    "decision_id, created_at, source, request::text AS request, response::text AS response";

impl PostgresDecisionStore {
    /// Connects, brings the schema up to date (migrating an earlier release's
    /// table in place), makes the partitions ahead and drops those past
    /// retention, and keeps doing so every hour; all of it as the owner
    /// when one is configured, who grants the serving role what it needs.
    pub async fn connect(settings: &PostgresStoreSettings) -> Result<Self, String> {
        let open = |url: String, max_connections: u32| {
            let settings = settings.clone();
            async move {
                Connection::open(
                    &url,
                    settings.pool_mode,
                    max_connections,
                    settings.acquire_timeout,
                    settings.commit_timeout,
                )
                .await
            }
        };
        let cannot_connect = |error: DbErr| format!("cannot connect to PostgreSQL: {error}");
        let connection = open(settings.url.clone(), settings.max_connections)
            .await
            .map_err(cannot_connect)?;
        let serving_role = match &settings.owner_url {
            None => None,
            Some(_) => Some(current_user(&connection).await.map_err(cannot_connect)?),
        };
        migrate(settings, serving_role.as_deref()).await?;
        let upkeep = match &settings.owner_url {
            None => connection.clone(),
            Some(owner_url) => open(owner_url.clone(), 2).await.map_err(cannot_connect)?,
        };
        let reports = open(settings.url.clone(), REPORT_CONNECTIONS)
            .await
            .map_err(cannot_connect)?;
        maintain_partitions(&upkeep, settings.retention_months)
            .await
            .map_err(|error| format!("cannot prepare the decision store's partitions: {error}"))?;
        let upkeep_now = Arc::new(tokio::sync::Notify::new());
        let maintenance = tokio::spawn(keep_partitions(
            upkeep.clone(),
            settings.retention_months,
            upkeep_now.clone(),
        ));
        let folding = tokio::spawn(keep_folding(upkeep, settings.fold_every));
        let commit = committing(&connection, settings.commit_timeout, settings.group.writers);
        let group = GroupCommit::start(settings.group, commit);
        Ok(Self {
            connection,
            reports,
            commit_timeout: settings.commit_timeout,
            group: Arc::new(group),
            upkeep_now,
            maintenance: maintenance.abort_handle(),
            folding: folding.abort_handle(),
        })
    }

    /// A handle on the same log for the calling thread: a pool of its own
    /// for reads (at most `max_connections`), on this thread's runtime, and
    /// the log's one group-commit queue. The queue is shared so that the
    /// appends of every thread make one group: groups twice as large as one
    /// queue per worker thread made, for half the commits (README, "Speed").
    pub fn on_this_thread(&self, max_connections: u32) -> Self {
        Self {
            connection: self.connection.another_pool(max_connections),
            ..self.clone()
        }
    }

    /// Commits made so far: each holds the rows of one or more appends.
    pub fn commits(&self) -> u64 {
        self.group.commits()
    }

    /// Moves the monitoring tallies' deltas into their per-minute rows now
    /// (a background task does so every second); how many it moved.
    pub async fn fold_tallies(&self) -> Result<u64, StoreError> {
        tally::fold(&self.connection).await
    }

    /// Closes the log at shutdown: every queued append is committed (or
    /// answered) first, their tallies folded, then the connection pool is
    /// closed.
    pub async fn close(&self) {
        self.maintenance.abort();
        self.folding.abort();
        self.group.drain(self.commit_timeout).await;
        if let Err(error) = self.fold_tallies().await {
            tracing::warn!(%error, "monitoring tallies not folded at shutdown; the next start folds them");
        }
        let _ = self.connection.db.clone().close().await;
    }

    async fn query(&self, sql: &str, values: Vec<Value>) -> Result<Vec<QueryResult>, StoreError> {
        let statement = Statement::from_sql_and_values(DbBackend::Postgres, sql, values);
        self.bounded(self.connection.query(statement)).await
    }

    /// A read bounded as a commit is: past the bound the log counts as
    /// unavailable (503), whatever the server does.
    async fn bounded<T>(
        &self,
        read: impl Future<Output = Result<T, DbErr>>,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout(self.commit_timeout, read).await {
            Ok(outcome) => outcome.map_err(unavailable),
            Err(_) => Err(StoreError::Unavailable(format!(
                "PostgreSQL did not answer within {} ms",
                self.commit_timeout.as_millis()
            ))),
        }
    }
}

/// Commits the groups of `writers` writers, each on a connection of its own.
fn committing(connection: &Connection, commit_timeout: Duration, writers: usize) -> Commit {
    let connections: Arc<Vec<Arc<WriterConnection>>> = Arc::new(
        (0..writers.max(1))
            .map(|_| Arc::new(connection.writer(commit_timeout)))
            .collect(),
    );
    Arc::new(move |writer, entries| {
        let connection = connections[writer].clone();
        Box::pin(async move { connection.commit(&entries).await })
    })
}

/// Brings the schema up to date, in one transaction on a connection of its
/// own: moving a large log may take longer than any request-sized statement
/// bound. Replicas starting together take turns on an advisory lock; the
/// later ones find the work done. One transaction also keeps the migration
/// on one server connection behind a transaction pooler.
async fn migrate(
    settings: &PostgresStoreSettings,
    serving_role: Option<&str>,
) -> Result<(), String> {
    let failed = |error: DbErr| format!("cannot migrate the decision store: {error}");
    // No statement bound (zero): the migration takes what it takes.
    let admin = Connection::open(
        settings.owner_url.as_deref().unwrap_or(&settings.url),
        settings.pool_mode,
        1,
        settings.acquire_timeout,
        Duration::ZERO,
    )
    .await
    .map_err(|error| format!("cannot connect to PostgreSQL: {error}"))?;
    let transaction = admin.begin().await.map_err(failed)?;
    transaction
        .execute_unprepared(MIGRATION_LOCK)
        .await
        .map_err(failed)?;
    Migrator::up(&transaction, None).await.map_err(failed)?;
    if let Some(role) = serving_role {
        transaction
            .execute_unprepared(&migration::grants_to(role))
            .await
            .map_err(failed)?;
    }
    transaction.commit().await.map_err(failed)?;
    let _ = admin.db.close().await;
    Ok(())
}

const MIGRATION_LOCK: &str =
    "SELECT pg_advisory_xact_lock(hashtext('credit-decisions: decision log migrations'))";

async fn maintain_partitions(connection: &Connection, retention_months: u32) -> Result<(), DbErr> {
    partitions::maintain_in(connection.begin().await?, Utc::now(), retention_months)
        .await
        .map(|_| ())
}

/// The partitions' upkeep, every hour and whenever a missing month is seen.
async fn keep_partitions(
    connection: Connection,
    retention_months: u32,
    now: Arc<tokio::sync::Notify>,
) {
    let mut every = tokio::time::interval(MAINTENANCE_EVERY);
    every.tick().await;
    loop {
        tokio::select! {
            _ = every.tick() => {}
            () = now.notified() => {}
        }
        if let Err(error) = maintain_partitions(&connection, retention_months).await {
            tracing::warn!(%error, "decision store partition upkeep failed; retrying in an hour");
        }
    }
}

/// Folds the monitoring tallies' deltas now and every `period`. A failed
/// fold leaves them where they are (a report still counts them) for the
/// next one.
async fn keep_folding(connection: Connection, period: Duration) {
    let mut every = tokio::time::interval(period);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        if let Err(error) = tally::fold(&connection).await {
            tracing::warn!(%error, "monitoring tallies not folded; retrying");
        }
    }
}

/// The role a connection serves as.
async fn current_user(connection: &Connection) -> Result<String, DbErr> {
    let rows = connection
        .query(Statement::from_string(
            DbBackend::Postgres,
            "SELECT current_user::text AS role",
        ))
        .await?;
    rows.first()
        .ok_or_else(|| DbErr::Custom("no current user".to_owned()))?
        .try_get("", "role")
}

pub(crate) fn unavailable(error: DbErr) -> StoreError {
    StoreError::Unavailable(error.to_string())
}

/// A record as logged. The request is taken as it was written, never
/// validated again; only a row the log itself could not have written (a
/// response that is not a decision) makes the read fail.
fn record_of(row: &QueryResult) -> Result<DecisionRecord, StoreError> {
    let column = |error: DbErr| StoreError::Unavailable(format!("unreadable log row: {error}"));
    let id: uuid::Uuid = row.try_get("", "decision_id").map_err(column)?;
    let corrupt = |what: &str, error: String| {
        StoreError::Unavailable(format!("decision {id} has an unreadable {what}: {error}"))
    };
    let source: String = row.try_get("", "source").map_err(column)?;
    let request: String = row.try_get("", "request").map_err(column)?;
    let response: String = row.try_get("", "response").map_err(column)?;
    Ok(DecisionRecord {
        decision_id: id.into(),
        created_at: row
            .try_get::<DateTime<Utc>>("", "created_at")
            .map_err(column)?,
        source: Source::parse(&source).ok_or_else(|| corrupt("source", source.clone()))?,
        request: CanonicalRequest::from_logged(request)
            .map_err(|error| corrupt("request", error.to_string()))?,
        response: serde_json::from_str::<Decision>(&response)
            .map_err(|error| corrupt("response", error.to_string()))?,
    })
}

#[async_trait]
impl DecisionStore for PostgresDecisionStore {
    /// Queues the records for the next group commit and answers once the
    /// commit holding them is done (or past the commit bound: 503).
    async fn append(&self, entries: &[StoreEntry]) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        match tokio::time::timeout(self.commit_timeout, self.group.append(entries.to_vec())).await {
            Ok(outcome) => outcome,
            Err(_) => Err(StoreError::Unavailable(format!(
                "the rows were not committed within {} ms",
                self.commit_timeout.as_millis()
            ))),
        }
    }

    async fn get(&self, id: DecisionId) -> Result<Option<DecisionRecord>, StoreError> {
        let rows = self
            .query(
                &format!("SELECT {RECORD_COLUMNS} FROM decisions WHERE decision_id = $1"),
                vec![id.as_uuid().into()],
            )
            .await?;
        rows.first().map(record_of).transpose()
    }

    async fn list(
        &self,
        limit: u16,
        before: Option<DecisionId>,
    ) -> Result<DecisionPage, StoreError> {
        let fetch = i64::from(limit) + 1;
        let rows = match before {
            None => {
                self.query(
                    &format!("SELECT {RECORD_COLUMNS} FROM decisions ORDER BY seq DESC LIMIT $1"),
                    vec![fetch.into()],
                )
                .await?
            }
            Some(before) => {
                let cursor = self
                    .query(
                        "SELECT seq FROM decisions WHERE decision_id = $1",
                        vec![before.as_uuid().into()],
                    )
                    .await?;
                let Some(cursor) = cursor.first() else {
                    return Err(StoreError::UnknownCursor(before));
                };
                let seq: i64 = cursor.try_get("", "seq").map_err(unavailable)?;
                self.query(
                    &format!(
                        "SELECT {RECORD_COLUMNS} FROM decisions WHERE seq < $1 ORDER BY seq DESC LIMIT $2"
                    ),
                    vec![seq.into(), fetch.into()],
                )
                .await?
            }
        };
        let more = rows.len() > usize::from(limit);
        let items = rows
            .iter()
            .take(usize::from(limit))
            .map(record_of)
            .collect::<Result<Vec<_>, _>>()?;
        let next = if more {
            items.last().map(|record| record.decision_id)
        } else {
            None
        };
        Ok(DecisionPage { items, next })
    }

    async fn tally(&self, window: MinuteWindow) -> Result<Vec<HourlyTally>, StoreError> {
        match tokio::time::timeout(self.commit_timeout, tally::read(&self.reports, window)).await {
            Ok(outcome) => outcome,
            Err(_) => Err(StoreError::Unavailable(format!(
                "PostgreSQL did not answer within {} ms",
                self.commit_timeout.as_millis()
            ))),
        }
    }

    /// Ready when the log answers and can take rows now: this month has its
    /// partition. A missing one is made by the upkeep, nudged here.
    async fn ping(&self) -> Result<(), StoreError> {
        let rows = self
            .query(partitions::THIS_MONTH_HAS_ITS_PARTITION, vec![])
            .await?;
        let ready = rows
            .first()
            .and_then(|row| row.try_get::<bool>("", "ready").ok())
            .unwrap_or(false);
        if ready {
            return Ok(());
        }
        self.upkeep_now.notify_one();
        Err(StoreError::Unavailable(
            "this month has no partition in the decision store yet; it is being made".to_owned(),
        ))
    }
}
