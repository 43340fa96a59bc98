//! Every error the service answers, as RFC 9457 `application/problem+json`.
//!
//! Handlers return a [`Problem`]; this is the one place that decides its
//! status, type, title and headers.

use actix_web::http::StatusCode;
use actix_web::http::header::{ALLOW, CONTENT_TYPE, RETRY_AFTER};
use actix_web::{HttpResponse, ResponseError};
use domain::FieldError;
use serde::Serialize;

use super::limits::REPORTS_AT_ONCE;

/// Where problem types are documented.
const TYPE_BASE: &str = "https://credit-decisions.dev/problems/";

/// Seconds a client should wait before retrying when a backend is down.
pub const RETRY_AFTER_SECS: u32 = 5;
/// Seconds to wait before asking again for a monitoring report.
pub const REPORT_RETRY_AFTER_SECS: u32 = 1;

/// The most field errors one answer lists; the detail counts the rest. A
/// batch of 1,000 bad applications is a few KiB of answer, not megabytes.
pub const MAX_LISTED_ERRORS: usize = 100;

/// Field errors as they are found, keeping the first [`MAX_LISTED_ERRORS`]
/// and counting the rest.
#[derive(Debug, Default)]
pub struct FieldErrors {
    pub listed: Vec<FieldError>,
    pub total: usize,
}

impl FieldErrors {
    pub fn push(&mut self, error: FieldError) {
        self.total += 1;
        if self.listed.len() < MAX_LISTED_ERRORS {
            self.listed.push(error);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.total == 0
    }
}

impl Extend<FieldError> for FieldErrors {
    fn extend<I: IntoIterator<Item = FieldError>>(&mut self, errors: I) {
        errors.into_iter().for_each(|error| self.push(error));
    }
}

impl From<Vec<FieldError>> for FieldErrors {
    fn from(errors: Vec<FieldError>) -> Self {
        let mut collected = Self::default();
        collected.extend(errors);
        collected
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Problem {
    #[error("{0}")]
    MalformedBody(String),
    #[error("a valid bearer key is required")]
    Unauthorized,
    /// A page a browser asks for: the key may come as HTTP Basic's password.
    #[error(
        "a valid key is required, as a bearer token or as the password of HTTP Basic authentication"
    )]
    UnauthorizedPage,
    /// A valid key, but not one that may do this.
    #[error("{0}")]
    Forbidden(&'static str),
    /// `If-Match` names a routing generation that is no longer current.
    #[error("{0}")]
    PreconditionFailed(String),
    #[error(
        "{REPORTS_AT_ONCE} monitoring reports are being computed; retry in {REPORT_RETRY_AFTER_SECS} second"
    )]
    TooManyReports,
    #[error("{0}")]
    NotFound(String),
    #[error("{method} is not allowed here; allowed: {allowed}")]
    MethodNotAllowed {
        method: String,
        allowed: &'static str,
    },
    #[error("the body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{title}")]
    Invalid {
        title: &'static str,
        errors: FieldErrors,
    },
    #[error("the body did not arrive within {} ms", timeout.as_millis())]
    RequestTimeout { timeout: std::time::Duration },
    /// A required backend (the decision log, the model) cannot serve. The
    /// reason is logged, never shown: it may name hosts or internals.
    #[error("{what} is unavailable")]
    Unavailable { what: &'static str, reason: String },
}

#[derive(Serialize)]
struct Body<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'a str,
    status: u16,
    detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<&'a [FieldError]>,
}

impl Problem {
    pub fn invalid_application(errors: impl Into<FieldErrors>) -> Self {
        Problem::Invalid {
            title: "Invalid application",
            errors: errors.into(),
        }
    }

    /// A body refused as it was read: one member named.
    pub fn invalid_body(error: FieldError) -> Self {
        Self::invalid_application(vec![error])
    }

    pub fn invalid_routing(errors: Vec<FieldError>) -> Self {
        Problem::Invalid {
            title: "Invalid routing",
            errors: errors.into(),
        }
    }

    pub fn invalid_query(errors: Vec<FieldError>) -> Self {
        Problem::Invalid {
            title: "Invalid query",
            errors: errors.into(),
        }
    }

    fn kind_and_title(&self) -> (&'static str, &str) {
        match self {
            Problem::MalformedBody(_) => ("malformed-body", "Malformed body"),
            Problem::Unauthorized | Problem::UnauthorizedPage => ("unauthorized", "Unauthorized"),
            Problem::Forbidden(_) => ("forbidden", "Forbidden"),
            Problem::PreconditionFailed(_) => ("stale-routing", "The routing has changed"),
            Problem::TooManyReports => ("too-many-reports", "Too many reports at once"),
            Problem::NotFound(_) => ("not-found", "Not found"),
            Problem::MethodNotAllowed { .. } => ("method-not-allowed", "Method not allowed"),
            Problem::PayloadTooLarge { .. } => ("payload-too-large", "Body too large"),
            Problem::UnsupportedMediaType(_) => {
                ("unsupported-media-type", "Unsupported media type")
            }
            Problem::Invalid { title, .. } => ("validation", title),
            Problem::RequestTimeout { .. } => ("request-timeout", "Request timeout"),
            Problem::Unavailable { .. } => ("unavailable", "Service unavailable"),
        }
    }

    fn detail(&self) -> String {
        match self {
            Problem::Invalid { errors, .. } if errors.total == 1 => "1 field is invalid".to_owned(),
            Problem::Invalid { errors, .. } if errors.total > errors.listed.len() => format!(
                "{} fields are invalid; the first {} are listed",
                errors.total,
                errors.listed.len()
            ),
            Problem::Invalid { errors, .. } => format!("{} fields are invalid", errors.total),
            Problem::Unavailable { what, .. } => {
                format!("{what} is unavailable; retry in {RETRY_AFTER_SECS} seconds")
            }
            other => other.to_string(),
        }
    }
}

impl ResponseError for Problem {
    fn status_code(&self) -> StatusCode {
        match self {
            Problem::MalformedBody(_) => StatusCode::BAD_REQUEST,
            Problem::Unauthorized | Problem::UnauthorizedPage => StatusCode::UNAUTHORIZED,
            Problem::Forbidden(_) => StatusCode::FORBIDDEN,
            Problem::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            Problem::TooManyReports => StatusCode::TOO_MANY_REQUESTS,
            Problem::NotFound(_) => StatusCode::NOT_FOUND,
            Problem::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Problem::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Problem::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Problem::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Problem::RequestTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            Problem::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let (kind, title) = self.kind_and_title();
        if let Problem::Unavailable { reason, .. } = self {
            tracing::error!(problem = %self, %reason, "answering 503");
        }
        let body = Body {
            kind: format!("{TYPE_BASE}{kind}"),
            title,
            status: status.as_u16(),
            detail: self.detail(),
            errors: match self {
                Problem::Invalid { errors, .. } => Some(&errors.listed),
                _ => None,
            },
        };
        let mut response = HttpResponse::build(status);
        response.insert_header((CONTENT_TYPE, "application/problem+json"));
        match self {
            Problem::MethodNotAllowed { allowed, .. } => {
                response.insert_header((ALLOW, *allowed));
            }
            Problem::Unavailable { .. } => {
                response.insert_header((RETRY_AFTER, RETRY_AFTER_SECS.to_string()));
            }
            Problem::Unauthorized => {
                response.insert_header(("WWW-Authenticate", "Bearer"));
            }
            // So that a browser asks for the key.
            Problem::UnauthorizedPage => {
                response.insert_header((
                    "WWW-Authenticate",
                    r#"Basic realm="credit-decisions monitoring", charset="UTF-8""#,
                ));
            }
            Problem::TooManyReports => {
                response.insert_header((RETRY_AFTER, REPORT_RETRY_AFTER_SECS.to_string()));
            }
            // The rest of a stalled body is never read: the connection ends.
            Problem::RequestTimeout { .. } => {
                response.insert_header((actix_web::http::header::CONNECTION, "close"));
            }
            _ => {}
        }
        response.json(body)
    }
}

impl From<domain::DecideError> for Problem {
    fn from(error: domain::DecideError) -> Self {
        let what = match error {
            domain::DecideError::ModelUnavailable(_) => "the model",
            domain::DecideError::StoreUnavailable(_) => "the decision store",
        };
        Problem::Unavailable {
            what,
            reason: error.to_string(),
        }
    }
}

impl From<domain::RoutingError> for Problem {
    fn from(error: domain::RoutingError) -> Self {
        match error {
            domain::RoutingError::Stale { expected, current } => {
                Problem::PreconditionFailed(format!(
                    "the routing is at generation {current}, not {expected}: read it again and decide anew"
                ))
            }
            domain::RoutingError::Unavailable(error) => error.into(),
        }
    }
}

impl From<domain::StoreError> for Problem {
    fn from(error: domain::StoreError) -> Self {
        match error {
            domain::StoreError::UnknownCursor(id) => Problem::invalid_query(vec![FieldError::new(
                "before",
                format!("no logged decision has the id {id}"),
            )]),
            domain::StoreError::Unavailable(reason) => Problem::Unavailable {
                what: "the decision store",
                reason,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(count: usize) -> Vec<FieldError> {
        (0..count)
            .map(|n| FieldError::new(format!("field_{n}"), "is required"))
            .collect()
    }

    /// The detail a client reads counts the bad fields in plain words, and
    /// says when the list stops short of them.
    #[test]
    fn the_detail_counts_the_bad_fields() {
        let detail = |count| Problem::invalid_application(errors(count)).detail();
        assert_eq!(detail(1), "1 field is invalid");
        assert_eq!(detail(2), "2 fields are invalid");
        assert_eq!(detail(MAX_LISTED_ERRORS), "100 fields are invalid");
        let mut many = FieldErrors::default();
        many.extend(errors(MAX_LISTED_ERRORS + 5));
        assert_eq!(
            Problem::invalid_application(many).detail(),
            "105 fields are invalid; the first 100 are listed"
        );
    }
}
