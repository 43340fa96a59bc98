//! The `DecisionStore` port on PostgreSQL: the decision store.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use domain::{
    DecisionId, DecisionPage, DecisionRecord, DecisionStore, HourlyTally, MinuteWindow, StoreEntry,
    StoreError,
};
use sea_orm::{DbBackend, DbErr, QueryResult, Statement, Value};

use tokio::task::AbortHandle;

use crate::connection::Connection;
use crate::error::{no_answer_within, unavailable};
use crate::group_commit::{Commit, GroupCommit};
use crate::migration::{current_user, migrate};
use crate::partitions;
use crate::rows::{RECORD_COLUMNS, record_of};
use crate::settings::PostgresStoreSettings;
use crate::tally;
use crate::upkeep::{keep_folding, keep_partitions, maintain_partitions};
use crate::writer::WriterConnection;

/// Monitoring reports computed at once: each on a connection of this pool,
/// never on the ones decisions are logged and read with.
pub const REPORT_CONNECTIONS: u32 = 2;

#[derive(Clone)]
pub struct PostgresDecisionStore {
    pub(crate) connection: Connection,
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

    /// Brings the schema up to date and makes this month's partitions and
    /// those ahead, as `connect` does, then closes: `credit-decisions
    /// migrate`, run before replicas roll out.
    pub async fn migrate(settings: &PostgresStoreSettings) -> Result<(), String> {
        let cannot_connect = |error: DbErr| format!("cannot connect to PostgreSQL: {error}");
        let open = |url: String| async move {
            Connection::open(
                &url,
                settings.pool_mode,
                1,
                settings.acquire_timeout,
                settings.commit_timeout,
            )
            .await
        };
        let serving = open(settings.url.clone()).await.map_err(cannot_connect)?;
        let serving_role = match &settings.owner_url {
            None => None,
            Some(_) => Some(current_user(&serving).await.map_err(cannot_connect)?),
        };
        migrate(settings, serving_role.as_deref()).await?;
        let upkeep = match &settings.owner_url {
            None => serving.clone(),
            Some(owner_url) => open(owner_url.clone()).await.map_err(cannot_connect)?,
        };
        maintain_partitions(&upkeep, settings.retention_months)
            .await
            .map_err(|error| format!("cannot prepare the decision store's partitions: {error}"))?;
        let _ = upkeep.db.close().await;
        let _ = serving.db.close().await;
        Ok(())
    }

    /// A handle on the same store for the calling thread: a pool of its own
    /// for reads (at most `max_connections`), on this thread's runtime, and
    /// the store's one group-commit queue. The queue is shared so that the
    /// appends of every thread make one group: larger groups, for fewer
    /// commits, than a queue per worker thread made (docs/performance.md).
    pub fn on_this_thread(&self, max_connections: u32) -> Self {
        Self {
            connection: self.connection.another_pool(max_connections),
            ..self.clone()
        }
    }

    /// Rows waiting for their commit now (queued or being committed).
    pub fn waiting_rows(&self) -> usize {
        self.group.waiting_rows()
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

    /// Closes the store at shutdown: every queued append is committed (or
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

    pub(crate) async fn query(
        &self,
        sql: &str,
        values: Vec<Value>,
    ) -> Result<Vec<QueryResult>, StoreError> {
        let statement = Statement::from_sql_and_values(DbBackend::Postgres, sql, values);
        self.bounded(self.connection.query(statement)).await
    }

    /// A read bounded as a commit is: past the bound the store counts as
    /// unavailable (503), whatever the server does.
    pub(crate) async fn bounded<T>(
        &self,
        read: impl Future<Output = Result<T, DbErr>>,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout(self.commit_timeout, read).await {
            Ok(outcome) => outcome.map_err(unavailable),
            Err(_) => Err(no_answer_within(self.commit_timeout)),
        }
    }
}

/// Commits the groups of `writers` writers, each on a connection of its own.
fn committing(connection: &Connection, commit_timeout: Duration, writers: usize) -> Commit {
    let connections: Arc<Vec<Arc<WriterConnection>>> = Arc::new(
        (0..writers.max(1))
            .map(|_| Arc::new(WriterConnection::like(connection, commit_timeout)))
            .collect(),
    );
    Arc::new(move |writer, entries| {
        let connection = connections[writer].clone();
        Box::pin(async move { connection.commit(&entries).await })
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
            Err(_) => Err(no_answer_within(self.commit_timeout)),
        }
    }

    /// Ready when the store answers and can take rows now: this month has its
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
