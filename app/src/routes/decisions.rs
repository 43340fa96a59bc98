//! `/v1/decisions`: decide applications, read the decision store.
//!
//! Thin handlers: parse at the edge, call the service, map the outcome.

use actix_web::http::header::{CacheControl, CacheDirective};
use actix_web::{HttpRequest, HttpResponse, web};
use domain::{Application, CacheStatus, DecisionFlow, DecisionId, FieldError, Served};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::http::body::{self, LargeBodies, json_kind};
use crate::http::limits::{BATCH_LIMIT, BATCH_MAX, LIMIT_DEFAULT, LIMIT_MAX, SINGLE_LIMIT};
use crate::http::observe::DecisionNote;
use crate::http::problem::{FieldErrors, Problem};
use crate::http::schemas::{
    ApplicationSchema, BatchRequestDoc, BatchResponseDoc, DecideProblems, DecisionDoc,
    DecisionPageDoc, DecisionRecordDoc, PageProblems, RecordProblems,
};
use crate::metrics::Metrics;
use crate::models::Models;

/// RFC 9211 `Cache-Status`, naming this service.
fn cache_status(status: CacheStatus) -> &'static str {
    match status {
        CacheStatus::Hit => "credit-decisions; hit",
        // An entry refused is a miss to the client: the model decided.
        CacheStatus::Miss | CacheStatus::Refused => "credit-decisions; fwd=miss",
        CacheStatus::Off => "credit-decisions; fwd=uri-miss",
    }
}

/// Decide one application.
///
/// Validates it, serves a cached verdict or scores it with the model, logs
/// the decision and only then answers.
#[utoipa::path(
    post, path = "/v1/decisions", operation_id = "decideApplication", tag = "decisions",
    request_body(content = ApplicationSchema, content_type = "application/json"),
    responses(
        (status = 200, description = "The decision, logged", body = DecisionDoc,
            headers(("Cache-Status" = String, description = "RFC 9211: `credit-decisions; hit`, `credit-decisions; fwd=miss`, or `credit-decisions; fwd=uri-miss` with the cache off"))),
        DecideProblems,
    )
)]
pub async fn decide(
    request: HttpRequest,
    payload: web::Payload,
    flow: web::Data<DecisionFlow>,
    models: web::Data<Models>,
    metrics: web::Data<Metrics>,
) -> Result<HttpResponse, Problem> {
    let body = body::read_object(&request, payload, SINGLE_LIMIT).await?;
    let application = Application::from_json(&body).map_err(Problem::invalid_application)?;
    let served = flow.decide(application, &models.routed()).await?;
    metrics.record_served(&served);
    let mut response = HttpResponse::Ok()
        .insert_header(("Cache-Status", cache_status(served.cache)))
        .insert_header(CacheControl(vec![CacheDirective::NoStore]))
        .json(&served.decision);
    response.extensions_mut().insert(DecisionNote::One {
        decision_id: served.decision.decision_id.to_string(),
        source: served.source.as_str(),
    });
    Ok(response)
}

#[derive(Serialize)]
struct BatchDecisions {
    decisions: Vec<domain::Decision>,
}

/// Decide 1 to 1,000 applications at once.
///
/// All are validated before any is decided (422 lists `applications[i].field`
/// paths); one cache read, one model run over the misses, one cache write and
/// one log transaction; decisions in input order, each with its own id.
#[utoipa::path(
    post, path = "/v1/decisions/batch", operation_id = "decideBatch", tag = "decisions",
    request_body(content = BatchRequestDoc, content_type = "application/json"),
    responses(
        (status = 200, description = "The decisions, logged, in input order", body = BatchResponseDoc),
        DecideProblems,
    )
)]
pub async fn decide_batch(
    request: HttpRequest,
    payload: web::Payload,
    flow: web::Data<DecisionFlow>,
    models: web::Data<Models>,
    metrics: web::Data<Metrics>,
    large_bodies: web::Data<LargeBodies>,
) -> Result<HttpResponse, Problem> {
    // One large body read and parsed at a time: what batches cost in memory
    // at once is bounded whatever arrives together.
    let parsing = large_bodies.0.acquire().await.expect("never closed");
    let body = body::read_object(&request, payload, BATCH_LIMIT).await?;
    let applications = parse_batch(body).map_err(Problem::invalid_application)?;
    drop(parsing);
    let served: Vec<Served> = flow.decide_all(applications, &models.routed()).await?;
    metrics.batch_size.observe(served.len() as f64);
    served.iter().for_each(|one| metrics.record_served(one));
    let note = DecisionNote::Batch {
        size: served.len(),
        from_cache: served
            .iter()
            .filter(|s| s.cache == CacheStatus::Hit)
            .count(),
    };
    let mut response = HttpResponse::Ok()
        .insert_header(CacheControl(vec![CacheDirective::NoStore]))
        .json(BatchDecisions {
            decisions: served.into_iter().map(|s| s.decision).collect(),
        });
    response.extensions_mut().insert(note);
    Ok(response)
}

/// `{"applications": [...]}`, every application valid, or the errors with
/// their `applications[i].field` paths (the first hundred listed).
fn parse_batch(mut body: Map<String, Value>) -> Result<Vec<Application>, FieldErrors> {
    let mut errors = FieldErrors::default();
    let unknown: Vec<FieldError> = body
        .keys()
        .filter(|key| *key != "applications")
        .map(|key| FieldError::new(key.as_str(), "is not a known field"))
        .collect();
    let items = match body.remove("applications") {
        Some(Value::Array(items)) if (1..=BATCH_MAX).contains(&items.len()) => items,
        wrong => {
            errors.push(FieldError::new(
                "applications",
                match wrong {
                    None => "is required".to_owned(),
                    Some(Value::Array(items)) => format!(
                        "must hold between 1 and {BATCH_MAX} applications, not {}",
                        items.len()
                    ),
                    Some(other) => format!("must be an array, not a {}", json_kind(&other)),
                },
            ));
            errors.extend(unknown);
            return Err(errors);
        }
    };
    let mut applications = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        match item {
            Value::Object(object) => match Application::from_json(object) {
                Ok(application) => applications.push(application),
                Err(failed) => errors.extend(failed.into_iter().map(|e| e.in_item(i))),
            },
            other => errors.push(FieldError::of_item(
                i,
                format!("must be an object, not a {}", json_kind(other)),
            )),
        }
    }
    errors.extend(unknown);
    if errors.is_empty() {
        Ok(applications)
    } else {
        Err(errors)
    }
}

/// One logged decision.
#[utoipa::path(
    get, path = "/v1/decisions/{decision_id}", operation_id = "getDecision", tag = "decisions",
    params(("decision_id" = uuid::Uuid, Path, description = "The decision's id (a UUID)")),
    responses(
        (status = 200, description = "The decision as logged", body = DecisionRecordDoc),
        RecordProblems,
    )
)]
pub async fn get_one(
    id: web::Path<String>,
    flow: web::Data<DecisionFlow>,
) -> Result<HttpResponse, Problem> {
    // A malformed id names no decision, so it is as unknown as a missing one.
    let unknown = || Problem::NotFound(format!("no decision has the id {id}"));
    let decision_id = DecisionId::parse(&id).ok_or_else(unknown)?;
    let record = flow.record(decision_id).await?.ok_or_else(unknown)?;
    Ok(HttpResponse::Ok().json(record))
}

/// Logged decisions, newest first.
#[utoipa::path(
    get, path = "/v1/decisions", operation_id = "listDecisions", tag = "decisions",
    params(
        ("limit" = Option<u16>, Query, minimum = 1, maximum = 1000, description = "Page size, 1 – 1000 (default 50)"),
        ("before" = Option<uuid::Uuid>, Query, description = "Cursor: the `next` of the previous page (a decision_id)"),
    ),
    responses(
        (status = 200, description = "A page of the decision store", body = DecisionPageDoc),
        PageProblems,
    )
)]
pub async fn list(
    request: HttpRequest,
    flow: web::Data<DecisionFlow>,
) -> Result<HttpResponse, Problem> {
    let (limit, before) = parse_page_query(request.query_string())?;
    let page = flow.records(limit, before).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// `limit` (1 – 1000, default 50) and `before` (a decision id). Other
/// parameters are ignored, as HTTP caches and proxies may add their own.
fn parse_page_query(query: &str) -> Result<(u16, Option<DecisionId>), Problem> {
    let pairs = super::query_pairs(query)?;
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
            "before" => match DecisionId::parse(&value) {
                Some(id) => before = Some(id),
                None => errors.push(FieldError::new("before", "must be a decision_id (a UUID)")),
            },
            _ => {}
        }
    }
    if errors.is_empty() {
        Ok((limit, before))
    } else {
        Err(Problem::invalid_query(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn example() -> Value {
        serde_json::from_str(include_str!(
            "../../../domain/testdata/example-application.json"
        ))
        .unwrap()
    }

    #[test]
    fn batch_errors_carry_indexed_paths() {
        let mut second = example();
        second["age_years"] = json!(12);
        let body = json!({"applications": [example(), second, 7], "extra": true});
        let errors = parse_batch(body.as_object().unwrap().clone()).unwrap_err();
        assert_eq!(
            errors.listed,
            vec![
                FieldError::new("age_years", "must be between 18 and 120").in_item(1),
                FieldError::of_item(2, "must be an object, not a number"),
                FieldError::new("extra", "is not a known field"),
            ]
        );
        assert_eq!(errors.listed[0].field, "applications[1].age_years");
        assert_eq!(
            serde_json::to_value(&errors.listed[1]).unwrap(),
            json!({"field": "applications[2]", "message": "must be an object, not a number", "index": 2})
        );
        assert_eq!(
            serde_json::to_value(&errors.listed[2]).unwrap(),
            json!({"field": "extra", "message": "is not a known field"})
        );
    }

    #[test]
    fn a_batch_holds_one_to_a_thousand() {
        let empty = json!({"applications": []});
        let errors = parse_batch(empty.as_object().unwrap().clone()).unwrap_err();
        assert_eq!(errors.listed[0].field, "applications");
        let full = json!({"applications": vec![example(); BATCH_MAX]});
        assert_eq!(
            parse_batch(full.as_object().unwrap().clone())
                .unwrap()
                .len(),
            BATCH_MAX
        );
        let over = json!({"applications": vec![example(); BATCH_MAX + 1]});
        assert!(parse_batch(over.as_object().unwrap().clone()).is_err());
    }

    #[test]
    fn a_flood_of_errors_lists_the_first_hundred_and_counts_all() {
        let body = json!({"applications": vec![json!({}); BATCH_MAX]});
        let errors = parse_batch(body.as_object().unwrap().clone()).unwrap_err();
        assert_eq!(errors.total, BATCH_MAX * 18);
        assert_eq!(errors.listed.len(), 100);
        assert_eq!(errors.listed[18].field, "applications[1].checking_account");
    }

    #[test]
    fn page_query_defaults_and_bounds() {
        assert_eq!(parse_page_query("").unwrap(), (50, None));
        assert_eq!(parse_page_query("limit=1000&utm=x").unwrap(), (1000, None));
        for bad in ["limit=0", "limit=1001", "limit=ten", "limit=-1"] {
            assert!(parse_page_query(bad).is_err(), "{bad}");
        }
        assert!(parse_page_query("before=not-a-uuid").is_err());
    }
}
