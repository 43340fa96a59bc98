//! Test data: the contract's example application and the golden vectors the
//! training program wrote.

use std::sync::OnceLock;

use serde_json::Value;

/// The contract's example application (the data set's first row).
pub fn example_application() -> Value {
    serde_json::from_str(include_str!(
        "../../../domain/testdata/example-application.json"
    ))
    .expect("the example application is JSON")
}

/// The example with one field replaced.
pub fn example_with(field: &str, value: Value) -> Value {
    let mut application = example_application();
    application[field] = value;
    application
}

/// One golden row: an application, its feature vector and onnxruntime's
/// probability of default.
pub struct Golden {
    pub application: Value,
    pub features: Vec<f32>,
    pub probability_of_default: f32,
    /// The reason codes the training side gives (empty for an approval).
    pub reasons: Vec<String>,
}

/// The 1,000 golden rows of `model/golden-vectors.json` (the built-in model).
pub fn golden_rows() -> &'static [Golden] {
    static ROWS: OnceLock<Vec<Golden>> = OnceLock::new();
    ROWS.get_or_init(|| rows_of(include_str!("../../../model/golden-vectors.json")))
}

/// The 1,000 golden rows of `model/scorecard-golden-vectors.json` (the
/// scorecard the models directory ships).
pub fn scorecard_golden_rows() -> &'static [Golden] {
    static ROWS: OnceLock<Vec<Golden>> = OnceLock::new();
    ROWS.get_or_init(|| rows_of(include_str!("../../../model/scorecard-golden-vectors.json")))
}

fn rows_of(text: &str) -> Vec<Golden> {
    let file: Value = serde_json::from_str(text).unwrap();
    file["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| Golden {
            application: row["application"].clone(),
            features: row["features"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap() as f32)
                .collect(),
            probability_of_default: row["probability_of_default"].as_f64().unwrap() as f32,
            reasons: row["reasons"]
                .as_array()
                .unwrap()
                .iter()
                .map(|code| code.as_str().unwrap().to_owned())
                .collect(),
        })
        .collect()
}
