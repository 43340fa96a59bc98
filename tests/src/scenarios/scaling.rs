//! Scaling out: the cache on a Redis Cluster, the log through PgBouncer in
//! transaction pooling, and several service processes on the same backends
//! behaving as one service.
//!
//! The shared test cluster and PgBouncer come from `scripts/test`; the test
//! that kills a primary starts a cluster of its own.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::FutureExt;
use futures::future::join_all;

use domain::{CacheEntry, CacheKey, DecisionCache, DecisionStore, Outcome, Scorer, Verdict};
use pretty_assertions::assert_eq;
use redis_cache::{RedisCacheSettings, RedisDecisionCache};
use serde_json::{Value, json};

use super::decision_flow::two_identical_posts_are_scored_once_and_logged_twice;
use super::port_contracts::{cache_contract, entries, record, store_contract, tally_contract};
use crate::harness::answers::header;
use crate::harness::data::{example_application, example_with};
use crate::harness::real_backends::{NEAR_ENTRIES, RealBackends, TestDatabase};
use crate::harness::redis_cluster::{self, ThrowawayCluster, cluster_url};
use crate::harness::service_process::Running;
use crate::harness::{TestApp, TestBackends, eventually};

/// A distinct application for each `n`: its key lands in a slot of its own
/// more often than not.
fn application(n: u32) -> Value {
    example_with("credit_amount", json!(1_000 + n))
}

fn key_of(model_version: &str, application: &Value) -> CacheKey {
    CacheKey::for_application(
        model_version,
        &domain::Application::from_json(application.as_object().unwrap()).unwrap(),
    )
}

fn verdict(n: u32) -> Verdict {
    Verdict {
        outcome: Outcome::Approve,
        probability_of_default: f64::from(n) / 10_000.0,
        model_version: "scaling-test".to_owned(),
        reasons: Vec::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cluster_cache_keeps_the_cache_contract() {
    let made: Mutex<Vec<Arc<RealBackends>>> = Mutex::default();
    let made = &made;
    cache_contract(|ttl| async move {
        let real = Arc::new(RealBackends::on_the_cluster_without_database());
        let cache = real.cache(ttl).await;
        made.lock().unwrap().push(real);
        Arc::new(cache) as Arc<dyn DecisionCache>
    })
    .await;
}

/// 1,000 keys, spread over every primary's slots: written and read in one
/// batch each, answered in the order asked, each key on its slot's owner.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_whose_keys_span_every_slot_range_reads_back_in_order() {
    let real = RealBackends::on_the_cluster_without_database();
    let cache = real.cache(Duration::from_secs(600)).await;
    let keys: Vec<CacheKey> = (0..1_000)
        .map(|n| key_of("scaling-test", &application(n)))
        .collect();
    let owners = redis_cluster::slot_owners(&cluster_url()).await;
    let slots: Vec<u16> = keys
        .iter()
        .map(|key| fred::util::redis_keyslot(cache.redis_key(key).as_bytes()))
        .collect();
    for (range, primary) in &owners {
        assert!(
            slots.iter().any(|slot| range.contains(slot)),
            "no key in {range:?} ({primary})"
        );
    }

    // Every other key written, in one batch.
    let written: Vec<(CacheKey, Verdict)> = (0..1_000)
        .step_by(2)
        .map(|n| (keys[n as usize].clone(), verdict(n)))
        .collect();
    cache.write(&written).await.unwrap();

    let read = cache.read(&keys).await.unwrap();
    let expected: Vec<CacheEntry> = (0..1_000)
        .map(|n| {
            if n % 2 == 0 {
                CacheEntry::Found(verdict(n))
            } else {
                CacheEntry::Missing
            }
        })
        .collect();
    assert_eq!(read, expected);

    let located = real.namespace.keys_by_primary().await;
    assert_eq!(located.len(), 500);
    for (primary, key) in located.iter().step_by(25) {
        assert_eq!(*primary, redis_cluster::owner_of(&cluster_url(), key).await);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_keeps_the_store_contract_through_pgbouncer() {
    let real = RealBackends::create().await;
    store_contract(Arc::new(real.store_through_pgbouncer().await)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_keeps_the_tally_contract_through_pgbouncer() {
    let real = RealBackends::create().await;
    tally_contract(Arc::new(real.store_through_pgbouncer().await)).await;
}

/// Many appends at once through PgBouncer: grouped into fewer commits, every
/// row there. Server connections change hands between transactions here,
/// which breaks a statement prepared in one and used in another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_through_pgbouncer_all_commit() {
    let real = RealBackends::create().await;
    let store = Arc::new(real.store_through_pgbouncer().await);
    let records: Vec<_> = (0..300).map(|_| record(domain::Source::Model)).collect();
    let appends = records.iter().map(|one| {
        let store = store.clone();
        let entry = entries(std::slice::from_ref(one));
        async move { store.append(&entry).await }
    });
    let outcomes = join_all(appends).await;
    assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
    assert!(store.commits() < 300, "{} commits", store.commits());
    let rows = real
        .database()
        .query_json("SELECT count(DISTINCT decision_id) AS n FROM decisions")
        .await;
    assert_eq!(rows[0]["n"], 300);
}

/// The seed scenario, on the cluster and through PgBouncer; then the key is
/// found on the primary that owns its slot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seed_scenario_runs_on_the_cluster_and_through_pgbouncer() {
    let app = TestApp::spawn(TestBackends::on_cluster_and_pgbouncer().await).await;
    two_identical_posts_are_scored_once_and_logged_twice(&app).await;

    let located = app.real().namespace.keys_by_primary().await;
    assert_eq!(located.len(), 1);
    let (primary, key) = &located[0];
    assert_eq!(*primary, redis_cluster::owner_of(&cluster_url(), key).await);
}

/// A primary killed while requests keep coming: every request is answered
/// 200, none waits much past the cache's bound, and once its replica has
/// taken over, its keys are hits again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_primary_killed_mid_run_fails_no_request_and_hits_resume_after_failover() {
    let mut cluster = ThrowawayCluster::start().await;
    let bound = Duration::from_millis(100);
    let namespace = format!("credit-decisions-test:{}", uuid::Uuid::now_v7().simple());
    let cache = RedisDecisionCache::connect(RedisCacheSettings {
        url: cluster.url.clone(),
        namespace,
        ttl: Duration::from_secs(600),
        timeout: bound,
        near_entries: NEAR_ENTRIES,
        signing_key: None,
    })
    .await
    .unwrap();
    let model_version = crate::harness::test_app::built_in_scorer()
        .model()
        .version
        .clone();
    let victim_key = cache.redis_key(&key_of(&model_version, &application(0)));
    let victim = redis_cluster::owner_of(&cluster.url, &victim_key).await;
    let app = TestApp::spawn(TestBackends::memory().with_cache(Some(Arc::new(cache)))).await;

    // Twenty applications cached, the first on the primary to be killed.
    let applications: Vec<Value> = (0..20).map(application).collect();
    for application in &applications {
        assert_eq!(app.post_decision(application).await.status(), 200);
    }
    let cache_status = |response: &reqwest::Response| header(response, "cache-status");
    let first = app.post_decision(&applications[0]).await;
    assert_eq!(
        cache_status(&first).as_deref(),
        Some("credit-decisions; hit")
    );

    cluster.kill(&victim);
    let killed_at = Instant::now();
    let mut slowest = Duration::ZERO;
    let mut answered = 0;
    // Requests all through the outage, until the cluster has failed over.
    let failover = cluster.wait_for_failover(&victim, Duration::from_secs(30));
    tokio::pin!(failover);
    'outage: loop {
        for application in &applications {
            let started = Instant::now();
            let response = app.post_decision(application).await;
            slowest = slowest.max(started.elapsed());
            assert_eq!(response.status(), 200, "{:?}", response.text().await);
            answered += 1;
            if (&mut failover).now_or_never().is_some() {
                break 'outage;
            }
        }
    }
    let failed_over_in = killed_at.elapsed();
    assert!(
        slowest < bound + Duration::from_secs(1),
        "the slowest request took {slowest:?} with a cache bound of {bound:?}"
    );

    // Hits resume: the entry, replicated before the kill, is served by the
    // replica that took over.
    let hit = "a hit after the failover";
    eventually(hit, Duration::from_secs(15), || async {
        let response = app.post_decision(&applications[0]).await;
        assert_eq!(
            response.status(),
            200,
            "{failed_over_in:?} after the kill, {answered} requests answered meanwhile"
        );
        cache_status(&response).as_deref() == Some("credit-decisions; hit")
    })
    .await;
}

/// Two service processes on the same cluster and database (through
/// PgBouncer): a miss on one is a hit on the other, and both read the same
/// log and the same monitoring.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_service_processes_behave_as_one_service() {
    let database = TestDatabase::create().await;
    let real = RealBackends::on_the_cluster_without_database();
    let environment = vec![
        ("CREDIT_DECISIONS_CACHE", "redis".to_owned()),
        ("CREDIT_DECISIONS_REDIS_URL", cluster_url()),
        (
            "CREDIT_DECISIONS_REDIS_NAMESPACE",
            real.namespace.namespace.clone(),
        ),
        ("CREDIT_DECISIONS_STORE", "postgres".to_owned()),
        (
            "CREDIT_DECISIONS_DATABASE_URL",
            database.url_through_pgbouncer(),
        ),
        (
            "CREDIT_DECISIONS_DATABASE_POOL_MODE",
            "transaction".to_owned(),
        ),
    ];
    // Started together: both migrate the empty database at once.
    let (a, b) = tokio::join!(Running::start(&environment), Running::start(&environment));
    let client = reqwest::Client::new();
    let post = |base: &str, application: &Value| {
        client
            .post(format!("{base}/v1/decisions"))
            .json(application)
            .send()
    };
    let get = |base: &str, path: &str| client.get(format!("{base}{path}")).send();

    let on_a = post(&a.base, &example_application()).await.unwrap();
    assert_eq!(
        header(&on_a, "cache-status").as_deref(),
        Some("credit-decisions; fwd=miss")
    );
    let on_a: Value = on_a.json().await.unwrap();
    let on_b = post(&b.base, &example_application()).await.unwrap();
    assert_eq!(
        header(&on_b, "cache-status").as_deref(),
        Some("credit-decisions; hit")
    );
    let on_b: Value = on_b.json().await.unwrap();
    assert_ne!(on_a["decision_id"], on_b["decision_id"]);

    // Forty more, alternating between the two, all at once.
    let more = (0..40).map(|n| {
        let base = if n % 2 == 0 { &a.base } else { &b.base };
        post(base, &application(n))
    });
    for response in join_all(more).await {
        assert_eq!(response.unwrap().status(), 200);
    }

    let rows = database
        .query_json("SELECT decision_id, source FROM decisions ORDER BY seq")
        .await;
    assert_eq!(rows.len(), 42);
    assert_eq!(rows[0]["decision_id"], on_a["decision_id"]);
    assert_eq!(rows[0]["source"], "model");
    assert_eq!(rows[1]["decision_id"], on_b["decision_id"]);
    assert_eq!(rows[1]["source"], "cache");
    let mut ids: Vec<&str> = rows
        .iter()
        .map(|row| row["decision_id"].as_str().unwrap())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 42, "decision ids are unique across processes");

    // Either process lists the same log, newest first, across pages.
    let newest_first: Vec<Value> = rows
        .iter()
        .rev()
        .map(|row| row["decision_id"].clone())
        .collect();
    for base in [&a.base, &b.base] {
        let mut listed = Vec::new();
        let mut path = "/v1/decisions?limit=25".to_owned();
        loop {
            let page: Value = get(base, &path).await.unwrap().json().await.unwrap();
            listed.extend(
                page["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|item| item["decision_id"].clone()),
            );
            match page["next"].as_str() {
                Some(next) => path = format!("/v1/decisions?limit=25&before={next}"),
                None => break,
            }
        }
        assert_eq!(listed, newest_first, "the log as listed by {base}");

        let report: Value = get(base, "/v1/monitoring")
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(report["decisions"], 42, "monitoring on {base}");
        assert_eq!(report["by_source"]["cache"], 1);
    }
}
