//! Counts of decisions per cell, as the decision store keeps them.

use std::collections::BTreeMap;

use chrono::{DateTime, Timelike, Utc};

use super::cells::Cells;

/// How many decisions fell in each cell. Cells past the end count zero.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    counts: Vec<u64>,
}

impl Tally {
    pub fn from_counts(counts: Vec<u64>) -> Self {
        Self { counts }
    }

    pub fn counts(&self) -> &[u64] {
        &self.counts
    }

    pub fn count(&self, cell: usize) -> u64 {
        self.counts.get(cell).copied().unwrap_or(0)
    }

    pub fn add(&mut self, cells: &Cells) {
        for &cell in cells.as_slice() {
            let cell = usize::from(cell);
            if cell >= self.counts.len() {
                self.counts.resize(cell + 1, 0);
            }
            self.counts[cell] += 1;
        }
    }

    pub fn merge(&mut self, other: &Tally) {
        let cells = self.counts.len().max(other.counts.len());
        self.counts.resize(cells, 0);
        for (mine, theirs) in self.counts.iter_mut().zip(&other.counts) {
            *mine += theirs;
        }
    }
}

/// The start of the minute holding `at`. Set by calendar fields: chrono's
/// `duration_trunc` counts nanoseconds since 1970 and fails after 2262, a
/// year a monitoring window may name.
pub fn minute_of(at: DateTime<Utc>) -> DateTime<Utc> {
    at.with_nanosecond(0)
        .and_then(|at| at.with_second(0))
        .expect("every minute starts in UTC")
}

/// The tally of the decisions one model version made in one hour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HourlyTally {
    /// The start of the hour (UTC).
    pub hour: DateTime<Utc>,
    pub model_version: String,
    pub tally: Tally,
}

impl HourlyTally {
    /// The start of the hour holding `at`.
    pub fn hour_of(at: DateTime<Utc>) -> DateTime<Utc> {
        minute_of(at)
            .with_minute(0)
            .expect("every hour starts in UTC")
    }

    /// Adds tallies up by hour and model version, earliest hour first.
    pub fn gather(
        parts: impl IntoIterator<Item = (DateTime<Utc>, String, Tally)>,
    ) -> Vec<HourlyTally> {
        let mut hours: BTreeMap<(DateTime<Utc>, String), Tally> = BTreeMap::new();
        for (at, model_version, tally) in parts {
            hours
                .entry((Self::hour_of(at), model_version))
                .or_default()
                .merge(&tally);
        }
        hours
            .into_iter()
            .map(|((hour, model_version), tally)| HourlyTally {
                hour,
                model_version,
                tally,
            })
            .collect()
    }
}
