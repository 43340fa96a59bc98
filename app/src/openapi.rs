//! The OpenAPI 3.1 document of the service, served at `GET /openapi.json`.
//!
//! Paths come from the `#[utoipa::path]` attributes on the handlers. The
//! Application schema is built from the domain's own field types (their
//! values and bounds), so it cannot drift from what the service accepts; the
//! other bodies are described by the documentation types below.

use std::borrow::Cow;

use domain::fields::*;
use serde::Serialize;
use serde_json::Value;
use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, RefOr};
use utoipa::{Modify, OpenApi, PartialSchema, ToSchema};

/// The contract's example application (the data set's first row).
pub fn example_application() -> Value {
    serde_json::from_str(include_str!(
        "../../domain/testdata/example-application.json"
    ))
    .expect("the example application is JSON")
}

/// The Application schema, from the domain's types.
pub struct ApplicationSchema;

impl PartialSchema for ApplicationSchema {
    fn schema() -> RefOr<Schema> {
        fn categorical<C: Categorical>(column: &str) -> ObjectBuilder {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(C::wire_values()))
                .description(Some(format!("Data set column `{column}`.")))
        }
        fn integer(min: u8, max: u8, column: &str) -> ObjectBuilder {
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(min))
                .maximum(Some(max))
                .description(Some(format!("Data set column `{column}`.")))
        }
        let fields: [(&str, ObjectBuilder); 18] = [
            (
                "checking_account",
                categorical::<CheckingAccount>("status_of_existing_checking_account"),
            ),
            (
                "duration_months",
                integer(
                    DurationMonths::MIN,
                    DurationMonths::MAX,
                    "duration_in_month",
                ),
            ),
            (
                "credit_history",
                categorical::<CreditHistory>("credit_history"),
            ),
            ("purpose", categorical::<Purpose>("purpose")),
            (
                "credit_amount",
                ObjectBuilder::new()
                    .schema_type(Type::Number)
                    .exclusive_minimum(Some(0))
                    .maximum(Some(CreditAmount::MAX))
                    .description(Some("Data set column `credit_amount`.")),
            ),
            (
                "savings",
                categorical::<Savings>("savings_account_and_bonds"),
            ),
            (
                "employment_since",
                categorical::<EmploymentSince>("present_employment_since"),
            ),
            (
                "installment_rate",
                integer(
                    InstallmentRate::MIN,
                    InstallmentRate::MAX,
                    "installment_rate_in_percentage_of_disposable_income",
                ),
            ),
            (
                "other_debtors",
                categorical::<OtherDebtors>("other_debtors_or_guarantors"),
            ),
            (
                "residence_since",
                integer(
                    ResidenceSince::MIN,
                    ResidenceSince::MAX,
                    "present_residence_since",
                ),
            ),
            ("property", categorical::<Property>("property")),
            (
                "age_years",
                integer(AgeYears::MIN, AgeYears::MAX, "age_in_years"),
            ),
            (
                "other_installment_plans",
                categorical::<OtherInstallmentPlans>("other_installment_plans"),
            ),
            ("housing", categorical::<Housing>("housing")),
            (
                "existing_credits",
                integer(
                    ExistingCredits::MIN,
                    ExistingCredits::MAX,
                    "number_of_existing_credits_at_this_bank",
                ),
            ),
            ("job", categorical::<Job>("job")),
            (
                "dependents",
                integer(
                    Dependents::MIN,
                    Dependents::MAX,
                    "number_of_people_being_liable_to_provide_maintenance_for",
                ),
            ),
            (
                "telephone",
                ObjectBuilder::new()
                    .schema_type(Type::Boolean)
                    .description(Some(
                        "Data set column `telephone` (registered under the applicant's name).",
                    )),
            ),
        ];
        let mut object = ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(
                "A credit application. Every field is required; unknown fields, and the protected \
                 attributes personal_status_and_sex and foreign_worker, are refused.",
            ))
            .additional_properties(Some(AdditionalProperties::<Schema>::FreeForm(false)))
            .examples([example_application()]);
        for (name, schema) in fields {
            object = object.property(name, schema).required(name);
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

    /// A free-form JSON object.
    #[derive(ToSchema)]
    #[schema(as = Object)]
    pub struct ObjectDoc {}
}

pub use bodies::*;

/// Declares the bearer-key scheme (used when `CREDIT_DECISIONS_API_KEYS` is set).
struct BearerKeys;

impl Modify for BearerKeys {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "credit-decisions",
        description = "Loan applications in, approve/decline decisions out, every decision logged. \
                       `/v1/*` needs `Authorization: Bearer <key>` when the service is configured with API keys.",
        license(name = "Apache-2.0")
    ),
    paths(
        crate::routes::decisions::decide,
        crate::routes::decisions::decide_batch,
        crate::routes::decisions::get_one,
        crate::routes::decisions::list,
        crate::routes::model::card,
        crate::routes::health::live,
        crate::routes::health::ready,
        crate::routes::metrics::render,
        crate::routes::docs::openapi_json,
        crate::routes::docs::page,
    ),
    components(schemas(ApplicationSchema, DecisionDoc, DecisionRecordDoc, DecisionPageDoc,
        BatchRequestDoc, BatchResponseDoc, ProblemDoc, FieldErrorDoc)),
    modifiers(&BearerKeys),
    tags(
        (name = "decisions", description = "Decide applications and read the decision log."),
        (name = "model", description = "The serving model."),
        (name = "operations", description = "Health, metrics and this description (never behind a key)."),
    )
)]
struct ApiDoc;

/// The document, with the example application on the request bodies.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut document = ApiDoc::openapi();
    let example = example_application();
    for (path, body) in [
        ("/v1/decisions", example.clone()),
        (
            "/v1/decisions/batch",
            serde_json::json!({"applications": [example]}),
        ),
    ] {
        let post = document
            .paths
            .paths
            .get_mut(path)
            .and_then(|item| item.post.as_mut())
            .expect("documented POST path");
        let request_body = post.request_body.as_mut().expect("documented request body");
        let content = request_body
            .content
            .get_mut("application/json")
            .expect("a JSON request body");
        *content = ContentBuilder::new()
            .schema(content.schema.clone())
            .example(Some(body))
            .build();
    }
    document
}
