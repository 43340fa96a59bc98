//! The scenarios. Each module writes its checks once as functions over a
//! `TestApp`; [`on_both_backends!`] runs a list of them on the in-memory
//! adapters and on the real servers, and the few that apply to one set only
//! are tests of their own.

/// Runs each listed scenario (an `async fn(&TestApp)` of the calling module)
/// twice: as `on_memory::<name>` on fresh in-memory adapters, and as
/// `on_real_servers::<name>` on Redis and PostgreSQL, on fresh state of its own.
macro_rules! on_both_backends {
    ($($scenario:ident),+ $(,)?) => {
        mod on_memory {
            $(
                #[tokio::test]
                async fn $scenario() {
                    super::$scenario(&crate::harness::TestApp::on_memory().await).await;
                }
            )+
        }

        mod on_real_servers {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    super::$scenario(&crate::harness::TestApp::on_real().await).await;
                }
            )+
        }
    };
}

mod auth;
mod batch;
mod bounds;
mod cache_trust;
mod decision_flow;
mod degradation;
mod health;
mod metrics;
mod model;
mod monitoring;
mod negative_paths;
mod openapi;
mod port_contracts;
mod process;
mod properties;
mod reading_the_store;
mod request_ids;
mod scaling;
mod store_in_postgres;
mod workers;

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
