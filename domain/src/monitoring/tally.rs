//! Counts of decisions per cell, as the decision store keeps them.

use std::collections::BTreeMap;

use chrono::{DateTime, Timelike, Utc};

use super::cells::Cells;
use crate::decision::Arm;

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
        for &cell in cells.counted() {
            self.add_to(cell, 1);
        }
        if let Some((cell, amount)) = cells.probability() {
            self.add_to(cell, u64::from(amount));
        }
    }

    fn add_to(&mut self, cell: u16, amount: u64) {
        let cell = usize::from(cell);
        if cell >= self.counts.len() {
            self.counts.resize(cell + 1, 0);
        }
        self.counts[cell] += amount;
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

/// The part a model version played in what a tally counts: the decisions
/// it made as the champion or as a split challenger, or the verdicts it gave
/// in the shadow of the champion (scored, never served).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    Champion,
    Challenger,
    Shadow,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Champion => "champion",
            Role::Challenger => "challenger",
            Role::Shadow => "shadow",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "champion" => Some(Role::Champion),
            "challenger" => Some(Role::Challenger),
            "shadow" => Some(Role::Shadow),
            _ => None,
        }
    }

    /// The role of a decision served by `arm`.
    pub fn of(arm: Arm) -> Self {
        match arm {
            Arm::Champion => Role::Champion,
            Arm::Challenger => Role::Challenger,
        }
    }

    /// Whether it counts decisions served (not shadow verdicts).
    pub fn served(self) -> bool {
        self != Role::Shadow
    }
}

/// The tally of what one model version counted in one role in one hour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HourlyTally {
    /// The start of the hour (UTC).
    pub hour: DateTime<Utc>,
    pub model_version: String,
    pub role: Role,
    pub tally: Tally,
}

impl HourlyTally {
    /// The start of the hour holding `at`.
    pub fn hour_of(at: DateTime<Utc>) -> DateTime<Utc> {
        minute_of(at)
            .with_minute(0)
            .expect("every hour starts in UTC")
    }

    /// Adds tallies up by hour, model version and role, earliest hour first.
    pub fn gather(
        parts: impl IntoIterator<Item = (DateTime<Utc>, String, Role, Tally)>,
    ) -> Vec<HourlyTally> {
        let mut hours: BTreeMap<(DateTime<Utc>, String, Role), Tally> = BTreeMap::new();
        for (at, model_version, role, tally) in parts {
            hours
                .entry((Self::hour_of(at), model_version, role))
                .or_default()
                .merge(&tally);
        }
        hours
            .into_iter()
            .map(|((hour, model_version, role), tally)| HourlyTally {
                hour,
                model_version,
                role,
                tally,
            })
            .collect()
    }
}
