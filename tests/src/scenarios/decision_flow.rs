//! The decision flow over HTTP, watched through the spies: a miss goes
//! cache → model → cache → log; an identical request is a hit that skips the
//! model and is still logged.

use fred::prelude::*;

use domain::{Application, CacheEntry, CacheKey, DecisionRecord, Scorer, Source, Verdict};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use crate::harness::answers::header;
use crate::harness::data::example_application;
use crate::harness::real_backends::{RealBackends, redis_client_at};
use crate::harness::spies::Call;
use crate::harness::{TestApp, TestBackends};

fn parse(application: &Value) -> Application {
    Application::from_json(application.as_object().unwrap()).unwrap()
}

fn verdict_of(body: &Value) -> Verdict {
    serde_json::from_value(body.clone()).unwrap()
}

/// Two identical POSTs: the first is scored, the second served from the
/// cache, both logged with the request and the response as served. On real
/// servers, the rows and the key are then checked where they are kept.
pub async fn two_identical_posts_are_scored_once_and_logged_twice(app: &TestApp) {
    let application = example_application();
    let key = CacheKey::for_application(&app.scorer.model().version, &parse(&application));

    let first = app.post_decision(&application).await;
    assert_eq!(first.status(), 200);
    assert_eq!(
        header(&first, "content-type").as_deref(),
        Some("application/json")
    );
    assert_eq!(
        header(&first, "cache-status").as_deref(),
        Some("credit-decisions; fwd=miss")
    );
    let first: Value = first.json().await.unwrap();

    let reads = app.cache().reads();
    assert_eq!(reads.len(), 1, "cache reads after the first POST");
    assert_eq!(reads[0].keys, vec![key.clone()]);
    assert_eq!(reads[0].answer, Some(vec![CacheEntry::Missing]));
    assert_eq!(app.scorer.calls(), vec![vec![parse(&application)]]);
    assert_eq!(
        app.cache().writes(),
        vec![vec![(key.clone(), verdict_of(&first))]]
    );
    assert_eq!(
        app.store.appends().len(),
        1,
        "log writes after the first POST"
    );
    assert_eq!(
        app.order.calls(),
        vec![Call::CacheRead, Call::Score, Call::CacheWrite, Call::Append]
    );

    let second = app.post_decision(&application).await;
    assert_eq!(second.status(), 200);
    assert_eq!(
        header(&second, "cache-status").as_deref(),
        Some("credit-decisions; hit")
    );
    let second: Value = second.json().await.unwrap();

    let reads = app.cache().reads();
    assert_eq!(reads.len(), 2, "cache reads after the second POST");
    assert_eq!(reads[1].keys, vec![key]);
    assert_eq!(
        reads[1].answer,
        Some(vec![CacheEntry::Found(verdict_of(&first))])
    );
    assert_eq!(app.scorer.calls().len(), 1, "the model is not asked again");
    assert_eq!(
        app.cache().writes().len(),
        1,
        "a hit writes nothing to the cache"
    );
    assert_eq!(app.store.appends().len(), 2, "a hit is logged too");

    // The same verdict, served anew.
    assert_eq!(verdict_of(&second), verdict_of(&first));
    assert_ne!(second["decision_id"], first["decision_id"]);

    // The log, read back through the port: oldest first here.
    let mut records: Vec<DecisionRecord> = app.store.appends().concat();
    records.sort_by_key(|record| record.decision_id);
    assert_eq!(records.len(), 2);
    for (record, body) in records.iter().zip([&first, &second]) {
        assert_eq!(serde_json::to_value(&record.request).unwrap(), application);
        assert_eq!(serde_json::to_value(&record.response).unwrap(), *body);
    }
    let sources: Vec<Source> = records.iter().map(|record| record.source).collect();
    assert_eq!(sources, vec![Source::Model, Source::Cache]);

    // And over HTTP, newest first, exactly as the port holds them.
    let page: Value = app.get("/v1/decisions").await.json().await.unwrap();
    let newest_first: Vec<Value> = records
        .iter()
        .rev()
        .map(|record| serde_json::to_value(record).unwrap())
        .collect();
    assert_eq!(page, json!({"items": newest_first, "next": null}));

    if let Some(real) = app.real.as_deref() {
        the_servers_hold_the_rows_and_the_key(real, app, &first, &second).await;
    }
}

/// The rows in PostgreSQL and the one key in Redis after two identical POSTs.
async fn the_servers_hold_the_rows_and_the_key(
    real: &RealBackends,
    app: &TestApp,
    first: &Value,
    second: &Value,
) {
    // The rows, as PostgreSQL holds them.
    let rows = real
        .database()
        .query_json(
            "SELECT source, decision, model_version, request, response FROM decisions ORDER BY seq",
        )
        .await;
    assert_eq!(rows.len(), 2);
    for (row, (body, source)) in rows.iter().zip([(first, "model"), (second, "cache")]) {
        assert_eq!(row["request"], example_application());
        assert_eq!(row["response"], *body);
        assert_eq!(row["source"], source);
        assert_eq!(row["decision"], body["decision"]);
        assert_eq!(row["model_version"], body["model_version"]);
    }

    // The one key, as Redis holds it: a hash under the namespace, with a TTL.
    let namespace = &real.namespace.namespace;
    let keys = real.namespace.keys().await;
    let key =
        CacheKey::for_application(&app.scorer.model().version, &parse(&example_application()));
    assert_eq!(keys, vec![format!("{namespace}:verdict:{}", key.as_str())]);
    let hash = keys[0].rsplit(':').next().unwrap();
    assert!(
        hash.len() == 64 && hash.chars().all(|c| c.is_ascii_hexdigit()),
        "{hash}"
    );
    let client = redis_client_at(&real.namespace.redis_url).await;
    let ttl_ms: i64 = client.pttl(&keys[0]).await.unwrap();
    assert!(ttl_ms > 0 && ttl_ms <= 3_600_000, "PTTL {ttl_ms}");
    let stored: String = client.get(&keys[0]).await.unwrap();
    assert_eq!(
        serde_json::from_str::<Verdict>(&stored).unwrap(),
        verdict_of(first)
    );
    let _ = client.quit().await;
}

/// Bodies that differ only in key order and number formatting share a
/// cache entry.
pub async fn key_order_and_number_format_do_not_change_the_cache_key(app: &TestApp) {
    let application = example_application();
    let mut reordered = serde_json::Map::new();
    let object = application.as_object().unwrap();
    for key in object.keys().rev() {
        reordered.insert(key.clone(), object[key].clone());
    }
    let as_float = Value::Object(reordered)
        .to_string()
        .replace("\"credit_amount\":1169", "\"credit_amount\":1169.0");
    assert!(as_float.contains("1169.0"));

    let first = app.post_decision(&application).await;
    assert_eq!(
        header(&first, "cache-status").as_deref(),
        Some("credit-decisions; fwd=miss")
    );
    let second = app
        .post_raw(
            "/v1/decisions",
            Some("application/json"),
            as_float.into_bytes(),
        )
        .await;
    assert_eq!(second.status(), 200);
    assert_eq!(
        header(&second, "cache-status").as_deref(),
        Some("credit-decisions; hit")
    );
    assert_eq!(app.scorer.calls().len(), 1);

    // Logged in canonical form: as the client most likely wrote it.
    let logged = &app.store.appends()[1][0];
    assert_eq!(serde_json::to_value(&logged.request).unwrap(), application);
}

/// A different application is a different key: scored afresh.
pub async fn a_different_application_misses(app: &TestApp) {
    let application = example_application();
    let mut older = application.clone();
    older["age_years"] = json!(68);
    app.post_decision(&application).await;
    let response = app.post_decision(&older).await;
    assert_eq!(
        header(&response, "cache-status").as_deref(),
        Some("credit-decisions; fwd=miss")
    );
    assert_eq!(app.scorer.calls().len(), 2);
    let keys: Vec<CacheKey> = app
        .cache()
        .reads()
        .into_iter()
        .flat_map(|r| r.keys)
        .collect();
    assert_ne!(keys[0], keys[1]);
}

/// A decline's reasons are cached with its verdict: the hit after it says
/// the same, and the log keeps them in each response.
pub async fn a_hit_gives_the_same_reasons_as_the_miss_before_it(app: &TestApp) {
    let declined = crate::harness::data::golden_rows()
        .iter()
        .find(|row| !row.reasons.is_empty())
        .expect("a golden decline");
    let first: Value = app
        .post_decision(&declined.application)
        .await
        .json()
        .await
        .unwrap();
    let second = app.post_decision(&declined.application).await;
    assert_eq!(
        header(&second, "cache-status").as_deref(),
        Some("credit-decisions; hit")
    );
    let second: Value = second.json().await.unwrap();
    assert_eq!(first["decision"], "decline");
    let codes = crate::harness::answers::reason_codes(&first);
    assert_eq!(codes, declined.reasons);
    assert_eq!(second["reasons"], first["reasons"]);
    let page: Value = app.get("/v1/decisions").await.json().await.unwrap();
    for record in page["items"].as_array().unwrap() {
        assert_eq!(record["response"]["reasons"], first["reasons"]);
    }
}

on_both_backends!(
    a_hit_gives_the_same_reasons_as_the_miss_before_it,
    two_identical_posts_are_scored_once_and_logged_twice,
    key_order_and_number_format_do_not_change_the_cache_key,
    a_different_application_misses,
);

mod memory_only {
    use super::*;
    use pretty_assertions::assert_eq;

    #[tokio::test]
    async fn without_a_cache_every_decision_is_scored_and_says_uri_miss() {
        let app = TestApp::spawn(TestBackends::memory().with_cache(None)).await;
        for _ in 0..2 {
            let response = app.post_decision(&example_application()).await;
            assert_eq!(response.status(), 200);
            assert_eq!(
                header(&response, "cache-status").as_deref(),
                Some("credit-decisions; fwd=uri-miss")
            );
        }
        assert_eq!(app.scorer.calls().len(), 2);
        assert_eq!(app.store.appends().len(), 2);
    }

    #[tokio::test]
    async fn a_cache_outage_still_decides_and_logs() {
        let backends = TestBackends::memory().with_cache(Some(std::sync::Arc::new(
            crate::harness::faults::CacheOutage,
        )));
        let app = TestApp::spawn(backends).await;
        let response = app.post_decision(&example_application()).await;
        assert_eq!(response.status(), 200);
        assert_eq!(
            header(&response, "cache-status").as_deref(),
            Some("credit-decisions; fwd=miss")
        );
        let body: Value = response.json().await.unwrap();
        assert_eq!(app.scorer.calls().len(), 1);
        let logged = app.store.appends().concat();
        assert_eq!(serde_json::to_value(&logged[0].response).unwrap(), body);
        assert_eq!(logged[0].source, Source::Model);
    }
}
