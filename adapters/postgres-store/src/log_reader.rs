//! The log read without serving: what `credit-decisions backtest` scores.
//! One connection, no migration, no upkeep, nothing written.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::{
    CanonicalRequest, LogPosition, LoggedRequests, MinuteWindow, RequestPage, StoreError,
};
use sea_orm::{DbBackend, Statement, Value};

use crate::connection::Connection;
use crate::error::unavailable;
use crate::settings::PostgresStoreSettings;

/// The longest one page (or the count) may take: a backtest reads what a
/// request never would.
const READ_TIMEOUT: Duration = Duration::from_secs(60);

pub struct PostgresLogReader {
    connection: Connection,
}

impl PostgresLogReader {
    pub async fn open(settings: &PostgresStoreSettings) -> Result<Self, String> {
        let connection = Connection::open(
            &settings.url,
            settings.pool_mode,
            1,
            settings.acquire_timeout,
            READ_TIMEOUT,
        )
        .await
        .map_err(|error| format!("cannot connect to PostgreSQL: {error}"))?;
        Ok(Self { connection })
    }

    /// The champion of the newest routing change, if there is one.
    pub async fn champion(&self) -> Result<Option<String>, StoreError> {
        let rows = self
            .query(
                "SELECT champion FROM routing_changes ORDER BY generation DESC LIMIT 1",
                vec![],
            )
            .await?;
        rows.first()
            .map(|row| row.try_get::<String>("", "champion").map_err(unavailable))
            .transpose()
    }

    async fn query(
        &self,
        sql: &str,
        values: Vec<Value>,
    ) -> Result<Vec<sea_orm::QueryResult>, StoreError> {
        let statement = Statement::from_sql_and_values(DbBackend::Postgres, sql, values);
        self.connection.query(statement).await.map_err(unavailable)
    }

    pub async fn close(self) {
        let _ = self.connection.db.close().await;
    }
}

/// Pages along `seq`, the order rows were written in; the window prunes
/// the month partitions outside it.
#[async_trait]
impl LoggedRequests for PostgresLogReader {
    async fn count(&self, window: MinuteWindow) -> Result<u64, StoreError> {
        let window = window.window();
        let rows = self
            .query(
                "SELECT count(*) AS n FROM decisions WHERE created_at >= $1 AND created_at < $2",
                vec![window.since.into(), window.until.into()],
            )
            .await?;
        let n: i64 = rows
            .first()
            .map(|row| row.try_get("", "n"))
            .transpose()
            .map_err(unavailable)?
            .unwrap_or(0);
        Ok(n as u64)
    }

    async fn page(
        &self,
        window: MinuteWindow,
        after: Option<LogPosition>,
        limit: u16,
    ) -> Result<RequestPage, StoreError> {
        let window = window.window();
        let after = after.unwrap_or(LogPosition {
            at: window.since,
            seq: 0,
        });
        // Walked along the time index (created_at, then seq within a
        // time): each page costs its own rows, wherever the window lies.
        // Ordered by seq alone, PostgreSQL read the whole window for every
        // page (0.6 s a page over a million rows).
        let rows = self
            .query(
                "SELECT seq, created_at, request::text AS request FROM decisions
                 WHERE created_at >= $1 AND created_at < $2 AND created_at >= $3
                   AND (created_at, seq) > ($3, $4)
                 ORDER BY created_at, seq LIMIT $5",
                vec![
                    window.since.into(),
                    window.until.into(),
                    after.at.into(),
                    (after.seq as i64).into(),
                    (i64::from(limit) + 1).into(),
                ],
            )
            .await?;
        let more = rows.len() > usize::from(limit);
        let mut requests = Vec::with_capacity(rows.len().min(usize::from(limit)));
        let mut last = None;
        for row in rows.iter().take(usize::from(limit)) {
            let seq: i64 = row.try_get("", "seq").map_err(unavailable)?;
            let at: DateTime<Utc> = row.try_get("", "created_at").map_err(unavailable)?;
            let text: String = row.try_get("", "request").map_err(unavailable)?;
            let request = CanonicalRequest::from_logged(text)
                .map_err(|error| StoreError::Unavailable(format!("unreadable request: {error}")))?;
            requests.push(request);
            last = Some(LogPosition {
                at,
                seq: seq as u64,
            });
        }
        Ok(RequestPage {
            requests,
            next: if more { last } else { None },
        })
    }
}
