//! A decision's monitoring cells as its row keeps them (`decisions.cells`):
//! the binned cells as little-endian u16s, or NULL for a decision logged
//! before monitoring existed. Kept so that tallies can be rebuilt from rows.

use domain::Cells;

/// The bytes of the row's `cells` column; empty (stored as NULL) for
/// unbinned cells.
pub(crate) fn to_bytes(cells: &Cells) -> Vec<u8> {
    match cells {
        Cells::Binned(cells) => cells.iter().flat_map(|cell| cell.to_le_bytes()).collect(),
        Cells::Unbinned(_) => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::{Outcome, Source};

    #[test]
    fn binned_cells_are_little_endian_u16s_and_unbinned_ones_nothing() {
        let mut binned = [0u16; domain::monitoring::CELLS_PER_DECISION];
        binned[0] = 1;
        binned[2] = 0x0102;
        let bytes = to_bytes(&Cells::Binned(binned));
        assert_eq!(bytes.len(), 2 * binned.len());
        assert_eq!(&bytes[..6], &[1, 0, 0, 0, 2, 1]);
        assert_eq!(
            to_bytes(&Cells::unbinned(Outcome::Decline, Source::Cache)),
            Vec::<u8>::new()
        );
    }
}
