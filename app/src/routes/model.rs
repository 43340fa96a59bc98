//! `GET /v1/model`: the serving model's card, as the model shipped it.

use actix_web::{HttpResponse, web};
use domain::DecisionService;

pub async fn card(service: web::Data<DecisionService>) -> HttpResponse {
    HttpResponse::Ok().json(&service.model().card)
}
