//! Champion against challenger in a window, from the tallies: decisions,
//! approval rate and mean probability of default per arm, and for a shadow
//! the swap set (whom the challenger would approve that the champion
//! declined, and the reverse) and the agreement.

use serde::Serialize;

use super::baseline::Baseline;
use super::cells::{APPROVE, DECLINE};
use super::report::{MinuteWindow, Window};
use super::tally::{HourlyTally, Role, Tally};
use crate::routing::Mode;

/// What one arm decided (or, for a shadow, would have) in the window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArmFigures {
    pub version: String,
    pub decisions: u64,
    /// `None` without decisions.
    pub approval_rate: Option<f64>,
    pub mean_probability_of_default: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChallengerFigures {
    pub version: String,
    pub mode: Mode,
    pub decisions: u64,
    pub approval_rate: Option<f64>,
    pub mean_probability_of_default: Option<f64>,
}

/// The shadow verdicts against the decisions served for the same
/// applications.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SwapSet {
    pub both_approve: u64,
    /// The champion declined, the challenger would approve.
    pub swap_in: u64,
    /// The champion approved, the challenger would decline.
    pub swap_out: u64,
    pub both_decline: u64,
}

/// The contract's Comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    pub window: Window,
    pub champion: ArmFigures,
    pub challenger: Option<ChallengerFigures>,
    pub swap_set: Option<SwapSet>,
    pub agreement: Option<f64>,
}

impl Comparison {
    /// The comparison of `champion` (the version deciding now) with the
    /// challenger the window holds: a version with split decisions or
    /// shadow verdicts in it, the current challenger in its current mode
    /// first when the window holds it. A version's cells are placed by its
    /// own baseline.
    pub fn of<'b>(
        window: MinuteWindow,
        champion: &str,
        current: Option<(&str, Mode)>,
        baseline_of: &dyn Fn(&str) -> Option<&'b Baseline>,
        tallies: &[HourlyTally],
    ) -> Self {
        let summed = |version: &str, role: Role| {
            let mut sum = Tally::default();
            tallies
                .iter()
                .filter(|part| part.model_version == version && part.role == role)
                .for_each(|part| sum.merge(&part.tally));
            sum
        };
        let champion_figures = figures(champion, &summed(champion, Role::Champion), baseline_of);
        // The challenger the window holds: the current one if it is there,
        // then shadow verdicts before split decisions.
        let current = current.map(|(version, mode)| (version, role_of(mode)));
        let mut candidates: Vec<(&str, Role)> = tallies
            .iter()
            .filter(|part| part.role != Role::Champion)
            .map(|part| (part.model_version.as_str(), part.role))
            .collect();
        candidates.sort_by_key(|&(version, role)| {
            (
                Some((version, role)) != current,
                role == Role::Challenger,
                version,
            )
        });
        candidates.dedup();
        let Some(&(version, role)) = candidates.first() else {
            return Self {
                window: window.window(),
                champion: champion_figures,
                challenger: None,
                swap_set: None,
                agreement: None,
            };
        };
        let tally = summed(version, role);
        let arm = figures(version, &tally, baseline_of);
        let mode = if role == Role::Shadow {
            Mode::Shadow
        } else {
            Mode::Split
        };
        let swap_set = match (mode, baseline_of(version)) {
            (Mode::Shadow, Some(baseline)) => {
                let count =
                    |served, shadow| tally.count(usize::from(baseline.swap_cell(served, shadow)));
                use crate::decision::Outcome::{Approve, Decline};
                Some(SwapSet {
                    both_approve: count(Approve, Approve),
                    swap_in: count(Decline, Approve),
                    swap_out: count(Approve, Decline),
                    both_decline: count(Decline, Decline),
                })
            }
            _ => None,
        };
        let agreement = swap_set.and_then(|set| {
            let all = set.both_approve + set.swap_in + set.swap_out + set.both_decline;
            (all > 0).then(|| (set.both_approve + set.both_decline) as f64 / all as f64)
        });
        Self {
            window: window.window(),
            champion: champion_figures,
            challenger: Some(ChallengerFigures {
                version: arm.version,
                mode,
                decisions: arm.decisions,
                approval_rate: arm.approval_rate,
                mean_probability_of_default: arm.mean_probability_of_default,
            }),
            swap_set,
            agreement,
        }
    }
}

fn role_of(mode: Mode) -> Role {
    match mode {
        Mode::Shadow => Role::Shadow,
        Mode::Split => Role::Challenger,
    }
}

fn figures<'b>(
    version: &str,
    tally: &Tally,
    baseline_of: &dyn Fn(&str) -> Option<&'b Baseline>,
) -> ArmFigures {
    let approved = tally.count(usize::from(APPROVE));
    let decisions = approved + tally.count(usize::from(DECLINE));
    // Over the decisions whose probability was summed: those logged before
    // the sum existed are in the counts, not in the mean.
    let mean = baseline_of(version).and_then(|baseline| {
        let millionths = tally.count(usize::from(baseline.probability_sum()));
        let summed = tally.count(usize::from(baseline.probabilities_summed()));
        (summed > 0).then(|| millionths as f64 / 1e6 / summed as f64)
    });
    ArmFigures {
        version: version.to_owned(),
        decisions,
        approval_rate: (decisions > 0).then(|| approved as f64 / decisions as f64),
        mean_probability_of_default: mean,
    }
}
