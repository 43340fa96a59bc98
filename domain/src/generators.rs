//! Generators of applications and of any JSON, for property tests: here
//! and in the integration suite (feature `generators`). They follow
//! `Application::FIELDS`, so a field added to the table is generated
//! without a change here.

use proptest::prelude::*;
use serde_json::{Map, Value, json};

use crate::application::{Application, FieldSpec};
use crate::fields::FieldKind;

/// A value the field accepts.
pub fn valid_value(field: FieldSpec) -> BoxedStrategy<Value> {
    match field.kind {
        FieldKind::Categorical { values, .. } => proptest::sample::select(values)
            .prop_map(|value| json!(value))
            .boxed(),
        FieldKind::Integer { min, max } => (min..=max).prop_map(|n| json!(n)).boxed(),
        FieldKind::Number { exclusive_min, max } => prop_oneof![
            // Whole amounts, as clients usually send them.
            (exclusive_min as u64 + 1..=max as u64).prop_map(|n| json!(n)),
            (exclusive_min..=max)
                .prop_filter("above the minimum", move |n| *n > exclusive_min)
                .prop_map(|n| json!(n)),
        ]
        .boxed(),
        FieldKind::Boolean => any::<bool>().prop_map(|b| json!(b)).boxed(),
    }
}

/// A value the field refuses: of the wrong type, or out of its values.
pub fn invalid_value(field: FieldSpec) -> BoxedStrategy<Value> {
    let wrong_type = prop_oneof![
        Just(Value::Null),
        Just(json!([])),
        Just(json!({"nested": 1})),
    ];
    match field.kind {
        FieldKind::Categorical { values, .. } => prop_oneof![
            wrong_type,
            any::<i32>().prop_map(|n| json!(n)),
            "[a-z_]{0,12}"
                .prop_filter("not a value of the field", move |text| {
                    !values.contains(&text.as_str())
                })
                .prop_map(|text| json!(text)),
        ]
        .boxed(),
        FieldKind::Integer { min, max } => prop_oneof![
            wrong_type,
            Just(json!("3")),
            (i64::from(max) + 1..=i64::from(max) + 1_000).prop_map(|n| json!(n)),
            (-1_000..i64::from(min)).prop_map(|n| json!(n)),
            // Not a whole number.
            (i64::from(min)..i64::from(max)).prop_map(|n| json!(n as f64 + 0.5)),
        ]
        .boxed(),
        FieldKind::Number { exclusive_min, max } => prop_oneof![
            wrong_type,
            Just(json!("1000")),
            (-1e9..=exclusive_min).prop_map(|n| json!(n)),
            (max + 1.0..max * 10.0).prop_map(|n| json!(n)),
        ]
        .boxed(),
        FieldKind::Boolean => prop_oneof![wrong_type, Just(json!("true")), Just(json!(1)),].boxed(),
    }
}

/// A valid application, as the JSON object a client sends.
pub fn valid_application() -> impl Strategy<Value = Map<String, Value>> {
    let values: Vec<BoxedStrategy<Value>> = Application::FIELDS
        .iter()
        .map(|&field| valid_value(field))
        .collect();
    values.prop_map(|values| {
        Application::FIELDS
            .iter()
            .map(|field| field.name.to_owned())
            .zip(values)
            .collect()
    })
}

/// Any JSON value, nested a few levels, with keys that are often the
/// application's own.
pub fn any_json() -> impl Strategy<Value = Value> {
    let names: Vec<String> = Application::FIELDS
        .iter()
        .map(|field| field.name.to_owned())
        .chain(["foreign_worker".to_owned(), "".to_owned()])
        .collect();
    let key = prop_oneof![proptest::sample::select(names), "[a-z_]{1,8}"];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("JSON has no NaN or infinity", |n| n.is_finite())
            .prop_map(Value::from),
        "\\PC{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 48, 20, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::vec((key.clone(), inner), 0..20)
                .prop_map(|entries| Value::Object(entries.into_iter().collect())),
        ]
    })
}
