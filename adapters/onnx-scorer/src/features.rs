//! The model's input: an application as one number per field, in contract
//! order (`Application::features`, from the domain's field table).
//!
//! A categorical field is its code (its position in the contract's value
//! list), `telephone` is 0 or 1, the numbers are themselves. The training
//! side's table (`model/features.py`) encodes the same way; the card repeats
//! that table and [`expected_features`] is what it is checked against.

use domain::fields::FieldKind;
use domain::{Application, FIELD_COUNT};
use serde_json::{Value, json};

pub const FEATURE_COUNT: usize = FIELD_COUNT;

/// The feature vector of an application.
pub fn encode(application: &Application) -> [f32; FEATURE_COUNT] {
    application.features()
}

/// How the contract says one feature is encoded.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectedFeature {
    pub name: &'static str,
    pub kind: &'static str,
    /// (wire value, code) of every value, for categoricals and booleans.
    pub codes: Vec<(Value, u8)>,
}

/// The features in input order, as the domain's field table defines them.
pub fn expected_features() -> Vec<ExpectedFeature> {
    Application::FIELDS
        .iter()
        .map(|field| ExpectedFeature {
            name: field.name,
            kind: field.kind.name(),
            codes: match field.kind {
                FieldKind::Categorical { values, .. } => (0u8..)
                    .zip(values)
                    .map(|(code, value)| (json!(value), code))
                    .collect(),
                FieldKind::Boolean => vec![(json!(false), 0), (json!(true), 1)],
                FieldKind::Integer { .. } | FieldKind::Number { .. } => Vec::new(),
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn categorical_codes_follow_the_contract_value_order() {
        let features = expected_features();
        assert_eq!(features.len(), 18);
        assert_eq!(features[0].name, "checking_account");
        assert_eq!(
            features[0].codes,
            vec![
                (json!("below_0"), 0),
                (json!("0_to_200"), 1),
                (json!("200_or_more"), 2),
                (json!("none"), 3)
            ]
        );
        assert_eq!(features[17].kind, "boolean");
        assert_eq!(features[4].kind, "number");
    }

    #[test]
    fn the_example_application_encodes_as_the_data_set_first_row() {
        let body: serde_json::Map<String, Value> = serde_json::from_str(include_str!(
            "../../../domain/testdata/example-application.json"
        ))
        .unwrap();
        let application = Application::from_json(&body).unwrap();
        assert_eq!(
            encode(&application).to_vec(),
            vec![
                0.0, 6.0, 4.0, 3.0, 1169.0, 4.0, 4.0, 4.0, 0.0, 4.0, 0.0, 67.0, 2.0, 1.0, 2.0, 2.0,
                1.0, 1.0
            ]
        );
    }
}
