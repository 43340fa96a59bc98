//! API keys: `/v1/*` needs a configured bearer key, and so does the
//! monitoring dashboard (as a bearer token, or HTTP Basic's password for a
//! browser) unless it is served on the operators' own address; health,
//! metrics and the API description stay open.

use pretty_assertions::assert_eq;
use reqwest::Method;

use crate::harness::answers::{expect_problem, header};
use crate::harness::data::example_application;
use crate::harness::{TestApp, TestBackends};

async fn app_with_keys() -> TestApp {
    TestApp::spawn(TestBackends::memory().with_api_keys(&["key-one", "key-two"])).await
}

fn post_example(app: &TestApp) -> reqwest::RequestBuilder {
    app.build(Method::POST, "/v1/decisions")
        .header("Content-Type", "application/json")
        .body(example_application().to_string())
}

#[tokio::test]
async fn without_a_key_v1_is_401() {
    let app = app_with_keys().await;
    let response = post_example(&app).send().await.unwrap();
    assert_eq!(
        header(&response, "www-authenticate").as_deref(),
        Some("Bearer")
    );
    expect_problem(response, 401, "unauthorized").await;
    for path in [
        "/v1/model",
        "/v1/decisions",
        "/v1/decisions/01a20cbf-a936-7298-8e60-e112755cf3ae",
    ] {
        expect_problem(app.get(path).await, 401, "unauthorized").await;
    }
    app.assert_nothing_reached_the_ports();
}

#[tokio::test]
async fn a_wrong_key_is_401() {
    let app = app_with_keys().await;
    for authorization in [
        "Bearer key-three",
        "Bearer key-on",
        "Bearer key-one2",
        "key-one",
        "Basic a2V5LW9uZQ==",
    ] {
        let response = post_example(&app)
            .header("Authorization", authorization)
            .send()
            .await
            .unwrap();
        expect_problem(response, 401, "unauthorized").await;
    }
    app.assert_nothing_reached_the_ports();
}

#[tokio::test]
async fn the_key_is_checked_before_the_body() {
    let app = app_with_keys().await;
    let response = app
        .build(Method::POST, "/v1/decisions")
        .header("Content-Type", "text/plain")
        .body("not even JSON")
        .send()
        .await
        .unwrap();
    expect_problem(response, 401, "unauthorized").await;
}

#[tokio::test]
async fn a_right_key_is_served() {
    let app = app_with_keys().await;
    for key in ["key-one", "key-two"] {
        let response = post_example(&app)
            .header("Authorization", format!("Bearer {key}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    assert_eq!(app.store.appends().len(), 2);
}

#[tokio::test]
async fn health_metrics_and_the_api_description_stay_open() {
    let app = app_with_keys().await;
    for path in [
        "/health/live",
        "/health/ready",
        "/metrics",
        "/openapi.json",
        "/docs",
    ] {
        assert_eq!(app.get(path).await.status(), 200, "{path}");
    }
}

/// The dashboard shows what `/v1/monitoring` shows: with keys configured it
/// needs one too, and says so in a way a browser asks for it.
#[tokio::test]
async fn the_dashboard_needs_a_key_as_a_bearer_token_or_basics_password() {
    use base64::Engine;
    let app = app_with_keys().await;
    let window = "?since=2026-11-25T10:00:00Z&until=2026-11-25T10:00:00.001Z";
    for path in ["/monitoring", &format!("/monitoring{window}")] {
        let response = app.get(path).await;
        assert_eq!(
            header(&response, "www-authenticate").as_deref(),
            Some(r#"Basic realm="credit-decisions monitoring", charset="UTF-8""#),
            "{path}"
        );
        expect_problem(response, 401, "unauthorized").await;
    }
    let basic = |credentials: &str| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(credentials)
        )
    };
    for refused in [basic("operator:key-three"), "Bearer key-on".to_owned()] {
        let response = app
            .build(Method::GET, "/monitoring")
            .header("Authorization", &refused)
            .send()
            .await
            .unwrap();
        expect_problem(response, 401, "unauthorized").await;
    }
    app.assert_nothing_reached_the_ports();
    for admitted in [basic("operator:key-two"), "Bearer key-one".to_owned()] {
        let response = app
            .build(Method::GET, "/monitoring")
            .header("Authorization", &admitted)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{admitted}");
        assert!(response.text().await.unwrap().contains("<svg"));
    }
}

/// With an operators' address, the metrics and the dashboard are served
/// there (without a key: the address is the operators' network) and nowhere
/// else; health is answered on both.
#[tokio::test]
async fn on_an_operators_address_the_dashboard_and_metrics_leave_the_public_one() {
    let mut backends = TestBackends::memory().with_api_keys(&["key-one"]);
    backends.options.operator_addr = Some("127.0.0.1:0".parse().unwrap());
    let app = TestApp::spawn(backends).await;
    let operator = app.operator_base.clone().expect("an operators' address");
    let client = reqwest::Client::new();
    for path in ["/monitoring", "/metrics", "/health/live", "/health/ready"] {
        let response = client
            .get(format!("{operator}{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path} on the operators' address");
    }
    for path in ["/monitoring", "/metrics"] {
        expect_problem(app.get(path).await, 404, "not-found").await;
    }
    for path in ["/health/live", "/openapi.json"] {
        assert_eq!(app.get(path).await.status(), 200, "{path}");
    }
    // The API is not served to the operators' address.
    let response = client
        .get(format!("{operator}/v1/decisions"))
        .header("Authorization", "Bearer key-one")
        .send()
        .await
        .unwrap();
    expect_problem(response, 404, "not-found").await;
}

/// Every spelling of a /v1 path that the router might match: percent-encoded
/// letters and digits, doubled and dotted segments, a trailing slash, case.
const SPELLINGS: [&str; 14] = [
    "/v1/decisions",
    "/%761/decisions",
    "/v%31/decisions",
    "/%76%31/decisions",
    "/%56%31/decisions",
    "/v1/%64ecisions",
    "/v1/decisions/",
    "//v1/decisions",
    "/v1//decisions",
    "/v1/./decisions",
    "/v1/../v1/decisions",
    "/x/../v1/decisions",
    "/V1/decisions",
    "/v1%2Fdecisions",
];

#[tokio::test]
async fn no_spelling_of_a_v1_path_gets_around_the_key() {
    let app = app_with_keys().await;
    let body = example_application().to_string();
    for path in SPELLINGS {
        for (line, payload) in [
            (format!("GET {path} HTTP/1.1"), &b""[..]),
            (format!("POST {path} HTTP/1.1"), body.as_bytes()),
        ] {
            let (status, answer) = app
                .send_raw(&line, &["Content-Type: application/json"], payload)
                .await;
            assert!(
                status == 401 || status == 404,
                "{line} answered {status} without a key: {answer}"
            );
            assert!(!answer.contains("decision_id"), "{line}: {answer}");
        }
        let (status, _) = app
            .send_raw(&format!("GET {path}/batch HTTP/1.1"), &[], b"")
            .await;
        assert!(status == 401 || status == 404, "{path}/batch: {status}");
    }
    app.assert_nothing_reached_the_ports();

    // With the key, the plain spelling and the encoded ones reach the handler.
    for path in ["/v1/decisions", "/%761/decisions", "/v%31/decisions"] {
        let (status, answer) = app
            .send_raw(
                &format!("GET {path} HTTP/1.1"),
                &["Authorization: Bearer key-one"],
                b"",
            )
            .await;
        assert_eq!(status, 200, "{path}: {answer}");
    }
}

#[tokio::test]
async fn the_scheme_is_case_insensitive() {
    let app = app_with_keys().await;
    for authorization in ["bearer key-one", "BEARER key-two", "Bearer   key-one"] {
        let response = post_example(&app)
            .header("Authorization", authorization)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{authorization}");
    }
}
