//! The cache is not trusted. Whoever can write to Redis must not choose a
//! decision: an entry that is not a verdict the model could have given the
//! application is a miss, scored again and overwritten; with a signing key an
//! entry without a valid signature is one too. And what an operator flushes
//! from Redis is gone from the service's memory within a second.

use std::time::Duration;

use domain::{Application, CacheEntry, CacheKey, DecisionCache, Scorer, Verdict};
use fred::prelude::*;
use pretty_assertions::assert_eq;
use redis_cache::SigningKey;
use serde_json::{Value, json};

use crate::harness::answers::header;
use crate::harness::data::example_application;
use crate::harness::real_backends::{NEAR_ENTRIES, RealBackends, redis_client_at};
use crate::harness::throwaway_redis::ThrowawayRedis;
use crate::harness::{TestApp, TestBackends, eventually};

fn parse(body: &Value) -> Application {
    Application::from_json(body.as_object().unwrap()).unwrap()
}

/// The Redis key the app keeps the example's verdict under.
fn example_key(app: &TestApp) -> String {
    let key =
        CacheKey::for_application(&app.scorer.model().version, &parse(&example_application()));
    format!(
        "{}:verdict:{}",
        app.real().namespace.namespace,
        key.as_str()
    )
}

/// A reason of the built-in model's card, for `feature`.
async fn card_reason(app: &TestApp, feature: &str) -> Value {
    let card: Value = app.get("/v1/model").await.json().await.unwrap();
    let reason = card["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == feature)
        .map(|f| &f["reason"])
        .unwrap();
    json!({"code": reason["code"], "feature": feature, "description": reason["description"]})
}

async fn refused_so_far(app: &TestApp) -> u64 {
    let metrics = app.get("/metrics").await.text().await.unwrap();
    metrics
        .lines()
        .find_map(|line| line.strip_prefix("credit_decisions_cache_refused_total "))
        .map_or(0, |count| count.parse().unwrap())
}

/// Posts the example and checks that the model decided it, as it did the
/// first time, whatever Redis held.
async fn decided_by_the_model(app: &TestApp, genuine: &Value, case: &str) {
    let response = app.post_decision(&example_application()).await;
    assert_eq!(response.status(), 200, "{case}");
    assert_eq!(
        header(&response, "cache-status").as_deref(),
        Some("credit-decisions; fwd=miss"),
        "{case}"
    );
    let decision: Value = response.json().await.unwrap();
    for member in [
        "decision",
        "probability_of_default",
        "model_version",
        "reasons",
    ] {
        assert_eq!(decision[member], genuine[member], "{case}: {member}");
    }
    let record: Value = app
        .get_decision(decision["decision_id"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(record["source"], "model", "{case}");
}

/// The verdict Redis holds under `key`.
async fn stored_verdict(client: &Client, key: &str) -> Value {
    let stored: String = client.get(key).await.unwrap();
    serde_json::from_str(&stored).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_forged_entry_is_a_miss_and_is_overwritten() {
    let app = TestApp::on_real().await;
    let genuine = app.post_decision_json(&example_application()).await;
    assert_eq!(genuine["decision"], "approve");
    let key = example_key(&app);
    let client = redis_client_at(&app.real().namespace.redis_url).await;
    let stored = stored_verdict(&client, &key).await;

    let version = genuine["model_version"].clone();
    let decline = |probability: f64, reasons: Value| {
        json!({"decision": "decline", "probability_of_default": probability,
               "model_version": version, "reasons": reasons})
    };
    let savings = card_reason(&app, "savings").await;
    let age = card_reason(&app, "age_years").await;
    let mut huge = savings.clone();
    huge["description"] = json!("x".repeat(1024 * 1024));
    let mut made_up = savings.clone();
    made_up["code"] = json!("R99");
    let forged = [
        (
            "an approval the probability does not give",
            json!({"decision": "approve", "probability_of_default": 0.999,
                   "model_version": version, "reasons": []}),
        ),
        ("a probability of 7", decline(7.0, json!([]))),
        (
            "another model's verdict",
            json!({"decision": "approve", "probability_of_default": 0.05,
                   "model_version": "evil-model-9", "reasons": []}),
        ),
        (
            "ten reasons",
            decline(0.9, json!(vec![savings.clone(); 10])),
        ),
        (
            "age as a reason for a 67-year-old",
            decline(0.9, json!([age])),
        ),
        ("a reason of 1 MB", decline(0.9, json!([huge]))),
        ("a reason not in the card", decline(0.9, json!([made_up]))),
    ];
    for (count, (case, entry)) in forged.into_iter().enumerate() {
        let _: () = client
            .set(&key, entry.to_string(), None, None, false)
            .await
            .unwrap();
        decided_by_the_model(&app, &genuine, case).await;
        assert_eq!(
            stored_verdict(&client, &key).await,
            stored,
            "{case}: overwritten with the model's verdict"
        );
        assert_eq!(refused_so_far(&app).await, count as u64 + 1, "{case}");
    }
    // The model's own verdict is a hit again.
    let response = app.post_decision(&example_application()).await;
    assert_eq!(
        header(&response, "cache-status").as_deref(),
        Some("credit-decisions; hit")
    );
    let _ = client.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_signing_key_an_unsigned_verdict_is_a_miss_even_when_it_is_consistent() {
    let real = RealBackends::create().await;
    let mut settings = real.cache_settings(
        &real.namespace.redis_url,
        Duration::from_secs(3600),
        Duration::from_secs(2),
        NEAR_ENTRIES,
    );
    settings.signing_key = Some(SigningKey::new("test-signing-key"));
    let cache = real.cache_with(settings).await;
    let store = real.store().await;
    let app = TestApp::spawn(TestBackends::on_real(real, cache, store)).await;

    let genuine = app.post_decision_json(&example_application()).await;
    let key = example_key(&app);
    let client = redis_client_at(&app.real().namespace.redis_url).await;
    let signed: String = client.get(&key).await.unwrap();
    let signed: Value = serde_json::from_str(&signed).unwrap();
    assert!(signed["mac"].is_string(), "signed: {signed}");
    // Signed: a hit.
    let response = app.post_decision(&example_application()).await;
    assert_eq!(
        header(&response, "cache-status").as_deref(),
        Some("credit-decisions; hit")
    );

    // The same verdict, unsigned: a verdict the model could have given, but
    // not one this service wrote.
    let unsigned = signed["verdict"].to_string();
    let _: () = client.set(&key, unsigned, None, None, false).await.unwrap();
    decided_by_the_model(&app, &genuine, "an unsigned verdict").await;
    let rewritten: String = client.get(&key).await.unwrap();
    assert_eq!(serde_json::from_str::<Value>(&rewritten).unwrap(), signed);
    // Signed for another key (another application's entry, copied).
    let mut elsewhere = signed.clone();
    elsewhere["mac"] = json!("00".repeat(32));
    let _: () = client
        .set(&key, elsewhere.to_string(), None, None, false)
        .await
        .unwrap();
    decided_by_the_model(&app, &genuine, "a wrong signature").await;
    assert_eq!(refused_so_far(&app).await, 2);
    let _ = client.quit().await;
}

/// `FLUSHDB`, `FLUSHALL` and `SWAPDB` empty the near cache within a second
/// (fred does not pass on the flush message Redis sends; the canaries see
/// it), on a Redis of the test's own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flushed_redis_is_not_served_from_memory() {
    let redis = ThrowawayRedis::start().await;
    let real = RealBackends::create_without_database();
    let cache = real
        .cache_with(real.cache_settings(
            &redis.url,
            Duration::from_secs(3600),
            Duration::from_secs(2),
            NEAR_ENTRIES,
        ))
        .await;
    let operator = redis_client_at(&redis.url).await;
    let key = CacheKey::for_application("v1", &parse(&example_application()));
    let verdict = Verdict::from_model(0.1, 0.5, "v1");
    for flush in ["FLUSHDB", "FLUSHALL", "SWAPDB"] {
        cache
            .write(&[(key.clone(), verdict.clone())])
            .await
            .unwrap();
        // Kept in memory once read (and once Redis tracks the reads).
        eventually(
            "the verdict is kept in memory",
            Duration::from_secs(5),
            || async {
                cache.read(std::slice::from_ref(&key)).await.unwrap();
                cache.near_entries() == 1
            },
        )
        .await;

        let arguments: Vec<&str> = match flush {
            "SWAPDB" => vec!["0", "1"],
            _ => vec![],
        };
        let _: fred::types::Value = operator.custom(fred::cmd!(flush), arguments).await.unwrap();
        eventually(
            &format!("{flush} empties the near cache"),
            Duration::from_secs(2),
            || async { cache.near_entries() == 0 },
        )
        .await;
        assert_eq!(
            cache.read(std::slice::from_ref(&key)).await.unwrap(),
            vec![CacheEntry::Missing],
            "{flush}"
        );
        if flush == "SWAPDB" {
            let _: fred::types::Value = operator
                .custom(fred::cmd!("SWAPDB"), vec!["0", "1"])
                .await
                .unwrap();
        }
        let _: fred::types::Value = operator
            .custom(fred::cmd!("FLUSHALL"), Vec::<String>::new())
            .await
            .unwrap();
    }
    let _ = operator.quit().await;
    cache.close().await;
}
