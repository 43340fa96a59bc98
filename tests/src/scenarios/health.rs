//! `/health/live` and `/health/ready`.

use std::sync::Arc;

use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use crate::harness::faults::{CacheOutage, StoreOutage};
use crate::harness::{TestApp, TestBackends};

#[tokio::test]
async fn live_is_up() {
    let app = TestApp::on_memory().await;
    let response = app.get("/health/live").await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"status": "up"})
    );
}

#[tokio::test]
async fn ready_reports_every_component() {
    let app = TestApp::on_memory().await;
    let response = app.get("/health/ready").await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({
            "status": "ready",
            "components": {
                "model": {"status": "up", "version": "german-credit-2026.11.0", "routing_generation": 0,
                          "required": true},
                "store": {"status": "up", "kind": "memory", "required": true},
                "cache": {"status": "up", "kind": "memory", "required": false},
            }
        })
    );
}

#[tokio::test]
async fn a_store_that_is_down_makes_the_service_unready() {
    let app = TestApp::spawn(TestBackends::memory().with_store(Arc::new(StoreOutage))).await;
    let response = app.get("/health/ready").await;
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "not_ready");
    assert_eq!(body["components"]["store"]["status"], "down");
}

#[tokio::test]
async fn a_cache_that_is_down_is_reported_but_not_required() {
    let app = TestApp::spawn(TestBackends::memory().with_cache(Some(Arc::new(CacheOutage)))).await;
    let response = app.get("/health/ready").await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ready");
    assert_eq!(body["components"]["cache"]["status"], "down");
}
