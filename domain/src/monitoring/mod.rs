//! Monitoring the model: how the population served compares with the one it
//! was trained on.
//!
//! Every logged decision is counted in *cells*: its outcome, its source, the
//! bin of its probability of default and the bin of each application field
//! ([`Baseline::cells`]). The decision store adds those counts up as it writes
//! (a [`Tally`] per hour and model version), so a report over any window is a
//! sum of tallies, never a scan of the store; [`MonitoringReport::of`] turns
//! the sum into shares and population stability indices against the
//! training shares the model card carries.

mod baseline;
mod cells;
mod comparison;
mod report;
mod tally;

pub use baseline::{Baseline, Bins};
pub use cells::{CELLS_PER_DECISION, Cells};
pub use comparison::{ArmFigures, ChallengerFigures, Comparison, SwapSet};
pub use report::{
    BinShare, ByDecision, BySource, Drift, DriftStatus, HourCount, MIN_DECISIONS, MinuteWindow,
    MonitoringReport, PSI_FLOOR, Window, WindowError, psi,
};
pub use tally::{HourlyTally, Role, Tally, minute_of};

#[cfg(test)]
pub(crate) mod tests;
