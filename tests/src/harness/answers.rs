//! Reading the service's answers: problem+json bodies, headers, reasons.

use pretty_assertions::assert_eq;
use reqwest::Response;
use serde_json::Value;

/// Asserts a problem+json answer of `status` and `kind` (the last part of
/// its type URI) and returns its body.
pub async fn expect_problem(response: Response, status: u16, kind: &str) -> Value {
    assert_eq!(response.status().as_u16(), status, "status");
    assert_eq!(
        header(&response, "content-type").as_deref(),
        Some("application/problem+json"),
        "content type"
    );
    let body: Value = response.json().await.expect("a JSON problem body");
    assert_eq!(
        body["type"],
        format!("https://credit-decisions.dev/problems/{kind}"),
        "problem type of {body}"
    );
    assert_eq!(body["status"], status, "status in the body");
    assert!(
        body["title"].is_string() && body["detail"].is_string(),
        "{body}"
    );
    body
}

pub fn header(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .map(|value| value.to_str().unwrap().to_owned())
}

/// The reason codes of a decision body, in order.
pub fn reason_codes(decision: &Value) -> Vec<&str> {
    decision["reasons"]
        .as_array()
        .expect("a decision has reasons")
        .iter()
        .map(|reason| reason["code"].as_str().expect("a reason has a code"))
        .collect()
}
