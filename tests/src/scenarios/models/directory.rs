//! The models directory: every file that is not a valid model is refused
//! with its error, bounded, and the service keeps serving; a reload picks
//! up what was added.

use std::path::Path;

use pretty_assertions::assert_eq;
use reqwest::Method;
use serde_json::{Value, json};

use super::{BUILT_IN, champion_alone, route};
use crate::harness::test_app::{SCORECARD, shipped_models_dir};
use crate::harness::{TestApp, TestBackends};

pub(super) fn copy_model(from: &Path, name: &str, into: &Path) {
    std::fs::copy(
        from.with_extension("onnx"),
        into.join(format!("{name}.onnx")),
    )
    .unwrap();
    let card = from.with_extension("card.json");
    std::fs::copy(card, into.join(format!("{name}.card.json"))).unwrap();
}

fn refused_of(models: &Value) -> Vec<(String, String)> {
    models["refused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["file"].as_str().unwrap().to_owned(),
                r["error"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn every_bad_file_is_refused_naming_why_and_the_service_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    let shipped = shipped_models_dir();
    let scorecard = shipped.join(format!("{SCORECARD}.onnx"));
    // The young-favoured model of the age rule's tests, as a directory holds it.
    let testdata =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../model/testdata/young-favoured.onnx");
    copy_model(&testdata, "young-favoured", path);
    std::fs::write(path.join("corrupt.onnx"), b"not a model at all").unwrap();
    std::fs::write(
        path.join("corrupt.card.json"),
        std::fs::read(shipped.join(format!("{SCORECARD}.card.json"))).unwrap(),
    )
    .unwrap();
    std::fs::copy(&scorecard, path.join("no-card.onnx")).unwrap();
    let mut reasonless: Value =
        serde_json::from_slice(&std::fs::read(scorecard.with_extension("card.json")).unwrap())
            .unwrap();
    reasonless["features"][0]
        .as_object_mut()
        .unwrap()
        .remove("reason");
    std::fs::copy(&scorecard, path.join("reasonless.onnx")).unwrap();
    std::fs::write(path.join("reasonless.card.json"), reasonless.to_string()).unwrap();
    std::os::unix::fs::symlink("loop-b.onnx", path.join("loop-a.onnx")).unwrap();
    std::os::unix::fs::symlink("loop-a.onnx", path.join("loop-b.onnx")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", path.join("device.onnx")).unwrap();
    // 2 GiB that take no disk: a sparse file, never read past its size.
    let huge = std::fs::File::create(path.join("huge.onnx")).unwrap();
    huge.set_len(2 << 30).unwrap();
    std::fs::copy(
        scorecard.with_extension("card.json"),
        path.join("huge.card.json"),
    )
    .unwrap();

    let app = TestApp::spawn(TestBackends::memory().with_models_dir(path.to_owned())).await;
    let models: Value = app.get("/v1/models").await.json().await.unwrap();
    let refused = refused_of(&models);
    let files: Vec<&str> = refused.iter().map(|(file, _)| file.as_str()).collect();
    assert_eq!(
        files,
        [
            "corrupt.onnx",
            "device.onnx",
            "huge.onnx",
            "loop-a.onnx",
            "loop-b.onnx",
            "no-card.onnx",
            "reasonless.onnx",
            "young-favoured.onnx"
        ]
    );
    let error_of = |file: &str| &refused.iter().find(|(name, _)| name == file).unwrap().1;
    assert!(
        error_of("corrupt.onnx").contains("is not a valid ONNX model"),
        "{}",
        error_of("corrupt.onnx")
    );
    assert!(
        error_of("device.onnx").contains("not a regular file"),
        "{}",
        error_of("device.onnx")
    );
    assert!(
        error_of("huge.onnx").contains("2147483648 bytes"),
        "{}",
        error_of("huge.onnx")
    );
    assert!(
        error_of("loop-a.onnx").contains("symbolic links"),
        "{}",
        error_of("loop-a.onnx")
    );
    assert!(
        error_of("no-card.onnx").contains("is missing"),
        "{}",
        error_of("no-card.onnx")
    );
    assert!(
        error_of("reasonless.onnx").contains("no reason code"),
        "{}",
        error_of("reasonless.onnx")
    );
    assert!(
        error_of("young-favoured.onnx").contains("its age term favours the young"),
        "{}",
        error_of("young-favoured.onnx")
    );
    let versions: Vec<&str> = models["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_str().unwrap())
        .collect();
    assert_eq!(versions, [BUILT_IN]);
    let decision = app
        .post_decision_json(&crate::harness::data::example_application())
        .await;
    assert_eq!(decision["model_version"], BUILT_IN);

    // A refused version cannot be routed to; a model added is, after a reload.
    let refused_routing = super::put_routing(&app, &champion_alone(SCORECARD), None).await;
    assert_eq!(refused_routing.status(), 422);
    copy_model(&scorecard, SCORECARD, path);
    let reloaded: Value = app
        .build(Method::POST, "/v1/models/reload")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(reloaded["versions"][1]["version"], SCORECARD);
    assert_eq!(reloaded["versions"][1]["source"], "directory");
    route(&app, champion_alone(SCORECARD)).await;
    let decision = app
        .post_decision_json(&crate::harness::data::example_application())
        .await;
    assert_eq!(decision["model_version"], SCORECARD);

    // A version in use stays when its file goes.
    std::fs::remove_file(path.join(format!("{SCORECARD}.onnx"))).unwrap();
    let reloaded: Value = app
        .build(Method::POST, "/v1/models/reload")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(reloaded["routing"]["champion"], SCORECARD);
    assert_eq!(reloaded["versions"][1]["version"], json!(SCORECARD));
}

#[tokio::test]
async fn a_second_model_claiming_a_taken_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let shipped = shipped_models_dir();
    copy_model(
        &shipped.join(format!("{SCORECARD}.onnx")),
        "a-scorecard",
        dir.path(),
    );
    // The built-in model under the scorecard's version: its card says so,
    // its bytes differ.
    let mut card: Value = serde_json::from_slice(
        &std::fs::read(shipped.join(format!("{BUILT_IN}.card.json"))).unwrap(),
    )
    .unwrap();
    card["version"] = json!(SCORECARD);
    std::fs::copy(
        shipped.join(format!("{BUILT_IN}.onnx")),
        dir.path().join("b-impostor.onnx"),
    )
    .unwrap();
    std::fs::write(dir.path().join("b-impostor.card.json"), card.to_string()).unwrap();

    let app = TestApp::spawn(TestBackends::memory().with_models_dir(dir.path().to_owned())).await;
    let models: Value = app.get("/v1/models").await.json().await.unwrap();
    let refused = refused_of(&models);
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0].0, "b-impostor.onnx");
    assert!(
        refused[0].1.contains("a version names one model"),
        "{}",
        refused[0].1
    );
}
