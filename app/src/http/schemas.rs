//! The schemas of the OpenAPI document: the Application schema built from
//! the domain's field table (so it cannot drift from what the service
//! accepts), documentation types for the other bodies, and the problem
//! answers each operation can give, described once.
//!
//! Handlers name these in their `#[utoipa::path]` attributes; this module
//! names no handler.

use std::borrow::Cow;
use std::collections::BTreeMap;

use domain::Application;
use domain::fields::FieldKind;
use serde::Serialize;
use serde_json::Value;
use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, Schema, Type};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{PartialSchema, ToSchema};

/// The contract's example application (the data set's first row).
pub fn example_application() -> Value {
    serde_json::from_str(include_str!(
        "../../../domain/testdata/example-application.json"
    ))
    .expect("the example application is JSON")
}

/// The Application schema, one property per row of the domain's field table.
pub struct ApplicationSchema;

impl PartialSchema for ApplicationSchema {
    fn schema() -> RefOr<Schema> {
        let mut object = ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(
                "A credit application. Every field is required; unknown fields, and the protected \
                 attributes personal_status_and_sex and foreign_worker, are refused.",
            ))
            .additional_properties(Some(AdditionalProperties::<Schema>::FreeForm(false)))
            .examples([example_application()]);
        for field in Application::FIELDS {
            let property = match field.kind {
                FieldKind::Categorical { values } => ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some(values.iter().copied())),
                FieldKind::Integer { min, max } => ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .minimum(Some(min))
                    .maximum(Some(max)),
                FieldKind::Number { exclusive_min, max } => ObjectBuilder::new()
                    .schema_type(Type::Number)
                    .exclusive_minimum(Some(exclusive_min))
                    .maximum(Some(max)),
                FieldKind::Boolean => ObjectBuilder::new().schema_type(Type::Boolean),
            }
            .description(Some(format!("Data set column `{}`.", field.column)));
            object = object.property(field.name, property).required(field.name);
        }
        RefOr::T(Schema::Object(object.build()))
    }
}

impl ToSchema for ApplicationSchema {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Application")
    }
}

// Documentation types: they describe bodies for the document and are never
// built. The service's own types serialize to exactly these shapes (the
// suite checks real responses against them).
#[allow(dead_code)]
mod bodies {
    use super::*;

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

    /// The answer to one application.
    #[derive(ToSchema)]
    #[schema(as = Decision)]
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
        pub feature: String,
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
        pub request: ApplicationSchema,
        pub response: DecisionDoc,
        /// Which routing arm decided: `champion` or `challenger`.
        pub arm: ArmDoc,
        /// The shadow challenger's verdict on the same application, when one
        /// scored it; else null.
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
        pub challenger: Option<ChallengerDoc>,
        /// Null for the built-in routing.
        #[schema(format = DateTime)]
        pub changed_at: Option<String>,
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
        pub challenger: Option<ChallengerDoc>,
        pub reason: String,
    }

    /// A page of the routing's history, newest first.
    #[derive(ToSchema)]
    #[schema(as = ChangePage)]
    pub struct ChangePageDoc {
        pub items: Vec<ChangeDoc>,
        /// The `before` cursor of the next (older) page, or null.
        pub next: Option<u64>,
    }

    /// One arm's figures in a window.
    #[derive(ToSchema)]
    #[schema(as = ArmFigures)]
    pub struct ArmFiguresDoc {
        pub version: String,
        pub decisions: u64,
        #[schema(minimum = 0, maximum = 1)]
        pub approval_rate: Option<f64>,
        #[schema(minimum = 0, maximum = 1)]
        pub mean_probability_of_default: Option<f64>,
    }

    #[derive(ToSchema)]
    #[schema(as = ChallengerFigures)]
    pub struct ChallengerFiguresDoc {
        pub version: String,
        pub mode: ModeDoc,
        pub decisions: u64,
        #[schema(minimum = 0, maximum = 1)]
        pub approval_rate: Option<f64>,
        #[schema(minimum = 0, maximum = 1)]
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
        pub challenger: Option<ChallengerFiguresDoc>,
        /// Shadow mode only; null in a split.
        pub swap_set: Option<SwapSetDoc>,
        /// (both_approve + both_decline) ÷ the swap set's sum; shadow only.
        #[schema(minimum = 0, maximum = 1)]
        pub agreement: Option<f64>,
    }

    /// A page of the log, newest first.
    #[derive(ToSchema)]
    #[schema(as = DecisionPage)]
    pub struct DecisionPageDoc {
        pub items: Vec<DecisionRecordDoc>,
        /// The `before` cursor of the next (older) page, or null.
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
        /// Every failing field (422 only).
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
        #[schema(minimum = 0, maximum = 1)]
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
        #[schema(minimum = 0)]
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
        #[schema(minimum = 0, maximum = 1)]
        pub actual: Option<f64>,
    }

    /// A free-form JSON object.
    #[derive(ToSchema)]
    #[schema(as = Object)]
    pub struct ObjectDoc {}
}

pub use bodies::*;

/// What each problem status means, for every operation that can answer it.
const PROBLEMS: [(u16, &str); 11] = [
    (400, "The body is not JSON, or not a JSON object"),
    (
        401,
        "A bearer key is required (when the service is configured with API keys)",
    ),
    (
        403,
        "An admin operation with a key that is not an admin key (or with admin keys not configured while API keys are)",
    ),
    (404, "No such decision or model version"),
    (
        412,
        "If-Match names a routing generation that is no longer current: nothing changed",
    ),
    (
        408,
        "The body did not arrive within its time bound; the connection is closed",
    ),
    (
        413,
        "The body is over its limit: 64 KiB for one application, 8 MiB for a batch",
    ),
    (415, "The content type is not application/json"),
    (
        422,
        "The input is invalid: every failing field is listed (the first 100, with a count of all in `detail`); \
         a repeated member, a number out of range, an object of more than 32 members or a member name over 64 bytes \
         is refused naming the member",
    ),
    (
        429,
        "Two monitoring reports are being computed already; Retry-After is set",
    ),
    (
        503,
        "The decision store or the model is unavailable; Retry-After is set",
    ),
];

/// The problem+json responses of `statuses`, described from [`PROBLEMS`].
fn problem_responses(statuses: &[u16]) -> BTreeMap<String, RefOr<Response>> {
    statuses
        .iter()
        .map(|status| {
            let (_, description) = PROBLEMS
                .iter()
                .find(|(known, _)| known == status)
                .expect("every problem status is described in PROBLEMS");
            let response = ResponseBuilder::new()
                .description(*description)
                .content(
                    "application/problem+json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("Problem")))
                        .build(),
                )
                .build();
            (status.to_string(), RefOr::T(response))
        })
        .collect()
}

/// Declares a set of problem answers for `responses(...)` of a path.
macro_rules! problems {
    ($($(#[$doc:meta])* $name:ident = [$($status:literal),+];)+) => {$(
        $(#[$doc])*
        pub struct $name;

        impl utoipa::IntoResponses for $name {
            fn responses() -> BTreeMap<String, RefOr<Response>> {
                problem_responses(&[$($status),+])
            }
        }
    )+};
}

problems! {
    /// Deciding: the body's checks, the key, validation, the log and the model.
    DecideProblems = [400, 401, 408, 413, 415, 422, 503];
    /// Reading one logged decision.
    RecordProblems = [401, 404, 503];
    /// Reading a page of the log.
    PageProblems = [401, 422, 503];
    /// The monitoring report: the key, the window, the reports at once, the log.
    MonitoringProblems = [401, 422, 429, 503];
    /// The monitoring dashboard: the key (a bearer token or Basic's
    /// password), the window, the reports at once, the log.
    DashboardProblems = [401, 422, 429, 503];
    /// Any other operation behind the key.
    KeyProblems = [401];
    /// One model version's card.
    VersionProblems = [401, 404];
    /// An admin operation: the key, an admin key, the routing store.
    AdminProblems = [401, 403, 503];
    /// Setting the routing: the body's checks, the keys, `If-Match`, the
    /// routing's rules, the routing store.
    RoutingProblems = [400, 401, 403, 408, 412, 413, 415, 422, 503];
}
