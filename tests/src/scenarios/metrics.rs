//! `GET /metrics`: the counters move as requests are made.

use pretty_assertions::assert_eq;
use serde_json::json;

use crate::harness::TestApp;
use crate::harness::data::{example_application, example_with};

/// The value of the sample `name{labels}` (labels as rendered), or 0.
async fn sample(app: &TestApp, series: &str) -> f64 {
    let response = app.get("/metrics").await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| {
            let (name, value) = line.rsplit_once(' ')?;
            (name == series).then(|| value.parse().unwrap())
        })
        .unwrap_or(0.0)
}

#[tokio::test]
async fn metrics_count_requests_decisions_and_cache_hits() {
    let app = TestApp::on_memory().await;
    let posts =
        r#"credit_decisions_http_requests_total{method="POST",route="/v1/decisions",status="200"}"#;
    let hits = r#"credit_decisions_cache_lookups_total{result="hit"}"#;
    let misses = r#"credit_decisions_cache_lookups_total{result="miss"}"#;
    let from_cache = r#"credit_decisions_decisions_total{outcome="approve",source="cache"}"#;
    let from_model = r#"credit_decisions_decisions_total{outcome="approve",source="model"}"#;
    let scorings = "credit_decisions_model_scoring_duration_seconds_count";
    assert_eq!(sample(&app, posts).await, 0.0);

    app.post_decision(&example_application()).await;
    assert_eq!(sample(&app, posts).await, 1.0);
    assert_eq!(sample(&app, misses).await, 1.0);
    assert_eq!(sample(&app, hits).await, 0.0);
    assert_eq!(sample(&app, from_model).await, 1.0);
    assert_eq!(sample(&app, scorings).await, 1.0);

    app.post_decision(&example_application()).await;
    assert_eq!(sample(&app, posts).await, 2.0);
    assert_eq!(sample(&app, hits).await, 1.0, "a hit after a repeat");
    assert_eq!(sample(&app, from_cache).await, 1.0);
    assert_eq!(
        sample(&app, scorings).await,
        1.0,
        "a hit does not run the model"
    );

    let invalid = example_with("age_years", json!(3));
    app.post_decision(&invalid).await;
    let refused =
        r#"credit_decisions_http_requests_total{method="POST",route="/v1/decisions",status="422"}"#;
    assert_eq!(sample(&app, refused).await, 1.0);
    let latency = r#"credit_decisions_http_request_duration_seconds_count{route="/v1/decisions"}"#;
    assert_eq!(sample(&app, latency).await, 3.0);

    app.post_batch(&[example_application(), example_with("age_years", json!(50))])
        .await;
    assert_eq!(sample(&app, "credit_decisions_batch_size_sum").await, 2.0);
    assert_eq!(sample(&app, hits).await, 2.0);
}

#[tokio::test]
async fn cache_and_store_errors_are_counted() {
    use std::sync::Arc;

    use crate::harness::TestBackends;
    use crate::harness::faults::{CacheOutage, StoreOutage};

    let backends = TestBackends::memory()
        .with_cache(Some(Arc::new(CacheOutage)))
        .with_store(Arc::new(StoreOutage));
    let app = TestApp::spawn(backends).await;
    app.post_decision(&example_application()).await;
    assert_eq!(
        sample(
            &app,
            r#"credit_decisions_cache_errors_total{operation="read"}"#
        )
        .await,
        1.0
    );
    // The failed read opened the breaker: the write was skipped, not tried.
    assert_eq!(
        sample(
            &app,
            r#"credit_decisions_cache_skipped_total{operation="write"}"#
        )
        .await,
        1.0
    );
    assert_eq!(
        sample(
            &app,
            r#"credit_decisions_store_errors_total{operation="append"}"#
        )
        .await,
        1.0
    );
}
