//! A group-commit writer's own connection to PostgreSQL.
//!
//! A writer commits one group after another, so it holds one connection
//! from one commit to the next instead of taking one from the pool each
//! time. sqlx 0.9 checks every pooled connection with a round trip on its
//! way back to the pool (a `ping` in `return_to_pool`): a second round trip
//! for every commit, and while it ran the next commit took another
//! connection, so the commits of four writers spread over a dozen server
//! processes. A connection that fails, or does not answer within its bound,
//! is dropped; the next commit opens another.

use std::time::Duration;

use chrono::{DateTime, Datelike, Utc};
use domain::{StoreEntry, StoreError};
use sea_orm::sqlx::postgres::{PgConnectOptions, PgConnection};
use sea_orm::sqlx::{self, Connection as _};
use tokio::sync::Mutex;

use crate::cells;
use crate::connection::{Connection, PoolMode};
use crate::partitions;
use crate::tally::GroupTallies;

/// One statement for any number of entries: the rows' columns as arrays,
/// unnested, and their tallies inserted as deltas in the same statement (so
/// in the same transaction: the tallies are exactly as durable as the rows).
/// Its plan does not depend on the row count, so one prepared statement
/// serves every batch size.
const APPEND: &str = "
    WITH logged AS (
        INSERT INTO decisions (decision_id, created_at, source, model_version, decision,
                               probability_of_default, request, response, cells, arm, shadow)
        SELECT id, at, source, model_version, decision, probability, request::json,
               response::json, nullif(cells, ''), arm, shadow::json
        FROM unnest($1::uuid[], $2::timestamptz[], $3::text[], $4::text[], $5::text[],
                    $6::float8[], $7::text[], $8::text[], $9::bytea[], $14::text[], $15::text[])
             AS rows (id, at, source, model_version, decision, probability, request, response,
                      cells, arm, shadow)
    )
    INSERT INTO decision_tally_delta (minute, model_version, role, counts)
    SELECT minute, model_version, role, ($11::int8[])[(i - 1) * $12 + 1 : i * $12]
    FROM unnest($10::timestamptz[], $13::text[], $16::text[])
         WITH ORDINALITY AS tallies (minute, model_version, role, i)";

pub(crate) struct WriterConnection {
    options: PgConnectOptions,
    mode: PoolMode,
    /// What each transaction runs first behind a transaction pooler.
    clean_start: String,
    /// The longest opening the connection, or one commit, may take.
    bound: Duration,
    held: Mutex<Option<PgConnection>>,
}

impl WriterConnection {
    /// A connection of a writer's own, opened as `pool`'s are; `bound`
    /// limits opening it and each commit on it. Opens nothing yet: the
    /// first commit does, on the runtime that runs it.
    pub(crate) fn like(pool: &Connection, bound: Duration) -> Self {
        Self {
            options: pool.options_for_one(),
            mode: pool.mode(),
            clean_start: pool.clean_start().to_owned(),
            bound,
            held: Mutex::new(None),
        }
    }

    /// Writes the entries in one statement, in a transaction of their own:
    /// all rows and their tallies, committed when this returns, or nothing.
    /// A month without its partition has it made, and the commit is tried
    /// once more.
    pub(crate) async fn commit(&self, entries: &[StoreEntry]) -> Result<(), StoreError> {
        let mut held = self.held.lock().await;
        let committing = async {
            match self.commit_on(&mut held, entries).await {
                Err(error) if is_missing_partition(&error) => {
                    tracing::warn!(%error, "a month of the decision store has no partition; making it");
                    self.make_partitions(&mut held, entries).await?;
                    self.commit_on(&mut held, entries).await
                }
                outcome => outcome,
            }
        };
        let outcome = match tokio::time::timeout(self.bound, committing).await {
            Ok(outcome) => outcome.map_err(|error| error.to_string()),
            Err(_) => Err(format!(
                "PostgreSQL did not answer within {} ms",
                self.bound.as_millis()
            )),
        };
        if outcome.is_err() {
            // Whatever state it was left in, it is not used again.
            *held = None;
        }
        outcome.map_err(StoreError::Unavailable)
    }

    async fn commit_on(
        &self,
        held: &mut Option<PgConnection>,
        entries: &[StoreEntry],
    ) -> Result<(), sqlx::Error> {
        let connection = match held {
            Some(connection) => connection,
            None => held.insert(self.open().await?),
        };
        match self.mode {
            PoolMode::Session => append(connection, entries).await,
            PoolMode::Transaction => {
                let mut transaction = connection.begin().await?;
                sqlx::raw_sql(sqlx::AssertSqlSafe(self.clean_start.clone()))
                    .execute(&mut *transaction)
                    .await?;
                append(&mut transaction, entries).await?;
                transaction.commit().await
            }
        }
    }

    /// Makes the partition of each month the entries fall in.
    async fn make_partitions(
        &self,
        held: &mut Option<PgConnection>,
        entries: &[StoreEntry],
    ) -> Result<(), sqlx::Error> {
        let connection = match held {
            Some(connection) => connection,
            None => held.insert(self.open().await?),
        };
        let mut months: Vec<DateTime<Utc>> = entries
            .iter()
            .map(|entry| entry.record.created_at)
            .collect();
        months.sort();
        months.dedup_by_key(|at| (at.year(), at.month()));
        // In a transaction of its own behind a transaction pooler, as a commit.
        let mut transaction = connection.begin().await?;
        if self.mode == PoolMode::Transaction {
            sqlx::raw_sql(sqlx::AssertSqlSafe(self.clean_start.clone()))
                .execute(&mut *transaction)
                .await?;
        }
        for at in months {
            sqlx::query(partitions::MAKE_ON_DEMAND)
                .bind(at)
                .execute(&mut *transaction)
                .await?;
        }
        transaction.commit().await
    }

    async fn open(&self) -> Result<PgConnection, sqlx::Error> {
        let connection = PgConnection::connect_with(&self.options).await?;
        #[cfg(target_os = "linux")]
        if self.options.get_socket().is_none() {
            crate::nodelay::set_on_sockets_towards(self.options.get_port());
        }
        Ok(connection)
    }
}

/// Whether PostgreSQL refused rows for want of a partition to hold them.
fn is_missing_partition(error: &sqlx::Error) -> bool {
    // check_violation, with the message PostgreSQL gives for a row that
    // falls in no partition.
    matches!(error, sqlx::Error::Database(error)
        if error.code().as_deref() == Some("23514")
            && error.message().starts_with("no partition of relation"))
}

async fn append(connection: &mut PgConnection, entries: &[StoreEntry]) -> Result<(), sqlx::Error> {
    let records = || entries.iter().map(|entry| &entry.record);
    let responses: Vec<String> = records()
        .map(|record| serde_json::to_string(&record.response).expect("a decision serializes"))
        .collect();
    // An unbinned entry is written as no bytes, stored as NULL.
    let cells: Vec<Vec<u8>> = entries
        .iter()
        .map(|entry| cells::to_bytes(&entry.cells))
        .collect();
    let tallies = GroupTallies::of(entries);
    sqlx::query(APPEND)
        .bind(
            records()
                .map(|r| r.decision_id.as_uuid())
                .collect::<Vec<_>>(),
        )
        .bind(records().map(|r| r.created_at).collect::<Vec<_>>())
        .bind(records().map(|r| r.source.as_str()).collect::<Vec<_>>())
        .bind(
            records()
                .map(|r| r.response.verdict.model_version.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(
            records()
                .map(|r| r.response.verdict.outcome.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(
            records()
                .map(|r| r.response.verdict.probability_of_default)
                .collect::<Vec<_>>(),
        )
        .bind(records().map(|r| r.request.as_str()).collect::<Vec<_>>())
        .bind(responses)
        .bind(cells)
        .bind(tallies.minutes)
        .bind(tallies.counts)
        .bind(tallies.width)
        .bind(tallies.model_versions)
        .bind(records().map(|r| r.arm.as_str()).collect::<Vec<_>>())
        .bind(
            records()
                .map(|r| {
                    r.shadow
                        .as_ref()
                        .map(|shadow| serde_json::to_string(shadow).expect("a verdict serializes"))
                })
                .collect::<Vec<Option<String>>>(),
        )
        .bind(tallies.roles)
        .execute(connection)
        .await
        .map(|_| ())
}
