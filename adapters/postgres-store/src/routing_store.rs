//! The routing's history on PostgreSQL: `routing_changes`, one row a
//! change, append-only (a trigger refuses UPDATE, DELETE and TRUNCATE). The
//! newest row is the routing every replica on the database serves under;
//! each looks at it every second (the service's follower), which works
//! behind a transaction pooler too.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::routing::{Challenger, Mode};
use domain::{Change, ChangePage, RoutingError, RoutingRequest, RoutingStore, StoreError};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, QueryResult, Statement, Value};

use crate::decision_store::PostgresDecisionStore;

const CHANGE_COLUMNS: &str = "generation, changed_at, by, champion, challenger_version, \
     challenger_mode, challenger_share, reason";

/// The next change, only if the newest is still generation `$1` (0: none
/// yet). Two appends racing for the same generation: the primary key lets
/// one through.
const APPEND: &str = "
    INSERT INTO routing_changes (generation, changed_at, by, champion, challenger_version,
                                 challenger_mode, challenger_share, reason)
    SELECT $1 + 1, now(), $2, $3, $4, $5, $6, $7
    WHERE coalesce((SELECT max(generation) FROM routing_changes), 0) = $1
    RETURNING generation, changed_at, by, champion, challenger_version, challenger_mode,
              challenger_share, reason";

fn change_of(row: &QueryResult) -> Result<Change, StoreError> {
    let column =
        |error: DbErr| StoreError::Unavailable(format!("unreadable routing change: {error}"));
    let generation: i64 = row.try_get("", "generation").map_err(column)?;
    let version: Option<String> = row.try_get("", "challenger_version").map_err(column)?;
    let mode: Option<String> = row.try_get("", "challenger_mode").map_err(column)?;
    let share: Option<f64> = row.try_get("", "challenger_share").map_err(column)?;
    let challenger = match (version, mode.as_deref().and_then(Mode::parse), share) {
        (Some(version), Some(mode), Some(share)) => Some(Challenger {
            version,
            mode,
            share,
        }),
        _ => None,
    };
    Ok(Change {
        generation: generation as u64,
        changed_at: row
            .try_get::<DateTime<Utc>>("", "changed_at")
            .map_err(column)?,
        by: row.try_get("", "by").map_err(column)?,
        champion: row.try_get("", "champion").map_err(column)?,
        challenger,
        reason: row.try_get("", "reason").map_err(column)?,
    })
}

#[async_trait]
impl RoutingStore for PostgresDecisionStore {
    async fn newest(&self) -> Result<Option<Change>, StoreError> {
        let rows = self
            .query(
                &format!(
                    "SELECT {CHANGE_COLUMNS} FROM routing_changes ORDER BY generation DESC LIMIT 1"
                ),
                vec![],
            )
            .await?;
        rows.first().map(change_of).transpose()
    }

    async fn append(
        &self,
        expected: u64,
        routing: &RoutingRequest,
        by: &str,
    ) -> Result<Change, RoutingError> {
        let challenger = routing.challenger.as_ref();
        let values: Vec<Value> = vec![
            (expected as i64).into(),
            by.into(),
            routing.champion.as_str().into(),
            challenger.map(|c| c.version.clone()).into(),
            challenger.map(|c| c.mode.as_str().to_owned()).into(),
            challenger.map(|c| c.share).into(),
            routing.reason.as_str().into(),
        ];
        // A write, never retried: in a transaction of its own, on the
        // serving pool, bounded as every call is.
        let inserted = self
            .bounded(async {
                let transaction = self.connection.begin().await?;
                let rows = transaction
                    .query_all_raw(Statement::from_sql_and_values(
                        DbBackend::Postgres,
                        APPEND,
                        values,
                    ))
                    .await;
                match rows {
                    Ok(rows) => {
                        transaction.commit().await?;
                        Ok(rows)
                    }
                    // Another replica took this generation first.
                    Err(error) if is_unique_violation(&error) => Ok(Vec::new()),
                    Err(error) => Err(error),
                }
            })
            .await?;
        match inserted.first() {
            Some(row) => Ok(change_of(row)?),
            None => {
                let current = self.newest().await?.map_or(0, |change| change.generation);
                Err(RoutingError::Stale { expected, current })
            }
        }
    }

    async fn changes(&self, limit: u16, before: Option<u64>) -> Result<ChangePage, StoreError> {
        let fetch = i64::from(limit) + 1;
        let before = before.map_or(i64::MAX, |before| before as i64);
        let rows = self
            .query(
                &format!(
                    "SELECT {CHANGE_COLUMNS} FROM routing_changes WHERE generation < $1 \
                     ORDER BY generation DESC LIMIT $2"
                ),
                vec![before.into(), fetch.into()],
            )
            .await?;
        let more = rows.len() > usize::from(limit);
        let items = rows
            .iter()
            .take(usize::from(limit))
            .map(change_of)
            .collect::<Result<Vec<_>, _>>()?;
        let next = if more {
            items.last().map(|change| change.generation)
        } else {
            None
        };
        Ok(ChangePage { items, next })
    }
}

fn is_unique_violation(error: &DbErr) -> bool {
    error
        .sql_err()
        .is_some_and(|error| matches!(error, sea_orm::SqlErr::UniqueConstraintViolation(_)))
}
