//! Monitoring tallies on PostgreSQL: written with the rows they count (as
//! deltas, folded into per-minute rows every second), read per minute, with
//! the rows of a window's partial minutes read one by one.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use domain::monitoring::minute_of;
use domain::{Cells, HourlyTally, LogEntry, Outcome, Source, StoreError, Tally, Window};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, QueryResult, Statement, Value};

use crate::connection::Connection;

use crate::decision_log::unavailable;

/// The tallies of a group of entries, per minute and model version, as the
/// append statement takes them: the keys as two arrays, the counts as one
/// flat array of `width` cells per key.
pub struct GroupTallies {
    pub minutes: Vec<DateTime<Utc>>,
    pub model_versions: Vec<String>,
    pub counts: Vec<i64>,
    pub width: i32,
}

impl GroupTallies {
    pub fn of(entries: &[LogEntry]) -> Self {
        let mut tallies: BTreeMap<(DateTime<Utc>, &str), Tally> = BTreeMap::new();
        for entry in entries {
            let record = &entry.record;
            tallies
                .entry((
                    minute_of(record.created_at),
                    &record.response.verdict.model_version,
                ))
                .or_default()
                .add(&entry.cells);
        }
        Self::of_tallies(tallies)
    }

    /// Tallies keyed by minute and model version, in that order.
    fn of_tallies<V: AsRef<str>>(tallies: BTreeMap<(DateTime<Utc>, V), Tally>) -> Self {
        let width = tallies
            .values()
            .map(|t| t.counts().len())
            .max()
            .unwrap_or(0);
        let mut group = Self {
            minutes: Vec::with_capacity(tallies.len()),
            model_versions: Vec::with_capacity(tallies.len()),
            counts: Vec::with_capacity(tallies.len() * width),
            width: width as i32,
        };
        for ((minute, model_version), tally) in tallies {
            group.minutes.push(minute);
            group.model_versions.push(model_version.as_ref().to_owned());
            let counts = tally.counts();
            group.counts.extend(counts.iter().map(|&c| c as i64));
            group
                .counts
                .extend(std::iter::repeat_n(0, width - counts.len()));
        }
        group
    }
}

/// The minutes wholly inside the window, `[from, to)`; empty (`from == to`)
/// when it holds none.
fn whole_minutes(window: Window) -> (DateTime<Utc>, DateTime<Utc>) {
    let first = minute_of(window.since);
    let from = if first == window.since {
        first
    } else {
        first + TimeDelta::minutes(1)
    };
    let to = minute_of(window.until);
    if from < to {
        (from, to)
    } else {
        (window.until, window.until)
    }
}

/// The folded tallies and the deltas not folded yet, in one statement: one
/// snapshot, in which a fold has either happened whole or not at all, so
/// every delta counts exactly once.
const WHOLE_MINUTES: &str = "
    SELECT minute, model_version, counts FROM decision_tally
    WHERE minute >= $1 AND minute < $2
    UNION ALL
    SELECT minute, model_version, counts FROM decision_tally_delta
    WHERE minute >= $1 AND minute < $2";

/// The most deltas one fold moves, so that a fold after a long pause still
/// ends well within the statement bound.
const FOLD_LIMIT: i64 = 20_000;

/// Takes deltas out of the table, for a fold.
const TAKE_DELTAS: &str = "
    DELETE FROM decision_tally_delta
    WHERE ctid IN (SELECT ctid FROM decision_tally_delta LIMIT $1)
    RETURNING minute, model_version, counts";

/// Adds sums to the per-minute rows: the keys as two arrays, the counts as
/// one flat array of `$4` cells per key (as the append writes its deltas).
const ADD_SUMS: &str = "
    INSERT INTO decision_tally (minute, model_version, shard, counts)
    SELECT minute, model_version, 0, ($3::int8[])[(i - 1) * $4 + 1 : i * $4]
    FROM unnest($1::timestamptz[], $2::text[]) WITH ORDINALITY AS sums (minute, model_version, i)
    ON CONFLICT (minute, model_version, shard)
    DO UPDATE SET counts = decisions_tally_add(decision_tally.counts, excluded.counts)";

/// Moves deltas into `decision_tally`, summed per minute and model version,
/// until fewer than a fold's worth are left; how many it moved. Each fold
/// takes its deltas and adds their sums in one transaction, so a delta is
/// either still a delta or in the sum. The sums are made here, not in SQL:
/// unnesting every delta's cells cost PostgreSQL about 25 µs a delta, about
/// as much as the insert it replaced. Concurrent folds (several replicas)
/// are safe: a delta taken by one is skipped by the other, and the sums'
/// rows are added to under their row locks.
pub(crate) async fn fold(connection: &Connection) -> Result<u64, StoreError> {
    let mut moved = 0;
    loop {
        let this_fold = fold_some(connection).await.map_err(unavailable)?;
        moved += this_fold;
        if this_fold < FOLD_LIMIT as u64 {
            return Ok(moved);
        }
    }
}

async fn fold_some(connection: &Connection) -> Result<u64, DbErr> {
    let statement = |sql: &str, values: Vec<Value>| {
        Statement::from_sql_and_values(DbBackend::Postgres, sql, values)
    };
    let transaction = connection.begin().await?;
    let deltas = transaction
        .query_all_raw(statement(TAKE_DELTAS, vec![FOLD_LIMIT.into()]))
        .await?;
    let mut sums: BTreeMap<(DateTime<Utc>, String), Tally> = BTreeMap::new();
    for delta in &deltas {
        let counts: Vec<i64> = delta.try_get("", "counts")?;
        let counts = Tally::from_counts(counts.into_iter().map(|c| c.max(0) as u64).collect());
        sums.entry((
            delta.try_get("", "minute")?,
            delta.try_get("", "model_version")?,
        ))
        .or_default()
        .merge(&counts);
    }
    if !sums.is_empty() {
        let sums = GroupTallies::of_tallies(sums);
        transaction
            .execute_raw(statement(
                ADD_SUMS,
                vec![
                    sums.minutes.into(),
                    sums.model_versions.into(),
                    sums.counts.into(),
                    sums.width.into(),
                ],
            ))
            .await?;
    }
    transaction.commit().await?;
    Ok(deltas.len() as u64)
}

/// The rows of the window outside its whole minutes: two ranges of
/// `created_at`, each read through its index (one condition with an OR
/// would make PostgreSQL scan the whole window).
const PARTIAL_MINUTES: &str = "
    SELECT created_at, model_version, decision, source, cells FROM decisions
    WHERE created_at >= $1 AND created_at < $2
    UNION ALL
    SELECT created_at, model_version, decision, source, cells FROM decisions
    WHERE created_at >= $3 AND created_at < $4";

/// The window's tallies: its whole minutes from `decision_tally`, the
/// minutes it cuts through from their rows.
pub(crate) async fn read(
    connection: &Connection,
    window: Window,
) -> Result<Vec<HourlyTally>, StoreError> {
    let (from, to) = whole_minutes(window);
    let statement = |sql: &str, values: Vec<Value>| {
        Statement::from_sql_and_values(DbBackend::Postgres, sql, values)
    };
    let (minutes, rows) = tokio::try_join!(
        connection.query(statement(WHOLE_MINUTES, vec![from.into(), to.into()])),
        connection.query(statement(
            PARTIAL_MINUTES,
            vec![
                window.since.into(),
                from.into(),
                to.into(),
                window.until.into()
            ]
        )),
    )
    .map_err(unavailable)?;
    let mut parts = Vec::with_capacity(minutes.len() + rows.len());
    for row in &minutes {
        let counts: Vec<i64> = row.try_get("", "counts").map_err(unavailable)?;
        let counts = counts.into_iter().map(|c| c.max(0) as u64).collect();
        parts.push((
            row.try_get("", "minute").map_err(unavailable)?,
            row.try_get("", "model_version").map_err(unavailable)?,
            Tally::from_counts(counts),
        ));
    }
    for row in &rows {
        let mut tally = Tally::default();
        tally.add(&cells_of(row)?);
        parts.push((
            row.try_get("", "created_at").map_err(unavailable)?,
            row.try_get("", "model_version").map_err(unavailable)?,
            tally,
        ));
    }
    Ok(HourlyTally::gather(parts))
}

/// A row's cells; a row logged before monitoring counts by its outcome and
/// source only.
fn cells_of(row: &QueryResult) -> Result<Cells, StoreError> {
    let bytes: Option<Vec<u8>> = row.try_get("", "cells").map_err(unavailable)?;
    if let Some(cells) = bytes.as_deref().and_then(Cells::from_bytes) {
        return Ok(cells);
    }
    let decision: String = row.try_get("", "decision").map_err(unavailable)?;
    let source: String = row.try_get("", "source").map_err(unavailable)?;
    let decision = match decision.as_str() {
        "approve" => Outcome::Approve,
        _ => Outcome::Decline,
    };
    let source = Source::parse(&source).unwrap_or(Source::Model);
    Ok(Cells::unbinned(decision, source))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(minute: u32, second: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 10, minute, second)
            .unwrap()
    }

    #[test]
    fn only_minutes_wholly_inside_the_window_are_read_from_tallies() {
        let window = |since, until| Window { since, until };
        assert_eq!(
            whole_minutes(window(at(1, 30), at(4, 10))),
            (at(2, 0), at(4, 0))
        );
        assert_eq!(
            whole_minutes(window(at(1, 0), at(3, 0))),
            (at(1, 0), at(3, 0))
        );
        // No whole minute: every row comes from the log.
        assert_eq!(
            whole_minutes(window(at(1, 10), at(2, 5))),
            (at(2, 5), at(2, 5))
        );
        assert_eq!(
            whole_minutes(window(at(1, 10), at(1, 50))),
            (at(1, 50), at(1, 50))
        );
    }
}
