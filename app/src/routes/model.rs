//! `GET /v1/model`: the champion's card, as the model shipped it.

use actix_web::{HttpResponse, web};

use crate::http::schemas::{KeyProblems, ObjectDoc};
use crate::models::Models;

/// The champion's card: version, threshold, features and their encodings,
/// training data and metrics.
#[utoipa::path(
    get, path = "/v1/model", tag = "model",
    security((), ("api_key" = [])),
    responses(
        (status = 200, description = "The model card", body = ObjectDoc),
        KeyProblems,
    )
)]
pub async fn card(models: web::Data<Models>) -> HttpResponse {
    HttpResponse::Ok().json(&models.routed().champion.model().card)
}
