//! Replicas on one database follow one routing: a change made on one is
//! served by the others within 2 seconds, a replica started later starts
//! under it, and an application keeps its arm across restarts. A change
//! with the database down changes nothing; a champion swapped under load
//! fails no request.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use pretty_assertions::assert_eq;
use serde_json::Value;

use super::directory::copy_model;
use super::{
    BUILT_IN, applications, challenged, champion_alone, put_routing, route, share_point_of,
};
use crate::harness::proxy::{TcpProxy, socket_addr_of};
use crate::harness::real_backends::{RealBackends, admin_database_url};
use crate::harness::test_app::{SCORECARD, shipped_models_dir};
use crate::harness::{TestApp, TestBackends, eventually};

/// What the contract allows a replica to take to serve a new routing.
const FOLLOWED_WITHIN: Duration = Duration::from_secs(2);

async fn replica_of(app: &TestApp) -> TestApp {
    TestApp::spawn(TestBackends::replica_of(app).await.with_shipped_models()).await
}

async fn version_served(app: &TestApp) -> String {
    let decision = app.post_decision_json(&applications(1)[0]).await;
    decision["model_version"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_on_one_replica_is_served_by_the_other_within_two_seconds() {
    let first = TestApp::spawn(TestBackends::real().await.with_shipped_models()).await;
    let second = replica_of(&first).await;
    assert_eq!(version_served(&second).await, BUILT_IN);

    route(&first, champion_alone(SCORECARD)).await;
    eventually(
        "the other replica serves the promoted champion",
        FOLLOWED_WITHIN,
        || async { version_served(&second).await == SCORECARD },
    )
    .await;
    let models: Value = second.get("/v1/models").await.json().await.unwrap();
    assert_eq!(models["routing"]["generation"], 1);

    // A replica started now starts under the change.
    let third = replica_of(&first).await;
    assert_eq!(version_served(&third).await, SCORECARD);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_without_a_routed_version_is_unready_and_keeps_its_routing() {
    let first = TestApp::spawn(TestBackends::real().await.with_shipped_models()).await;
    // No models directory: the scorecard is not there to serve.
    let lacking = TestApp::spawn(TestBackends::replica_of(&first).await).await;
    route(&first, champion_alone(SCORECARD)).await;
    eventually(
        "the replica says it cannot follow",
        FOLLOWED_WITHIN,
        || async { lacking.get("/health/ready").await.status() == 503 },
    )
    .await;
    let readiness: Value = lacking.get("/health/ready").await.json().await.unwrap();
    let error = readiness["components"]["model"]["error"].as_str().unwrap();
    assert!(error.contains(SCORECARD), "{error}");
    assert_eq!(version_served(&lacking).await, BUILT_IN);
    // Rolled back, it follows again.
    route(&first, champion_alone(BUILT_IN)).await;
    eventually("the replica is ready again", FOLLOWED_WITHIN, || async {
        lacking.get("/health/ready").await.status() == 200
    })
    .await;
}

/// A replica routed to a version it does not hold looks in its models
/// directory once for that change: a model put there since it started is
/// loaded and served, with no reload asked for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_looks_in_its_directory_for_a_routed_version_it_lacks() {
    let first = TestApp::spawn(TestBackends::real().await.with_shipped_models()).await;
    let dir = tempfile::tempdir().unwrap();
    let second = TestApp::spawn(
        TestBackends::replica_of(&first)
            .await
            .with_models_dir(dir.path().to_owned()),
    )
    .await;
    let scorecard = shipped_models_dir().join(format!("{SCORECARD}.onnx"));
    copy_model(&scorecard, SCORECARD, dir.path());
    route(&first, champion_alone(SCORECARD)).await;
    eventually(
        "the other replica finds the version and serves it",
        FOLLOWED_WITHIN,
        || async { version_served(&second).await == SCORECARD },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_application_keeps_its_arm_after_a_restart() {
    let first = TestApp::spawn(TestBackends::real().await.with_shipped_models()).await;
    route(&first, challenged("split", 0.5)).await;
    let batch = applications(30);
    let before = versions_deciding(&first, &batch).await;
    let expected: Vec<&str> = batch
        .iter()
        .map(|application| {
            if share_point_of(application) < 0.5 {
                SCORECARD
            } else {
                BUILT_IN
            }
        })
        .collect();
    assert_eq!(before, expected);
    // The restart: a new process on the same database, the first one gone.
    let restarted = replica_of(&first).await;
    drop(first);
    assert_eq!(versions_deciding(&restarted, &batch).await, before);
}

/// The version that decides each of `batch`, in order.
async fn versions_deciding(app: &TestApp, batch: &[Value]) -> Vec<String> {
    let body: Value = app.post_batch(batch).await.json().await.unwrap();
    body["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["model_version"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_database_down_a_change_is_refused_and_nothing_is_half_applied() {
    let real = RealBackends::create().await;
    let proxy = TcpProxy::start(socket_addr_of(&admin_database_url())).await;
    let store = real.store_at(&proxy.url_for(&real.database().url)).await;
    let cache = real.cache(Duration::from_secs(3600)).await;
    let app = TestApp::spawn(TestBackends::on_real(real, cache, store).with_shipped_models()).await;
    route(&app, challenged("shadow", 0.5)).await;

    proxy.cut();
    let refused = put_routing(&app, &champion_alone(SCORECARD), None).await;
    assert_eq!(refused.status(), 503);
    assert!(refused.headers().contains_key("retry-after"));
    proxy.restore();

    let models: Value = app.get("/v1/models").await.json().await.unwrap();
    assert_eq!(models["routing"]["generation"], 1);
    assert_eq!(models["routing"]["champion"], BUILT_IN);
    eventually(
        "decisions are logged again",
        Duration::from_secs(10),
        || async { app.post_decision(&applications(1)[0]).await.status() == 200 },
    )
    .await;
    let changes: Value = app.get("/v1/models/changes").await.json().await.unwrap();
    assert_eq!(changes["items"].as_array().unwrap().len(), 1);
    assert_eq!(version_served(&app).await, BUILT_IN);
}

/// Clients deciding continuously while the champion is swapped every few
/// hundred milliseconds: every answer a 200 with its row, from a version
/// routed to.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swapping_the_champion_under_load_fails_no_request() {
    let app = Arc::new(TestApp::spawn(TestBackends::real().await.with_shipped_models()).await);
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..4)
        .map(|client| {
            let (app, stop) = (app.clone(), stop.clone());
            tokio::spawn(async move {
                let pool = applications(200);
                let mut answers = Vec::new();
                let mut n = client;
                while !stop.load(Ordering::Relaxed) {
                    let response = app.post_decision(&pool[n % pool.len()]).await;
                    let status = response.status().as_u16();
                    let body: Value = response.json().await.unwrap();
                    answers.push((status, body));
                    n += 4;
                }
                answers
            })
        })
        .collect();
    for swap in 0..10 {
        let champion = if swap % 2 == 0 { SCORECARD } else { BUILT_IN };
        route(&app, champion_alone(champion)).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let mut answers = Vec::new();
    for client in clients {
        answers.extend(client.await.unwrap());
    }

    let statuses: Vec<u16> = answers
        .iter()
        .map(|(status, _)| *status)
        .filter(|s| *s != 200)
        .collect();
    assert_eq!(statuses, Vec::<u16>::new(), "no answer but 200");
    let mut seen = std::collections::BTreeSet::new();
    for (_, decision) in &answers {
        let version = decision["model_version"].as_str().unwrap();
        assert!([BUILT_IN, SCORECARD].contains(&version), "{version}");
        seen.insert(version.to_owned());
    }
    assert_eq!(seen.len(), 2, "both champions served");
    let logged = app
        .real()
        .database()
        .query_json("SELECT decision_id::text AS id FROM decisions")
        .await;
    let logged: std::collections::HashSet<&str> = logged
        .iter()
        .map(|row| row["id"].as_str().unwrap())
        .collect();
    for (_, decision) in &answers {
        assert!(
            logged.contains(decision["decision_id"].as_str().unwrap()),
            "every 200 has its row"
        );
    }
    assert!(answers.len() > 40, "{} answers", answers.len());
}
