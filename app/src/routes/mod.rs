//! The routes of the contract, and what answers a wrong method or path.

pub(crate) mod decisions;
pub mod docs;
pub mod health;
pub(crate) mod metrics;
pub(crate) mod model;

use actix_web::{HttpRequest, HttpResponse, Resource, Route, web};

use crate::problem::Problem;

pub use decisions::BATCH_MAX;

pub fn configure(config: &mut web::ServiceConfig) {
    use web::{get, post};
    config
        .service(resource(
            "/v1/decisions",
            "GET, POST",
            [post().to(decisions::decide), get().to(decisions::list)],
        ))
        .service(resource(
            "/v1/decisions/batch",
            "POST",
            [post().to(decisions::decide_batch)],
        ))
        .service(resource(
            "/v1/decisions/{decision_id}",
            "GET",
            [get().to(decisions::get_one)],
        ))
        .service(resource("/v1/model", "GET", [get().to(model::card)]))
        .service(resource("/health/live", "GET", [get().to(health::live)]))
        .service(resource("/health/ready", "GET", [get().to(health::ready)]))
        .service(resource("/metrics", "GET", [get().to(metrics::render)]))
        .service(resource(
            "/openapi.json",
            "GET",
            [get().to(docs::openapi_json)],
        ))
        .service(resource("/docs", "GET", [get().to(docs::page)]))
        .service(resource("/docs/{asset}", "GET", [get().to(docs::asset)]));
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

/// Any path the contract does not know.
pub async fn not_found(request: HttpRequest) -> Result<HttpResponse, Problem> {
    Err(Problem::NotFound(format!(
        "no resource at {}",
        request.path()
    )))
}
