//! The routes of the contract, and what answers a wrong method or path.

pub(crate) mod decisions;
pub(crate) mod docs;
pub(crate) mod health;
pub(crate) mod metrics;
pub(crate) mod model;

use actix_web::{FromRequest, Handler, HttpRequest, Resource, Responder, web};

use crate::problem::Problem;

pub use decisions::BATCH_MAX;

pub fn configure(config: &mut web::ServiceConfig) {
    let decide_and_list = web::resource("/v1/decisions")
        .route(web::post().to(decisions::decide))
        .route(web::get().to(decisions::list));
    config
        .service(only(decide_and_list, "GET, POST"))
        .service(post("/v1/decisions/batch", decisions::decide_batch))
        .service(get("/v1/decisions/{decision_id}", decisions::get_one))
        .service(get("/v1/model", model::card))
        .service(get("/health/live", health::live))
        .service(get("/health/ready", health::ready))
        .service(get("/metrics", metrics::render))
        .service(get("/openapi.json", docs::openapi_json))
        .service(get("/docs", docs::page))
        .service(get("/docs/{asset}", docs::asset));
}

/// A resource whose one method is GET (405 to others).
fn get<F, Args>(path: &str, handler: F) -> Resource
where
    F: Handler<Args>,
    Args: FromRequest + 'static,
    F::Output: Responder + 'static,
{
    only(web::resource(path).route(web::get().to(handler)), "GET")
}

/// A resource whose one method is POST (405 to others).
fn post<F, Args>(path: &str, handler: F) -> Resource
where
    F: Handler<Args>,
    Args: FromRequest + 'static,
    F::Output: Responder + 'static,
{
    only(web::resource(path).route(web::post().to(handler)), "POST")
}

/// The resource, answering any other method with 405 and `Allow`.
fn only(resource: Resource, allowed: &'static str) -> Resource {
    resource.default_service(web::to(allow(allowed)))
}

/// A handler answering 405 with the methods the path does allow.
fn allow(
    allowed: &'static str,
) -> impl Fn(HttpRequest) -> std::future::Ready<Result<actix_web::HttpResponse, Problem>> + Clone {
    move |request: HttpRequest| {
        std::future::ready(Err(Problem::MethodNotAllowed {
            method: request.method().to_string(),
            allowed,
        }))
    }
}

/// Any path the contract does not know.
pub async fn not_found(request: HttpRequest) -> Result<actix_web::HttpResponse, Problem> {
    Err(Problem::NotFound(format!(
        "no resource at {}",
        request.path()
    )))
}
