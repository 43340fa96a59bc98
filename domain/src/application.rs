//! The credit application: every field of the contract as a valid value.
//!
//! An `Application` only comes into being through [`Application::from_json`],
//! which checks the whole object and reports every failing field at once, so
//! the rest of the code never re-checks anything.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::fields::*;

/// One field that failed validation, as the client sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// The field's path: `age_years`, or `applications[3].age_years` in a batch.
    pub field: String,
    pub message: String,
    /// In a batch, the position of the application the error is about (3
    /// for `applications[3].age_years`), so that a client need not parse
    /// the path; absent elsewhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
            index: None,
        }
    }

    /// An error about the batch's application at `index` as a whole.
    pub fn of_item(index: usize, message: impl Into<String>) -> Self {
        Self {
            field: format!("applications[{index}]"),
            message: message.into(),
            index: Some(index),
        }
    }

    /// The same error, about a field of the batch's application at `index`
    /// (`applications[3].age_years`).
    pub fn in_item(self, index: usize) -> Self {
        Self {
            field: format!("applications[{index}].{}", self.field),
            message: self.message,
            index: Some(index),
        }
    }
}

/// The data set's attributes that are protected under fair-lending rules:
/// refused with a message saying so, never used.
const PROTECTED_ATTRIBUTES: [&str; 2] = ["personal_status_and_sex", "foreign_worker"];

/// What the contract, the model card and the OpenAPI document say of one field.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FieldSpec {
    /// The JSON name, as in the contract.
    pub name: &'static str,
    /// The Statlog German Credit column it comes from.
    pub column: &'static str,
    pub kind: FieldKind,
}

/// Declares the application from one table of its fields: the struct (whose
/// field order is the canonical form's and the model's input order), the
/// table [`Application::FIELDS`], the parser and the feature vector all
/// follow from it. Adding a field is one line here (and one entry in
/// `model/features.py`, which a test holds to this table).
macro_rules! application_fields {
    ($( $(#[$doc:meta])* $field:ident: $type:ty = $column:literal, )+) => {
        /// A credit application: every field valid. Field order is the contract's
        /// and the model's.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(try_from = "Map<String, Value>")]
        pub struct Application {
            $( $(#[$doc])* pub $field: $type, )+
        }

        /// How many fields an application has: the model's input width.
        pub const FIELD_COUNT: usize = [$(stringify!($field)),+].len();

        impl Application {
            /// Every field, in contract order.
            pub const FIELDS: [FieldSpec; FIELD_COUNT] = [$(
                FieldSpec {
                    name: stringify!($field),
                    column: $column,
                    kind: <$type as Field>::KIND,
                },
            )+];

            /// Parses a JSON object into an application, or lists every failing
            /// field: first the contract's fields in order, then unknown fields
            /// by name.
            pub fn from_json(object: &Map<String, Value>) -> Result<Self, Vec<FieldError>> {
                let mut reader = FieldReader {
                    object,
                    errors: Vec::new(),
                };
                // Every field is read before any is used, so that all errors are listed.
                $( let $field = reader.read::<$type>(stringify!($field)); )+
                reader.reject_unknown_fields();
                match ($($field,)+) {
                    ($(Some($field),)+) if reader.errors.is_empty() => Ok(Application { $($field,)+ }),
                    _ => Err(reader.errors),
                }
            }

            /// The model's input: one number per field, in contract order.
            pub fn features(&self) -> [f32; FIELD_COUNT] {
                [$( Field::feature(&self.$field), )+]
            }
        }
    };
}

application_fields! {
    checking_account: CheckingAccount = "status_of_existing_checking_account",
    duration_months: DurationMonths = "duration_in_month",
    credit_history: CreditHistory = "credit_history",
    purpose: Purpose = "purpose",
    credit_amount: CreditAmount = "credit_amount",
    savings: Savings = "savings_account_and_bonds",
    employment_since: EmploymentSince = "present_employment_since",
    installment_rate: InstallmentRate = "installment_rate_in_percentage_of_disposable_income",
    other_debtors: OtherDebtors = "other_debtors_or_guarantors",
    residence_since: ResidenceSince = "present_residence_since",
    property: Property = "property",
    age_years: AgeYears = "age_in_years",
    other_installment_plans: OtherInstallmentPlans = "other_installment_plans",
    housing: Housing = "housing",
    existing_credits: ExistingCredits = "number_of_existing_credits_at_this_bank",
    job: Job = "job",
    dependents: Dependents = "number_of_people_being_liable_to_provide_maintenance_for",
    /// Registered under the applicant's name.
    telephone: bool = "telephone",
}

impl Application {
    /// Whether `name` is a field of an application.
    pub fn has_field(name: &str) -> bool {
        Self::FIELDS.iter().any(|field| field.name == name)
    }
}

impl TryFrom<Map<String, Value>> for Application {
    type Error = String;

    fn try_from(object: Map<String, Value>) -> Result<Self, String> {
        Application::from_json(&object).map_err(|errors| {
            let listed: Vec<String> = errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect();
            listed.join("; ")
        })
    }
}

/// Reads fields out of a JSON object, collecting every error on the way.
struct FieldReader<'a> {
    object: &'a Map<String, Value>,
    errors: Vec<FieldError>,
}

impl FieldReader<'_> {
    fn read<T: Field>(&mut self, field: &str) -> Option<T> {
        let outcome = match self.object.get(field) {
            None => Err("is required".to_owned()),
            Some(value) => T::from_json(value),
        };
        outcome
            .map_err(|message| self.errors.push(FieldError::new(field, message)))
            .ok()
    }

    fn reject_unknown_fields(&mut self) {
        for name in self.object.keys() {
            if Application::has_field(name) {
                continue;
            }
            let message = if PROTECTED_ATTRIBUTES.contains(&name.as_str()) {
                "is not accepted: a protected attribute is never used in a decision"
            } else {
                "is not a field of an application"
            };
            self.errors.push(FieldError::new(name.as_str(), message));
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    pub(crate) fn example() -> Value {
        serde_json::from_str(include_str!("../testdata/example-application.json")).unwrap()
    }

    fn parse(value: Value) -> Result<Application, Vec<FieldError>> {
        Application::from_json(value.as_object().unwrap())
    }

    fn fields_of(errors: Vec<FieldError>) -> Vec<String> {
        errors.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn the_contract_example_parses_and_serializes_back_unchanged() {
        let application = parse(example()).unwrap();
        assert_eq!(application.age_years.get(), 67);
        assert_eq!(application.purpose, Purpose::RadioTelevision);
        assert_eq!(serde_json::to_value(&application).unwrap(), example());
    }

    #[test]
    fn every_failing_field_is_listed_in_contract_order_then_unknown_ones() {
        let mut body = example();
        body["age_years"] = json!(17);
        body["savings"] = json!("lots");
        body["telephone"] = json!("yes");
        body["duration_months"] = json!(6.5);
        body["foreign_worker"] = json!(true);
        body["nickname"] = json!("x");
        body.as_object_mut().unwrap().remove("job");

        let errors = parse(body).unwrap_err();

        assert_eq!(
            errors,
            vec![
                FieldError::new("duration_months", "must be an integer"),
                FieldError::new(
                    "savings",
                    "unknown value 'lots'; expected one of below_100, 100_to_500, 500_to_1000, 1000_or_more, unknown"
                ),
                FieldError::new("age_years", "must be between 18 and 120"),
                FieldError::new("job", "is required"),
                FieldError::new("telephone", "must be a boolean"),
                FieldError::new(
                    "foreign_worker",
                    "is not accepted: a protected attribute is never used in a decision"
                ),
                FieldError::new("nickname", "is not a field of an application"),
            ]
        );
    }

    #[test]
    fn wrong_json_types_are_named() {
        let mut body = example();
        body["checking_account"] = json!(1);
        body["credit_amount"] = json!("1169");
        body["dependents"] = json!(null);
        body["existing_credits"] = json!(1e30);
        body["installment_rate"] = json!(18446744073709551615u64);
        let errors = parse(body).unwrap_err();
        assert_eq!(
            errors,
            vec![
                FieldError::new("checking_account", "must be a string"),
                FieldError::new("credit_amount", "must be a number"),
                FieldError::new("installment_rate", "must be between 1 and 4"),
                FieldError::new("existing_credits", "must be between 1 and 10"),
                FieldError::new("dependents", "must be an integer"),
            ]
        );
    }

    #[test]
    fn whole_numbers_written_with_a_fraction_are_integers() {
        let mut body = example();
        body["duration_months"] = json!(6.0);
        body["dependents"] = json!(1e0);
        assert_eq!(parse(body).unwrap(), parse(example()).unwrap());
        let mut body = example();
        body["duration_months"] = json!(-1e300);
        assert_eq!(
            parse(body).unwrap_err(),
            vec![FieldError::new(
                "duration_months",
                "must be between 1 and 120"
            )]
        );
    }

    #[test]
    fn an_empty_object_lists_all_eighteen_fields_as_required() {
        let errors = parse(json!({})).unwrap_err();
        let names: Vec<&str> = Application::FIELDS.iter().map(|field| field.name).collect();
        assert_eq!(fields_of(errors), names);
    }

    #[test]
    fn an_error_in_a_batch_names_its_item_by_path_and_by_index() {
        let error = FieldError::new("age_years", "must be between 18 and 120").in_item(3);
        assert_eq!(error.field, "applications[3].age_years");
        assert_eq!(error.index, Some(3));
        let whole = FieldError::of_item(7, "must be an object");
        assert_eq!(
            (whole.field.as_str(), whole.index),
            ("applications[7]", Some(7))
        );
        assert_eq!(FieldError::new("age_years", "x").index, None);
    }

    #[test]
    fn deserializing_goes_through_the_same_validation() {
        let mut body = example();
        body["age_years"] = json!(12);
        let error = serde_json::from_value::<Application>(body).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("age_years: must be between 18 and 120"),
            "{error}"
        );
        assert_eq!(
            serde_json::from_value::<Application>(example()).unwrap(),
            parse(example()).unwrap()
        );
    }
}
