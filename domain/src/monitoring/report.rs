//! The monitoring report of a window: counts, shares and drift.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use serde::{Serialize, Serializer};

use crate::application::{Application, FieldError};

use super::baseline::{Baseline, Bins};
use super::cells::{APPROVE, DECLINE, FROM_CACHE, FROM_MODEL};
use super::tally::{HourlyTally, Tally, minute_of};

/// Below this many decisions in a window, drift is not measured.
pub const MIN_DECISIONS: u64 = 100;
/// The share an empty bin counts as in the PSI, expected or actual: without
/// it one empty bin makes the index infinite. 0.0001 is the usual choice: a
/// bin empty in the window where the training had 10% adds 0.1 · ln(1000) ≈
/// 0.69, which is `act` on its own, as it should be.
pub const PSI_FLOOR: f64 = 1e-4;
/// PSI from which a population is `watch`, then `act`.
const WATCH_FROM: f64 = 0.10;
const ACT_FROM: f64 = 0.25;

/// The decisions a report covers: `since` ≤ `created_at` < `until`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
}

/// A window that cannot be read: the problem names each bad parameter.
pub type WindowError = Vec<FieldError>;

impl Window {
    /// The window when none is given: the 24 hours before now.
    pub const DEFAULT_LENGTH: TimeDelta = TimeDelta::hours(24);

    /// The default window: the 24 hours before `until`.
    pub fn day_before(until: DateTime<Utc>) -> Self {
        Self {
            since: until - Self::DEFAULT_LENGTH,
            until,
        }
    }

    /// The window of the query's `since` and `until` (RFC 3339 times):
    /// `until` defaults to now, `since` to 24 hours before `until`.
    pub fn parse(
        since: Option<&str>,
        until: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Self, WindowError> {
        let mut errors = Vec::new();
        let mut time = |name: &str, text: Option<&str>| -> Option<DateTime<Utc>> {
            let text = text?;
            match DateTime::parse_from_rfc3339(text) {
                Ok(at) => Some(at.with_timezone(&Utc)),
                Err(_) => {
                    errors.push(FieldError::new(
                        name,
                        "must be an RFC 3339 time, such as 2026-11-25T10:00:00Z",
                    ));
                    None
                }
            }
        };
        let since_given = time("since", since);
        let until_given = time("until", until);
        if !errors.is_empty() {
            return Err(errors);
        }
        let until = until_given.unwrap_or(now);
        let since = since_given.unwrap_or(Self::day_before(until).since);
        if since > until {
            return Err(vec![FieldError::new("since", "must not be after until")]);
        }
        Ok(Self { since, until })
    }

    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        self.since <= at && at < self.until
    }
}

/// A window of whole minutes: the unit the decision store tallies in. A
/// report over one is a sum of tallies, so what it costs depends on neither
/// where the asked window's ends fall nor how busy the store was there; and a
/// report never narrows to a few milliseconds around one applicant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinuteWindow(Window);

impl MinuteWindow {
    /// The whole minutes that cover `window`: `since` rounded down to its
    /// minute, `until` up (no further than the last instant RFC 3339 can
    /// write, so that the report can say its window).
    pub fn covering(window: Window) -> Self {
        let since = minute_of(window.since);
        let start_of_until = minute_of(window.until);
        let until = if start_of_until == window.until {
            window.until
        } else {
            start_of_until
                .checked_add_signed(TimeDelta::minutes(1))
                .filter(|end| *end <= last_writable_instant())
                .unwrap_or(window.until)
        };
        Self(Window { since, until })
    }

    pub fn window(&self) -> Window {
        self.0
    }

    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        self.0.contains(at)
    }
}

/// 9999-12-31T23:59:59.999999Z: RFC 3339 has four digits for the year.
fn last_writable_instant() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("9999-12-31T23:59:59.999999Z")
        .expect("a valid time")
        .with_timezone(&Utc)
}

impl Serialize for Window {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Times {
            since: String,
            until: String,
        }
        Times {
            since: self.since.to_rfc3339_opts(SecondsFormat::AutoSi, true),
            until: self.until.to_rfc3339_opts(SecondsFormat::AutoSi, true),
        }
        .serialize(serializer)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftStatus {
    Stable,
    Watch,
    Act,
    InsufficientData,
}

impl DriftStatus {
    pub(crate) fn of(psi: f64) -> Self {
        if psi < WATCH_FROM {
            DriftStatus::Stable
        } else if psi < ACT_FROM {
            DriftStatus::Watch
        } else {
            DriftStatus::Act
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DriftStatus::Stable => "stable",
            DriftStatus::Watch => "watch",
            DriftStatus::Act => "act",
            DriftStatus::InsufficientData => "insufficient_data",
        }
    }
}

/// One bin: the training share and the window's.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BinShare {
    pub bin: String,
    pub expected: f64,
    /// `None` under [`MIN_DECISIONS`]: no report shows how a few applicants
    /// answered.
    pub actual: Option<f64>,
}

/// How far one quantity's distribution moved from the training one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Drift {
    /// `None` with too few decisions to tell.
    pub psi: Option<f64>,
    pub status: DriftStatus,
    pub bins: Vec<BinShare>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ByDecision {
    pub approve: u64,
    pub decline: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BySource {
    pub model: u64,
    pub cache: u64,
}

/// Decisions in one hour of the window (for the dashboard): served ones,
/// and what each role counted (the shadow's verdicts included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HourCount {
    pub hour: DateTime<Utc>,
    pub decisions: u64,
    pub approved: u64,
    /// Decisions (or shadow verdicts) and approvals of the champion, the
    /// challenger and the shadow, in that order.
    pub by_role: [(u64, u64); 3],
}

/// The contract's MonitoringReport.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MonitoringReport {
    pub window: Window,
    pub decisions: u64,
    pub by_decision: ByDecision,
    pub by_source: BySource,
    /// `None` for a window without decisions.
    pub approval_rate: Option<f64>,
    pub score: Drift,
    /// Every field of the application, in the contract's order.
    #[serde(serialize_with = "as_object")]
    pub features: Vec<(&'static str, Drift)>,
    /// The hours of the window that hold decisions, earliest first.
    #[serde(skip)]
    pub hours: Vec<HourCount>,
}

fn as_object<S: Serializer>(
    features: &[(&'static str, Drift)],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_map(features.iter().map(|(name, drift)| (name, drift)))
}

impl MonitoringReport {
    /// The report of a window from the tallies of its decisions. Every
    /// decision counts in the totals; the bins count the decisions of the
    /// serving model, which the baseline describes.
    pub fn of(
        window: MinuteWindow,
        baseline: &Baseline,
        serving_version: &str,
        tallies: &[HourlyTally],
    ) -> Self {
        let mut all = Tally::default();
        let mut serving = Tally::default();
        let mut hours: BTreeMap<DateTime<Utc>, HourCount> = BTreeMap::new();
        for part in tallies {
            // The version's bins count its shadow verdicts too: the
            // population it scored.
            if part.model_version == serving_version {
                serving.merge(&part.tally);
            }
            let hour = hours.entry(part.hour).or_insert(HourCount {
                hour: part.hour,
                decisions: 0,
                approved: 0,
                by_role: [(0, 0); 3],
            });
            let approved = part.tally.count(usize::from(APPROVE));
            let decided = approved + part.tally.count(usize::from(DECLINE));
            let role = &mut hour.by_role[part.role as usize];
            role.0 += decided;
            role.1 += approved;
            if part.role.served() {
                all.merge(&part.tally);
                hour.approved += approved;
                hour.decisions += decided;
            }
        }

        let by_decision = ByDecision {
            approve: all.count(usize::from(APPROVE)),
            decline: all.count(usize::from(DECLINE)),
        };
        let decisions = by_decision.approve + by_decision.decline;
        let binned = count_in(&serving, baseline.score(), baseline.offset(0));
        let features = Application::FIELDS
            .iter()
            .zip(baseline.features())
            .enumerate()
            .map(|(k, (field, bins))| {
                (
                    field.name,
                    drift(bins, baseline.offset(k + 1), &serving, binned),
                )
            })
            .collect();
        Self {
            window: window.window(),
            decisions,
            by_decision,
            by_source: BySource {
                model: all.count(usize::from(FROM_MODEL)),
                cache: all.count(usize::from(FROM_CACHE)),
            },
            approval_rate: (decisions > 0).then(|| by_decision.approve as f64 / decisions as f64),
            score: drift(baseline.score(), baseline.offset(0), &serving, binned),
            features,
            hours: hours.into_values().collect(),
        }
    }
}

/// Decisions counted in any of a quantity's bins.
fn count_in(tally: &Tally, bins: &Bins, offset: usize) -> u64 {
    (0..bins.len()).map(|i| tally.count(offset + i)).sum()
}

fn drift(bins: &Bins, offset: usize, tally: &Tally, binned: u64) -> Drift {
    let actual: Vec<f64> = (0..bins.len())
        .map(|i| match binned {
            0 => 0.0,
            n => tally.count(offset + i) as f64 / n as f64,
        })
        .collect();
    let enough = binned >= MIN_DECISIONS;
    let psi = enough.then(|| psi(bins.expected(), &actual));
    Drift {
        psi,
        status: psi.map_or(DriftStatus::InsufficientData, DriftStatus::of),
        bins: bins
            .labels()
            .iter()
            .zip(bins.expected())
            .zip(actual)
            .map(|((bin, &expected), actual)| BinShare {
                bin: bin.clone(),
                expected,
                actual: enough.then_some(actual),
            })
            .collect(),
    }
}

/// The population stability index: Σ (actual − expected) · ln(actual /
/// expected), each share at least [`PSI_FLOOR`].
pub fn psi(expected: &[f64], actual: &[f64]) -> f64 {
    expected
        .iter()
        .zip(actual)
        .map(|(&expected, &actual)| {
            let (expected, actual) = (expected.max(PSI_FLOOR), actual.max(PSI_FLOOR));
            (actual - expected) * (actual / expected).ln()
        })
        .sum()
}
