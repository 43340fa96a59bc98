//! `/v1/monitoring` and `/monitoring`: the population served in a window,
//! against the training one, as JSON and as a dashboard page.

use actix_web::http::header::{CacheControl, CacheDirective, ContentType};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use domain::{DecisionFlow, FieldError, Window};

use crate::dashboard;
use crate::http::problem::Problem;
use crate::http::reports::Reports;
use crate::http::schemas::{DashboardProblems, MonitoringProblems, MonitoringReportDoc};
use crate::models::{Models, Version};

/// The population served in a window, from the decision store.
///
/// Counts by decision and source, the approval rate, and the population
/// stability index (PSI) of the score and of every field against the
/// training population the model card describes. Every logged decision with
/// `since` ≤ `created_at` < `until` counts, cache hits too. The champion's by
/// default; any available version's with `model_version` (decided by it, or
/// scored in its shadow), against its own baseline.
#[utoipa::path(
    get, path = "/v1/monitoring", operation_id = "getMonitoringReport", tag = "model",
    params(
        ("since" = Option<String>, Query, format = DateTime, description = "Start of the window, RFC 3339 (default: 24 hours before `until`)"),
        ("until" = Option<String>, Query, format = DateTime, description = "End of the window, RFC 3339, excluded (default: now)"),
        ("model_version" = Option<String>, Query, description = "The version to report (default: the champion)"),
    ),
    responses(
        (status = 200, description = "The monitoring report of the window", body = MonitoringReportDoc),
        MonitoringProblems,
    )
)]
pub async fn monitoring_report(
    request: HttpRequest,
    flow: web::Data<DecisionFlow>,
    models: web::Data<Models>,
    reports: web::Data<Reports>,
) -> Result<HttpResponse, Problem> {
    let window = window_of(request.query_string())?;
    let version = version_of(request.query_string(), &models)?;
    let _place = reports.start()?;
    let report = flow.monitoring(window, version.model()).await?;
    Ok(HttpResponse::Ok()
        .insert_header(CacheControl(vec![CacheDirective::NoStore]))
        .json(report))
}

/// The monitoring dashboard: decisions per hour, the approval rate, the
/// score's distribution against the training one, drift per field, and the
/// champion against the challenger when the window holds one.
///
/// Drawn on the server as HTML and SVG; it loads nothing from elsewhere and
/// runs no script. Takes the same `since` and `until` as `/v1/monitoring`.
#[utoipa::path(
    get, path = "/monitoring", operation_id = "getMonitoringDashboard", tag = "model",
    params(
        ("since" = Option<String>, Query, format = DateTime, description = "Start of the window, RFC 3339"),
        ("until" = Option<String>, Query, format = DateTime, description = "End of the window, RFC 3339"),
    ),
    responses(
        (status = 200, description = "The dashboard", body = String, content_type = "text/html"),
        DashboardProblems,
    )
)]
pub async fn dashboard(
    request: HttpRequest,
    flow: web::Data<DecisionFlow>,
    models: web::Data<Models>,
    reports: web::Data<Reports>,
) -> Result<HttpResponse, Problem> {
    let window = window_of(request.query_string())?;
    let _place = reports.start()?;
    let routing = models.routing();
    let versions = models.versions();
    let champion = versions
        .get(&routing.champion)
        .expect("the routing's versions are available");
    let baseline_of = |id: &str| versions.get(id).map(|version| &version.model().baseline);
    let (report, comparison) = flow
        .monitoring_and_comparison(window, &routing, &baseline_of, champion.model())
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(ContentType::html())
        .insert_header(CacheControl(vec![CacheDirective::NoStore]))
        .body(dashboard::page(
            &report,
            &champion.model().version,
            &comparison,
            Utc::now(),
        )))
}

/// The version `model_version` names, or the champion.
fn version_of(query: &str, models: &Models) -> Result<Version, Problem> {
    let asked = super::query_pairs(query)?
        .into_iter()
        .find(|(name, _)| name == "model_version")
        .map(|(_, value)| value);
    let id = asked.unwrap_or_else(|| models.routing().champion);
    models.versions().get(&id).cloned().ok_or_else(|| {
        Problem::invalid_query(vec![FieldError::new(
            "model_version",
            "is not an available model version (GET /v1/models lists them)",
        )])
    })
}

/// `since` and `until` of a query; other parameters are ignored, as on
/// `GET /v1/decisions`.
pub(super) fn window_of(query: &str) -> Result<Window, Problem> {
    let pairs = super::query_pairs(query)?;
    let mut since = None;
    let mut until = None;
    for (name, value) in pairs {
        match name.as_str() {
            "since" => since = Some(restore_plus(value)),
            "until" => until = Some(restore_plus(value)),
            _ => {}
        }
    }
    Window::parse(since.as_deref(), until.as_deref(), Utc::now()).map_err(Problem::invalid_query)
}

/// A `+` offset sent unencoded reads as a space (`…T10:00:00 01:00`):
/// put it back, as no RFC 3339 time has a space there.
fn restore_plus(mut time: String) -> String {
    if let Some(at) = time.len().checked_sub(6)
        && time.get(at..at + 1) == Some(" ")
    {
        time.replace_range(at..at + 1, "+");
    }
    time
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plus_is_restored_only_where_an_offset_begins() {
        assert_eq!(
            restore_plus("2026-11-25T11:00:00 01:00".to_owned()),
            "2026-11-25T11:00:00+01:00"
        );
        assert_eq!(restore_plus("10:00 now".to_owned()), "10:00 now");
        // Shorter than an offset, or cut inside a character: left alone
        // (schemathesis found the first one overflowing).
        for short in ["", " ", "0\u{10000}", "\u{10000}\u{10000}"] {
            assert_eq!(restore_plus(short.to_owned()), short);
        }
    }

    #[test]
    fn the_window_comes_from_since_and_until_and_ignores_the_rest() {
        let window =
            window_of("since=2026-11-25T10:00:00Z&until=2026-11-25T11:00:00%2B01:00&utm=x")
                .unwrap();
        assert_eq!(window.since, window.until);
        // The same offset, sent with a bare `+`.
        let bare = window_of("since=2026-11-25T11:00:00+01:00&until=2026-11-25T10:00:00Z").unwrap();
        assert_eq!(bare, window);
        let refused = window_of("since=tomorrow").unwrap_err();
        assert!(
            matches!(&refused, Problem::Invalid { errors, .. } if errors.listed[0].field == "since"),
            "{refused:?}"
        );
    }
}
