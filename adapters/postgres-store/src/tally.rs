//! Monitoring tallies on PostgreSQL: written with the rows they count (as
//! deltas, folded into per-minute rows every second) and read per minute. A
//! report's window is whole minutes (`domain::MinuteWindow`), so reading one
//! never scans the store's rows: its cost is the number of minutes and model
//! versions in it, whatever the store's rate.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use domain::monitoring::{Role, minute_of};
use domain::{HourlyTally, MinuteWindow, StoreEntry, StoreError, Tally};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement, Value};

use crate::connection::Connection;

use crate::error::unavailable;

/// The tallies of a group of entries, per minute, model version and role,
/// as the append statement takes them: the keys as three arrays, the counts
/// as one flat array of `width` cells per key.
pub struct GroupTallies {
    pub minutes: Vec<DateTime<Utc>>,
    pub model_versions: Vec<String>,
    pub roles: Vec<&'static str>,
    pub counts: Vec<i64>,
    pub width: i32,
}

/// A tally's key: its minute, model version and role.
type Key<V> = (DateTime<Utc>, V, Role);

impl GroupTallies {
    /// Each entry counts under its version and arm; its shadow verdict, if
    /// any, under the shadow's version.
    pub fn of(entries: &[StoreEntry]) -> Self {
        let mut tallies: BTreeMap<Key<&str>, Tally> = BTreeMap::new();
        for entry in entries {
            let record = &entry.record;
            let minute = minute_of(record.created_at);
            tallies
                .entry((
                    minute,
                    &record.response.verdict.model_version,
                    Role::of(record.arm),
                ))
                .or_default()
                .add(&entry.cells);
            if let (Some(shadow), Some(cells)) = (&record.shadow, &entry.shadow_cells) {
                tallies
                    .entry((minute, &shadow.model_version, Role::Shadow))
                    .or_default()
                    .add(cells);
            }
        }
        Self::of_tallies(tallies)
    }

    /// Tallies keyed by minute, model version and role, in that order.
    fn of_tallies<V: AsRef<str>>(tallies: BTreeMap<Key<V>, Tally>) -> Self {
        let width = tallies
            .values()
            .map(|t| t.counts().len())
            .max()
            .unwrap_or(0);
        let mut group = Self {
            minutes: Vec::with_capacity(tallies.len()),
            model_versions: Vec::with_capacity(tallies.len()),
            roles: Vec::with_capacity(tallies.len()),
            counts: Vec::with_capacity(tallies.len() * width),
            width: width as i32,
        };
        for ((minute, model_version, role), tally) in tallies {
            group.minutes.push(minute);
            group.model_versions.push(model_version.as_ref().to_owned());
            group.roles.push(role.as_str());
            let counts = tally.counts();
            group.counts.extend(counts.iter().map(|&c| c as i64));
            group
                .counts
                .extend(std::iter::repeat_n(0, width - counts.len()));
        }
        group
    }
}

/// The folded tallies and the deltas not folded yet, in one statement: one
/// snapshot, in which a fold has either happened whole or not at all, so
/// every delta counts exactly once.
const WHOLE_MINUTES: &str = "
    SELECT minute, model_version, role, counts FROM decision_tally
    WHERE minute >= $1 AND minute < $2
    UNION ALL
    SELECT minute, model_version, role, counts FROM decision_tally_delta
    WHERE minute >= $1 AND minute < $2";

/// The most deltas one fold moves, so that a fold after a long pause still
/// ends well within the statement bound.
const FOLD_LIMIT: i64 = 20_000;

/// Takes deltas out of the table, for a fold.
const TAKE_DELTAS: &str = "
    DELETE FROM decision_tally_delta
    WHERE ctid IN (SELECT ctid FROM decision_tally_delta LIMIT $1)
    RETURNING minute, model_version, role, counts";

/// Adds sums to the per-minute rows: the keys as three arrays, the counts
/// as one flat array of `$4` cells per key (as the append writes its deltas).
const ADD_SUMS: &str = "
    INSERT INTO decision_tally (minute, model_version, role, shard, counts)
    SELECT minute, model_version, role, 0, ($3::int8[])[(i - 1) * $4 + 1 : i * $4]
    FROM unnest($1::timestamptz[], $2::text[], $5::text[])
         WITH ORDINALITY AS sums (minute, model_version, role, i)
    ON CONFLICT (minute, model_version, role, shard)
    DO UPDATE SET counts = decisions_tally_add(decision_tally.counts, excluded.counts)";

/// Moves deltas into `decision_tally`, summed per minute and model version,
/// until fewer than a fold's worth are left; how many it moved. Each fold
/// takes its deltas and adds their sums in one transaction, so a delta is
/// either still a delta or in the sum. The sums are made here, not in SQL:
/// unnesting every delta's cells costs PostgreSQL about as much as the
/// insert the deltas replaced. Concurrent folds (several replicas)
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
    let mut sums: BTreeMap<Key<String>, Tally> = BTreeMap::new();
    for delta in &deltas {
        let counts: Vec<i64> = delta.try_get("", "counts")?;
        let counts = Tally::from_counts(counts.into_iter().map(|c| c.max(0) as u64).collect());
        sums.entry((
            delta.try_get("", "minute")?,
            delta.try_get("", "model_version")?,
            role_of(delta)?,
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
                    sums.roles
                        .iter()
                        .map(|role| role.to_string())
                        .collect::<Vec<String>>()
                        .into(),
                ],
            ))
            .await?;
    }
    transaction.commit().await?;
    Ok(deltas.len() as u64)
}

/// The window's tallies, per minute and model version, from
/// `decision_tally` and the deltas not folded yet.
pub(crate) async fn read(
    connection: &Connection,
    window: MinuteWindow,
) -> Result<Vec<HourlyTally>, StoreError> {
    let window = window.window();
    let minutes = connection
        .query(Statement::from_sql_and_values(
            DbBackend::Postgres,
            WHOLE_MINUTES,
            vec![window.since.into(), window.until.into()],
        ))
        .await
        .map_err(unavailable)?;
    let mut parts = Vec::with_capacity(minutes.len());
    for row in &minutes {
        let counts: Vec<i64> = row.try_get("", "counts").map_err(unavailable)?;
        let counts = counts.into_iter().map(|c| c.max(0) as u64).collect();
        parts.push((
            row.try_get("", "minute").map_err(unavailable)?,
            row.try_get("", "model_version").map_err(unavailable)?,
            role_of(row).map_err(unavailable)?,
            Tally::from_counts(counts),
        ));
    }
    Ok(HourlyTally::gather(parts))
}

/// A tally row's role; an unknown one is a row this store did not write.
fn role_of(row: &sea_orm::QueryResult) -> Result<Role, DbErr> {
    let role: String = row.try_get("", "role")?;
    Role::parse(&role).ok_or_else(|| DbErr::Custom(format!("a tally of an unknown role '{role}'")))
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use domain::{
        Arm, CanonicalRequest, Cells, Decision, DecisionId, DecisionRecord, Outcome, Source,
        Verdict,
    };

    use super::*;

    fn at(minute: u32, second: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 7, 12, minute, second)
            .unwrap()
    }

    /// An entry counted by its outcome and source only (unbinned cells).
    fn entry(
        created_at: DateTime<Utc>,
        version: &str,
        arm: Arm,
        outcome: Outcome,
        source: Source,
        shadow: Option<(&str, Outcome)>,
    ) -> StoreEntry {
        let decision_id = DecisionId::mint();
        let probability = if outcome == Outcome::Approve {
            0.1
        } else {
            0.9
        };
        let shadow_verdict = shadow.map(|(version, outcome)| {
            Verdict::from_model(
                if outcome == Outcome::Approve {
                    0.1
                } else {
                    0.9
                },
                0.5,
                version,
            )
        });
        StoreEntry {
            record: DecisionRecord {
                decision_id,
                created_at,
                source,
                request: CanonicalRequest::from_logged("{}".to_owned()).unwrap(),
                response: Decision {
                    decision_id,
                    verdict: Verdict::from_model(probability, 0.5, version),
                },
                arm,
                shadow: shadow_verdict,
            },
            cells: Cells::unbinned(outcome, source),
            shadow_cells: shadow.map(|(_, outcome)| Cells::unbinned(outcome, Source::Model)),
        }
    }

    /// Cells: approve, decline, from the model, from the cache.
    #[test]
    fn a_groups_tallies_are_summed_per_minute_version_and_role_in_key_order() {
        use Outcome::{Approve, Decline};
        use Source::{Cache, Model};
        let entries = [
            entry(at(1, 5), "v1", Arm::Champion, Approve, Model, None),
            entry(
                at(0, 50),
                "v1",
                Arm::Champion,
                Decline,
                Cache,
                Some(("v3", Approve)),
            ),
            entry(at(0, 10), "v1", Arm::Champion, Approve, Model, None),
            entry(at(0, 30), "v2", Arm::Challenger, Decline, Model, None),
        ];
        let group = GroupTallies::of(&entries);
        assert_eq!(group.minutes, [at(0, 0), at(0, 0), at(0, 0), at(1, 0)]);
        assert_eq!(group.model_versions, ["v1", "v2", "v3", "v1"]);
        assert_eq!(
            group.roles,
            ["champion", "challenger", "shadow", "champion"]
        );
        assert_eq!(group.width, 4);
        #[rustfmt::skip]
        assert_eq!(group.counts, [
            1, 1, 1, 1, // v1 at 12:00: one approve from the model, one decline from the cache
            0, 1, 1, 0, // v2, its challenger's decline
            1, 0, 1, 0, // v3's shadow approve, padded to the width
            1, 0, 1, 0, // v1 at 12:01
        ]);
    }

    #[test]
    fn no_entries_no_tallies() {
        let group = GroupTallies::of(&[]);
        assert_eq!(group.width, 0);
        assert!(group.minutes.is_empty() && group.counts.is_empty());
    }
}
