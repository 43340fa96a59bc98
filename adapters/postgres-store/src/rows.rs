//! A logged decision as its row holds it, read back.

use chrono::{DateTime, Utc};
use domain::{Arm, CanonicalRequest, Decision, DecisionRecord, Source, StoreError, Verdict};
use sea_orm::{DbErr, QueryResult};

/// Every column of a record, as read back: the bodies as the text logged.
pub(crate) const RECORD_COLUMNS: &str = "decision_id, created_at, source, request::text AS request, \
     response::text AS response, arm, shadow::text AS shadow";

/// A record as logged. The request is taken as it was written, never
/// validated again; only a row the store itself could not have written (a
/// response that is not a decision) makes the read fail.
pub(crate) fn record_of(row: &QueryResult) -> Result<DecisionRecord, StoreError> {
    let column = |error: DbErr| StoreError::Unavailable(format!("unreadable row: {error}"));
    let id: uuid::Uuid = row.try_get("", "decision_id").map_err(column)?;
    let corrupt = |what: &str, error: String| {
        StoreError::Unavailable(format!("decision {id} has an unreadable {what}: {error}"))
    };
    let source: String = row.try_get("", "source").map_err(column)?;
    let request: String = row.try_get("", "request").map_err(column)?;
    let response: String = row.try_get("", "response").map_err(column)?;
    let arm: String = row.try_get("", "arm").map_err(column)?;
    let shadow: Option<String> = row.try_get("", "shadow").map_err(column)?;
    Ok(DecisionRecord {
        decision_id: id.into(),
        created_at: row
            .try_get::<DateTime<Utc>>("", "created_at")
            .map_err(column)?,
        source: Source::parse(&source).ok_or_else(|| corrupt("source", source.clone()))?,
        request: CanonicalRequest::from_logged(request)
            .map_err(|error| corrupt("request", error.to_string()))?,
        response: serde_json::from_str::<Decision>(&response)
            .map_err(|error| corrupt("response", error.to_string()))?,
        arm: Arm::parse(&arm).ok_or_else(|| corrupt("arm", arm.clone()))?,
        shadow: shadow
            .map(|shadow| serde_json::from_str::<Verdict>(&shadow))
            .transpose()
            .map_err(|error| corrupt("shadow", error.to_string()))?,
    })
}
