//! The routes of the contract, and what answers a wrong method or path.

pub(crate) mod decisions;
pub(crate) mod docs;
pub(crate) mod health;
pub(crate) mod metrics;
pub(crate) mod model;

use actix_web::{HttpRequest, web};

use crate::problem::Problem;

pub use decisions::BATCH_MAX;

pub fn configure(config: &mut web::ServiceConfig) {
    config
        .service(
            web::resource("/v1/decisions")
                .route(web::post().to(decisions::decide))
                .route(web::get().to(decisions::list))
                .default_service(web::to(allow("GET, POST"))),
        )
        .service(
            web::resource("/v1/decisions/batch")
                .route(web::post().to(decisions::decide_batch))
                .default_service(web::to(allow("POST"))),
        )
        .service(
            web::resource("/v1/decisions/{decision_id}")
                .route(web::get().to(decisions::get_one))
                .default_service(web::to(allow("GET"))),
        )
        .service(
            web::resource("/v1/model")
                .route(web::get().to(model::card))
                .default_service(web::to(allow("GET"))),
        )
        .service(
            web::resource("/health/live")
                .route(web::get().to(health::live))
                .default_service(web::to(allow("GET"))),
        )
        .service(
            web::resource("/health/ready")
                .route(web::get().to(health::ready))
                .default_service(web::to(allow("GET"))),
        )
        .service(
            web::resource("/openapi.json")
                .route(web::get().to(docs::openapi_json))
                .default_service(web::to(allow("GET"))),
        )
        .service(
            web::resource("/docs")
                .route(web::get().to(docs::page))
                .default_service(web::to(allow("GET"))),
        )
        .service(
            web::resource("/docs/{asset}")
                .route(web::get().to(docs::asset))
                .default_service(web::to(allow("GET"))),
        )
        .service(
            web::resource("/metrics")
                .route(web::get().to(metrics::render))
                .default_service(web::to(allow("GET"))),
        );
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
    Err(Problem::NotFound(format!("no resource at {}", request.path())))
}
