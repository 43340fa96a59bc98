//! The OpenAPI 3.1 document of the service, served at `GET /openapi.json`.
//!
//! Assembled here from the handlers' `#[utoipa::path]` attributes and the
//! schemas of [`crate::http::schemas`]; no handler depends on this module (the
//! server hands the finished document to the `/openapi.json` route).

use utoipa::OpenApi;
use utoipa::openapi::path::Operation;
use utoipa::openapi::schema::{AdditionalProperties, Schema};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, RefOr};

use crate::http::schemas::*;
use crate::routes::{decisions, docs, health, metrics, model, models, monitoring};

/// The operations that need an admin key when keys are configured.
const ADMIN_OPERATIONS: [&str; 2] = ["setRouting", "reloadModels"];

/// Which keys the service is configured with: the served document says
/// what a client must send.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Keys {
    /// API or admin keys are configured: `/v1` needs a key.
    pub required: bool,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "credit-decisions",
        description = "Loan applications in, approve/decline decisions out, every decision logged. \
                       `/v1/*` needs `Authorization: Bearer <key>` when the service is configured with API keys.",
        license(name = "Apache-2.0", identifier = "Apache-2.0")
    ),
    servers((url = "/", description = "This service")),
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
    components(schemas(ApplicationSchema, LoggedApplicationSchema, FieldSchema, DecisionDoc, ReasonDoc,
        DecisionRecordDoc, DecisionPageDoc, ModelCardDoc, LivenessDoc, ReadinessDoc,
        BatchRequestDoc, BatchResponseDoc, ProblemDoc, FieldErrorDoc, MonitoringReportDoc, ModelsDoc,
        RoutingDoc, ChallengerDoc, VersionDoc, RefusedDoc, RoutingRequestDoc, ChangeDoc, ChangePageDoc,
        ComparisonDoc)),
    tags(
        (name = "decisions", description = "Decide applications and read the decision store."),
        (name = "model", description = "The serving model, and the population it meets."),
        (name = "models", description = "Model versions, the routing over them (champion, challenger) and its history."),
        (name = "operations", description = "Health, metrics and this description (never behind a key)."),
    )
)]
struct ApiDoc;

/// The document as served with `keys`: the example application on the
/// request bodies, the enums of the categorical fields, and each
/// operation's security.
pub fn document(keys: Keys) -> utoipa::openapi::OpenApi {
    let mut document = ApiDoc::openapi();
    let components = document.components.get_or_insert_with(Default::default);
    for (name, schema) in enum_schemas() {
        components.schemas.insert(name, schema);
    }
    secure(&mut document, keys);
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

/// Each operation's security: none for the public operations (health,
/// metrics, the pages, this document); with keys configured, a bearer key
/// for `/v1` and an admin key for the admin operations; none at all
/// without keys, so that generated clients need no credentials.
fn secure(document: &mut utoipa::openapi::OpenApi, keys: Keys) {
    let requirement = |scheme: &str| vec![SecurityRequirement::new(scheme, Vec::<String>::new())];
    for (path, item) in document.paths.paths.iter_mut() {
        let operations: [&mut Option<Operation>; 4] = [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.delete,
        ];
        for operation in operations.into_iter().flatten() {
            let admin = operation
                .operation_id
                .as_deref()
                .is_some_and(|id| ADMIN_OPERATIONS.contains(&id));
            operation.security = Some(match (keys.required && path.starts_with("/v1"), admin) {
                (false, _) => Vec::new(),
                (true, false) => requirement("api_key"),
                (true, true) => requirement("admin_key"),
            });
        }
    }
    if keys.required {
        let components = document.components.get_or_insert_with(Default::default);
        let bearer = |description: &str| {
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(description))
                    .build(),
            )
        };
        components.add_security_scheme(
            "api_key",
            bearer("A key of CREDIT_DECISIONS_API_KEYS or CREDIT_DECISIONS_ADMIN_KEYS"),
        );
        components.add_security_scheme("admin_key", bearer("A key of CREDIT_DECISIONS_ADMIN_KEYS"));
    }
}

/// The document as the JSON `/openapi.json` serves.
pub fn document_json(keys: Keys) -> String {
    document(keys)
        .to_pretty_json()
        .expect("the OpenAPI document serializes")
}
