//! Backends going away and coming back, with the service running. Each test
//! puts a proxy of its own between the service and the shared servers and
//! cuts that: the shared servers are never touched.
//!
//! - Cache away (refused or hung): decisions are still made and logged, and
//!   no request waits much longer than the cache's time bound. Back: caching
//!   resumes without a restart.
//! - Log away: 503 with `Retry-After`, no decision leaves the service. Back:
//!   decisions are served, and the log read, again without a restart, and
//!   without one failure for each connection the outage broke.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use crate::harness::answers::{expect_problem, header};
use crate::harness::data::{example_application, example_with};
use crate::harness::proxy::{TcpProxy, socket_addr_of};
use crate::harness::real_backends::{NEAR_ENTRIES, RealBackends, admin_database_url, redis_url};
use crate::harness::{TestApp, TestBackends, eventually};

/// The cache's time bound in these tests: the service's default.
const CACHE_BOUND: Duration = Duration::from_millis(50);
/// What a request may take beyond the bound (a read and a write): the model,
/// the log, HTTP on a loaded test machine. Far below any hang.
const SLACK: Duration = Duration::from_millis(1500);

/// The app on real backends, its log reached through a proxy the test owns.
async fn on_a_store_behind_a_proxy() -> (TcpProxy, TestApp) {
    let real = RealBackends::create().await;
    let proxy = TcpProxy::start(socket_addr_of(&admin_database_url())).await;
    let store = real.store_at(&proxy.url_for(&real.database().url)).await;
    let cache = real.cache(Duration::from_secs(3600)).await;
    (
        proxy,
        TestApp::spawn(TestBackends::on_real(real, cache, store)).await,
    )
}

/// The app on real backends, its cache reached through a proxy the test
/// owns: calls bounded by `bound`, `near_entries` verdicts kept in memory.
async fn on_a_cache_behind_a_proxy(bound: Duration, near_entries: usize) -> (TcpProxy, TestApp) {
    let real = RealBackends::create().await;
    let proxy = TcpProxy::start(socket_addr_of(&redis_url())).await;
    let cache = real
        .cache_at(
            &proxy.url_for(&redis_url()),
            Duration::from_secs(3600),
            bound,
            near_entries,
        )
        .await;
    let store = real.store().await;
    (
        proxy,
        TestApp::spawn(TestBackends::on_real(real, cache, store)).await,
    )
}

async fn cache_status_of(app: &TestApp, application: &Value) -> (u16, Option<String>, Duration) {
    let started = Instant::now();
    let response = app.post_decision(application).await;
    let elapsed = started.elapsed();
    (
        response.status().as_u16(),
        header(&response, "cache-status"),
        elapsed,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_redis_decisions_are_made_logged_and_prompt_and_caching_resumes() {
    // Redis's own path: what the near cache does in an outage is
    // `a_near_cache_is_dropped_with_its_connection_to_redis`.
    let (proxy, app) = on_a_cache_behind_a_proxy(CACHE_BOUND, 0).await;
    let application = example_application();

    let (status, cache_status, _) = cache_status_of(&app, &application).await;
    assert_eq!(
        (status, cache_status.as_deref()),
        (200, Some("credit-decisions; fwd=miss"))
    );
    let (_, cache_status, _) = cache_status_of(&app, &application).await;
    assert_eq!(cache_status.as_deref(), Some("credit-decisions; hit"));

    for (how, take_away) in [
        ("refused", TcpProxy::cut as fn(&TcpProxy)),
        ("hung", TcpProxy::black_hole),
    ] {
        take_away(&proxy);
        for _ in 0..3 {
            let (status, cache_status, elapsed) = cache_status_of(&app, &application).await;
            assert_eq!(status, 200, "Redis {how}");
            assert_eq!(
                cache_status.as_deref(),
                Some("credit-decisions; fwd=miss"),
                "Redis {how}"
            );
            assert!(
                elapsed < 2 * CACHE_BOUND + SLACK,
                "Redis {how}: a request took {elapsed:?}"
            );
        }
        let ready: Value = app.get("/health/ready").await.json().await.unwrap();
        assert_eq!(ready["status"], "ready", "Redis {how}");
        assert_eq!(
            ready["components"]["cache"]["status"], "down",
            "Redis {how}"
        );
    }
    // 2 before, 3 + 3 without Redis: every one logged, the last 6 scored.
    assert_eq!(app.store.appends().len(), 8);
    assert_eq!(app.scorer.calls().len(), 7);
    let rows = app
        .real()
        .database()
        .query_json("SELECT source FROM decisions ORDER BY seq")
        .await;
    let sources: Vec<&str> = rows.iter().map(|r| r["source"].as_str().unwrap()).collect();
    assert_eq!(
        sources,
        [
            "model", "cache", "model", "model", "model", "model", "model", "model"
        ]
    );

    proxy.restore();
    eventually(
        "the cache reconnecting",
        Duration::from_secs(10),
        || async {
            let ready: Value = app.get("/health/ready").await.json().await.unwrap();
            ready["components"]["cache"]["status"] == "up"
        },
    )
    .await;
    // The breaker lets a probe through within one pause; then a repeated
    // application is a hit again.
    let other = example_with("age_years", json!(44));
    eventually("caching resuming", Duration::from_secs(10), || async {
        let (_, status, _) = cache_status_of(&app, &other).await;
        status.as_deref() == Some("credit-decisions; hit")
    })
    .await;
}

/// With the near cache (the service's default), a Redis that goes away takes
/// it along as soon as the client notices: a repeated application is then
/// scored again, every request is answered, and hits return with Redis.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_near_cache_is_dropped_with_its_connection_to_redis() {
    let (proxy, app) = on_a_cache_behind_a_proxy(CACHE_BOUND, NEAR_ENTRIES).await;
    let application = example_application();
    // A miss, a hit read from Redis (and kept), a hit from memory.
    for expected in ["fwd=miss", "hit", "hit"] {
        let (status, cache_status, _) = cache_status_of(&app, &application).await;
        assert_eq!(status, 200);
        assert_eq!(cache_status, Some(format!("credit-decisions; {expected}")));
    }

    proxy.cut();
    eventually(
        "the near cache being dropped",
        Duration::from_secs(10),
        || async {
            let (status, cache_status, _) = cache_status_of(&app, &application).await;
            assert_eq!(status, 200);
            cache_status.as_deref() == Some("credit-decisions; fwd=miss")
        },
    )
    .await;

    proxy.restore();
    eventually("hits resuming", Duration::from_secs(10), || async {
        let (status, cache_status, _) = cache_status_of(&app, &application).await;
        assert_eq!(status, 200);
        cache_status.as_deref() == Some("credit-decisions; hit")
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_store_no_decision_is_returned_and_it_recovers() {
    let (proxy, app) = on_a_store_behind_a_proxy().await;
    assert_eq!(
        app.post_decision(&example_application()).await.status(),
        200
    );
    // Reads at once leave the pool holding several idle connections, which
    // the cut breaks: none of them may keep a log that is back looking down.
    let reads = (0..4).map(|_| app.get("/v1/decisions?limit=1"));
    for read in futures::future::join_all(reads).await {
        assert_eq!(read.status(), 200);
    }

    proxy.cut();
    let response = app
        .post_decision(&example_with("age_years", json!(30)))
        .await;
    assert_eq!(header(&response, "retry-after").as_deref(), Some("5"));
    let problem = expect_problem(response, 503, "unavailable").await;
    assert!(problem.get("decision_id").is_none());
    assert_eq!(app.get("/health/ready").await.status(), 503);

    proxy.restore();
    eventually("the log recovering", Duration::from_secs(10), || async {
        app.post_decision(&example_with("age_years", json!(31)))
            .await
            .status()
            == 200
    })
    .await;
    let ready = app.get("/health/ready").await;
    let status = ready.status();
    let body: Value = ready.json().await.unwrap();
    assert_eq!(status, 200, "{body}");

    // Only the decisions that were answered are in the log.
    let answered = app
        .real()
        .database()
        .query_json("SELECT request->'age_years' AS age FROM decisions ORDER BY seq")
        .await;
    let ages: Vec<i64> = answered
        .iter()
        .map(|row| row["age"].as_i64().unwrap())
        .collect();
    assert_eq!(ages.first(), Some(&67));
    assert!(
        !ages.contains(&30),
        "a decision answered 503 must not be in the log: {ages:?}"
    );
    assert_eq!(ages.last(), Some(&31));
}

/// A PostgreSQL that stops answering (stopped with SIGSTOP, or a network
/// that drops everything) never applies its own statement bound: the
/// service bounds every read itself, as it bounds a commit, and answers
/// 503 with `Retry-After` past it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_log_answers_reads_503_within_its_bound() {
    let (proxy, app) = on_a_store_behind_a_proxy().await;
    let decision = app.post_decision_json(&example_application()).await;
    let id = decision["decision_id"].as_str().unwrap();
    proxy.black_hole();
    for path in [
        "/v1/decisions".to_owned(),
        format!("/v1/decisions/{id}"),
        "/v1/monitoring".to_owned(),
    ] {
        let started = Instant::now();
        let response = app
            .build(reqwest::Method::GET, &path)
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .unwrap_or_else(|error| panic!("{path} was held, not answered: {error}"));
        assert_eq!(
            header(&response, "retry-after").as_deref(),
            Some("5"),
            "{path}"
        );
        expect_problem(response, 503, "unavailable").await;
        // The log's bound (5 s), and nothing like the 76 s of a held read.
        let took = started.elapsed();
        assert!(
            took < Duration::from_secs(5) + SLACK,
            "{path} took {took:?}"
        );
    }
    let ready = app.get("/health/ready").await;
    assert_eq!(ready.status(), 503);
    proxy.restore();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_an_outage_the_store_is_read_at_once_though_its_idle_connections_broke() {
    let (proxy, app) = on_a_store_behind_a_proxy().await;
    let decision = app.post_decision_json(&example_application()).await;
    let reads = (0..4).map(|_| app.get("/v1/decisions?limit=1"));
    for read in futures::future::join_all(reads).await {
        assert_eq!(read.status(), 200);
    }

    // An outage too short for anything to use the pool: every idle
    // connection is broken when the server is back.
    // (Cutting closes every connection through the proxy at once.)
    proxy.cut();
    proxy.restore();

    let read = app
        .get_decision(decision["decision_id"].as_str().unwrap())
        .await;
    assert_eq!(read.status(), 200, "{}", read.text().await.unwrap());
    let page = app.get("/v1/decisions?limit=1").await;
    assert_eq!(page.status(), 200, "{}", page.text().await.unwrap());
    let ready = app.get("/health/ready").await;
    assert_eq!(ready.status(), 200, "{}", ready.text().await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_redis_costs_one_bounded_call_per_pause_not_one_per_request() {
    // A bound long enough to tell a call that waited from one skipped.
    const BOUND: Duration = Duration::from_secs(2);
    let (proxy, app) = on_a_cache_behind_a_proxy(BOUND, 0).await;
    assert_eq!(
        app.post_decision(&example_application()).await.status(),
        200
    );

    proxy.black_hole();
    let mut latencies = Vec::new();
    for age in 20..40 {
        let (status, _, elapsed) =
            cache_status_of(&app, &example_with("age_years", json!(age))).await;
        assert_eq!(status, 200);
        latencies.push(elapsed);
    }
    // The first request pays the bound once (its read; the write is
    // skipped), and probes pay it once a pause: never most requests.
    let waited = latencies
        .iter()
        .filter(|elapsed| **elapsed >= BOUND)
        .count();
    latencies.sort();
    let median = latencies[latencies.len() / 2];
    assert!(
        waited <= 5,
        "{waited} of 20 requests waited for the bound: {latencies:?}"
    );
    assert!(median < BOUND / 2, "median {median:?}: {latencies:?}");
    assert!(
        *latencies.last().unwrap() < BOUND + SLACK,
        "no request waits for more than one bound: {latencies:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_load_a_cut_log_answers_503_and_no_200_lacks_its_row() {
    let real = RealBackends::create().await;
    let proxy = TcpProxy::start(socket_addr_of(&admin_database_url())).await;
    let store = real.store_at(&proxy.url_for(&real.database().url)).await;
    let cache = real.cache(Duration::from_secs(3600)).await;
    let app = Arc::new(TestApp::spawn(TestBackends::on_real(real, cache, store)).await);

    // Eight clients, each deciding distinct applications until told to
    // stop; the store is cut once decisions flow, and restored once some
    // have been refused.
    let (answers, refusals) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..8)
        .map(|client| {
            let (app, answers, refusals, stop) =
                (app.clone(), answers.clone(), refusals.clone(), stop.clone());
            tokio::spawn(async move {
                let mut answered = Vec::new();
                let mut refused = 0;
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let application = example_with("credit_amount", json!(client * 100_000 + n));
                    let response = app.post_decision(&application).await;
                    match response.status().as_u16() {
                        200 => {
                            answered.push(
                                response.json::<Value>().await.unwrap()["decision_id"].clone(),
                            );
                            answers.fetch_add(1, Ordering::Relaxed);
                        }
                        503 => {
                            assert_eq!(header(&response, "retry-after").as_deref(), Some("5"));
                            refused += 1;
                            refusals.fetch_add(1, Ordering::Relaxed);
                        }
                        other => panic!("answered {other}"),
                    }
                }
                (answered, refused)
            })
        })
        .collect();
    eventually("decisions answered", Duration::from_secs(10), || async {
        answers.load(Ordering::Relaxed) >= 20
    })
    .await;
    proxy.cut();
    eventually("decisions refused", Duration::from_secs(10), || async {
        refusals.load(Ordering::Relaxed) >= 8
    })
    .await;
    proxy.restore();
    let answered_before = answers.load(Ordering::Relaxed);
    eventually(
        "decisions answered again",
        Duration::from_secs(10),
        || async { answers.load(Ordering::Relaxed) > answered_before + 20 },
    )
    .await;
    stop.store(true, Ordering::Relaxed);
    let mut answered = Vec::new();
    let mut refused = 0;
    for client in clients {
        let (ids, no) = client.await.unwrap();
        answered.extend(ids);
        refused += no;
    }
    assert!(refused > 0, "the cut refused nothing");
    let logged: Vec<Value> = app
        .real()
        .database()
        .query_json("SELECT decision_id FROM decisions")
        .await
        .into_iter()
        .map(|row| row["decision_id"].clone())
        .collect();
    let missing: Vec<&Value> = answered.iter().filter(|id| !logged.contains(id)).collect();
    assert!(missing.is_empty(), "200 without a row: {missing:?}");
    // And the log recovered by itself.
    eventually(
        "the log taking decisions again",
        Duration::from_secs(10),
        || async {
            app.post_decision(&example_with("age_years", json!(33)))
                .await
                .status()
                == 200
        },
    )
    .await;
    println!(
        "{} answered 200 and logged, {refused} refused 503 while the log was cut",
        answered.len()
    );
}
