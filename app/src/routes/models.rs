//! `/v1/models`: the versions, the routing over them and its history, the
//! comparison of champion and challenger; setting the routing and
//! reloading the directory (admin operations).

use actix_web::http::header::{self, CacheControl, CacheDirective, ETag, EntityTag};
use actix_web::{HttpRequest, HttpResponse, web};
use domain::{DecisionFlow, FieldError, Routing, RoutingRequest};
use serde::Serialize;

use crate::http::auth;
use crate::http::body;
use crate::http::limits::{LIMIT_DEFAULT, LIMIT_MAX, SINGLE_LIMIT};
use crate::http::problem::Problem;
use crate::http::reports::Reports;
use crate::http::schemas::{
    AdminProblems, ChangePageDoc, ComparisonDoc, KeyProblems, ModelCardDoc, ModelsDoc,
    MonitoringProblems, PageProblems, RoutingProblems, RoutingRequestDoc, VersionProblems,
};
use crate::models::{Models, Origin};

/// The contract's Models body.
#[derive(Serialize)]
struct ModelsBody<'a> {
    routing: &'a Routing,
    versions: Vec<VersionBody<'a>>,
    refused: Vec<RefusedBody<'a>>,
}

#[derive(Serialize)]
struct VersionBody<'a> {
    version: &'a str,
    source: Origin,
    /// As the card states them.
    threshold: &'a serde_json::Value,
    cv_auc: &'a serde_json::Value,
}

#[derive(Serialize)]
struct RefusedBody<'a> {
    file: &'a str,
    error: &'a str,
}

/// The Models answer, with the routing's generation as its `ETag` (for
/// `If-Match`).
fn models_answer(models: &Models) -> HttpResponse {
    let routing = models.routing();
    let versions = models.versions();
    let body = ModelsBody {
        routing: &routing,
        versions: versions
            .iter()
            .map(|(id, version)| {
                let card = &version.model().card;
                VersionBody {
                    version: id,
                    source: version.origin,
                    threshold: &card["threshold"],
                    cv_auc: &card["metrics"]["cv_roc_auc"],
                }
            })
            .collect(),
        refused: versions
            .refused()
            .iter()
            .map(|refused| RefusedBody {
                file: &refused.file,
                error: &refused.error,
            })
            .collect(),
    };
    HttpResponse::Ok()
        .insert_header(ETag(EntityTag::new_strong(routing.generation.to_string())))
        .insert_header(CacheControl(vec![CacheDirective::NoStore]))
        .json(body)
}

/// The routing, every available version, and the files refused.
///
/// The `ETag` is the routing's generation, for `If-Match` on
/// `PUT /v1/models/routing`.
#[utoipa::path(
    get, path = "/v1/models", operation_id = "listModels", tag = "models",
    responses(
        (status = 200, description = "The routing and the versions", body = ModelsDoc,
            headers(("ETag" = String, description = "The routing's generation, quoted"))),
        KeyProblems,
    )
)]
pub async fn list_models(models: web::Data<Models>) -> HttpResponse {
    models_answer(&models)
}

/// One available version's card.
#[utoipa::path(
    get, path = "/v1/models/{version}", operation_id = "getModelVersion", tag = "models",
    params(("version" = String, Path, description = "A version id, as `GET /v1/models` lists it")),
    responses(
        (status = 200, description = "The version's model card", body = ModelCardDoc),
        VersionProblems,
    )
)]
pub async fn version_card(
    version: web::Path<String>,
    models: web::Data<Models>,
) -> Result<HttpResponse, Problem> {
    let versions = models.versions();
    let found = versions.get(&version).ok_or_else(|| {
        Problem::NotFound(format!("no available model version is named {version}"))
    })?;
    Ok(HttpResponse::Ok().json(&found.model().card))
}

/// Admin: set the routing.
///
/// `{"champion": V, "challenger": null or {"version": V, "mode": "shadow"|"split",
/// "share": s}, "reason": "…"}`; an omitted challenger is none. With
/// `If-Match: "G"` the change applies only if the routing is still at
/// generation G (412 otherwise). Every replica on the same database serves
/// under it within 2 seconds.
#[utoipa::path(
    put, path = "/v1/models/routing", operation_id = "setRouting", tag = "models",
    request_body(content = RoutingRequestDoc, content_type = "application/json"),
    params(("If-Match" = Option<String>, Header, description = "The generation the change was decided on, quoted: `\"7\"`")),
    responses(
        (status = 200, description = "The routing, changed", body = ModelsDoc),
        RoutingProblems,
    )
)]
pub async fn set_routing(
    request: HttpRequest,
    payload: web::Payload,
    models: web::Data<Models>,
) -> Result<HttpResponse, Problem> {
    let by = auth::admin(&request)?;
    let body = body::read_object(&request, payload, SINGLE_LIMIT).await?;
    let versions = models.versions();
    let asked = RoutingRequest::parse(&body, &|id| versions.contains(id))
        .map_err(Problem::invalid_routing)?;
    // After the body's checks: a bad body is a 4xx of its own whatever the
    // precondition says.
    let expected = expected_generation(&request)?;
    let change = models.change(expected, &asked, &by).await?;
    tracing::info!(
        generation = change.generation,
        by = change.by,
        champion = change.champion,
        challenger = ?change.challenger,
        reason = change.reason,
        "routing changed"
    );
    Ok(models_answer(&models))
}

/// The generation `If-Match` names: `"7"` (or `W/"7"`, or `*` for any).
/// A tag that is no generation can match none: 412.
fn expected_generation(request: &HttpRequest) -> Result<Option<u64>, Problem> {
    let Some(value) = request.headers().get(header::IF_MATCH) else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or("").trim();
    if text == "*" {
        return Ok(None);
    }
    let tag = text.strip_prefix("W/").unwrap_or(text);
    let generation = tag
        .strip_prefix('"')
        .and_then(|tag| tag.strip_suffix('"'))
        .unwrap_or(tag)
        .parse::<u64>();
    match generation {
        Ok(generation) => Ok(Some(generation)),
        Err(_) => Err(Problem::PreconditionFailed(
            "If-Match names no routing generation; send the ETag of GET /v1/models, as \"7\""
                .to_owned(),
        )),
    }
}

/// Admin: scan `CREDIT_DECISIONS_MODELS_DIR` again.
///
/// Every valid model is loaded and checked, on a thread of its own: no
/// request waits for it. A version in use stays until the routing leaves it.
#[utoipa::path(
    post, path = "/v1/models/reload", operation_id = "reloadModels", tag = "models",
    responses(
        (status = 200, description = "The routing and the versions after the scan", body = ModelsDoc),
        AdminProblems,
    )
)]
pub async fn reload_models(
    request: HttpRequest,
    models: web::Data<Models>,
) -> Result<HttpResponse, Problem> {
    let by = auth::admin(&request)?;
    models.reload().await?;
    tracing::info!(by, "models directory scanned");
    Ok(models_answer(&models))
}

/// The routing's history, newest first.
#[utoipa::path(
    get, path = "/v1/models/changes", operation_id = "listRoutingChanges", tag = "models",
    params(
        ("limit" = Option<u16>, Query, minimum = 1, maximum = 1000, description = "Page size, 1 – 1000 (default 50)"),
        ("before" = Option<u64>, Query, minimum = 1, description = "Cursor: the `next` of the previous page (a generation)"),
    ),
    responses(
        (status = 200, description = "A page of the routing's changes", body = ChangePageDoc),
        PageProblems,
    )
)]
pub async fn routing_changes(
    request: HttpRequest,
    models: web::Data<Models>,
) -> Result<HttpResponse, Problem> {
    let pairs = super::query_pairs(request.query_string())?;
    let mut limit = LIMIT_DEFAULT;
    let mut before = None;
    let mut errors = Vec::new();
    for (name, value) in pairs {
        match name.as_str() {
            "limit" => match value.parse::<u16>() {
                Ok(n) if (1..=LIMIT_MAX).contains(&n) => limit = n,
                _ => errors.push(FieldError::new(
                    "limit",
                    format!("must be an integer between 1 and {LIMIT_MAX}"),
                )),
            },
            "before" => match value.parse::<u64>() {
                Ok(generation) if generation >= 1 && generation <= i64::MAX as u64 => {
                    before = Some(generation)
                }
                _ => errors.push(FieldError::new(
                    "before",
                    "must be a routing generation (a positive integer)",
                )),
            },
            _ => {}
        }
    }
    if !errors.is_empty() {
        return Err(Problem::invalid_query(errors));
    }
    let page = models.changes(limit, before).await?;
    Ok(HttpResponse::Ok()
        .insert_header(CacheControl(vec![CacheDirective::NoStore]))
        .json(page))
}

/// Champion against challenger in a window (default the last 24 hours).
///
/// Decisions, approval rate and mean probability of default per arm; in
/// shadow mode the swap set (whom the challenger would approve that the
/// champion declined, and the reverse) and the agreement. From the same
/// tallies as the monitoring report, never a scan of the log.
#[utoipa::path(
    get, path = "/v1/models/comparison", operation_id = "compareModels", tag = "models",
    params(
        ("since" = Option<String>, Query, format = DateTime, description = "Start of the window, RFC 3339 (default: 24 hours before `until`)"),
        ("until" = Option<String>, Query, format = DateTime, description = "End of the window, RFC 3339, excluded (default: now)"),
    ),
    responses(
        (status = 200, description = "The comparison of the window", body = ComparisonDoc),
        MonitoringProblems,
    )
)]
pub async fn compare_models(
    request: HttpRequest,
    flow: web::Data<DecisionFlow>,
    models: web::Data<Models>,
    reports: web::Data<Reports>,
) -> Result<HttpResponse, Problem> {
    let window = super::monitoring::window_of(request.query_string())?;
    let _place = reports.start()?;
    let routing = models.routing();
    let versions = models.versions();
    let baseline_of = |id: &str| versions.get(id).map(|version| &version.model().baseline);
    let comparison = flow.comparison(window, &routing, &baseline_of).await?;
    Ok(HttpResponse::Ok()
        .insert_header(CacheControl(vec![CacheDirective::NoStore]))
        .json(comparison))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn expected(if_match: Option<&str>) -> Result<Option<u64>, Problem> {
        let mut request = TestRequest::default();
        if let Some(value) = if_match {
            request = request.insert_header((header::IF_MATCH, value));
        }
        expected_generation(&request.to_http_request())
    }

    #[test]
    fn if_match_names_a_generation_or_any() {
        assert_eq!(expected(None).unwrap(), None);
        assert_eq!(expected(Some("*")).unwrap(), None);
        assert_eq!(expected(Some("\"7\"")).unwrap(), Some(7));
        assert_eq!(expected(Some("W/\"7\"")).unwrap(), Some(7));
        assert_eq!(expected(Some("0")).unwrap(), Some(0));
        for wrong in ["\"seven\"", "\"-1\"", "", "\"\""] {
            assert!(
                matches!(expected(Some(wrong)), Err(Problem::PreconditionFailed(_))),
                "{wrong}"
            );
        }
    }
}
