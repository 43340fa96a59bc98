//! The model card's schema: what `GET /v1/model` and
//! `GET /v1/models/{version}` serve, as `model/train.py` writes it. Cards
//! may carry more than this (a scorecard's points, say): other members are
//! allowed.
#![allow(dead_code)]

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

use super::application::FieldSchema;

/// A model version's card: what it was trained on, how its inputs are
/// encoded, its threshold, its reasons, its baseline and how good it is.
#[derive(ToSchema)]
#[schema(as = ModelCard)]
pub struct ModelCardDoc {
    /// The version's id.
    #[schema(example = "german-credit-2026.11.0")]
    pub version: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    pub description: String,
    pub model: CardModelDoc,
    pub reasons: CardReasonsDoc,
    pub dataset: CardDatasetDoc,
    /// The data set's attributes the model never sees (protected under
    /// fair-lending rules).
    pub excluded_attributes: Vec<String>,
    /// One per field of the application, in the contract's order.
    pub features: Vec<CardFeatureDoc>,
    pub baseline: CardBaselineDoc,
    #[schema(example = "approve when probability_of_default < threshold, else decline")]
    pub decision_rule: String,
    #[schema(minimum = 0, maximum = 1, example = 0.2326)]
    pub threshold: f64,
    pub cost_matrix: CostMatrixDoc,
    pub metrics: CardMetricsDoc,
    pub training: CardTrainingDoc,
}

/// The ONNX file and its graph's inputs and outputs.
#[derive(ToSchema)]
#[schema(as = CardModel)]
pub struct CardModelDoc {
    pub kind: String,
    pub file: String,
    /// The SHA-256 of the ONNX file, checked when it is loaded.
    pub sha256: String,
    pub input: TensorDoc,
    pub output: TensorDoc,
    pub logit_output: TensorDoc,
}

#[derive(ToSchema)]
#[schema(as = Tensor)]
pub struct TensorDoc {
    pub name: String,
    #[serde(rename = "type")]
    #[schema(example = "float32")]
    pub element_type: String,
    /// Dimensions: a number, or a name for a dynamic one.
    pub shape: Vec<DimensionDoc>,
}

#[derive(Serialize, ToSchema)]
#[serde(untagged)]
#[schema(as = Dimension)]
pub enum DimensionDoc {
    Fixed(u64),
    Named(String),
}

/// How a decline's reasons are found, and their rules.
#[derive(ToSchema)]
#[schema(as = CardReasons)]
pub struct CardReasonsDoc {
    pub method: String,
    /// The most reasons a decline gives.
    #[schema(example = 4)]
    pub at_most: u32,
    /// The least a feature must raise the log-odds by to be a reason; a
    /// card is refused below 1e-5 (f32 rounding could pass it).
    #[schema(minimum = 0.00001, example = 0.0001)]
    pub min_logit: f64,
    /// From this age on, age is never a reason.
    #[schema(example = 62)]
    pub age_never_a_reason_from: u32,
}

#[derive(ToSchema)]
#[schema(as = CardDataset)]
pub struct CardDatasetDoc {
    pub name: String,
    pub file: String,
    pub sha256: String,
    pub rows: u64,
    pub bad: u64,
    pub target: String,
}

/// One field as the model reads it.
#[derive(ToSchema)]
#[schema(as = CardFeature)]
pub struct CardFeatureDoc {
    pub name: FieldSchema,
    /// The data set's column.
    pub column: String,
    /// `categorical`, `integer`, `number` or `boolean`.
    pub kind: String,
    /// The reason a decline gives when this field raised its log-odds.
    pub reason: CardReasonDoc,
    /// The value with the lowest risk, against which a decline's reasons
    /// are measured.
    pub most_favourable: ScalarDoc,
    /// A categorical field's values and model codes; a description
    /// otherwise.
    pub encoding: EncodingDoc,
}

#[derive(ToSchema)]
#[schema(as = CardReason)]
pub struct CardReasonDoc {
    #[schema(example = "R01")]
    pub code: String,
    pub description: String,
}

#[derive(Serialize, ToSchema)]
#[serde(untagged)]
#[schema(as = Scalar)]
pub enum ScalarDoc {
    Text(String),
    Number(f64),
    Flag(bool),
}

#[derive(Serialize, ToSchema)]
#[serde(untagged)]
#[schema(as = Encoding)]
pub enum EncodingDoc {
    Codes(Vec<EncodedValueDoc>),
    Described(String),
}

#[derive(Serialize, ToSchema)]
#[schema(as = EncodedValue)]
pub struct EncodedValueDoc {
    /// The field's value (a string, or a boolean's `true` or `false`).
    pub value: ScalarDoc,
    /// The data set's label.
    pub label: String,
    /// The number the model reads.
    pub code: u32,
}

/// The training population's distribution, which monitoring compares the
/// population served against.
#[derive(ToSchema)]
#[schema(as = CardBaseline)]
pub struct CardBaselineDoc {
    pub population: String,
    pub binning: String,
    pub score: BaselineBinsDoc,
    /// One per field of the application.
    pub features: BTreeMap<String, BaselineBinsDoc>,
}

#[derive(ToSchema)]
#[schema(as = BaselineBins)]
pub struct BaselineBinsDoc {
    /// A number's bin edges (right-closed); absent for a categorical.
    #[schema(nullable = false)]
    pub edges: Option<Vec<f64>>,
    pub bins: Vec<BaselineBinDoc>,
}

#[derive(ToSchema)]
#[schema(as = BaselineBin)]
pub struct BaselineBinDoc {
    pub bin: String,
    /// The training population's share.
    #[schema(minimum = 0, maximum = 1)]
    pub expected: f64,
}

/// What a wrong decision costs, in units of a declined good applicant.
#[derive(ToSchema)]
#[schema(as = CostMatrix)]
pub struct CostMatrixDoc {
    pub approve_bad: f64,
    pub decline_good: f64,
}

#[derive(ToSchema)]
#[schema(as = CardMetrics)]
pub struct CardMetricsDoc {
    pub cv: String,
    #[schema(minimum = 0, maximum = 1, example = 0.783)]
    pub cv_roc_auc: f64,
    pub cv_roc_auc_folds: Vec<f64>,
    pub at_threshold_out_of_fold: AtThresholdDoc,
}

#[derive(ToSchema)]
#[schema(as = AtThreshold)]
pub struct AtThresholdDoc {
    pub approval_rate: f64,
    pub expected_cost_per_application: f64,
    pub approved_bad: u64,
    pub declined_good: u64,
}

#[derive(ToSchema)]
#[schema(as = CardTraining)]
pub struct CardTrainingDoc {
    pub python: String,
    /// Each package's version.
    pub packages: BTreeMap<String, String>,
}
