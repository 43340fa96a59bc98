//! `/health/live` and `/health/ready`.
//!
//! Ready means a decision can be served and logged: the model is loaded (it
//! is, or the service would not have started), the decision store answers,
//! and the service serves under the newest routing (not when the routing
//! names a version it does not have).
//! The cache is reported but not required: without it decisions are still
//! made, only slower.

use actix_web::{HttpResponse, web};
use domain::DecisionFlow;
use serde_json::{Value, json};

use crate::models::Models;

/// What each port is plugged into, by name, for `/health/ready`.
#[derive(Debug, Clone, Copy)]
pub struct BackendNames {
    pub cache: &'static str,
    pub store: &'static str,
}

/// The process is up.
#[utoipa::path(get, path = "/health/live", operation_id = "getLiveness", tag = "operations",
    responses((status = 200, description = "Up", body = crate::http::schemas::LivenessDoc)))]
pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "up"}))
}

/// Ready to decide: the model loaded and the decision store reachable. The
/// cache is reported but not required.
#[utoipa::path(get, path = "/health/ready", operation_id = "getReadiness", tag = "operations",
    responses(
        (status = 200, description = "Ready; the status of each component", body = crate::http::schemas::ReadinessDoc),
        (status = 503, description = "Not ready; the status of each component", body = crate::http::schemas::ReadinessDoc,
            headers(("Retry-After" = String, description = "Seconds to wait"))),
    ))]
pub async fn ready(
    flow: web::Data<DecisionFlow>,
    models: web::Data<Models>,
    names: web::Data<BackendNames>,
) -> HttpResponse {
    let readiness = flow.readiness().await;
    let component = |kind: &str, result: Result<(), String>| match result {
        Ok(()) => json!({"status": "up", "kind": kind}),
        Err(error) => json!({"status": "down", "kind": kind, "error": error}),
    };
    let cache: Value = match readiness.cache {
        None => json!({"status": "off", "kind": "none", "required": false}),
        Some(result) => {
            let mut status = component(names.cache, result.map_err(|e| e.to_string()));
            status["required"] = json!(false);
            status
        }
    };
    let store_up = readiness.store.is_ok();
    let mut store = component(names.store, readiness.store.map_err(|e| e.to_string()));
    store["required"] = json!(true);
    let routing = models.routing();
    let behind = models.behind();
    let mut model = json!({
        "status": if behind.is_none() { "up" } else { "down" },
        "version": routing.champion,
        "routing_generation": routing.generation,
        "required": true,
    });
    if let Some(why) = &behind {
        model["error"] = json!(why);
    }
    let ready = store_up && behind.is_none();
    let body = json!({
        "status": if ready { "ready" } else { "not_ready" },
        "components": {"model": model, "store": store, "cache": cache},
    });
    if ready {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable()
            .insert_header((
                "Retry-After",
                crate::http::problem::RETRY_AFTER_SECS.to_string(),
            ))
            .json(body)
    }
}
