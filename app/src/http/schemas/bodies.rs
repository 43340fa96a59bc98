//! Documentation types of the bodies other than the application: they
//! describe bodies for the document and are never built. The service's own
//! types serialize to exactly these shapes (the suite checks real responses
//! against them, and clients generated from the document read them).
#![allow(dead_code)]

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

use super::application::{ApplicationSchema, FieldSchema, LoggedApplicationSchema};

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = Outcome)]
pub enum OutcomeDoc {
    Approve,
    Decline,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = Source)]
pub enum SourceDoc {
    Model,
    Cache,
}

// Named `ServedDecision`, not the contract's `Decision`: a model named like
// one of its members trips openapi-python-client, whose parser names its
// result after the model and then shadows the member.
/// The answer to one application.
#[derive(ToSchema)]
#[schema(as = ServedDecision)]
pub struct DecisionDoc {
    /// UUID v7 minted for this serving of the decision; the key of its log row.
    #[schema(example = "0193a7c2-5d1e-7c4b-9a51-2f0e7d3c1b22")]
    pub decision_id: uuid::Uuid,
    /// `approve` when probability_of_default is below the model's threshold.
    pub decision: OutcomeDoc,
    #[schema(minimum = 0, maximum = 1, example = 0.1834)]
    pub probability_of_default: f64,
    #[schema(example = "german-credit-2026.11.0")]
    pub model_version: String,
    /// The principal reasons of a decline, most important first, at most
    /// four (ECOA / Regulation B §1002.9); empty for an approval.
    #[schema(max_items = 4)]
    pub reasons: Vec<ReasonDoc>,
}

/// One adverse-action reason, from the model card.
#[derive(ToSchema)]
#[schema(as = Reason)]
pub struct ReasonDoc {
    /// A stable code.
    #[schema(example = "R01")]
    pub code: String,
    /// The contract field the reason is about.
    #[schema(example = "checking_account")]
    pub feature: FieldSchema,
    /// Plain language, fit for a letter to the applicant.
    #[schema(example = "Checking account balance is low or negative")]
    pub description: String,
}

/// A decision as the log holds it.
#[derive(ToSchema)]
#[schema(as = DecisionRecord)]
pub struct DecisionRecordDoc {
    pub decision_id: uuid::Uuid,
    #[schema(format = DateTime, example = "2026-11-24T10:15:02.123456Z")]
    pub created_at: String,
    pub source: SourceDoc,
    /// The application as it was logged (under the rules of its day).
    pub request: LoggedApplicationSchema,
    pub response: DecisionDoc,
    /// Which routing arm decided: `champion` or `challenger`.
    pub arm: ArmDoc,
    /// The shadow challenger's verdict on the same application, when one
    /// scored it; else null.
    #[schema(required = true)]
    pub shadow: Option<VerdictDoc>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = Arm)]
pub enum ArmDoc {
    Champion,
    Challenger,
}

/// A model version's verdict, without a decision id (a shadow's).
#[derive(ToSchema)]
#[schema(as = Verdict)]
pub struct VerdictDoc {
    pub decision: OutcomeDoc,
    #[schema(minimum = 0, maximum = 1, example = 0.18)]
    pub probability_of_default: f64,
    #[schema(example = "german-credit-scorecard-2026.12.0")]
    pub model_version: String,
    #[schema(max_items = 4)]
    pub reasons: Vec<ReasonDoc>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = Mode)]
pub enum ModeDoc {
    Shadow,
    Split,
}

/// A challenger: a version, how it takes part, and its share.
#[derive(ToSchema)]
#[schema(as = Challenger)]
pub struct ChallengerDoc {
    #[schema(example = "german-credit-scorecard-2026.12.0")]
    pub version: String,
    pub mode: ModeDoc,
    /// The share of applications it takes, 0 < s ≤ 1, chosen by each
    /// application's own hash.
    #[schema(exclusive_minimum = 0, maximum = 1, example = 0.25)]
    pub share: f64,
}

/// Which version decides.
#[derive(ToSchema)]
#[schema(as = Routing)]
pub struct RoutingDoc {
    /// 0 for the built-in routing; each change takes the next.
    #[schema(example = 7)]
    pub generation: u64,
    #[schema(example = "german-credit-2026.11.0")]
    pub champion: String,
    #[schema(required = true)]
    pub challenger: Option<ChallengerDoc>,
    /// Null for the built-in routing.
    #[schema(required = true, format = DateTime)]
    pub changed_at: Option<String>,
    #[schema(required = true)]
    pub reason: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
#[schema(as = VersionSource)]
pub enum VersionSourceDoc {
    BuiltIn,
    File,
    Directory,
}

/// An available version.
#[derive(ToSchema)]
#[schema(as = ModelVersion)]
pub struct VersionDoc {
    #[schema(example = "german-credit-2026.11.0")]
    pub version: String,
    /// `built-in`, `file` (`CREDIT_DECISIONS_MODEL`) or `directory`.
    pub source: VersionSourceDoc,
    #[schema(example = 0.2326)]
    pub threshold: f64,
    #[schema(example = 0.783)]
    pub cv_auc: f64,
}

/// A file of the models directory that is not served.
#[derive(ToSchema)]
#[schema(as = RefusedModel)]
pub struct RefusedDoc {
    #[schema(example = "young-favoured.onnx")]
    pub file: String,
    /// Names the check it failed.
    pub error: String,
}

/// The routing, every available version, the refused files.
#[derive(ToSchema)]
#[schema(as = Models)]
pub struct ModelsDoc {
    pub routing: RoutingDoc,
    pub versions: Vec<VersionDoc>,
    pub refused: Vec<RefusedDoc>,
}

/// The body of `PUT /v1/models/routing`.
#[derive(ToSchema)]
#[schema(as = RoutingRequest)]
pub struct RoutingRequestDoc {
    #[schema(example = "german-credit-2026.11.0")]
    pub champion: String,
    /// Null (or omitted) for none.
    pub challenger: Option<ChallengerDoc>,
    /// Why: kept in the history. 1 – 500 characters.
    #[schema(
        min_length = 1,
        max_length = 500,
        example = "score the scorecard beside the champion for a month"
    )]
    pub reason: String,
}

/// One change of the routing, as its append-only history keeps it.
#[derive(ToSchema)]
#[schema(as = Change)]
pub struct ChangeDoc {
    pub generation: u64,
    #[schema(format = DateTime)]
    pub changed_at: String,
    /// The first 8 hex digits of the SHA-256 of the admin key that made
    /// it (`anonymous` without keys); never the key.
    #[schema(example = "3f2a9c1e")]
    pub by: String,
    pub champion: String,
    #[schema(required = true)]
    pub challenger: Option<ChallengerDoc>,
    pub reason: String,
}

/// A page of the routing's history, newest first.
#[derive(ToSchema)]
#[schema(as = ChangePage)]
pub struct ChangePageDoc {
    pub items: Vec<ChangeDoc>,
    /// The `before` cursor of the next (older) page, or null.
    #[schema(required = true)]
    pub next: Option<u64>,
}

/// One arm's figures in a window.
#[derive(ToSchema)]
#[schema(as = ArmFigures)]
pub struct ArmFiguresDoc {
    pub version: String,
    pub decisions: u64,
    #[schema(required = true, minimum = 0, maximum = 1)]
    pub approval_rate: Option<f64>,
    #[schema(required = true, minimum = 0, maximum = 1)]
    pub mean_probability_of_default: Option<f64>,
}

#[derive(ToSchema)]
#[schema(as = ChallengerFigures)]
pub struct ChallengerFiguresDoc {
    pub version: String,
    pub mode: ModeDoc,
    pub decisions: u64,
    #[schema(required = true, minimum = 0, maximum = 1)]
    pub approval_rate: Option<f64>,
    #[schema(required = true, minimum = 0, maximum = 1)]
    pub mean_probability_of_default: Option<f64>,
}

/// The shadow verdicts against the decisions served for the same
/// applications.
#[derive(ToSchema)]
#[schema(as = SwapSet)]
pub struct SwapSetDoc {
    pub both_approve: u64,
    /// The champion declined; the challenger would approve.
    pub swap_in: u64,
    /// The champion approved; the challenger would decline.
    pub swap_out: u64,
    pub both_decline: u64,
}

/// Champion against challenger in a window.
#[derive(ToSchema)]
#[schema(as = Comparison)]
pub struct ComparisonDoc {
    pub window: WindowDoc,
    pub champion: ArmFiguresDoc,
    /// Null with no challenger in the window.
    #[schema(required = true)]
    pub challenger: Option<ChallengerFiguresDoc>,
    /// Shadow mode only; null in a split.
    #[schema(required = true)]
    pub swap_set: Option<SwapSetDoc>,
    /// (both_approve + both_decline) ÷ the swap set's sum; shadow only.
    #[schema(required = true, minimum = 0, maximum = 1)]
    pub agreement: Option<f64>,
}

/// A page of the log, newest first.
#[derive(ToSchema)]
#[schema(as = DecisionPage)]
pub struct DecisionPageDoc {
    pub items: Vec<DecisionRecordDoc>,
    /// The `before` cursor of the next (older) page, or null.
    #[schema(required = true)]
    pub next: Option<uuid::Uuid>,
}

#[derive(ToSchema)]
#[schema(as = BatchRequest)]
pub struct BatchRequestDoc {
    #[schema(min_items = 1, max_items = 1000)]
    pub applications: Vec<ApplicationSchema>,
}

#[derive(ToSchema)]
#[schema(as = BatchResponse)]
pub struct BatchResponseDoc {
    /// One decision per application, in input order.
    pub decisions: Vec<DecisionDoc>,
}

#[derive(Serialize, ToSchema)]
#[schema(as = FieldError)]
pub struct FieldErrorDoc {
    #[schema(example = "applications[3].age_years")]
    pub field: String,
    #[schema(example = "must be between 18 and 120")]
    pub message: String,
    /// In a batch, the position of the application the error is about (3
    /// for `applications[3].age_years`); absent for a body's own members.
    #[schema(nullable = false, minimum = 0, example = 3)]
    pub index: Option<u32>,
}

/// RFC 9457 problem details.
#[derive(Serialize, ToSchema)]
#[schema(as = Problem)]
pub struct ProblemDoc {
    #[serde(rename = "type")]
    #[schema(example = "https://credit-decisions.dev/problems/validation")]
    pub kind: String,
    #[schema(example = "Invalid application")]
    pub title: String,
    #[schema(example = 422)]
    pub status: u16,
    #[schema(example = "1 field is invalid")]
    pub detail: String,
    /// Every failing field (422 only; absent otherwise).
    #[schema(nullable = false)]
    pub errors: Option<Vec<FieldErrorDoc>>,
}

/// The population served in a window against the training population.
#[derive(ToSchema)]
#[schema(as = MonitoringReport)]
pub struct MonitoringReportDoc {
    pub window: WindowDoc,
    /// Logged decisions with `since` ≤ `created_at` < `until`, cache hits too.
    pub decisions: u64,
    pub by_decision: ByDecisionDoc,
    pub by_source: BySourceDoc,
    /// approve ÷ decisions; null without decisions.
    #[schema(required = true, minimum = 0, maximum = 1)]
    pub approval_rate: Option<f64>,
    /// The probability of default, in the training deciles.
    pub score: DriftDoc,
    /// One entry for every field of the Application.
    pub features: BTreeMap<String, DriftDoc>,
}

#[derive(ToSchema)]
#[schema(as = MonitoringWindow)]
pub struct WindowDoc {
    #[schema(format = DateTime, example = "2026-11-24T10:00:00Z")]
    pub since: String,
    #[schema(format = DateTime, example = "2026-11-25T10:00:00Z")]
    pub until: String,
}

#[derive(ToSchema)]
#[schema(as = CountsByDecision)]
pub struct ByDecisionDoc {
    pub approve: u64,
    pub decline: u64,
}

#[derive(ToSchema)]
#[schema(as = CountsBySource)]
pub struct BySourceDoc {
    pub model: u64,
    pub cache: u64,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = DriftStatus)]
pub enum DriftStatusDoc {
    Stable,
    Watch,
    Act,
    InsufficientData,
}

/// How far one quantity moved from its training distribution.
#[derive(ToSchema)]
#[schema(as = Drift)]
pub struct DriftDoc {
    /// The population stability index; null under 100 decisions.
    #[schema(required = true, minimum = 0)]
    pub psi: Option<f64>,
    /// `stable` below 0.10, `watch` to 0.25, `act` from 0.25.
    pub status: DriftStatusDoc,
    pub bins: Vec<BinShareDoc>,
}

#[derive(ToSchema)]
#[schema(as = BinShare)]
pub struct BinShareDoc {
    #[schema(example = "0.000-0.063")]
    pub bin: String,
    /// The training population's share.
    #[schema(minimum = 0, maximum = 1)]
    pub expected: f64,
    /// The window's share; null under 100 decisions, so that no report
    /// shows how a few applicants answered.
    #[schema(required = true, minimum = 0, maximum = 1)]
    pub actual: Option<f64>,
}

/// The process is up.
#[derive(ToSchema)]
#[schema(as = Liveness)]
pub struct LivenessDoc {
    pub status: LiveStatusDoc,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = LiveStatus)]
pub enum LiveStatusDoc {
    Up,
}

/// Whether a decision can be served and logged, and each component's state.
#[derive(ToSchema)]
#[schema(as = Readiness)]
pub struct ReadinessDoc {
    pub status: ReadinessStatusDoc,
    pub components: ComponentsDoc,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = ReadinessStatus)]
pub enum ReadinessStatusDoc {
    Ready,
    NotReady,
}

#[derive(ToSchema)]
#[schema(as = Components)]
pub struct ComponentsDoc {
    pub model: ModelComponentDoc,
    pub store: ComponentDoc,
    pub cache: ComponentDoc,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = ComponentStatus)]
pub enum ComponentStatusDoc {
    Up,
    Down,
    /// No cache is configured.
    Off,
}

/// The models: down when the routing names a version this service lacks.
#[derive(ToSchema)]
#[schema(as = ModelComponent)]
pub struct ModelComponentDoc {
    pub status: ComponentStatusDoc,
    /// The champion's version.
    pub version: String,
    pub routing_generation: u64,
    pub required: bool,
    /// Why it is down.
    #[schema(nullable = false)]
    pub error: Option<String>,
}

/// A backend: the store (required) or the cache (not required).
#[derive(ToSchema)]
#[schema(as = Component)]
pub struct ComponentDoc {
    pub status: ComponentStatusDoc,
    /// The adapter: `memory`, `redis`, `postgres`, or `none`.
    pub kind: String,
    pub required: bool,
    /// Why it is down.
    #[schema(nullable = false)]
    pub error: Option<String>,
}

/// This service's OpenAPI 3.1 document.
#[derive(ToSchema)]
#[schema(as = OpenApiDocument)]
pub struct OpenApiDocumentDoc {
    #[schema(example = "3.1.0")]
    pub openapi: String,
    pub info: BTreeMap<String, serde_json::Value>,
    pub paths: BTreeMap<String, serde_json::Value>,
}
