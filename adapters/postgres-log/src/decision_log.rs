//! The `DecisionStore` port on PostgreSQL.

use std::time::Duration;

use async_trait::async_trait;
use domain::{DecisionId, DecisionPage, DecisionRecord, DecisionStore, Source, StoreError};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectOptions, Database, DatabaseConnection, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use sea_orm_migration::MigratorTrait;

use crate::decision_row::{self, ActiveModel, Column, Entity as Decisions};
use crate::migration::Migrator;

#[derive(Debug, Clone)]
pub struct PostgresLogSettings {
    pub url: String,
    pub max_connections: u32,
    /// The longest a request waits for a connection before the log counts as
    /// unavailable (503) rather than hanging.
    pub acquire_timeout: Duration,
}

impl PostgresLogSettings {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            max_connections: 16,
            acquire_timeout: Duration::from_secs(2),
        }
    }
}

#[derive(Clone)]
pub struct PostgresDecisionLog {
    db: DatabaseConnection,
}

impl PostgresDecisionLog {
    /// Connects and brings the schema up to date.
    pub async fn connect(settings: &PostgresLogSettings) -> Result<Self, String> {
        let mut options = ConnectOptions::new(settings.url.clone());
        options
            .max_connections(settings.max_connections)
            .min_connections(1)
            .connect_timeout(settings.acquire_timeout)
            .acquire_timeout(settings.acquire_timeout)
            .sqlx_logging(false);
        let db = Database::connect(options)
            .await
            .map_err(|error| format!("cannot connect to PostgreSQL: {error}"))?;
        Migrator::up(&db, None)
            .await
            .map_err(|error| format!("cannot migrate the decision log: {error}"))?;
        Ok(Self { db })
    }

    /// Closes the connection pool (at shutdown).
    pub async fn close(&self) {
        let _ = self.db.clone().close().await;
    }
}

fn unavailable(error: DbErr) -> StoreError {
    StoreError::Unavailable(error.to_string())
}

fn to_row(record: &DecisionRecord) -> ActiveModel {
    let verdict = &record.response.verdict;
    ActiveModel {
        decision_id: Set(record.decision_id.as_uuid()),
        seq: NotSet,
        created_at: Set(record.created_at),
        source: Set(record.source.as_str().to_owned()),
        model_version: Set(verdict.model_version.clone()),
        decision: Set(verdict.decision.as_str().to_owned()),
        probability_of_default: Set(verdict.probability_of_default),
        request: Set(serde_json::to_value(&record.request).expect("an application serializes")),
        response: Set(serde_json::to_value(&record.response).expect("a decision serializes")),
    }
}

fn from_row(row: decision_row::Model) -> Result<DecisionRecord, StoreError> {
    let id = row.decision_id;
    let corrupt = |what: &str, error: String| {
        StoreError::Unavailable(format!("decision {id} has an unreadable {what}: {error}"))
    };
    Ok(DecisionRecord {
        decision_id: id.into(),
        created_at: row.created_at,
        source: Source::parse(&row.source).ok_or_else(|| corrupt("source", row.source))?,
        request: serde_json::from_value(row.request)
            .map_err(|error| corrupt("request", error.to_string()))?,
        response: serde_json::from_value(row.response)
            .map_err(|error| corrupt("response", error.to_string()))?,
    })
}

#[async_trait]
impl DecisionStore for PostgresDecisionLog {
    async fn append(&self, records: &[DecisionRecord]) -> Result<(), StoreError> {
        if records.is_empty() {
            return Ok(());
        }
        // One multi-row INSERT, which PostgreSQL runs as a transaction of its
        // own: all rows or none, committed when it returns, before the service
        // answers. An explicit BEGIN/COMMIT would only add two round trips.
        Decisions::insert_many(records.iter().map(to_row))
            .exec(&self.db)
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn get(&self, id: DecisionId) -> Result<Option<DecisionRecord>, StoreError> {
        Decisions::find_by_id(id.as_uuid())
            .one(&self.db)
            .await
            .map_err(unavailable)?
            .map(from_row)
            .transpose()
    }

    async fn list(
        &self,
        limit: u16,
        before: Option<DecisionId>,
    ) -> Result<DecisionPage, StoreError> {
        let mut query = Decisions::find()
            .order_by_desc(Column::Seq)
            .limit(u64::from(limit) + 1);
        if let Some(before) = before {
            let cursor = Decisions::find_by_id(before.as_uuid())
                .select_only()
                .column(Column::Seq)
                .into_tuple::<i64>()
                .one(&self.db)
                .await
                .map_err(unavailable)?
                .ok_or(StoreError::UnknownCursor(before))?;
            query = query.filter(Column::Seq.lt(cursor));
        }
        let mut rows = query.all(&self.db).await.map_err(unavailable)?;
        let more = rows.len() > usize::from(limit);
        rows.truncate(usize::from(limit));
        let items = rows
            .into_iter()
            .map(from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let next = if more {
            items.last().map(|r| r.decision_id)
        } else {
            None
        };
        Ok(DecisionPage { items, next })
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.db.ping().await.map_err(unavailable)
    }
}
