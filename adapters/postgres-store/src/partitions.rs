//! The store's monthly partitions: made ahead of time, dropped once wholly
//! older than the retention period. Nothing younger is ever removed: the
//! only removal from the store is dropping a whole month past retention.

use chrono::{DateTime, Datelike, Months, NaiveDate, TimeZone, Utc};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr, Statement, TransactionTrait,
};

/// Months of partitions made ahead of the current one, so that a row is
/// never written to a month without its partition.
const MONTHS_AHEAD: u32 = 3;

/// Whether the store can take a row now: this month's partition exists.
pub(crate) const THIS_MONTH_HAS_ITS_PARTITION: &str = "
    SELECT to_regclass('decisions_' || to_char(now() AT TIME ZONE 'UTC', 'YYYY_MM')) IS NOT NULL
        AS ready";

/// Makes the partition of a month that has none, for an insert that found
/// none: this month's or a later one's only, as any role the service
/// serves with may (see the migration `PartitionsOnDemand`).
pub(crate) const MAKE_ON_DEMAND: &str = "SELECT decisions_make_partition($1)";

/// Replicas may run this at the same moment: one at a time.
const MAINTENANCE_LOCK: &str =
    "SELECT pg_advisory_xact_lock(hashtext('credit-decisions: decision log partitions'))";

/// The first instant of `at`'s month, in UTC.
fn month_start(at: DateTime<Utc>) -> DateTime<Utc> {
    let first = NaiveDate::from_ymd_opt(at.year(), at.month(), 1).expect("the first of a month");
    Utc.from_utc_datetime(&first.and_hms_opt(0, 0, 0).expect("midnight"))
}

/// The retention cutoff: records created before it are older than the
/// retention period.
pub fn retention_cutoff(now: DateTime<Utc>, retention_months: u32) -> DateTime<Utc> {
    now.checked_sub_months(Months::new(retention_months))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// Makes sure `at`'s month has its partition.
pub async fn create_partition(db: &impl ConnectionTrait, at: DateTime<Utc>) -> Result<(), DbErr> {
    db.execute_raw(Statement::from_sql_and_values(
        db.get_database_backend(),
        "SELECT decisions_create_partition($1)",
        [at.into()],
    ))
    .await
    .map(|_| ())
}

/// Creates the partitions of this month and the next few, and drops every
/// partition that ends before the retention cutoff. Returns the names of
/// the partitions dropped.
pub async fn maintain(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    retention_months: u32,
) -> Result<Vec<String>, DbErr> {
    maintain_in(db.begin().await?, now, retention_months).await
}

/// [`maintain`], in a transaction the caller began.
pub(crate) async fn maintain_in(
    transaction: DatabaseTransaction,
    now: DateTime<Utc>,
    retention_months: u32,
) -> Result<Vec<String>, DbErr> {
    transaction.execute_unprepared(MAINTENANCE_LOCK).await?;
    let this_month = month_start(now);
    for ahead in 0..=MONTHS_AHEAD {
        create_partition(&transaction, this_month + Months::new(ahead)).await?;
    }

    let cutoff = retention_cutoff(now, retention_months);
    // Each partition with the upper bound of its range.
    let partitions = transaction
        .query_all_raw(Statement::from_string(
            transaction.get_database_backend(),
            "SELECT child.relname AS name,
                    (regexp_match(pg_get_expr(child.relpartbound, child.oid), 'TO \\(''([^'']+)''\\)'))[1]::timestamptz AS ends
             FROM pg_inherits
             JOIN pg_class parent ON parent.oid = pg_inherits.inhparent
             JOIN pg_class child ON child.oid = pg_inherits.inhrelid
             WHERE parent.relname = 'decisions'",
        ))
        .await?;
    let mut dropped = Vec::new();
    let mut dropped_until = None;
    for row in partitions {
        let name: String = row.try_get("", "name")?;
        let ends: DateTime<Utc> = row.try_get("", "ends")?;
        if ends <= cutoff {
            transaction
                .execute_unprepared(&format!("DROP TABLE \"{name}\""))
                .await?;
            dropped.push(name);
            dropped_until = dropped_until.max(Some(ends));
        }
    }
    // The monitoring tallies of the months dropped go with them, folded or not.
    if let Some(until) = dropped_until {
        for tallies in ["decision_tally", "decision_tally_delta"] {
            transaction
                .execute_raw(Statement::from_sql_and_values(
                    transaction.get_database_backend(),
                    format!("DELETE FROM {tallies} WHERE minute < $1"),
                    [until.into()],
                ))
                .await?;
        }
    }
    transaction.commit().await?;
    if !dropped.is_empty() {
        tracing::info!(?dropped, %cutoff, "decision store partitions past retention dropped");
    }
    Ok(dropped)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn months_start_at_midnight_utc_on_the_first() {
        assert_eq!(
            month_start(at("2026-11-25T10:15:02Z")),
            at("2026-11-01T00:00:00Z")
        );
    }

    #[test]
    fn the_cutoff_is_the_retention_period_ago_to_the_instant() {
        assert_eq!(
            retention_cutoff(at("2026-11-25T10:15:02Z"), 25),
            at("2024-10-25T10:15:02Z")
        );
        // A partition for October 2024 ends 2024-11-01: younger than the
        // cutoff, so it is kept until that day is 25 months old.
        assert!(at("2024-11-01T00:00:00Z") > retention_cutoff(at("2026-11-25T10:15:02Z"), 25));
        assert!(at("2024-11-01T00:00:00Z") <= retention_cutoff(at("2026-12-01T00:00:00Z"), 25));
    }
}
