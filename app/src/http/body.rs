//! Reading a JSON object body, with the contract's checks in its order:
//! content type (415), size (413), arrival in time (408), JSON object (400),
//! then the strict reading of [`crate::strict_json`] (422 for a repeated key,
//! a number out of range, an object or array past its limits). Validation of
//! what the object holds (422) is the domain's.

use std::time::Duration;

use actix_web::HttpRequest;
use actix_web::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use actix_web::web::{self, Payload};
use serde_json::{Map, Value};

use domain::FieldError;

use super::connection::ConnectionPhase;
use super::limits::BATCH_MAX;
use super::problem::Problem;
use super::strict_json::{self, Limits, ParseError};

/// What one object or array in a body may hold: an application has 18
/// fields (the longest name 23 bytes), a batch 1,000 applications. Past these
/// a body is refused without keeping the rest, so that what is parsed stays
/// within a small multiple of the body's size.
const LIMITS: Limits = Limits {
    members: 32,
    name_bytes: 64,
    items: BATCH_MAX,
};

/// Admits the reading and parsing of large (batch) bodies one at a time (app
/// data): a parsed body is a few times its size, and this bounds how many
/// are held at once.
pub struct LargeBodies(pub tokio::sync::Semaphore);

impl Default for LargeBodies {
    fn default() -> Self {
        Self(tokio::sync::Semaphore::new(1))
    }
}

/// The longest a request's body may take to arrive (app data).
#[derive(Debug, Clone, Copy)]
pub struct BodyTimeout(pub Duration);

pub async fn read_object(
    request: &HttpRequest,
    payload: Payload,
    limit: usize,
) -> Result<Map<String, Value>, Problem> {
    check_content_type(request)?;
    // A declared length over the limit is refused before reading a byte.
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(Problem::PayloadTooLarge { limit });
    }
    // A body that stalls (or a Content-Length longer than the body) would
    // otherwise hold the connection for ever.
    let timeout = request
        .app_data::<web::Data<BodyTimeout>>()
        .map_or(Duration::from_secs(10), |timeout| timeout.0);
    let bytes = match tokio::time::timeout(timeout, payload.to_bytes_limited(limit)).await {
        Err(_) => {
            // The rest of the body is never read: the connection closes
            // once the 408 is written, however the body was framed.
            if let Some(connection) = ConnectionPhase::of(request) {
                connection.close();
            }
            return Err(Problem::RequestTimeout { timeout });
        }
        Ok(Ok(Ok(bytes))) => bytes,
        Ok(Ok(Err(error))) => {
            return Err(Problem::MalformedBody(format!(
                "the body could not be read: {error}"
            )));
        }
        Ok(Err(_)) => return Err(Problem::PayloadTooLarge { limit }),
    };
    if bytes.is_empty() {
        return Err(Problem::MalformedBody(
            "the body is empty; expected a JSON object".to_owned(),
        ));
    }
    let is_object = bytes.trim_ascii_start().first() == Some(&b'{');
    match strict_json::parse(&bytes, LIMITS) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(other) => Err(Problem::MalformedBody(format!(
            "the body is a JSON {}; expected a JSON object",
            json_kind(&other)
        ))),
        Err(ParseError::Refused(_)) if !is_object => Err(Problem::MalformedBody(
            "the body is not a JSON object".to_owned(),
        )),
        Err(ParseError::Refused(refusal)) => Err(Problem::invalid_body(FieldError::new(
            refusal.path,
            refusal.message,
        ))),
        Err(ParseError::Syntax(error)) => Err(Problem::MalformedBody(format!(
            "the body is not JSON: {error}"
        ))),
    }
}

fn check_content_type(request: &HttpRequest) -> Result<(), Problem> {
    let given = request
        .headers()
        .get(CONTENT_TYPE)
        .map(|value| value.to_str().unwrap_or("(not text)"));
    let essence = given
        .and_then(|value| value.split(';').next())
        .map(|value| value.trim().to_ascii_lowercase());
    match (given, essence.as_deref()) {
        (_, Some("application/json")) => Ok(()),
        (None, _) => Err(Problem::UnsupportedMediaType(
            "Content-Type is missing; send application/json".to_owned(),
        )),
        (Some(given), _) => Err(Problem::UnsupportedMediaType(format!(
            "Content-Type {given} is not supported; send application/json"
        ))),
    }
}

pub fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}
