//! Reading a JSON object body, with the contract's checks in its order:
//! content type (415), size (413), JSON object (400). Validation of what the
//! object holds (422) is the domain's.

use actix_web::HttpRequest;
use actix_web::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use actix_web::web::Payload;
use serde_json::{Map, Value};

use crate::problem::Problem;

/// The body limit of one application.
pub const SINGLE_LIMIT: usize = 64 * 1024;
/// The body limit of a batch.
pub const BATCH_LIMIT: usize = 8 * 1024 * 1024;

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
    let bytes = match payload.to_bytes_limited(limit).await {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(error)) => {
            return Err(Problem::MalformedBody(format!(
                "the body could not be read: {error}"
            )));
        }
        Err(_) => return Err(Problem::PayloadTooLarge { limit }),
    };
    if bytes.is_empty() {
        return Err(Problem::MalformedBody(
            "the body is empty; expected a JSON object".to_owned(),
        ));
    }
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(other) => Err(Problem::MalformedBody(format!(
            "the body is a JSON {}; expected a JSON object",
            json_kind(&other)
        ))),
        Err(error) => Err(Problem::MalformedBody(format!(
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
