//! Where one decision is counted: the cells of a [`Tally`].
//!
//! Every tally starts with four cells, the outcome's and the source's; a
//! [`Baseline`] places the bins of the score and of each field after them.
//!
//! [`Tally`]: super::Tally
//! [`Baseline`]: super::Baseline

use crate::application::FIELD_COUNT;
use crate::decision::{Outcome, Source};

/// Cells one decision counts in: outcome, source, score bin, a bin per field.
pub const CELLS_PER_DECISION: usize = 3 + FIELD_COUNT;

pub(super) const APPROVE: u16 = 0;
pub(super) const DECLINE: u16 = 1;
pub(super) const FROM_MODEL: u16 = 2;
pub(super) const FROM_CACHE: u16 = 3;
/// The first cell of the bins.
pub(super) const FIRST_BIN: u16 = 4;

/// Where one decision is counted in a [`Tally`](super::Tally).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cells {
    /// Outcome, source, the score's bin and each field's bin.
    Binned([u16; CELLS_PER_DECISION]),
    /// Outcome and source only: a decision logged before monitoring was.
    Unbinned([u16; 2]),
}

impl Cells {
    /// A decision that counts in the totals but in no bin.
    pub fn unbinned(decision: Outcome, source: Source) -> Self {
        Cells::Unbinned([outcome_cell(decision), source_cell(source)])
    }

    pub fn as_slice(&self) -> &[u16] {
        match self {
            Cells::Binned(cells) => cells,
            Cells::Unbinned(cells) => cells,
        }
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
