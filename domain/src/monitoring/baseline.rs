//! The training population's bins and shares, as the model card gives them.

use crate::application::{Application, FIELD_COUNT};
use crate::decision::{Outcome, Source};
use crate::fields::FieldKind;

use super::cells::{CELLS_PER_DECISION, Cells, FIRST_BIN, millionths, outcome_cell, source_cell};

/// The bins of one quantity and the training population's share of each.
#[derive(Debug, Clone, PartialEq)]
pub struct Bins {
    /// Between numeric bins, increasing; bins are right-closed, so a value
    /// equal to an edge falls in the bin below it. Empty for categories,
    /// whose bin is the value's code.
    edges: Vec<f64>,
    labels: Vec<String>,
    expected: Vec<f64>,
}

impl Bins {
    /// Bins of a number: `edges.len() + 1` bins, given as (label, share).
    pub fn numeric(edges: Vec<f64>, bins: Vec<(String, f64)>) -> Result<Self, String> {
        if edges.iter().any(|edge| !edge.is_finite()) {
            return Err("an edge is not a finite number".to_owned());
        }
        if edges.windows(2).any(|pair| pair[0] >= pair[1]) {
            return Err("the edges do not increase".to_owned());
        }
        if bins.len() != edges.len() + 1 {
            return Err(format!(
                "{} edges make {} bins, not {}",
                edges.len(),
                edges.len() + 1,
                bins.len()
            ));
        }
        Self::new(edges, bins)
    }

    /// One bin per value of a categorical field, in code order.
    pub fn categorical(bins: Vec<(String, f64)>) -> Result<Self, String> {
        Self::new(Vec::new(), bins)
    }

    fn new(edges: Vec<f64>, bins: Vec<(String, f64)>) -> Result<Self, String> {
        let (labels, expected): (Vec<String>, Vec<f64>) = bins.into_iter().unzip();
        if expected.iter().any(|share| !(0.0..=1.0).contains(share)) {
            return Err("a training share is not between 0 and 1".to_owned());
        }
        let total: f64 = expected.iter().sum();
        // The card rounds shares to six decimals.
        if (total - 1.0).abs() > 1e-3 {
            return Err(format!("the training shares add up to {total}, not 1"));
        }
        if labels.len() > usize::from(u8::MAX) {
            return Err(format!("{} bins are too many", labels.len()));
        }
        Ok(Self {
            edges,
            labels,
            expected,
        })
    }

    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// The training share of each bin.
    pub fn expected(&self) -> &[f64] {
        &self.expected
    }

    pub(crate) fn len(&self) -> usize {
        self.labels.len()
    }

    /// The bin of a value: for a number, the count of edges below it; for a
    /// category, its code. Always one of the bins: a number's bins are one
    /// more than its edges, and a category's are its field's values (both
    /// checked when the baseline is made).
    fn index(&self, value: f64) -> usize {
        if self.edges.is_empty() {
            value as usize
        } else {
            self.edges.partition_point(|edge| *edge < value)
        }
    }
}

/// The bins of the probability of default and of every application field,
/// with the training shares, and where each bin is counted in a [`Tally`].
///
/// [`Tally`]: super::Tally
#[derive(Debug, Clone, PartialEq)]
pub struct Baseline {
    score: Bins,
    /// In the order of [`Application::FIELDS`].
    features: Vec<Bins>,
    /// The first cell of the score's bins, then of each feature's.
    offsets: Vec<u16>,
    /// The first of the swap set's four cells, after every bin; the sum of
    /// the probabilities follows them.
    swap_set: u16,
}

/// Cells of a swap set: both approve, swap in, swap out, both decline.
const SWAP_SET_CELLS: usize = 4;

impl Baseline {
    /// The baseline of the score and of each named field. Every field of the
    /// application needs bins, in the contract's order; a categorical
    /// field's bins are its values, a boolean's `false` and `true`.
    pub fn new(score: Bins, features: Vec<(String, Bins)>) -> Result<Self, String> {
        if !score.edges.iter().all(|edge| (0.0..=1.0).contains(edge)) {
            return Err("the score's edges are not probabilities".to_owned());
        }
        let names: Vec<&str> = features.iter().map(|(name, _)| name.as_str()).collect();
        let fields: Vec<&str> = Application::FIELDS.iter().map(|f| f.name).collect();
        if names != fields {
            return Err(format!(
                "the features are {names:?}, not the application's {fields:?}"
            ));
        }
        for ((name, bins), field) in features.iter().zip(Application::FIELDS) {
            let values: Vec<&str> = match field.kind {
                FieldKind::Categorical { values, .. } => values.to_vec(),
                FieldKind::Boolean => vec!["false", "true"],
                FieldKind::Integer { .. } | FieldKind::Number { .. } => {
                    if bins.edges.is_empty() && bins.len() != 1 {
                        return Err(format!("{name}: a number needs edges between its bins"));
                    }
                    continue;
                }
            };
            if !bins.edges.is_empty() || bins.labels != values {
                return Err(format!(
                    "{name}: the bins are {:?}, not the values {values:?}",
                    bins.labels
                ));
            }
        }
        let mut offsets = Vec::with_capacity(FIELD_COUNT + 1);
        let mut next = usize::from(FIRST_BIN);
        for bins in std::iter::once(&score).chain(features.iter().map(|(_, bins)| bins)) {
            offsets.push(next as u16);
            next += bins.len();
        }
        if next + SWAP_SET_CELLS + 2 > usize::from(u16::MAX) {
            return Err(format!("{next} cells are too many"));
        }
        Ok(Self {
            score,
            features: features.into_iter().map(|(_, bins)| bins).collect(),
            offsets,
            swap_set: next as u16,
        })
    }

    pub fn score(&self) -> &Bins {
        &self.score
    }

    /// Each field's bins, in the order of [`Application::FIELDS`].
    pub fn features(&self) -> &[Bins] {
        &self.features
    }

    /// Where one decision is counted: its outcome, its source, its score's
    /// bin and each field's bin, and the sum of probabilities.
    pub fn cells(
        &self,
        application: &Application,
        probability_of_default: f64,
        decision: Outcome,
        source: Source,
    ) -> Cells {
        let mut counted = [0u16; CELLS_PER_DECISION + 1];
        counted[..CELLS_PER_DECISION].copy_from_slice(&self.counted(
            application,
            probability_of_default,
            decision,
            source,
        ));
        counted[CELLS_PER_DECISION] = self.probabilities_summed();
        Cells::of(
            &counted,
            Some((self.probability_sum(), millionths(probability_of_default))),
        )
    }

    /// Where a shadow verdict is counted: as a decision would be, and in the
    /// swap set, by the outcome served for the same application.
    pub fn shadow_cells(
        &self,
        application: &Application,
        probability_of_default: f64,
        decision: Outcome,
        source: Source,
        served: Outcome,
    ) -> Cells {
        let mut counted = [0u16; CELLS_PER_DECISION + 2];
        counted[..CELLS_PER_DECISION].copy_from_slice(&self.counted(
            application,
            probability_of_default,
            decision,
            source,
        ));
        counted[CELLS_PER_DECISION] = self.probabilities_summed();
        counted[CELLS_PER_DECISION + 1] = self.swap_cell(served, decision);
        Cells::of(
            &counted,
            Some((self.probability_sum(), millionths(probability_of_default))),
        )
    }

    fn counted(
        &self,
        application: &Application,
        probability_of_default: f64,
        decision: Outcome,
        source: Source,
    ) -> [u16; CELLS_PER_DECISION] {
        let mut cells = [0u16; CELLS_PER_DECISION];
        cells[0] = outcome_cell(decision);
        cells[1] = source_cell(source);
        cells[2] = self.offsets[0] + self.score.index(probability_of_default) as u16;
        let features = application.features();
        for (k, (bins, value)) in self.features.iter().zip(features).enumerate() {
            cells[3 + k] = self.offsets[k + 1] + bins.index(f64::from(value)) as u16;
        }
        cells
    }

    /// The swap set's cell of a served outcome and a shadow's: both approve,
    /// swap in (declined, the shadow would approve), swap out (approved, the
    /// shadow would decline), both decline.
    pub(super) fn swap_cell(&self, served: Outcome, shadow: Outcome) -> u16 {
        self.swap_set
            + match (served, shadow) {
                (Outcome::Approve, Outcome::Approve) => 0,
                (Outcome::Decline, Outcome::Approve) => 1,
                (Outcome::Approve, Outcome::Decline) => 2,
                (Outcome::Decline, Outcome::Decline) => 3,
            }
    }

    /// The cell the probabilities of default are summed in, in millionths.
    pub(super) fn probability_sum(&self) -> u16 {
        self.swap_set + SWAP_SET_CELLS as u16
    }

    /// The cell that counts the probabilities summed (decisions logged
    /// before the sum existed count in none).
    pub(super) fn probabilities_summed(&self) -> u16 {
        self.probability_sum() + 1
    }

    /// The first cell of the score's bins (`0`) or of a feature's (`1 + k`).
    pub(super) fn offset(&self, quantity: usize) -> usize {
        usize::from(self.offsets[quantity])
    }
}
