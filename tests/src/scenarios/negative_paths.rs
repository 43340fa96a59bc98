//! Every error of the contract's table that the flow can meet, over HTTP:
//! the problem+json body, and proof that nothing reached the cache, the model
//! or the log.

use pretty_assertions::assert_eq;
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::TestApp;
use crate::harness::answers::{expect_problem, header};
use crate::harness::data::{example_application, example_with};

/// Posts `body`, expects a 422 listing exactly `errors`, and that nothing
/// reached a port.
async fn expect_invalid(body: Value, errors: Value) {
    let app = TestApp::on_memory().await;
    let response = app.post_decision(&body).await;
    let problem = expect_problem(response, 422, "validation").await;
    assert_eq!(problem["title"], "Invalid application");
    assert_eq!(problem["errors"], errors, "errors for {body}");
    app.assert_nothing_reached_the_ports();
}

fn one_error(field: &str, message: &str) -> Value {
    json!([{"field": field, "message": message}])
}

#[tokio::test]
async fn a_missing_field_is_named() {
    let mut body = example_application();
    body.as_object_mut().unwrap().remove("age_years");
    expect_invalid(body, one_error("age_years", "is required")).await;
}

#[tokio::test]
async fn an_unknown_field_is_refused() {
    let body = example_with("favourite_colour", json!("green"));
    expect_invalid(
        body,
        one_error("favourite_colour", "is not a field of an application"),
    )
    .await;
}

#[tokio::test]
async fn protected_attributes_are_refused() {
    let body = example_with("foreign_worker", json!("yes"));
    expect_invalid(
        body,
        one_error(
            "foreign_worker",
            "is not accepted: a protected attribute is never used in a decision",
        ),
    )
    .await;
}

#[tokio::test]
async fn every_integer_field_is_bounded_and_typed() {
    let fields = [
        ("duration_months", 1, 120),
        ("installment_rate", 1, 4),
        ("residence_since", 1, 4),
        ("age_years", 18, 120),
        ("existing_credits", 1, 10),
        ("dependents", 1, 10),
    ];
    for (field, min, max) in fields {
        let range = format!("must be between {min} and {max}");
        expect_invalid(
            example_with(field, json!(min - 1)),
            one_error(field, &range),
        )
        .await;
        expect_invalid(
            example_with(field, json!(max + 1)),
            one_error(field, &range),
        )
        .await;
        for wrong_type in [json!(2.5), json!("3"), json!(null), json!(true)] {
            expect_invalid(
                example_with(field, wrong_type),
                one_error(field, "must be an integer"),
            )
            .await;
        }
    }
}

#[tokio::test]
async fn the_credit_amount_is_positive_capped_and_a_number() {
    let range = "must be greater than 0 and at most 1000000";
    for out_of_range in [json!(0), json!(-1), json!(1_000_000.5)] {
        expect_invalid(
            example_with("credit_amount", out_of_range),
            one_error("credit_amount", range),
        )
        .await;
    }
    expect_invalid(
        example_with("credit_amount", json!("1169")),
        one_error("credit_amount", "must be a number"),
    )
    .await;
}

#[tokio::test]
async fn every_enum_field_lists_its_values() {
    let fields = [
        ("checking_account", "below_0, 0_to_200, 200_or_more, none"),
        (
            "credit_history",
            "no_credits_taken, all_paid_this_bank, existing_paid_duly, past_delays, critical_account",
        ),
        (
            "purpose",
            "car_new, car_used, furniture_equipment, radio_television, domestic_appliances, repairs, education, retraining, business, others",
        ),
        (
            "savings",
            "below_100, 100_to_500, 500_to_1000, 1000_or_more, unknown",
        ),
        (
            "employment_since",
            "unemployed, below_1_year, 1_to_4_years, 4_to_7_years, 7_years_or_more",
        ),
        ("other_debtors", "none, co_applicant, guarantor"),
        (
            "property",
            "real_estate, savings_or_insurance, car_or_other, none",
        ),
        ("other_installment_plans", "bank, stores, none"),
        ("housing", "rent, own, for_free"),
        (
            "job",
            "unskilled_non_resident, unskilled_resident, skilled, highly_qualified",
        ),
    ];
    for (field, values) in fields {
        let message = format!("unknown value 'lots'; expected one of {values}");
        expect_invalid(
            example_with(field, json!("lots")),
            one_error(field, &message),
        )
        .await;
        expect_invalid(
            example_with(field, json!(1)),
            one_error(field, "must be a string"),
        )
        .await;
    }
}

#[tokio::test]
async fn telephone_is_a_boolean() {
    expect_invalid(
        example_with("telephone", json!("yes")),
        one_error("telephone", "must be a boolean"),
    )
    .await;
}

#[tokio::test]
async fn every_failing_field_is_listed_at_once() {
    let mut body = example_with("age_years", json!(12));
    body["savings"] = json!("lots");
    body.as_object_mut().unwrap().remove("job");
    let app = TestApp::on_memory().await;
    let problem = expect_problem(app.post_decision(&body).await, 422, "validation").await;
    assert_eq!(problem["detail"], "3 fields are invalid");
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|error| error["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, vec!["savings", "age_years", "job"]);
    app.assert_nothing_reached_the_ports();
}

/// Posts raw bytes and expects a 400.
async fn expect_malformed(body: &[u8], detail: &str) {
    let app = TestApp::on_memory().await;
    let response = app
        .post_raw("/v1/decisions", Some("application/json"), body.to_vec())
        .await;
    let problem = expect_problem(response, 400, "malformed-body").await;
    let actual = problem["detail"].as_str().unwrap();
    assert!(
        actual.starts_with(detail),
        "detail {actual:?} for {:?}",
        String::from_utf8_lossy(body)
    );
    app.assert_nothing_reached_the_ports();
}

#[tokio::test]
async fn an_empty_body_is_malformed() {
    expect_malformed(b"", "the body is empty; expected a JSON object").await;
}

#[tokio::test]
async fn a_json_array_is_not_an_application() {
    let body = json!([example_application()]).to_string();
    expect_malformed(
        body.as_bytes(),
        "the body is a JSON array; expected a JSON object",
    )
    .await;
}

/// A body that is no object is malformed, whatever the strict reading would
/// also refuse inside it (a repeated key, too many items): never a 422
/// naming a field of something that is not an application.
#[tokio::test]
async fn an_array_is_malformed_even_when_what_it_holds_is_refused() {
    expect_malformed(
        br#"[{"job": "skilled", "job": "unskilled"}]"#,
        "the body is not a JSON object",
    )
    .await;
    let too_many = format!("[{}]", vec!["1"; 1_001].join(","));
    expect_malformed(too_many.as_bytes(), "the body is not a JSON object").await;
}

#[tokio::test]
async fn other_json_values_are_not_applications() {
    expect_malformed(b"\"hello\"", "the body is a JSON string").await;
    expect_malformed(b"null", "the body is a JSON null").await;
}

#[tokio::test]
async fn text_that_is_not_json_is_malformed() {
    expect_malformed(b"{\"age_years\": ", "the body is not JSON").await;
    expect_malformed(b"age_years=67", "the body is not JSON").await;
    expect_malformed(&[0xff, 0xfe, 0x00], "the body is not JSON").await;
}

#[tokio::test]
async fn a_body_over_64_kib_is_too_large() {
    let app = TestApp::on_memory().await;
    // Valid JSON padded with whitespace: refused for its size alone.
    let mut body = example_application().to_string().into_bytes();
    body.splice(1..1, std::iter::repeat_n(b' ', 64 * 1024));
    let response = app
        .post_raw("/v1/decisions", Some("application/json"), body)
        .await;
    let problem = expect_problem(response, 413, "payload-too-large").await;
    assert_eq!(problem["detail"], "the body is larger than 65536 bytes");
    app.assert_nothing_reached_the_ports();
}

#[tokio::test]
async fn a_body_of_exactly_64_kib_is_accepted() {
    let app = TestApp::on_memory().await;
    let mut body = example_application().to_string().into_bytes();
    let padding = 64 * 1024 - body.len();
    body.splice(1..1, std::iter::repeat_n(b' ', padding));
    assert_eq!(body.len(), 64 * 1024);
    let response = app
        .post_raw("/v1/decisions", Some("application/json"), body)
        .await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn only_json_is_accepted() {
    let app = TestApp::on_memory().await;
    let body = example_application().to_string().into_bytes();
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        let response = app
            .post_raw("/v1/decisions", content_type, body.clone())
            .await;
        expect_problem(response, 415, "unsupported-media-type").await;
    }
    let with_charset = app
        .post_raw(
            "/v1/decisions",
            Some("application/json; charset=utf-8"),
            body,
        )
        .await;
    assert_eq!(with_charset.status(), 200);
    assert_eq!(
        app.scorer.calls().len(),
        1,
        "only the JSON request was scored"
    );
}

#[tokio::test]
async fn the_content_type_is_checked_before_the_body() {
    let app = TestApp::on_memory().await;
    let response = app
        .post_raw("/v1/decisions", Some("text/plain"), b"[]".to_vec())
        .await;
    expect_problem(response, 415, "unsupported-media-type").await;
    app.assert_nothing_reached_the_ports();
}

#[tokio::test]
async fn a_wrong_method_is_405_with_allow() {
    let app = TestApp::on_memory().await;
    let cases = [
        (Method::PUT, "/v1/decisions", "GET, POST"),
        (
            Method::DELETE,
            "/v1/decisions/01a20cbf-a936-7298-8e60-e112755cf3ae",
            "GET",
        ),
        (Method::POST, "/v1/model", "GET"),
        (Method::GET, "/v1/decisions/batch", "POST"),
        (Method::POST, "/health/ready", "GET"),
    ];
    for (method, path, allowed) in cases {
        let response = app.request(method.clone(), path).await;
        assert_eq!(
            header(&response, "allow").as_deref(),
            Some(allowed),
            "{method} {path}"
        );
        expect_problem(response, 405, "method-not-allowed").await;
    }
    app.assert_nothing_reached_the_ports();
}

#[tokio::test]
async fn an_unknown_decision_id_is_404() {
    let app = TestApp::on_memory().await;
    let unknown = uuid::Uuid::now_v7().to_string();
    let problem = expect_problem(app.get_decision(&unknown).await, 404, "not-found").await;
    assert_eq!(
        problem["detail"],
        format!("no decision has the id {unknown}")
    );
}

#[tokio::test]
async fn a_malformed_decision_id_is_404() {
    let app = TestApp::on_memory().await;
    for malformed in ["42", "not-a-uuid", "01a20cbf-a936-7298-8e60"] {
        expect_problem(app.get_decision(malformed).await, 404, "not-found").await;
    }
}

#[tokio::test]
async fn an_unknown_path_is_404() {
    let app = TestApp::on_memory().await;
    expect_problem(app.get("/v2/decisions").await, 404, "not-found").await;
    expect_problem(app.post_decision_to("/v1/decision").await, 404, "not-found").await;
    app.assert_nothing_reached_the_ports();
}

impl TestApp {
    async fn post_decision_to(&self, path: &str) -> reqwest::Response {
        self.post_json(path, &example_application()).await
    }
}

mod unavailable {
    use std::sync::Arc;

    use super::*;
    use crate::harness::TestBackends;
    use crate::harness::faults::{BrokenScorer, StoreOutage};
    use crate::harness::test_app::built_in_scorer;
    use domain::Scorer;
    use pretty_assertions::assert_eq;

    async fn expect_unavailable(response: reqwest::Response, what: &str) {
        assert_eq!(header(&response, "retry-after").as_deref(), Some("5"));
        let problem = expect_problem(response, 503, "unavailable").await;
        assert_eq!(
            problem["detail"],
            format!("{what} is unavailable; retry in 5 seconds")
        );
        assert!(problem.get("decision_id").is_none() && problem.get("decision").is_none());
    }

    #[tokio::test]
    async fn a_decision_the_log_cannot_hold_is_not_returned() {
        let app = TestApp::spawn(TestBackends::memory().with_store(Arc::new(StoreOutage))).await;
        let response = app.post_decision(&example_application()).await;
        expect_unavailable(response, "the decision store").await;
        assert_eq!(app.store.appends().len(), 1, "the log was asked and failed");
    }

    #[tokio::test]
    async fn reading_a_store_that_is_down_is_503() {
        let app = TestApp::spawn(TestBackends::memory().with_store(Arc::new(StoreOutage))).await;
        let id = uuid::Uuid::now_v7().to_string();
        expect_unavailable(app.get_decision(&id).await, "the decision store").await;
        expect_unavailable(app.get("/v1/decisions").await, "the decision store").await;
    }

    #[tokio::test]
    async fn a_model_that_fails_is_503_and_nothing_is_logged() {
        let card = built_in_scorer().model().clone();
        let app =
            TestApp::spawn(TestBackends::memory().with_scorer(Arc::new(BrokenScorer(card)))).await;
        let response = app.post_decision(&example_application()).await;
        expect_unavailable(response, "the model").await;
        assert_eq!(app.store.appends().len(), 0);
        assert_eq!(app.cache().writes().len(), 0);
    }
}
