//! Where one decision (or one shadow verdict) is counted: the cells of a
//! [`Tally`](super::Tally).
//!
//! Every tally starts with four cells, the outcome's and the source's; a
//! [`Baseline`](super::Baseline) places after them the bins of the score and
//! of each field, then the four cells of a swap set (the served outcome
//! against a shadow's), the sum of the probabilities of default (in
//! millionths) and how many were summed. An entry counts one in each of its
//! cells, and adds its probability to the sum.

use crate::application::FIELD_COUNT;
use crate::decision::{Outcome, Source};

/// Cells one decision counts in: outcome, source, score bin, a bin per field.
pub const CELLS_PER_DECISION: usize = 3 + FIELD_COUNT;
/// And in the count of probabilities summed; a shadow verdict in one more:
/// its place in the swap set.
const MOST_CELLS: usize = CELLS_PER_DECISION + 2;

pub(super) const APPROVE: u16 = 0;
pub(super) const DECLINE: u16 = 1;
pub(super) const FROM_MODEL: u16 = 2;
pub(super) const FROM_CACHE: u16 = 3;
/// The first cell of the bins.
pub(super) const FIRST_BIN: u16 = 4;

/// Where one entry is counted in a [`Tally`](super::Tally).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cells {
    counted: [u16; MOST_CELLS],
    len: u8,
    /// The cell the probability of default is added to, and how much.
    probability: Option<(u16, u32)>,
}

impl Cells {
    /// A decision that counts in the totals but in no bin: one logged before
    /// monitoring was.
    pub fn unbinned(decision: Outcome, source: Source) -> Self {
        Self::of(&[outcome_cell(decision), source_cell(source)], None)
    }

    pub(super) fn of(counted: &[u16], probability: Option<(u16, u32)>) -> Self {
        let mut cells = [0u16; MOST_CELLS];
        cells[..counted.len()].copy_from_slice(counted);
        Self {
            counted: cells,
            len: counted.len() as u8,
            probability,
        }
    }

    /// The cells the entry counts one in.
    pub fn counted(&self) -> &[u16] {
        &self.counted[..usize::from(self.len)]
    }

    /// Whether it counts in bins (a decision logged before monitoring
    /// counts by its outcome and source only).
    pub fn is_binned(&self) -> bool {
        usize::from(self.len) >= CELLS_PER_DECISION
    }

    /// The cell the probability of default is added to, in millionths.
    pub fn probability(&self) -> Option<(u16, u32)> {
        self.probability
    }
}

pub(super) fn outcome_cell(decision: Outcome) -> u16 {
    match decision {
        Outcome::Approve => APPROVE,
        Outcome::Decline => DECLINE,
    }
}

pub(super) fn source_cell(source: Source) -> u16 {
    match source {
        Source::Model => FROM_MODEL,
        Source::Cache => FROM_CACHE,
    }
}

/// A probability of default in millionths, as its sum cell adds it.
pub(super) fn millionths(probability_of_default: f64) -> u32 {
    (probability_of_default.clamp(0.0, 1.0) * 1e6).round() as u32
}
