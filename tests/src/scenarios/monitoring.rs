//! Monitoring over HTTP: the report of `GET /v1/monitoring` from the
//! decision log against the model card's baseline, its window and its
//! errors, the dashboard page and the PSI gauges. Written once, run on the
//! memory log and on PostgreSQL.

use chrono::{DateTime, TimeDelta, Utc};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use crate::harness::answers::expect_problem;
use std::time::Duration;

use crate::harness::data::{example_with, golden_rows};
use crate::harness::faults::HeldReports;
use crate::harness::{TestApp, TestBackends, eventually};

/// The model's threshold, from its card.
const THRESHOLD: f32 = 0.2326;

fn training_applications() -> Vec<Value> {
    golden_rows()
        .iter()
        .map(|row| row.application.clone())
        .collect()
}

/// The training applications with `field` changed by `change`.
fn shifted(field: &str, change: impl Fn(usize) -> Value) -> Vec<Value> {
    let mut applications = training_applications();
    for (i, application) in applications.iter_mut().enumerate() {
        application[field] = change(i);
    }
    applications
}

async fn decide_all(app: &TestApp, applications: &[Value]) {
    for batch in applications.chunks(app::BATCH_MAX) {
        let response = app.post_batch(batch).await;
        assert_eq!(response.status(), 200);
    }
}

async fn report(app: &TestApp, query: &str) -> Value {
    let response = app.get(&format!("/v1/monitoring{query}")).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

fn status(drift: &Value) -> &str {
    drift["status"].as_str().unwrap()
}

fn psi(drift: &Value) -> f64 {
    drift["psi"].as_f64().unwrap()
}

/// Each field's status, in the report's order.
fn statuses(report: &Value) -> Vec<(String, String)> {
    report["features"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, drift)| (name.clone(), status(drift).to_owned()))
        .collect()
}

fn all_stable_but(report: &Value, moved: &str, to: &str) -> Vec<(String, String)> {
    statuses(report)
        .into_iter()
        .map(|(name, _)| {
            let status = if name == moved { to } else { "stable" };
            (name, status.to_owned())
        })
        .collect()
}

/// The training population itself, served: the window's share of every bin
/// is the card's training share, so every PSI is (next to) zero. Served
/// again from the cache, hits count too and nothing moves.
pub async fn the_training_population_is_stable_everywhere(app: &TestApp) {
    let applications = training_applications();
    decide_all(app, &applications).await;
    let approved = golden_rows()
        .iter()
        .filter(|row| row.probability_of_default < THRESHOLD)
        .count() as u64;

    let first = report(app, "").await;
    assert_eq!(first["decisions"], 1000);
    assert_eq!(
        first["by_decision"],
        json!({"approve": approved, "decline": 1000 - approved})
    );
    assert_eq!(first["by_source"], json!({"model": 1000, "cache": 0}));
    assert_eq!(
        first["approval_rate"].as_f64().unwrap(),
        approved as f64 / 1000.0
    );
    assert_eq!(first["features"].as_object().unwrap().len(), 18);
    for (name, drift) in std::iter::once(("score", &first["score"])).chain(
        first["features"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(n, d)| (n.as_str(), d)),
    ) {
        assert_eq!(status(drift), "stable", "{name}");
        assert!(psi(drift) < 1e-4, "{name}: {}", psi(drift));
        // Every bin holds its training share, give or take one application
        // of the thousand: a probability within 1e-7 of a decile's edge may
        // fall either side of it, as tract's float kernels differ from one
        // processor to another (the parity test allows 1e-5).
        for bin in drift["bins"].as_array().unwrap() {
            let (expected, actual) = (
                bin["expected"].as_f64().unwrap(),
                bin["actual"].as_f64().unwrap(),
            );
            assert!((expected - actual).abs() <= 0.001 + 1e-6, "{name} {bin}");
        }
    }

    decide_all(app, &applications).await;
    let again = report(app, "").await;
    assert_eq!(again["decisions"], 2000);
    assert_eq!(
        again["by_source"]["cache"], 1000,
        "every application was a hit"
    );
    assert!(psi(&again["score"]) < 1e-4);
}

/// Only overdrawn checking accounts: that field acts, the others stay, and
/// the score moves towards default.
pub async fn a_shifted_population_moves_its_field_and_the_score(app: &TestApp) {
    let base = psi(&{
        decide_all(app, &training_applications()).await;
        report(app, "").await
    }["score"]);
    // Served by another service of its own, so that the window holds only
    // the shifted ones (a report covers whole minutes).
    let other = app.another().await;
    decide_all(&other, &shifted("checking_account", |_| json!("below_0"))).await;

    let shifted = report(&other, "").await;
    assert_eq!(
        shifted["decisions"], 1000,
        "the window holds only the shifted ones"
    );
    assert_eq!(
        statuses(&shifted),
        all_stable_but(&shifted, "checking_account", "act")
    );
    let below_0 = &shifted["features"]["checking_account"]["bins"][0];
    assert_eq!(
        (below_0["bin"].as_str(), below_0["actual"].as_f64()),
        (Some("below_0"), Some(1.0))
    );
    assert!(
        psi(&shifted["score"]) > base + 0.1,
        "the score moved: {}",
        shifted["score"]
    );
    assert!(
        shifted["approval_rate"].as_f64() < Some(0.3),
        "fewer approvals: {}",
        shifted["approval_rate"]
    );
}

/// Only applicants of 19 to 25: age acts, the others stay.
pub async fn a_young_population_moves_age(app: &TestApp) {
    decide_all(app, &shifted("age_years", |i| json!(19 + (i % 7)))).await;
    let young = report(app, "").await;
    assert_eq!(statuses(&young), all_stable_but(&young, "age_years", "act"));
}

/// Under 100 decisions every PSI is null and every status
/// `insufficient_data`; at 100 they are measured.
pub async fn under_a_hundred_decisions_there_is_no_psi(app: &TestApp) {
    let applications = training_applications();
    decide_all(app, &applications[..99]).await;
    let few = report(app, "").await;
    assert_eq!(few["decisions"], 99);
    assert_eq!(few["score"]["psi"], Value::Null);
    assert_eq!(few["score"]["status"], "insufficient_data");
    for (name, status) in statuses(&few) {
        assert_eq!(status, "insufficient_data", "{name}");
        assert_eq!(few["features"][&name]["psi"], Value::Null);
    }

    decide_all(app, &applications[99..100]).await;
    let enough = report(app, "").await;
    assert!(enough["score"]["psi"].is_number());
    assert!(
        statuses(&enough)
            .iter()
            .all(|(_, status)| status != "insufficient_data")
    );
}

/// The logged times of the decisions in the log, oldest first.
async fn logged_times(app: &TestApp) -> Vec<DateTime<Utc>> {
    let page: Value = app.get("/v1/decisions").await.json().await.unwrap();
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .map(|record| time(record["created_at"].as_str().unwrap()))
        .collect()
}

fn time(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

fn text(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// A report covers the whole minutes around its window: `since` from the
/// start of its minute, `until` to the end of its own, and says so. What it
/// counts is every decision logged in them.
pub async fn the_window_holds_what_was_logged_in_its_minutes(app: &TestApp) {
    for age in [30, 31, 32] {
        let response = app
            .post_decision(&example_with("age_years", json!(age)))
            .await;
        assert_eq!(response.status(), 200);
    }
    let times = logged_times(app).await;
    let minute = |at: DateTime<Utc>| domain::monitoring::minute_of(at);
    let end_of_minute = |at: DateTime<Utc>| {
        if minute(at) == at {
            at
        } else {
            minute(at) + TimeDelta::minutes(1)
        }
    };
    let counted = |since: DateTime<Utc>, until: DateTime<Utc>| {
        let (since, until) = (minute(since), end_of_minute(until));
        times
            .iter()
            .filter(|at| since <= **at && **at < until)
            .count()
    };
    let windows = [
        (times[1], Utc::now()),
        (times[0], times[2]),
        (times[1], times[1]),
        (times[1], times[1] + TimeDelta::milliseconds(1)),
        (minute(times[0]), minute(times[0])),
    ];
    for (since, until) in windows {
        let report = report(
            app,
            &format!("?since={}&until={}", text(since), text(until)),
        )
        .await;
        assert_eq!(
            report["window"],
            json!({
                "since": minute(since).to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
                "until": end_of_minute(until).to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            }),
            "{since} – {until}"
        );
        assert_eq!(
            report["decisions"],
            counted(since, until),
            "{since} – {until}"
        );
    }
    assert_eq!(
        report(
            app,
            "?since=2099-01-01T00:00:00Z&until=2099-01-02T00:00:00Z"
        )
        .await["decisions"],
        0
    );
    let default = report(app, "").await;
    assert_eq!(default["decisions"], 3);
    let window = &default["window"];
    let since = time(window["since"].as_str().unwrap());
    let until = time(window["until"].as_str().unwrap());
    assert!(
        (TimeDelta::hours(24)..=TimeDelta::hours(24) + TimeDelta::minutes(2))
            .contains(&(until - since)),
        "the default window is a day, in whole minutes: {window}"
    );
}

/// A window around one decision, to the millisecond, shows how many
/// decisions there were and how they went, but no bin's share: no report
/// describes fewer than 100 applicants (the probe isolated any applicant's
/// answers by halving such windows).
pub async fn a_narrow_window_shows_no_applicant(app: &TestApp) {
    let response = app
        .post_decision(&example_with("age_years", json!(44)))
        .await;
    assert_eq!(response.status(), 200);
    let at = logged_times(app).await[0];
    let query = format!(
        "?since={}&until={}",
        text(at),
        text(at + TimeDelta::milliseconds(1))
    );
    let narrow = report(app, &query).await;
    assert_eq!(narrow["decisions"], 1);
    assert_eq!(
        narrow["by_decision"]["approve"].as_u64().unwrap()
            + narrow["by_decision"]["decline"].as_u64().unwrap(),
        1
    );
    for (name, drift) in std::iter::once(("score", &narrow["score"])).chain(
        narrow["features"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(n, d)| (n.as_str(), d)),
    ) {
        assert_eq!(drift["psi"], Value::Null, "{name}");
        for bin in drift["bins"].as_array().unwrap() {
            assert_eq!(bin["actual"], Value::Null, "{name}: {bin}");
            assert!(bin["expected"].is_number(), "{name}: {bin}");
        }
    }
    // Nor does the dashboard show them.
    let page = app
        .get(&format!("/monitoring{query}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("shares not shown"), "{page}");
    assert!(
        !page.contains("window: 100.0%"),
        "one applicant's bins are drawn"
    );
}

pub async fn a_bad_window_is_422_naming_the_parameter(app: &TestApp) {
    for (query, fields) in [
        ("?since=yesterday", json!(["since"])),
        ("?until=1700000000", json!(["until"])),
        ("?since=2026-11-25&until=noon", json!(["since", "until"])),
        (
            "?since=2026-11-25T12:00:00Z&until=2026-11-25T11:00:00Z",
            json!(["since"]),
        ),
    ] {
        let problem = expect_problem(
            app.get(&format!("/v1/monitoring{query}")).await,
            422,
            "validation",
        )
        .await;
        let named: Vec<&Value> = problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| &e["field"])
            .collect();
        assert_eq!(json!(named), fields, "{query}");
    }
}

/// Windows at the ends of what RFC 3339 can say, found by schemathesis: the
/// page once failed on any after 2262 (chrono's nanosecond count runs out).
pub async fn a_window_in_a_far_year_is_an_empty_report(app: &TestApp) {
    for query in [
        "?since=2263-01-01T00:00:00Z&until=2263-01-01T00:00:00Z",
        "?since=9999-12-31T23:59:30Z&until=9999-12-31T23:59:59.999Z",
        "?since=0001-01-01T00:00:00Z&until=0001-01-01T01:00:00Z",
    ] {
        let report = report(app, query).await;
        assert_eq!(report["decisions"], 0, "{query}");
        let page = app.get(&format!("/monitoring{query}")).await;
        assert_eq!(page.status(), 200, "{query}");
    }
}

/// The dashboard draws the report: its figures, both charts and a row per
/// field with its status; a bad window is a 422 problem.
pub async fn the_dashboard_draws_the_report(app: &TestApp) {
    decide_all(app, &shifted("checking_account", |_| json!("below_0"))).await;
    let response = app.get("/monitoring").await;
    assert_eq!(response.status(), 200);
    assert!(
        crate::harness::answers::header(&response, "content-type")
            .unwrap()
            .starts_with("text/html")
    );
    let html = response.text().await.unwrap();
    assert!(
        html.contains("<div>1000<span>decisions</span></div>"),
        "the count is shown"
    );
    assert!(html.contains("id=\"decisions-chart\"") && html.contains("id=\"score-chart\""));
    assert_eq!(
        html.matches("<tr data-field=").count(),
        19,
        "the score and 18 fields"
    );
    assert!(html.contains("<tr data-field=\"checking_account\" data-status=\"act\">"));
    assert!(html.contains("<tr data-field=\"housing\" data-status=\"stable\">"));
    assert!(!html.contains("<script"), "no script");
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "nothing from elsewhere"
    );

    // Like every error of the contract, a bad window is problem+json.
    let problem = expect_problem(app.get("/monitoring?since=soon").await, 422, "validation").await;
    assert_eq!(problem["errors"][0]["field"], "since");
}

/// `/metrics` has a PSI gauge for the score and for every field.
pub async fn metrics_export_the_psi_of_the_last_day(app: &TestApp) {
    let before = app.get("/metrics").await.text().await.unwrap();
    assert!(before.contains("credit_decisions_population_stability_index{quantity=\"score\"} NaN"));
    decide_all(app, &shifted("checking_account", |_| json!("below_0"))).await;
    let metrics = app.get("/metrics").await.text().await.unwrap();
    let gauge = |quantity: &str| -> f64 {
        let prefix =
            format!("credit_decisions_population_stability_index{{quantity=\"{quantity}\"}} ");
        let line = metrics
            .lines()
            .find(|line| line.starts_with(&prefix))
            .unwrap_or_else(|| panic!("{quantity}"));
        line[prefix.len()..].parse().unwrap()
    };
    assert!(gauge("checking_account") >= 0.25);
    assert!(gauge("housing") < 0.10);
    assert!(gauge("score") > 0.0);
}

on_both_backends!(
    the_training_population_is_stable_everywhere,
    a_shifted_population_moves_its_field_and_the_score,
    a_young_population_moves_age,
    under_a_hundred_decisions_there_is_no_psi,
    the_window_holds_what_was_logged_in_its_minutes,
    a_narrow_window_shows_no_applicant,
    a_bad_window_is_422_naming_the_parameter,
    a_window_in_a_far_year_is_an_empty_report,
    the_dashboard_draws_the_report,
    metrics_export_the_psi_of_the_last_day,
);

/// Reports are computed two at a time; the others are refused at once with
/// 429 and `Retry-After` (never queued), a scrape of the metrics does not
/// wait for them, and decisions go on as before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_past_the_limit_get_429_while_decisions_go_on() {
    use std::sync::Arc;
    use std::sync::atomic::Ordering;
    let held = Arc::new(HeldReports::new(Arc::new(
        memory::MemoryDecisionStore::new(),
    )));
    let app = Arc::new(TestApp::spawn(TestBackends::memory().with_store(held.clone())).await);
    let running: Vec<_> = ["/v1/monitoring", "/monitoring"]
        .into_iter()
        .map(|path| {
            let app = app.clone();
            tokio::spawn(async move { app.get(path).await.status().as_u16() })
        })
        .collect();
    eventually(
        "two reports are computed",
        Duration::from_secs(5),
        || async { held.waiting.load(Ordering::SeqCst) == 2 },
    )
    .await;

    for path in [
        "/v1/monitoring",
        "/monitoring",
        "/v1/monitoring?since=2026-11-25T00:00:00Z",
    ] {
        let response = app.get(path).await;
        assert_eq!(
            crate::harness::answers::header(&response, "retry-after").as_deref(),
            Some("1"),
            "{path}"
        );
        expect_problem(response, 429, "too-many-reports").await;
    }
    assert_eq!(app.get("/metrics").await.status(), 200);
    for age in 20..40 {
        let response = app
            .post_decision(&example_with("age_years", json!(age)))
            .await;
        assert_eq!(response.status(), 200);
    }
    assert_eq!(
        held.waiting.load(Ordering::SeqCst),
        2,
        "nothing queued behind them"
    );

    held.gate.add_permits(2);
    for report in running {
        assert_eq!(report.await.unwrap(), 200);
    }
    held.gate.add_permits(1);
    assert_eq!(app.get("/v1/monitoring").await.status(), 200);
}
