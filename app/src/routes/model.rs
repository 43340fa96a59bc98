//! `GET /v1/model`: the champion's card, as the model shipped it.

use actix_web::{HttpResponse, web};

use crate::http::schemas::{KeyProblems, ModelCardDoc};
use crate::models::Models;

/// The champion's card: version, threshold, features and their encodings,
/// training data and metrics.
#[utoipa::path(
    get, path = "/v1/model", operation_id = "getModelCard", tag = "model",
    responses(
        (status = 200, description = "The model card", body = ModelCardDoc),
        KeyProblems,
    )
)]
pub async fn card(models: web::Data<Models>) -> HttpResponse {
    HttpResponse::Ok().json(&models.routed().champion.model().card)
}
