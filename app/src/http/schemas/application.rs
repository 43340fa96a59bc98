//! The schemas of an application, built from the domain's field table so
//! that they cannot drift from what the service accepts: `Application` (as
//! a request must be), one named enum schema per categorical field (with
//! `x-enum-varnames`, readable names for values such as `0_to_200`),
//! `Field` (the names of the fields, for a reason's `feature`), and
//! `LoggedApplication` (a record's request: the same members, as the log may
//! hold them under the rules of its day).

use std::borrow::Cow;

use domain::Application;
use domain::fields::FieldKind;
use serde_json::Value;
use utoipa::openapi::extensions::Extensions;
use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, Schema, Type};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};

/// The contract's example application (the data set's first row).
pub fn example_application() -> Value {
    serde_json::from_str(include_str!(
        "../../../../domain/testdata/example-application.json"
    ))
    .expect("the example application is JSON")
}

/// A field's enum schema name: its name in Pascal case
/// (`checking_account` → `CheckingAccount`).
fn enum_name(field: &str) -> String {
    field
        .split('_')
        .map(|word| {
            let mut letters = word.chars();
            letters
                .next()
                .map(|first| first.to_ascii_uppercase().to_string() + letters.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// A value's name for `x-enum-varnames`: the domain's variant name in
/// upper snake case (`From0To200` → `FROM_0_TO_200`).
fn variable_name(variant: &str) -> String {
    let mut name = String::new();
    let mut previous: Option<char> = None;
    for c in variant.chars() {
        let boundary = match previous {
            Some(p) => {
                (c.is_ascii_uppercase() && !p.is_ascii_uppercase())
                    || (c.is_ascii_digit() && !p.is_ascii_digit())
                    || (c.is_ascii_alphabetic() && p.is_ascii_digit())
            }
            None => false,
        };
        if boundary {
            name.push('_');
        }
        name.push(c.to_ascii_uppercase());
        previous = Some(c);
    }
    name
}

/// One named enum schema per categorical field, with its values' names.
pub fn enum_schemas() -> Vec<(String, RefOr<Schema>)> {
    Application::FIELDS
        .iter()
        .filter_map(|field| match field.kind {
            FieldKind::Categorical { values, names } => {
                let varnames: Vec<String> = names.iter().map(|name| variable_name(name)).collect();
                let schema = ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some(values.iter().copied()))
                    .description(Some(format!(
                        "The values of `{}` (data set column `{}`).",
                        field.name, field.column
                    )))
                    .extensions(Some(Extensions::from_iter([(
                        "x-enum-varnames",
                        serde_json::json!(varnames),
                    )])))
                    .build();
                Some((enum_name(field.name), RefOr::T(Schema::Object(schema))))
            }
            _ => None,
        })
        .collect()
}

/// The Application schema, one property per row of the domain's field table.
pub struct ApplicationSchema;

impl PartialSchema for ApplicationSchema {
    fn schema() -> RefOr<Schema> {
        let mut object = ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(
                "A credit application. Every field is required; unknown fields, and the protected \
                 attributes personal_status_and_sex and foreign_worker, are refused.",
            ))
            .additional_properties(Some(AdditionalProperties::<Schema>::FreeForm(false)))
            .examples([example_application()]);
        for field in Application::FIELDS {
            let description = format!("Data set column `{}`.", field.column);
            let property: RefOr<Schema> = match field.kind {
                FieldKind::Categorical { .. } => {
                    let mut reference = Ref::from_schema_name(enum_name(field.name));
                    reference.description = description;
                    RefOr::Ref(reference)
                }
                FieldKind::Integer { min, max } => RefOr::T(Schema::Object(
                    ObjectBuilder::new()
                        .schema_type(Type::Integer)
                        .minimum(Some(min))
                        .maximum(Some(max))
                        .description(Some(description))
                        .build(),
                )),
                FieldKind::Number { exclusive_min, max } => RefOr::T(Schema::Object(
                    ObjectBuilder::new()
                        .schema_type(Type::Number)
                        .exclusive_minimum(Some(exclusive_min))
                        .maximum(Some(max))
                        .description(Some(description))
                        .build(),
                )),
                FieldKind::Boolean => RefOr::T(Schema::Object(
                    ObjectBuilder::new()
                        .schema_type(Type::Boolean)
                        .description(Some(description))
                        .build(),
                )),
            };
            object = object.property(field.name, property).required(field.name);
        }
        RefOr::T(Schema::Object(object.build()))
    }
}

impl ToSchema for ApplicationSchema {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Application")
    }
}

/// A record's request: the application as it was logged. Reading the log
/// never applies today's rules, so a record logged under other rules must
/// still read: the same members with their JSON types, no value restricted,
/// none required, others allowed.
pub struct LoggedApplicationSchema;

impl PartialSchema for LoggedApplicationSchema {
    fn schema() -> RefOr<Schema> {
        let mut object = ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(
                "An application as the log holds it: the canonical form the decision's cache key \
                 was computed from, under the validation rules of the day it was logged. Today's \
                 rules are not applied when it is read: a value may lie outside today's enums or \
                 ranges.",
            ))
            .additional_properties(Some(AdditionalProperties::<Schema>::FreeForm(true)));
        for field in Application::FIELDS {
            let json_type = match field.kind {
                FieldKind::Categorical { .. } => Type::String,
                FieldKind::Integer { .. } | FieldKind::Number { .. } => Type::Number,
                FieldKind::Boolean => Type::Boolean,
            };
            object = object.property(
                field.name,
                ObjectBuilder::new()
                    .schema_type(json_type)
                    .description(Some(format!("Data set column `{}`.", field.column))),
            );
        }
        RefOr::T(Schema::Object(object.build()))
    }
}

impl ToSchema for LoggedApplicationSchema {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("LoggedApplication")
    }
}

/// The names of the application's fields, as a reason's `feature` says.
pub struct FieldSchema;

impl PartialSchema for FieldSchema {
    fn schema() -> RefOr<Schema> {
        let names: Vec<&str> = Application::FIELDS.iter().map(|field| field.name).collect();
        RefOr::T(Schema::Object(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(names))
                .description(Some("A field of the application."))
                .build(),
        ))
    }
}

impl ToSchema for FieldSchema {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Field")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_as_a_client_author_would_write_them() {
        assert_eq!(enum_name("checking_account"), "CheckingAccount");
        assert_eq!(enum_name("purpose"), "Purpose");
        assert_eq!(variable_name("From0To200"), "FROM_0_TO_200");
        assert_eq!(variable_name("Below0"), "BELOW_0");
        assert_eq!(variable_name("From1To4Years"), "FROM_1_TO_4_YEARS");
        assert_eq!(variable_name("From1000OrMore"), "FROM_1000_OR_MORE");
        assert_eq!(variable_name("NoAccount"), "NO_ACCOUNT");
    }

    #[test]
    fn every_categorical_field_has_a_named_enum_with_a_name_per_value() {
        let schemas = enum_schemas();
        assert_eq!(schemas.len(), 10);
        for (name, schema) in schemas {
            let json = serde_json::to_value(&schema).unwrap();
            let values = json["enum"].as_array().unwrap();
            let names = json["x-enum-varnames"].as_array().unwrap();
            assert_eq!(values.len(), names.len(), "{name}");
            assert!(
                names.iter().all(|n| !n
                    .as_str()
                    .unwrap()
                    .starts_with(|c: char| c.is_ascii_digit())),
                "{name}"
            );
        }
    }
}
