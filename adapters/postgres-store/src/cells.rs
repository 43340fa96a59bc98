//! A decision's monitoring cells as its row keeps them (`decisions.cells`):
//! the binned cells as little-endian u16s, or NULL for a decision logged
//! before monitoring existed. Kept so that tallies can be rebuilt from rows.

use domain::Cells;

/// The bytes of the row's `cells` column; empty (stored as NULL) for
/// unbinned cells.
pub(crate) fn to_bytes(cells: &Cells) -> Vec<u8> {
    if !cells.is_binned() {
        return Vec::new();
    }
    cells
        .counted()
        .iter()
        .flat_map(|cell| cell.to_le_bytes())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::{Outcome, Source};

    #[test]
    fn a_decision_logged_before_monitoring_has_no_bytes() {
        assert_eq!(
            to_bytes(&Cells::unbinned(Outcome::Decline, Source::Cache)),
            Vec::<u8>::new()
        );
    }
}
