//! `POST /v1/decisions/batch`: all-or-nothing validation, one cache read,
//! one model run over the misses, one cache write and one log append, the
//! decisions in input order.

use domain::{Application, Source, Verdict};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use crate::harness::TestApp;
use crate::harness::answers::expect_problem;
use crate::harness::data::{example_application, example_with};
use crate::harness::spies::Call;

fn distinct(count: i64) -> Vec<Value> {
    (0..count)
        .map(|i| example_with("age_years", json!(30 + i)))
        .collect()
}

fn parse(application: &Value) -> Application {
    Application::from_json(application.as_object().unwrap()).unwrap()
}

fn verdict_of(decision: &Value) -> Verdict {
    serde_json::from_value(decision.clone()).unwrap()
}

async fn decisions_of(response: reqwest::Response) -> Vec<Value> {
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["decisions"].as_array().unwrap().clone()
}

/// A batch decides as the same applications sent one by one to another app
/// (with a cache of its own) would.
pub async fn a_batch_decides_as_one_by_one(batched: &TestApp) {
    let one_by_one = batched.another().await;
    let applications = distinct(6);
    let mut singles = Vec::new();
    for application in &applications {
        singles.push(
            one_by_one
                .post_decision(application)
                .await
                .json::<Value>()
                .await
                .unwrap(),
        );
    }
    let decisions = decisions_of(batched.post_batch(&applications).await).await;
    assert_eq!(decisions.len(), applications.len());
    let expected: Vec<Verdict> = singles.iter().map(verdict_of).collect();
    let actual: Vec<Verdict> = decisions.iter().map(verdict_of).collect();
    assert_eq!(actual, expected);
    let mut ids: Vec<&str> = decisions
        .iter()
        .map(|d| d["decision_id"].as_str().unwrap())
        .collect();
    ids.dedup();
    assert_eq!(
        ids.len(),
        applications.len(),
        "each decision has its own id"
    );
}

/// Cached and uncached applications mixed: the model sees exactly the misses.
pub async fn a_mixed_batch_scores_only_the_misses(app: &TestApp) {
    let applications = distinct(4);
    app.post_decision(&applications[0]).await;
    app.post_decision(&applications[2]).await;
    let before = app.order.calls().len();

    let decisions = decisions_of(app.post_batch(&applications).await).await;

    assert_eq!(
        app.order.calls()[before..],
        [Call::CacheRead, Call::Score, Call::CacheWrite, Call::Append],
        "one round trip each"
    );
    let last_read = app.cache().reads().pop().unwrap();
    assert_eq!(last_read.keys.len(), 4);
    assert_eq!(
        app.scorer.calls().pop().unwrap(),
        vec![parse(&applications[1]), parse(&applications[3])]
    );
    assert_eq!(app.cache().writes().pop().unwrap().len(), 2);
    let appended = app.store.appends().pop().unwrap();
    let sources: Vec<Source> = appended.iter().map(|r| r.source).collect();
    assert_eq!(
        sources,
        [Source::Cache, Source::Model, Source::Cache, Source::Model]
    );
    for ((record, decision), application) in appended.iter().zip(&decisions).zip(&applications) {
        assert_eq!(serde_json::to_value(&record.response).unwrap(), *decision);
        assert_eq!(serde_json::to_value(&record.request).unwrap(), *application);
    }
}

on_both_backends!(
    a_batch_decides_as_one_by_one,
    a_mixed_batch_scores_only_the_misses,
);

mod memory_only {
    use super::*;
    use pretty_assertions::assert_eq;

    #[tokio::test]
    async fn an_invalid_item_fails_the_whole_batch_with_indexed_paths() {
        let app = TestApp::on_memory().await;
        let mut applications = distinct(3);
        applications[1]["age_years"] = json!(150);
        applications[2].as_object_mut().unwrap().remove("housing");
        let problem = expect_problem(app.post_batch(&applications).await, 422, "validation").await;
        assert_eq!(
            problem["errors"],
            json!([
                {"field": "applications[1].age_years", "message": "must be between 18 and 120", "index": 1},
                {"field": "applications[2].housing", "message": "is required", "index": 2},
            ])
        );
        app.assert_nothing_reached_the_ports();
    }

    #[tokio::test]
    async fn more_than_a_thousand_is_refused() {
        let app = TestApp::on_memory().await;
        let applications = vec![example_application(); 1001];
        let problem = expect_problem(app.post_batch(&applications).await, 422, "validation").await;
        assert_eq!(
            problem["errors"],
            json!([{"field": "applications", "message": "must hold at most 1000 items, not 1001"}])
        );
        let problem = expect_problem(app.post_batch(&[]).await, 422, "validation").await;
        assert_eq!(problem["errors"][0]["field"], "applications");
        app.assert_nothing_reached_the_ports();
    }

    #[tokio::test]
    async fn a_batch_gives_each_decline_its_reasons() {
        let app = TestApp::on_memory().await;
        let rows = crate::harness::data::golden_rows();
        let applications: Vec<Value> = rows.iter().map(|row| row.application.clone()).collect();
        let decisions = decisions_of(app.post_batch(&applications).await).await;
        for (i, (decision, row)) in decisions.iter().zip(rows).enumerate() {
            let codes = crate::harness::answers::reason_codes(decision);
            assert_eq!(codes, row.reasons, "row {i}");
        }
    }

    #[tokio::test]
    async fn a_thousand_is_decided() {
        let app = TestApp::on_memory().await;
        let applications = vec![example_application(); 1000];
        assert_eq!(
            decisions_of(app.post_batch(&applications).await)
                .await
                .len(),
            1000
        );
        assert_eq!(app.store.appends().concat().len(), 1000);
    }

    #[tokio::test]
    async fn a_body_over_8_mib_is_too_large() {
        let app = TestApp::on_memory().await;
        let mut body = json!({"applications": [example_application()]})
            .to_string()
            .into_bytes();
        body.splice(1..1, std::iter::repeat_n(b' ', 8 * 1024 * 1024));
        let response = app
            .post_raw("/v1/decisions/batch", Some("application/json"), body)
            .await;
        let problem = expect_problem(response, 413, "payload-too-large").await;
        assert_eq!(problem["detail"], "the body is larger than 8388608 bytes");
        app.assert_nothing_reached_the_ports();
    }

    #[tokio::test]
    async fn a_body_of_exactly_8_mib_is_decided() {
        let app = TestApp::on_memory().await;
        let mut body = json!({"applications": [example_application()]})
            .to_string()
            .into_bytes();
        let padding = 8 * 1024 * 1024 - body.len();
        body.splice(1..1, std::iter::repeat_n(b' ', padding));
        assert_eq!(body.len(), 8 * 1024 * 1024);
        let response = app
            .post_raw("/v1/decisions/batch", Some("application/json"), body)
            .await;
        assert_eq!(decisions_of(response).await.len(), 1);
    }

    #[tokio::test]
    async fn a_batch_body_that_is_not_an_object_is_malformed() {
        let app = TestApp::on_memory().await;
        let body = json!([example_application()]).to_string().into_bytes();
        let response = app
            .post_raw("/v1/decisions/batch", Some("application/json"), body)
            .await;
        expect_problem(response, 400, "malformed-body").await;
        app.assert_nothing_reached_the_ports();
    }
}

mod real_servers_only {
    use super::*;
    use pretty_assertions::assert_eq;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_store_holds_one_row_per_decision() {
        let app = TestApp::on_real().await;
        let applications = distinct(25);
        let decisions = decisions_of(app.post_batch(&applications).await).await;
        let rows = app
            .real()
            .database()
            .query_json("SELECT response FROM decisions ORDER BY seq")
            .await;
        let responses: Vec<Value> = rows
            .into_iter()
            .map(|row| row["response"].clone())
            .collect();
        assert_eq!(responses, decisions);
        assert_eq!(app.store.appends().len(), 1, "one append, one transaction");
    }
}
