//! One log line and the HTTP metrics for every request, under a request id.
//!
//! The id is the caller's `X-Request-Id` when it sends a sensible one, else a
//! new UUID; it is returned in the same header. The line says what was asked
//! and how it went (route, status, latency, and for decisions the
//! decision_id and source), never what the application contained.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, web};
use tracing::Instrument;

use super::connection::ConnectionPhase;
use crate::metrics::Metrics;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// What a decision handler tells the request log about its answer.
#[derive(Debug, Clone)]
pub enum DecisionNote {
    One {
        decision_id: String,
        source: &'static str,
    },
    Batch {
        size: usize,
        from_cache: usize,
    },
}

fn request_id_of(request: &ServiceRequest) -> String {
    request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .filter(|id| !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string())
}

pub async fn observe(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let request_id = request_id_of(&request);
    let metrics = request
        .app_data::<web::Data<Metrics>>()
        .expect("the metrics are app data")
        .clone();
    let method = request.method().to_string();
    let route = request
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());

    // Whatever is logged while serving (a 503's reason, say) carries the id.
    // The connection's bounds: none on this request's head from now (the
    // handlers bound its body), the next head's from its answer on, however
    // this one ends.
    let _in_request = ConnectionPhase::of(request.request()).map(InRequest::start);

    let span = tracing::info_span!("request", request_id = %request_id);
    let mut response = next.call(request).instrument(span).await?;

    let latency = started.elapsed();
    let status = response.status();
    metrics
        .http_requests
        .with_label_values(&[route.as_str(), method.as_str(), status.as_str()])
        .inc();
    metrics
        .http_duration
        .with_label_values(&[route.as_str()])
        .observe(latency.as_secs_f64());
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }

    let latency_ms = latency.as_secs_f64() * 1000.0;
    let note = response
        .response()
        .extensions()
        .get::<DecisionNote>()
        .cloned();
    match note {
        Some(DecisionNote::One {
            decision_id,
            source,
        }) => tracing::info!(
            request_id, %method, route, status = status.as_u16(), latency_ms, decision_id, source,
            "request"
        ),
        Some(DecisionNote::Batch { size, from_cache }) => tracing::info!(
            request_id, %method, route, status = status.as_u16(), latency_ms, batch_size = size, from_cache,
            "request"
        ),
        None => tracing::info!(
            request_id, %method, route, status = status.as_u16(), latency_ms,
            "request"
        ),
    }
    Ok(response)
}

/// A request being served on its connection, until dropped.
struct InRequest(ConnectionPhase);

impl InRequest {
    fn start(phase: ConnectionPhase) -> Self {
        phase.request_started();
        Self(phase)
    }
}

impl Drop for InRequest {
    fn drop(&mut self) {
        self.0.request_answered();
    }
}
