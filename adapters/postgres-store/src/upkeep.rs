//! What the store keeps doing in the background, as the schema's owner when
//! there is one: partitions made ahead and dropped past retention, every
//! hour and whenever a missing month is seen, and the monitoring tallies'
//! deltas folded every second.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use sea_orm::DbErr;

use crate::connection::Connection;
use crate::{partitions, tally};

/// How often partitions are made ahead and old ones dropped.
const MAINTENANCE_EVERY: Duration = Duration::from_secs(3600);

pub(crate) async fn maintain_partitions(
    connection: &Connection,
    retention_months: u32,
) -> Result<(), DbErr> {
    partitions::maintain_in(connection.begin().await?, Utc::now(), retention_months)
        .await
        .map(|_| ())
}

/// The partitions' upkeep, every hour and whenever a missing month is seen.
pub(crate) async fn keep_partitions(
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
pub(crate) async fn keep_folding(connection: Connection, period: Duration) {
    let mut every = tokio::time::interval(period);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        if let Err(error) = tally::fold(&connection).await {
            tracing::warn!(%error, "monitoring tallies not folded; retrying");
        }
    }
}
