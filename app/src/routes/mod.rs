//! The routes of the contract, and what answers a wrong method or path.

pub(crate) mod decisions;
pub mod docs;
pub mod health;
pub(crate) mod metrics;
pub(crate) mod model;
pub(crate) mod models;
pub(crate) mod monitoring;

use actix_web::middleware::from_fn;
use actix_web::{HttpRequest, HttpResponse, Resource, Route, web};

use crate::http::auth;
use crate::http::problem::Problem;

/// The public API: `/v1`, health, the API description, and, unless the
/// operators have an address of their own (`operator_pages_elsewhere`), the
/// metrics and the dashboard, which then needs a key as `/v1` does.
pub fn configure_public(config: &mut web::ServiceConfig, operator_pages_elsewhere: bool) {
    use web::{get, post, put};
    // The key check guards the scope, so it sees exactly the requests the
    // router sends to a /v1 handler, however their path was spelled
    // (`/%761/decisions` is routed here too), and unknown /v1 paths as well.
    let v1 = web::scope("/v1")
        .wrap(from_fn(auth::require_key))
        .service(resource(
            "/decisions",
            "GET, POST",
            [post().to(decisions::decide), get().to(decisions::list)],
        ))
        .service(resource(
            "/decisions/batch",
            "POST",
            [post().to(decisions::decide_batch)],
        ))
        .service(resource(
            "/decisions/{decision_id}",
            "GET",
            [get().to(decisions::get_one)],
        ))
        .service(resource("/model", "GET", [get().to(model::card)]))
        .service(resource("/models", "GET", [get().to(models::list_models)]))
        .service(resource(
            "/models/routing",
            "PUT",
            [put().to(models::set_routing)],
        ))
        .service(resource(
            "/models/reload",
            "POST",
            [post().to(models::reload_models)],
        ))
        .service(resource(
            "/models/changes",
            "GET",
            [get().to(models::routing_changes)],
        ))
        .service(resource(
            "/models/comparison",
            "GET",
            [get().to(models::compare_models)],
        ))
        // After the fixed paths: a version id is any segment.
        .service(resource(
            "/models/{version}",
            "GET",
            [get().to(models::version_card)],
        ))
        .service(resource(
            "/monitoring",
            "GET",
            [get().to(monitoring::monitoring_report)],
        ))
        .default_service(web::to(not_found));
    config.service(v1).configure(health);
    if !operator_pages_elsewhere {
        config
            .service(resource("/metrics", "GET", [get().to(metrics::render)]))
            .service(
                resource("/monitoring", "GET", [get().to(monitoring::dashboard)])
                    .wrap(from_fn(auth::require_key_for_page)),
            );
    }
    config
        .service(resource(
            "/openapi.json",
            "GET",
            [get().to(docs::openapi_json)],
        ))
        .service(resource("/docs", "GET", [get().to(docs::page)]))
        .service(resource("/docs/{asset}", "GET", [get().to(docs::asset)]));
}

/// The operators' address (`CREDIT_DECISIONS_OPERATOR_ADDR`): metrics, the
/// dashboard (no key: the address is the operators' network) and health.
pub fn configure_operator(config: &mut web::ServiceConfig) {
    use web::get;
    config
        .service(resource("/metrics", "GET", [get().to(metrics::render)]))
        .service(resource(
            "/monitoring",
            "GET",
            [get().to(monitoring::dashboard)],
        ))
        .configure(health);
}

fn health(config: &mut web::ServiceConfig) {
    use web::get;
    config
        .service(resource("/health/live", "GET", [get().to(health::live)]))
        .service(resource("/health/ready", "GET", [get().to(health::ready)]));
}

/// A resource serving `routes`, and answering any other method with 405
/// and `Allow: allowed`.
fn resource(
    path: &str,
    allowed: &'static str,
    routes: impl IntoIterator<Item = Route>,
) -> Resource {
    let not_allowed = move |request: HttpRequest| async move {
        Err::<HttpResponse, _>(Problem::MethodNotAllowed {
            method: request.method().to_string(),
            allowed,
        })
    };
    routes
        .into_iter()
        .fold(web::resource(path), Resource::route)
        .default_service(web::to(not_allowed))
}

/// The query string's parameters, in order. The routes ignore those they
/// do not know, as HTTP caches and proxies may add their own.
fn query_pairs(query: &str) -> Result<Vec<(String, String)>, Problem> {
    web::Query::<Vec<(String, String)>>::from_query(query)
        .map(web::Query::into_inner)
        .map_err(|error| Problem::MalformedBody(format!("the query string is malformed: {error}")))
}

/// Any path the contract does not know.
pub async fn not_found(request: HttpRequest) -> Result<HttpResponse, Problem> {
    Err(Problem::NotFound(format!(
        "no resource at {}",
        request.path()
    )))
}
