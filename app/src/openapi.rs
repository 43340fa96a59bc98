//! The OpenAPI 3.1 document of the service, served at `GET /openapi.json`.
//!
//! Assembled here from the handlers' `#[utoipa::path]` attributes and the
//! schemas of [`crate::http::schemas`]; no handler depends on this module (the
//! server hands the finished document to the `/openapi.json` route).

use utoipa::openapi::schema::{AdditionalProperties, Schema};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, RefOr};
use utoipa::{Modify, OpenApi};

use crate::http::schemas::*;
use crate::routes::{decisions, docs, health, metrics, model, models, monitoring};

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
        decisions::decide,
        decisions::decide_batch,
        decisions::get_one,
        decisions::list,
        model::card,
        models::list_models,
        models::version_card,
        models::set_routing,
        models::reload_models,
        models::routing_changes,
        models::compare_models,
        monitoring::monitoring_report,
        monitoring::dashboard,
        health::live,
        health::ready,
        metrics::render,
        docs::openapi_json,
        docs::page,
    ),
    components(schemas(ApplicationSchema, DecisionDoc, ReasonDoc, DecisionRecordDoc, DecisionPageDoc,
        BatchRequestDoc, BatchResponseDoc, ProblemDoc, FieldErrorDoc, MonitoringReportDoc, ModelsDoc,
        RoutingDoc, ChallengerDoc, VersionDoc, RefusedDoc, RoutingRequestDoc, ChangeDoc, ChangePageDoc,
        ComparisonDoc)),
    modifiers(&BearerKeys),
    tags(
        (name = "decisions", description = "Decide applications and read the decision store."),
        (name = "model", description = "The serving model, and the population it meets."),
        (name = "models", description = "Model versions, the routing over them (champion, challenger) and its history."),
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
    // As strict as the service: a batch has no member but `applications`.
    if let Some(RefOr::T(Schema::Object(batch))) = document
        .components
        .as_mut()
        .and_then(|components| components.schemas.get_mut("BatchRequest"))
    {
        batch.additional_properties = Some(Box::new(AdditionalProperties::FreeForm(false)));
    }
    document
}

/// The document as the JSON `/openapi.json` serves.
pub fn document_json() -> String {
    document()
        .to_pretty_json()
        .expect("the OpenAPI document serializes")
}
