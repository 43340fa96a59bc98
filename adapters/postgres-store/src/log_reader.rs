//! The log read without serving: what `credit-decisions backtest` scores.
//! One connection, no migration, no upkeep, nothing written.

use std::time::Duration;

use async_trait::async_trait;
use domain::{CanonicalRequest, LoggedRequests, MinuteWindow, RequestPage, StoreError};
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
        from: u64,
        limit: u16,
    ) -> Result<RequestPage, StoreError> {
        let window = window.window();
        let rows = self
            .query(
                "SELECT seq, request::text AS request FROM decisions
                 WHERE created_at >= $1 AND created_at < $2 AND seq >= $3
                 ORDER BY seq LIMIT $4",
                vec![
                    window.since.into(),
                    window.until.into(),
                    (from as i64).into(),
                    (i64::from(limit) + 1).into(),
                ],
            )
            .await?;
        let mut requests = Vec::with_capacity(rows.len());
        let mut next = None;
        for (k, row) in rows.iter().enumerate() {
            let seq: i64 = row.try_get("", "seq").map_err(unavailable)?;
            if k == usize::from(limit) {
                next = Some(seq as u64);
                break;
            }
            let text: String = row.try_get("", "request").map_err(unavailable)?;
            let request = CanonicalRequest::from_logged(text)
                .map_err(|error| StoreError::Unavailable(format!("unreadable request: {error}")))?;
            requests.push(request);
        }
        Ok(RequestPage { requests, next })
    }
}
