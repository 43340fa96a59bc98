//! Property tests over HTTP, on the in-memory app with its spies: any JSON
//! value, or any bytes, sent as an application is answered 200, 400 or 422
//! (never a 5xx, never a dropped connection), a refusal is problem+json, and
//! a refused request reaches no port.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::Value;

use domain::generators::{any_json, valid_application};

use crate::harness::TestApp;
use crate::harness::answers::header;

/// What the ports had seen: log appends, cache reads and writes, scorings.
fn port_calls(app: &TestApp) -> [usize; 4] {
    [
        app.store.appends().len(),
        app.cache().reads().len(),
        app.cache().writes().len(),
        app.scorer.calls().len(),
    ]
}

#[derive(Debug)]
enum Body {
    Json(Value),
    Bytes(Vec<u8>),
}

#[test]
fn any_body_sent_as_an_application_is_answered_200_400_or_422() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let app = runtime.block_on(TestApp::on_memory());
    let bodies = prop_oneof![
        4 => any_json().prop_map(Body::Json),
        2 => valid_application().prop_map(|object| Body::Json(Value::Object(object))),
        1 => proptest::collection::vec(any::<u8>(), 0..64).prop_map(Body::Bytes),
    ];
    let mut runner = TestRunner::new(Config::with_cases(300));
    runner
        .run(&bodies, |body| {
            runtime.block_on(async {
                let before = port_calls(&app);
                let response = match &body {
                    Body::Json(value) => app.post_decision(value).await,
                    Body::Bytes(bytes) => {
                        app.post_raw("/v1/decisions", Some("application/json"), bytes.clone())
                            .await
                    }
                };
                let status = response.status().as_u16();
                let content_type = header(&response, "content-type");
                let after = port_calls(&app);
                match status {
                    200 => {
                        prop_assert_eq!(content_type.as_deref(), Some("application/json"));
                        prop_assert_eq!(after[0], before[0] + 1, "a decision is logged");
                    }
                    400 | 422 => {
                        prop_assert_eq!(content_type.as_deref(), Some("application/problem+json"));
                        prop_assert_eq!(after, before, "a refused request reaches no port");
                    }
                    other => prop_assert!(false, "answered {}", other),
                }
                Ok(())
            })
        })
        .unwrap();
}
