//! `GET /openapi.json` and `GET /docs`: the document describes every
//! endpoint, its examples pass the service's own validation, and real
//! answers have the documented shapes. (That it is valid OpenAPI 3.1, and
//! that the docs page works in a browser, is checked by
//! `scripts/check-pages`, run by `scripts/test`.)

use pretty_assertions::assert_eq;
use serde_json::Value;

use crate::harness::TestApp;
use crate::harness::data::example_application;

async fn document(app: &TestApp) -> Value {
    let response = app.get("/openapi.json").await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// The property names a component schema documents.
fn properties(document: &Value, schema: &str) -> Vec<String> {
    let mut names: Vec<String> = document["components"]["schemas"][schema]["properties"]
        .as_object()
        .unwrap_or_else(|| panic!("schema {schema} has properties"))
        .keys()
        .cloned()
        .collect();
    names.sort();
    names
}

fn keys(value: &Value) -> Vec<String> {
    let mut names: Vec<String> = value.as_object().unwrap().keys().cloned().collect();
    names.sort();
    names
}

#[tokio::test]
async fn every_endpoint_of_the_contract_is_described() {
    let app = TestApp::on_memory().await;
    let document = document(&app).await;
    assert_eq!(document["openapi"], "3.1.0");
    let operations = [
        ("/v1/decisions", "post"),
        ("/v1/decisions", "get"),
        ("/v1/decisions/batch", "post"),
        ("/v1/decisions/{decision_id}", "get"),
        ("/v1/model", "get"),
        ("/health/live", "get"),
        ("/health/ready", "get"),
        ("/metrics", "get"),
        ("/openapi.json", "get"),
        ("/docs", "get"),
    ];
    for (path, method) in operations {
        assert!(
            document["paths"][path][method].is_object(),
            "{method} {path}"
        );
    }
    let errors: Vec<&str> = document["paths"]["/v1/decisions"]["post"]["responses"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        errors,
        ["200", "400", "401", "408", "413", "415", "422", "503"]
    );
    let savings =
        &document["components"]["schemas"]["Application"]["properties"]["savings"]["enum"];
    assert_eq!(
        *savings,
        serde_json::json!([
            "below_100",
            "100_to_500",
            "500_to_1000",
            "1000_or_more",
            "unknown"
        ])
    );
}

#[tokio::test]
async fn the_document_is_as_strict_as_the_service() {
    let app = TestApp::on_memory().await;
    let document = document(&app).await;
    let schemas = &document["components"]["schemas"];
    assert_eq!(schemas["BatchRequest"]["additionalProperties"], false);
    assert_eq!(schemas["Application"]["additionalProperties"], false);
    let before = document["paths"]["/v1/decisions"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|parameter| parameter["name"] == "before")
        .unwrap();
    assert_eq!(before["schema"]["format"], "uuid");
    // A batch with a member the document refuses is refused by the service.
    let response = app
        .post_json(
            "/v1/decisions/batch",
            &serde_json::json!({"applications": [example_application()], "extra": 1}),
        )
        .await;
    assert_eq!(response.status(), 422);
}

#[tokio::test]
async fn every_example_passes_the_service_validation() {
    let app = TestApp::on_memory().await;
    let document = document(&app).await;
    let mut tried = 0;
    for (path, item) in document["paths"].as_object().unwrap() {
        let Some(example) =
            item["post"]["requestBody"]["content"]["application/json"].get("example")
        else {
            continue;
        };
        let response = app.post_json(path, example).await;
        assert_eq!(response.status(), 200, "the example of POST {path}");
        tried += 1;
    }
    assert_eq!(tried, 2, "both POST bodies carry an example");
    for example in document["components"]["schemas"]["Application"]["examples"]
        .as_array()
        .unwrap()
    {
        assert_eq!(app.post_decision(example).await.status(), 200);
        assert_eq!(*example, example_application());
    }
}

#[tokio::test]
async fn answers_have_the_documented_shapes() {
    let app = TestApp::on_memory().await;
    let document = document(&app).await;
    let decision = app.post_decision_json(&example_application()).await;
    assert_eq!(keys(&decision), properties(&document, "Decision"));
    let id = decision["decision_id"].as_str().unwrap();
    let record: Value = app.get_decision(id).await.json().await.unwrap();
    assert_eq!(keys(&record), properties(&document, "DecisionRecord"));
    assert_eq!(
        keys(&record["request"]),
        properties(&document, "Application")
    );
    let page: Value = app.get("/v1/decisions").await.json().await.unwrap();
    assert_eq!(keys(&page), properties(&document, "DecisionPage"));
    let problem: Value = app
        .post_decision(&serde_json::json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(keys(&problem), properties(&document, "Problem"));
}

#[tokio::test]
async fn the_docs_page_and_its_assets_are_served_from_the_binary() {
    let app = TestApp::on_memory().await;
    let page = app.get("/docs").await;
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    let html = page.text().await.unwrap();
    assert!(html.contains("/openapi.json") && html.contains("/docs/swagger-ui-bundle.js"));
    assert!(
        !html.contains("https://"),
        "the page loads nothing from elsewhere"
    );
    for asset in ["/docs/swagger-ui-bundle.js", "/docs/swagger-ui.css"] {
        let response = app.get(asset).await;
        assert_eq!(response.status(), 200, "{asset}");
        assert!(response.bytes().await.unwrap().len() > 10_000, "{asset}");
    }
    assert_eq!(app.get("/docs/other.js").await.status(), 404);
}
