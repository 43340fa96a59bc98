//! `GET /v1/model`: the serving model's card, as the model shipped it.

use actix_web::{HttpResponse, web};
use domain::DecisionFlow;

use crate::http::schemas::{KeyProblems, ObjectDoc};

/// The serving model's card: version, threshold, features and their
/// encodings, training data and metrics.
#[utoipa::path(
    get, path = "/v1/model", tag = "model",
    security((), ("api_key" = [])),
    responses(
        (status = 200, description = "The model card", body = ObjectDoc),
        KeyProblems,
    )
)]
pub async fn card(flow: web::Data<DecisionFlow>) -> HttpResponse {
    HttpResponse::Ok().json(&flow.model().card)
}
