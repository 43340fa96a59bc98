//! `GET /v1/model`: the serving model's card, as the model shipped it.

use actix_web::{HttpResponse, web};
use domain::DecisionService;

/// The serving model's card: version, threshold, features and their
/// encodings, training data and metrics.
#[utoipa::path(
    get, path = "/v1/model", tag = "model",
    security((), ("api_key" = [])),
    responses(
        (status = 200, description = "The model card", body = crate::openapi::ObjectDoc),
        (status = 401, description = "A bearer key is required", body = crate::openapi::ProblemDoc, content_type = "application/problem+json")
    )
)]
pub async fn card(service: web::Data<DecisionService>) -> HttpResponse {
    HttpResponse::Ok().json(&service.model().card)
}
