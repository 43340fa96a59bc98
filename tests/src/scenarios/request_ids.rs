//! Every answer carries a request id: the caller's, or a new one.

use pretty_assertions::assert_eq;
use reqwest::Method;

use crate::harness::TestApp;
use crate::harness::answers::header;

#[tokio::test]
async fn an_incoming_request_id_is_returned() {
    let app = TestApp::on_memory().await;
    let response = app
        .build(Method::GET, "/health/live")
        .header("X-Request-Id", "lender-7f3a-0001")
        .send()
        .await
        .unwrap();
    assert_eq!(
        header(&response, "x-request-id").as_deref(),
        Some("lender-7f3a-0001")
    );
}

#[tokio::test]
async fn without_one_a_request_id_is_minted() {
    let app = TestApp::on_memory().await;
    let first = header(&app.get("/health/live").await, "x-request-id").unwrap();
    let second = header(&app.get("/nowhere").await, "x-request-id").unwrap();
    assert!(uuid::Uuid::parse_str(&first).is_ok(), "{first}");
    assert_ne!(first, second);
}

#[tokio::test]
async fn an_unusable_request_id_is_replaced() {
    let app = TestApp::on_memory().await;
    let response = app
        .build(Method::GET, "/health/live")
        .header("X-Request-Id", "x".repeat(500))
        .send()
        .await
        .unwrap();
    let id = header(&response, "x-request-id").unwrap();
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
}
