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
        ("/v1/models", "get"),
        ("/v1/models/{version}", "get"),
        ("/v1/models/routing", "put"),
        ("/v1/models/reload", "post"),
        ("/v1/models/changes", "get"),
        ("/v1/models/comparison", "get"),
        ("/v1/monitoring", "get"),
        ("/monitoring", "get"),
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
    let schemas = &document["components"]["schemas"];
    assert_eq!(
        schemas["Application"]["properties"]["savings"]["$ref"],
        "#/components/schemas/Savings"
    );
    assert_eq!(
        schemas["Savings"]["enum"],
        serde_json::json!([
            "below_100",
            "100_to_500",
            "500_to_1000",
            "1000_or_more",
            "unknown"
        ])
    );
    // Readable names for values a language cannot name (`100_to_500`).
    assert_eq!(
        schemas["Savings"]["x-enum-varnames"],
        serde_json::json!([
            "BELOW_100",
            "FROM_100_TO_500",
            "FROM_500_TO_1000",
            "FROM_1000_OR_MORE",
            "UNKNOWN"
        ])
    );
}

/// Every operation of the document, with its path and method.
fn operations(document: &Value) -> Vec<(String, String, Value)> {
    let mut found = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            found.push((path.clone(), method.clone(), operation.clone()));
        }
    }
    found
}

#[tokio::test]
async fn everything_served_is_typed_and_named_as_a_client_would_have_it() {
    let app = TestApp::on_memory().await;
    let document = document(&app).await;
    let schemas = document["components"]["schemas"].as_object().unwrap();
    // No schema named after a language's built-in.
    for builtin in [
        "Object", "String", "Number", "Boolean", "Array", "Error", "Date", "Map", "Set",
    ] {
        assert!(!schemas.contains_key(builtin), "a schema named {builtin}");
    }
    assert_eq!(
        document["servers"],
        serde_json::json!([{"url": "/", "description": "This service"}])
    );
    assert_eq!(document["info"]["license"]["identifier"], "Apache-2.0");
    let mut ids = Vec::new();
    for (path, method, operation) in operations(&document) {
        let id = operation["operationId"].as_str().unwrap().to_owned();
        assert!(
            id.chars().next().unwrap().is_ascii_lowercase() && !id.contains('_'),
            "{id}"
        );
        ids.push(id);
        // Every answer with a body says what the body is.
        for (status, response) in operation["responses"].as_object().unwrap() {
            let content = response["content"]
                .as_object()
                .unwrap_or_else(|| panic!("{method} {path} {status}"));
            for (media, body) in content {
                assert!(
                    body["schema"].is_object(),
                    "{method} {path} {status} {media}"
                );
                assert_ne!(
                    body["schema"],
                    serde_json::json!({}),
                    "{method} {path} {status} {media}"
                );
            }
        }
    }
    ids.sort();
    let count = ids.len();
    ids.dedup();
    assert_eq!(ids.len(), count, "operation ids are unique");
    assert!(
        ids.contains(&"decideApplication".to_owned()) && ids.contains(&"listDecisions".to_owned())
    );
    // Members always sent are required, even those that may be null.
    for (schema, member) in [
        ("Drift", "psi"),
        ("MonitoringReport", "approval_rate"),
        ("DecisionPage", "next"),
        ("DecisionRecord", "shadow"),
        ("Comparison", "swap_set"),
        ("Routing", "challenger"),
    ] {
        let required = schemas[schema]["required"].as_array().unwrap();
        assert!(
            required.contains(&serde_json::json!(member)),
            "{schema}.{member}"
        );
    }
    // Sent only with a 422, never null.
    assert!(
        !schemas["Problem"]["required"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("errors"))
    );
    assert_eq!(schemas["Problem"]["properties"]["errors"]["type"], "array");
    assert_eq!(
        schemas["Reason"]["properties"]["feature"]["$ref"],
        "#/components/schemas/Field"
    );
    let path_id = &document["paths"]["/v1/decisions/{decision_id}"]["get"]["parameters"][0];
    assert_eq!(path_id["schema"]["format"], "uuid");
    let card = &document["paths"]["/v1/model"]["get"]["responses"]["200"]["content"]["application/json"]
        ["schema"];
    assert_eq!(card["$ref"], "#/components/schemas/ModelCard");
    let ready = &document["paths"]["/health/ready"]["get"]["responses"]["503"]["content"]["application/json"]
        ["schema"];
    assert_eq!(ready["$ref"], "#/components/schemas/Readiness");
}

#[tokio::test]
async fn the_document_says_a_key_is_needed_only_when_one_is() {
    let open = document(&TestApp::on_memory().await).await;
    for (path, method, operation) in operations(&open) {
        assert_eq!(
            operation["security"],
            serde_json::json!([]),
            "{method} {path}"
        );
    }
    assert_eq!(open["components"]["securitySchemes"], Value::Null);
    // Keys of either kind, or both: every /v1 operation needs one.
    let memory = crate::harness::TestBackends::memory;
    for backends in [
        memory().with_api_keys(&["user-key"]),
        memory().with_admin_keys(&["admin-key"]),
        memory()
            .with_api_keys(&["user-key"])
            .with_admin_keys(&["admin-key"]),
    ] {
        let keyed = document(&TestApp::spawn(backends).await).await;
        for (path, method, operation) in operations(&keyed) {
            let expected = match operation["operationId"].as_str().unwrap() {
                _ if !path.starts_with("/v1") => serde_json::json!([]),
                "setRouting" | "reloadModels" => serde_json::json!([{"admin_key": []}]),
                _ => serde_json::json!([{"api_key": []}]),
            };
            assert_eq!(operation["security"], expected, "{method} {path}");
        }
        assert_eq!(
            keyed["components"]["securitySchemes"]["api_key"]["scheme"],
            "bearer"
        );
        assert_eq!(
            keyed["components"]["securitySchemes"]["admin_key"]["scheme"],
            "bearer"
        );
    }
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
    assert_eq!(keys(&decision), properties(&document, "ServedDecision"));
    let id = decision["decision_id"].as_str().unwrap();
    let record: Value = app.get_decision(id).await.json().await.unwrap();
    assert_eq!(keys(&record), properties(&document, "DecisionRecord"));
    assert_eq!(
        keys(&record["request"]),
        properties(&document, "Application")
    );
    assert_eq!(
        properties(&document, "LoggedApplication"),
        properties(&document, "Application")
    );
    let ready: Value = app.get("/health/ready").await.json().await.unwrap();
    assert_eq!(keys(&ready), properties(&document, "Readiness"));
    let card: Value = app.get("/v1/model").await.json().await.unwrap();
    assert_eq!(keys(&card), properties(&document, "ModelCard"));
    let models: Value = app.get("/v1/models").await.json().await.unwrap();
    assert_eq!(keys(&models), properties(&document, "Models"));
    assert_eq!(keys(&models["routing"]), properties(&document, "Routing"));
    let comparison: Value = app.get("/v1/models/comparison").await.json().await.unwrap();
    assert_eq!(keys(&comparison), properties(&document, "Comparison"));
    let batch_problem: Value = app
        .post_json(
            "/v1/decisions/batch",
            &serde_json::json!({"applications": [example_application(), {}]}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        keys(&batch_problem["errors"][0]),
        properties(&document, "FieldError")
    );
    assert_eq!(batch_problem["errors"][0]["index"], 1);
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
