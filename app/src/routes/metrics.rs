//! `GET /metrics`: Prometheus text format.

use actix_web::{HttpResponse, web};
use chrono::Utc;
use domain::{DecisionFlow, Window};

use crate::http::reports::Reports;
use crate::metrics::Metrics;
use crate::models::Models;

/// Prometheus metrics, with the champion's PSI of the last 24 hours
/// measured at each scrape (from the log's tallies: a few milliseconds).
#[utoipa::path(get, path = "/metrics", operation_id = "getMetrics", tag = "operations",
    responses((status = 200, description = "Prometheus text format", body = String, content_type = "text/plain")))]
pub async fn render(
    metrics: web::Data<Metrics>,
    flow: web::Data<DecisionFlow>,
    models: web::Data<Models>,
    reports: web::Data<Reports>,
) -> HttpResponse {
    let champion = models.routed().champion.clone();
    let last_day = Window::day_before(Utc::now());
    // A log that cannot answer leaves the gauges as they were (its error
    // is counted in store_errors_total), and so do reports busy elsewhere:
    // a scrape never waits for them.
    if let Ok(_place) = reports.start()
        && let Ok(report) = flow.monitoring(last_day, champion.model()).await
    {
        metrics.record_drift(&report);
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(metrics.render())
}
