//! Champion and challenger: the versions a service holds, the routing over
//! them (promote, shadow, split, roll back), its history and `If-Match`,
//! the comparison and the monitoring of each version, on the shipped
//! models directory (the built-in model and the scorecard).

use std::collections::BTreeMap;

use domain::routing::share_point;
use domain::{Application, CanonicalRequest};
use pretty_assertions::assert_eq;
use reqwest::{Method, Response};
use serde_json::{Value, json};

use crate::harness::answers::expect_problem;
use crate::harness::data::golden_rows;
use crate::harness::faults::RacedRoutingStore;
use crate::harness::test_app::SCORECARD;
use crate::harness::{TestApp, TestBackends};

/// The version built into the binary.
pub const BUILT_IN: &str = "german-credit-2026.11.0";

fn with_models(backends: TestBackends) -> TestBackends {
    backends.with_shipped_models()
}

on_both_backends!(
    prepare = super::with_models;
    the_models_are_the_built_in_routing_and_both_shipped_versions,
    a_promoted_version_decides_and_a_rollback_restores_the_champion,
    a_shadow_is_logged_beside_the_champion_on_misses_and_hits_and_changes_no_answer,
    a_split_challenger_decides_its_share_chosen_by_each_applications_hash,
    the_comparison_equals_a_count_over_the_records,
    monitoring_reports_any_version_against_its_own_baseline,
    a_bad_routing_is_refused_naming_every_member_and_changes_nothing,
    a_stale_if_match_changes_nothing,
    the_history_pages_newest_first_and_names_no_key,
);

/// `PUT /v1/models/routing` with `body`, and `If-Match` when given.
pub async fn put_routing(app: &TestApp, body: &Value, if_match: Option<&str>) -> Response {
    let mut request = app.build(Method::PUT, "/v1/models/routing").json(body);
    if let Some(generation) = if_match {
        request = request.header("If-Match", generation);
    }
    request.send().await.expect("the app answers")
}

/// Sets the routing; the Models answer.
pub async fn route(app: &TestApp, body: Value) -> Value {
    let response = put_routing(app, &body, None).await;
    assert_eq!(response.status(), 200, "{body}");
    response.json().await.unwrap()
}

/// A routing with the built-in champion and the scorecard as challenger.
pub fn challenged(mode: &str, share: f64) -> Value {
    json!({
        "champion": BUILT_IN,
        "challenger": {"version": SCORECARD, "mode": mode, "share": share},
        "reason": format!("the scorecard in {mode} at {share}"),
    })
}

pub fn champion_alone(version: &str) -> Value {
    json!({"champion": version, "challenger": null, "reason": format!("{version} alone")})
}

async fn json_of(response: Response) -> Value {
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn record_of(app: &TestApp, decision: &Value) -> Value {
    json_of(
        app.get_decision(decision["decision_id"].as_str().unwrap())
            .await,
    )
    .await
}

/// The `n` first golden applications.
fn applications(n: usize) -> Vec<Value> {
    golden_rows()
        .iter()
        .take(n)
        .map(|row| row.application.clone())
        .collect()
}

fn share_point_of(application: &Value) -> f64 {
    let parsed = Application::from_json(application.as_object().unwrap()).unwrap();
    share_point(&CanonicalRequest::of(&parsed))
}

async fn the_models_are_the_built_in_routing_and_both_shipped_versions(app: &TestApp) {
    let response = app.get("/v1/models").await;
    assert_eq!(
        crate::harness::answers::header(&response, "ETag").as_deref(),
        Some("\"0\"")
    );
    let models = json_of(response).await;
    assert_eq!(
        models["routing"],
        json!({"generation": 0, "champion": BUILT_IN, "challenger": null, "changed_at": null, "reason": null})
    );
    let versions: Vec<(&str, &str)> = models["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["version"].as_str().unwrap(),
                v["source"].as_str().unwrap(),
            )
        })
        .collect();
    // The directory's copy of the built-in model is the same version.
    assert_eq!(versions, [(BUILT_IN, "built-in"), (SCORECARD, "directory")]);
    assert_eq!(models["versions"][0]["threshold"], json!(0.2326));
    assert_eq!(models["versions"][1]["cv_auc"], json!(0.7752));
    assert_eq!(models["refused"], json!([]));
    let card = json_of(app.get(&format!("/v1/models/{SCORECARD}")).await).await;
    assert_eq!(card["version"], SCORECARD);
    expect_problem(
        app.get("/v1/models/no-such-version").await,
        404,
        "not-found",
    )
    .await;
}

async fn a_promoted_version_decides_and_a_rollback_restores_the_champion(app: &TestApp) {
    let promoted = route(app, champion_alone(SCORECARD)).await;
    assert_eq!(promoted["routing"]["generation"], 1);
    assert_eq!(promoted["routing"]["champion"], SCORECARD);
    let decision = app.post_decision_json(&applications(1)[0]).await;
    assert_eq!(decision["model_version"], SCORECARD);
    let record = record_of(app, &decision).await;
    assert_eq!(
        (record["arm"].as_str(), &record["shadow"]),
        (Some("champion"), &Value::Null)
    );
    assert_eq!(
        json_of(app.get("/v1/model").await).await["version"],
        SCORECARD
    );
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("credit_decisions_routing_generation 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains(&format!(
            "credit_decisions_decisions_by_version_total{{arm=\"champion\",model_version=\"{SCORECARD}\"}} 1"
        )),
        "{metrics}"
    );

    let rolled_back = route(app, champion_alone(BUILT_IN)).await;
    assert_eq!(rolled_back["routing"]["generation"], 2);
    let decision = app.post_decision_json(&applications(1)[0]).await;
    assert_eq!(decision["model_version"], BUILT_IN);
    assert_eq!(
        json_of(app.get("/v1/model").await).await["version"],
        BUILT_IN
    );
}

async fn a_shadow_is_logged_beside_the_champion_on_misses_and_hits_and_changes_no_answer(
    app: &TestApp,
) {
    let [first, second]: [Value; 2] = applications(2).try_into().unwrap();
    // The answer without a challenger, then with a shadow at share 1: the
    // same bytes but the decision id.
    let alone = app.post_decision(&first).await.text().await.unwrap();
    route(app, challenged("shadow", 1.0)).await;
    let shadowed = app.post_decision(&first).await.text().await.unwrap();
    let without_id = |text: &str| {
        let id = serde_json::from_str::<Value>(text).unwrap()["decision_id"]
            .as_str()
            .unwrap()
            .to_owned();
        text.replace(&id, "<id>")
    };
    assert_eq!(without_id(&shadowed), without_id(&alone));

    // A hit of the champion, a miss of the shadow: both logged together.
    let hit = record_of(app, &serde_json::from_str(&shadowed).unwrap()).await;
    assert_eq!(
        (hit["source"].as_str(), hit["arm"].as_str()),
        (Some("cache"), Some("champion"))
    );
    let shadow = &hit["shadow"];
    assert_eq!(shadow["model_version"], SCORECARD);
    let threshold = 0.1436;
    let probability = shadow["probability_of_default"].as_f64().unwrap();
    let expected = if probability < threshold {
        "approve"
    } else {
        "decline"
    };
    assert_eq!(shadow["decision"], expected);
    assert_eq!(
        shadow["reasons"].as_array().unwrap().is_empty(),
        expected == "approve"
    );

    // A miss of both, then a hit of both: the shadow's verdict each time,
    // the same.
    let missed = record_of(app, &app.post_decision_json(&second).await).await;
    let hit = record_of(app, &app.post_decision_json(&second).await).await;
    assert_eq!(missed["source"], "model");
    assert_eq!(hit["source"], "cache");
    assert_eq!(missed["shadow"], hit["shadow"]);
    assert_eq!(missed["shadow"]["model_version"], SCORECARD);
}

async fn a_split_challenger_decides_its_share_chosen_by_each_applications_hash(app: &TestApp) {
    route(app, challenged("split", 0.5)).await;
    let scorecard_codes: Vec<String> = json_of(app.get(&format!("/v1/models/{SCORECARD}")).await)
        .await["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|feature| feature["reason"]["code"].as_str().map(str::to_owned))
        .collect();
    let mut arms = BTreeMap::new();
    for application in applications(40) {
        let in_share = share_point_of(&application) < 0.5;
        for _ in 0..2 {
            let decision = app.post_decision_json(&application).await;
            let (version, arm) = if in_share {
                (SCORECARD, "challenger")
            } else {
                (BUILT_IN, "champion")
            };
            assert_eq!(decision["model_version"], version);
            let record = record_of(app, &decision).await;
            assert_eq!(
                (record["arm"].as_str(), &record["shadow"]),
                (Some(arm), &Value::Null)
            );
            if in_share {
                for reason in decision["reasons"].as_array().unwrap() {
                    assert!(scorecard_codes.contains(&reason["code"].as_str().unwrap().to_owned()));
                }
            }
            *arms.entry(arm).or_insert(0) += 1;
        }
    }
    assert!(
        arms.len() == 2,
        "both arms decide some of 40 applications: {arms:?}"
    );
}

async fn the_comparison_equals_a_count_over_the_records(app: &TestApp) {
    route(app, challenged("shadow", 1.0)).await;
    let batch = app.post_batch(&applications(120)).await;
    assert_eq!(batch.status(), 200);
    let comparison = json_of(app.get("/v1/models/comparison").await).await;

    let records = json_of(app.get("/v1/decisions?limit=1000").await).await;
    let records = records["items"].as_array().unwrap();
    assert_eq!(records.len(), 120);
    let approved = |verdict: &Value| verdict["decision"] == "approve";
    let count = |champion: bool, challenger: bool| {
        records
            .iter()
            .filter(|r| {
                approved(&r["response"]) == champion && approved(&r["shadow"]) == challenger
            })
            .count()
    };
    assert_eq!(
        comparison["swap_set"],
        json!({
            "both_approve": count(true, true),
            "swap_in": count(false, true),
            "swap_out": count(true, false),
            "both_decline": count(false, false),
        })
    );
    let agreeing = (count(true, true) + count(false, false)) as f64 / 120.0;
    assert!((comparison["agreement"].as_f64().unwrap() - agreeing).abs() < 1e-12);
    for (arm, verdict_of, version) in [
        ("champion", "response", BUILT_IN),
        ("challenger", "shadow", SCORECARD),
    ] {
        let figures = &comparison[arm];
        assert_eq!(
            (figures["version"].as_str(), figures["decisions"].as_u64()),
            (Some(version), Some(120))
        );
        let approvals = records.iter().filter(|r| approved(&r[verdict_of])).count();
        assert!(
            (figures["approval_rate"].as_f64().unwrap() - approvals as f64 / 120.0).abs() < 1e-12
        );
        let mean = records
            .iter()
            .map(|r| r[verdict_of]["probability_of_default"].as_f64().unwrap())
            .sum::<f64>()
            / 120.0;
        // Summed in millionths.
        assert!((figures["mean_probability_of_default"].as_f64().unwrap() - mean).abs() < 1e-6);
    }
    assert_eq!(comparison["challenger"]["mode"], "shadow");

    // A split: the arms decide different applications, so no swap set.
    route(app, challenged("split", 1.0)).await;
    app.post_batch(&applications(3)).await;
    let split = json_of(app.get("/v1/models/comparison").await).await;
    assert_eq!(split["challenger"]["mode"], "split");
    assert_eq!(split["challenger"]["decisions"], 3);
    assert_eq!(
        (&split["swap_set"], &split["agreement"]),
        (&Value::Null, &Value::Null)
    );
}

async fn monitoring_reports_any_version_against_its_own_baseline(app: &TestApp) {
    route(app, challenged("shadow", 1.0)).await;
    assert_eq!(app.post_batch(&applications(150)).await.status(), 200);
    let champion = json_of(app.get("/v1/monitoring").await).await;
    let shadow = json_of(
        app.get(&format!("/v1/monitoring?model_version={SCORECARD}"))
            .await,
    )
    .await;
    // The totals are the decisions served; the bins, each version's own.
    assert_eq!(
        (champion["decisions"].as_u64(), shadow["decisions"].as_u64()),
        (Some(150), Some(150))
    );
    let card = json_of(app.get(&format!("/v1/models/{SCORECARD}")).await).await;
    let labels = |report: &Value| -> Vec<Value> {
        report["score"]["bins"]
            .as_array()
            .unwrap()
            .iter()
            .map(|bin| bin["bin"].clone())
            .collect()
    };
    assert_ne!(labels(&champion), labels(&shadow));
    let card_labels: Vec<Value> = card["baseline"]["score"]["bins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|bin| bin["bin"].clone())
        .collect();
    assert_eq!(labels(&shadow), card_labels);
    let actual_sum: f64 = shadow["score"]["bins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|bin| bin["actual"].as_f64().unwrap())
        .sum();
    assert!(
        (actual_sum - 1.0).abs() < 1e-9,
        "the shadow's 150 verdicts fill its bins"
    );
    let unknown = expect_problem(
        app.get("/v1/monitoring?model_version=nope").await,
        422,
        "validation",
    )
    .await;
    assert_eq!(unknown["errors"][0]["field"], "model_version");
}

async fn a_bad_routing_is_refused_naming_every_member_and_changes_nothing(app: &TestApp) {
    let bad = json!({
        "champion": "no-such-version",
        "challenger": {"version": "another-unknown", "mode": "canary", "share": 1.5},
        "reason": "",
        "by": "someone",
    });
    let problem = expect_problem(put_routing(app, &bad, None).await, 422, "validation").await;
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|error| error["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "champion",
            "challenger.version",
            "challenger.mode",
            "challenger.share",
            "reason",
            "by"
        ]
    );
    let same = json!({"champion": BUILT_IN, "challenger": {"version": BUILT_IN, "mode": "split", "share": 0.5},
                      "reason": "same"});
    let problem = expect_problem(put_routing(app, &same, None).await, 422, "validation").await;
    assert_eq!(problem["errors"][0]["field"], "challenger.version");
    for share in [json!(0), json!(-0.1), json!("half")] {
        let mut body = challenged("shadow", 0.5);
        body["challenger"]["share"] = share.clone();
        let problem = expect_problem(put_routing(app, &body, None).await, 422, "validation").await;
        assert_eq!(problem["errors"][0]["field"], "challenger.share", "{share}");
    }
    let long = json!({"champion": BUILT_IN, "challenger": null, "reason": "x".repeat(501)});
    expect_problem(put_routing(app, &long, None).await, 422, "validation").await;
    let not_json = app
        .build(Method::PUT, "/v1/models/routing")
        .header("Content-Type", "application/json")
        .body("{champion")
        .send()
        .await
        .unwrap();
    expect_problem(not_json, 400, "malformed-body").await;

    let models = json_of(app.get("/v1/models").await).await;
    assert_eq!(models["routing"]["generation"], 0, "nothing changed");
    assert_eq!(
        json_of(app.get("/v1/models/changes").await).await["items"],
        json!([])
    );
}

async fn a_stale_if_match_changes_nothing(app: &TestApp) {
    let first = put_routing(app, &challenged("shadow", 0.25), Some("\"0\"")).await;
    assert_eq!(first.status(), 200);
    assert_eq!(
        crate::harness::answers::header(&first, "ETag").as_deref(),
        Some("\"1\"")
    );
    // Another operator, who read generation 0 too.
    let stale = put_routing(app, &champion_alone(SCORECARD), Some("\"0\"")).await;
    expect_problem(stale, 412, "stale-routing").await;
    let models = json_of(app.get("/v1/models").await).await;
    assert_eq!(models["routing"]["generation"], 1);
    assert_eq!(models["routing"]["champion"], BUILT_IN);
    let fresh = put_routing(app, &champion_alone(SCORECARD), Some("\"1\"")).await;
    assert_eq!(fresh.status(), 200);
    expect_problem(
        put_routing(app, &champion_alone(BUILT_IN), Some("\"two\"")).await,
        412,
        "stale-routing",
    )
    .await;
    // A weak tag names its generation too; `*` matches any.
    let weak = put_routing(app, &champion_alone(BUILT_IN), Some("W/\"2\"")).await;
    assert_eq!(weak.status(), 200);
    expect_problem(
        put_routing(app, &champion_alone(SCORECARD), Some("W/\"2\"")).await,
        412,
        "stale-routing",
    )
    .await;
    let any = put_routing(app, &champion_alone(SCORECARD), Some("*")).await;
    assert_eq!(
        crate::harness::answers::header(&any, "ETag").as_deref(),
        Some("\"4\"")
    );
}

async fn the_history_pages_newest_first_and_names_no_key(app: &TestApp) {
    route(app, challenged("shadow", 0.1)).await;
    route(app, challenged("split", 0.2)).await;
    route(app, champion_alone(SCORECARD)).await;
    let page = json_of(app.get("/v1/models/changes?limit=2").await).await;
    let generations = |page: &Value| -> Vec<u64> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["generation"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(generations(&page), [3, 2]);
    assert_eq!(page["next"], 2);
    assert_eq!(
        page["items"][1]["challenger"],
        json!({"version": SCORECARD, "mode": "split", "share": 0.2})
    );
    assert_eq!(page["items"][0]["by"], "anonymous");
    assert_eq!(page["items"][0]["reason"], format!("{SCORECARD} alone"));
    let rest = json_of(app.get("/v1/models/changes?limit=2&before=2").await).await;
    assert_eq!((generations(&rest), &rest["next"]), (vec![1], &Value::Null));
    // The largest generation a cursor can name, and one past it.
    let last = json_of(
        app.get("/v1/models/changes?before=9223372036854775807")
            .await,
    )
    .await;
    assert_eq!(generations(&last), [3, 2, 1]);
    for bad in [
        "limit=0",
        "limit=1001",
        "before=0",
        "before=x",
        "before=9223372036854775808",
    ] {
        expect_problem(
            app.get(&format!("/v1/models/changes?{bad}")).await,
            422,
            "validation",
        )
        .await;
    }
}

#[tokio::test]
async fn admin_operations_need_an_admin_key_and_name_it_by_its_digest() {
    let app = TestApp::spawn(
        TestBackends::memory()
            .with_shipped_models()
            .with_api_keys(&["decide-key"])
            .with_admin_keys(&["admin-key"]),
    )
    .await;
    let put = |key: Option<&'static str>| {
        let mut request = app
            .build(Method::PUT, "/v1/models/routing")
            .json(&champion_alone(SCORECARD));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        request.send()
    };
    expect_problem(put(None).await.unwrap(), 401, "unauthorized").await;
    expect_problem(put(Some("wrong")).await.unwrap(), 401, "unauthorized").await;
    expect_problem(put(Some("decide-key")).await.unwrap(), 403, "forbidden").await;
    let reload = app
        .build(Method::POST, "/v1/models/reload")
        .bearer_auth("decide-key")
        .send()
        .await
        .unwrap();
    expect_problem(reload, 403, "forbidden").await;
    let history = |key: &'static str| {
        app.build(Method::GET, "/v1/models/changes")
            .bearer_auth(key)
            .send()
    };
    assert_eq!(
        json_of(history("decide-key").await.unwrap()).await["items"],
        json!([])
    );

    assert_eq!(put(Some("admin-key")).await.unwrap().status(), 200);
    let changes = json_of(history("admin-key").await.unwrap()).await;
    // printf admin-key | sha256sum: the first 8 hex digits.
    let digest = domain::changed_by(Some(b"admin-key"));
    assert_eq!(changes["items"][0]["by"], digest);
    assert!(!changes.to_string().contains("admin-key"));
    // The admin key decides too.
    let decision = app
        .build(Method::POST, "/v1/decisions")
        .bearer_auth("admin-key")
        .json(&applications(1)[0])
        .send()
        .await
        .unwrap();
    assert_eq!(json_of(decision).await["model_version"], SCORECARD);
}

#[tokio::test]
async fn with_api_keys_and_no_admin_keys_no_one_changes_the_routing() {
    let app = TestApp::spawn(
        TestBackends::memory()
            .with_shipped_models()
            .with_api_keys(&["decide-key"]),
    )
    .await;
    let response = app
        .build(Method::PUT, "/v1/models/routing")
        .bearer_auth("decide-key")
        .json(&champion_alone(SCORECARD))
        .send()
        .await
        .unwrap();
    expect_problem(response, 403, "forbidden").await;
}

mod directory;
mod replicas;

/// A change without `If-Match` is made after whatever is newest, and tried
/// again when another replica's change gets in between: up to three tries,
/// then it is refused as stale rather than tried forever.
#[tokio::test]
async fn a_change_without_if_match_is_tried_again_against_racing_changes_three_times() {
    for (races, status, generation) in [(2, 200, 3), (3, 412, 3)] {
        let mut backends = TestBackends::memory().with_shipped_models();
        backends.routing = std::sync::Arc::new(RacedRoutingStore::new(races));
        let app = TestApp::spawn(backends).await;
        let response = put_routing(&app, &champion_alone(SCORECARD), None).await;
        assert_eq!(response.status(), status, "{races} races");
        let changes = json_of(app.get("/v1/models/changes").await).await;
        let by: Vec<&str> = changes["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|change| change["by"].as_str().unwrap())
            .collect();
        assert_eq!(by.len(), generation, "{races} races: {changes}");
        assert_eq!(by.iter().filter(|&&by| by == "racer").count(), races);
    }
}
