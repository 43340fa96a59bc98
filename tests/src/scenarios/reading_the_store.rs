//! Reading the decision log over HTTP: one record by id, pages newest first
//! with a `before` cursor, and the query's errors.

use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use crate::harness::TestApp;
use crate::harness::answers::expect_problem;
use crate::harness::data::{example_application, example_with};

/// Decides `count` distinct applications; returns their bodies, oldest first.
async fn decide_distinct(app: &TestApp, count: i64) -> Vec<Value> {
    let mut bodies = Vec::new();
    for i in 0..count {
        let response = app
            .post_decision(&example_with("age_years", json!(20 + i)))
            .await;
        assert_eq!(response.status(), 200);
        bodies.push(response.json().await.unwrap());
    }
    bodies
}

pub async fn a_decision_reads_back_by_id(app: &TestApp) {
    let body = app.post_decision_json(&example_application()).await;
    let id = body["decision_id"].as_str().unwrap();
    let response = app.get_decision(id).await;
    assert_eq!(response.status(), 200);
    let record: Value = response.json().await.unwrap();
    assert_eq!(record["decision_id"], body["decision_id"]);
    assert_eq!(record["source"], "model");
    assert_eq!(record["request"], example_application());
    assert_eq!(record["response"], body);
    let created_at = record["created_at"].as_str().unwrap();
    assert_eq!(
        created_at.len(),
        "2026-11-24T10:15:02.123456Z".len(),
        "{created_at}"
    );
}

pub async fn pages_go_newest_first_with_a_cursor(app: &TestApp) {
    let bodies = decide_distinct(app, 5).await;
    let ids_newest_first: Vec<Value> = bodies
        .iter()
        .rev()
        .map(|b| b["decision_id"].clone())
        .collect();

    let mut seen = Vec::new();
    let mut path = "/v1/decisions?limit=2".to_owned();
    let mut pages = 0;
    loop {
        let page: Value = app.get(&path).await.json().await.unwrap();
        pages += 1;
        let items = page["items"].as_array().unwrap();
        seen.extend(items.iter().map(|item| item["decision_id"].clone()));
        match page["next"].as_str() {
            Some(next) => {
                assert_eq!(Some(&page["next"]), items.last().map(|i| &i["decision_id"]));
                path = format!("/v1/decisions?limit=2&before={next}");
            }
            None => break,
        }
    }
    assert_eq!(seen, ids_newest_first);
    assert_eq!(pages, 3);
}

pub async fn the_default_page_holds_fifty(app: &TestApp) {
    let applications: Vec<Value> = (0..51).map(|_| example_application()).collect();
    assert_eq!(app.post_batch(&applications).await.status(), 200);
    let page: Value = app.get("/v1/decisions").await.json().await.unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 50);
    assert!(page["next"].is_string());
    let rest: Value = app
        .get(&format!(
            "/v1/decisions?before={}",
            page["next"].as_str().unwrap()
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    assert_eq!(rest["next"], Value::Null);
}

pub async fn bad_queries_are_422(app: &TestApp) {
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=many", "limit"),
        ("before=yesterday", "before"),
    ] {
        let problem = expect_problem(
            app.get(&format!("/v1/decisions?{query}")).await,
            422,
            "validation",
        )
        .await;
        assert_eq!(problem["errors"][0]["field"], field, "{query}");
    }
    let unknown = uuid::Uuid::now_v7();
    let problem = expect_problem(
        app.get(&format!("/v1/decisions?before={unknown}")).await,
        422,
        "validation",
    )
    .await;
    assert_eq!(
        problem["errors"],
        json!([{"field": "before", "message": format!("no logged decision has the id {unknown}")}])
    );
}

/// Without a decision logged, the first page is empty and has no cursor.
pub async fn an_empty_store_is_an_empty_page(app: &TestApp) {
    let page: Value = app.get("/v1/decisions").await.json().await.unwrap();
    assert_eq!(page, json!({"items": [], "next": null}));
}

on_both_backends!(
    a_decision_reads_back_by_id,
    pages_go_newest_first_with_a_cursor,
    the_default_page_holds_fifty,
    bad_queries_are_422,
    an_empty_store_is_an_empty_page,
);
