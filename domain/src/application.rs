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
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The same error, nested under `prefix` (`applications[3]`).
    pub fn under(self, prefix: &str) -> Self {
        Self {
            field: format!("{prefix}.{}", self.field),
            message: self.message,
        }
    }
}

/// The data set's attributes that are protected under fair-lending rules:
/// refused with a message saying so, never used.
const PROTECTED_ATTRIBUTES: [&str; 2] = ["personal_status_and_sex", "foreign_worker"];

/// A credit application. Field order is the contract's and the model's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Map<String, Value>")]
pub struct Application {
    pub checking_account: CheckingAccount,
    pub duration_months: DurationMonths,
    pub credit_history: CreditHistory,
    pub purpose: Purpose,
    pub credit_amount: CreditAmount,
    pub savings: Savings,
    pub employment_since: EmploymentSince,
    pub installment_rate: InstallmentRate,
    pub other_debtors: OtherDebtors,
    pub residence_since: ResidenceSince,
    pub property: Property,
    pub age_years: AgeYears,
    pub other_installment_plans: OtherInstallmentPlans,
    pub housing: Housing,
    pub existing_credits: ExistingCredits,
    pub job: Job,
    pub dependents: Dependents,
    pub telephone: bool,
}

impl Application {
    /// The contract's field names, in order.
    pub const FIELDS: [&'static str; 18] = [
        "checking_account",
        "duration_months",
        "credit_history",
        "purpose",
        "credit_amount",
        "savings",
        "employment_since",
        "installment_rate",
        "other_debtors",
        "residence_since",
        "property",
        "age_years",
        "other_installment_plans",
        "housing",
        "existing_credits",
        "job",
        "dependents",
        "telephone",
    ];

    /// Parses a JSON object into an application, or lists every failing field:
    /// first the contract's fields in order, then unknown fields by name.
    pub fn from_json(object: &Map<String, Value>) -> Result<Self, Vec<FieldError>> {
        let mut reader = FieldReader {
            object,
            errors: Vec::new(),
        };
        // Every field is read before any is used, so that all errors are listed.
        let checking_account = reader.categorical("checking_account");
        let duration_months = reader.integer("duration_months", DurationMonths::parse);
        let credit_history = reader.categorical("credit_history");
        let purpose = reader.categorical("purpose");
        let credit_amount = reader.number("credit_amount", CreditAmount::parse);
        let savings = reader.categorical("savings");
        let employment_since = reader.categorical("employment_since");
        let installment_rate = reader.integer("installment_rate", InstallmentRate::parse);
        let other_debtors = reader.categorical("other_debtors");
        let residence_since = reader.integer("residence_since", ResidenceSince::parse);
        let property = reader.categorical("property");
        let age_years = reader.integer("age_years", AgeYears::parse);
        let other_installment_plans = reader.categorical("other_installment_plans");
        let housing = reader.categorical("housing");
        let existing_credits = reader.integer("existing_credits", ExistingCredits::parse);
        let job = reader.categorical("job");
        let dependents = reader.integer("dependents", Dependents::parse);
        let telephone = reader.boolean("telephone");
        reader.reject_unknown_fields();

        let application = (|| {
            Some(Application {
                checking_account: checking_account?,
                duration_months: duration_months?,
                credit_history: credit_history?,
                purpose: purpose?,
                credit_amount: credit_amount?,
                savings: savings?,
                employment_since: employment_since?,
                installment_rate: installment_rate?,
                other_debtors: other_debtors?,
                residence_since: residence_since?,
                property: property?,
                age_years: age_years?,
                other_installment_plans: other_installment_plans?,
                housing: housing?,
                existing_credits: existing_credits?,
                job: job?,
                dependents: dependents?,
                telephone: telephone?,
            })
        })();
        match application {
            Some(application) if reader.errors.is_empty() => Ok(application),
            _ => Err(reader.errors),
        }
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
    fn read<T>(
        &mut self,
        field: &str,
        parse: impl FnOnce(&Value) -> Result<T, String>,
    ) -> Option<T> {
        let outcome = match self.object.get(field) {
            None => Err("is required".to_owned()),
            Some(value) => parse(value),
        };
        outcome
            .map_err(|message| self.errors.push(FieldError::new(field, message)))
            .ok()
    }

    fn categorical<T: Categorical>(&mut self, field: &str) -> Option<T> {
        self.read(field, |value| match value {
            Value::String(text) => T::parse(text),
            _ => Err("must be a string".to_owned()),
        })
    }

    /// Integers must be written as JSON integers: `6`, not `6.0` or `"6"`.
    fn integer<T>(&mut self, field: &str, parse: fn(i64) -> Result<T, String>) -> Option<T> {
        self.read(field, |value| match value.as_i64() {
            Some(integer) => parse(integer),
            // A whole number too large for i64 is still a number out of range.
            None if value.as_u64().is_some() => parse(i64::MAX),
            None => Err("must be an integer".to_owned()),
        })
    }

    fn number<T>(&mut self, field: &str, parse: fn(f64) -> Result<T, String>) -> Option<T> {
        self.read(field, |value| match value.as_f64() {
            Some(number) => parse(number),
            None => Err("must be a number".to_owned()),
        })
    }

    fn boolean(&mut self, field: &str) -> Option<bool> {
        self.read(field, |value| {
            value
                .as_bool()
                .ok_or_else(|| "must be a boolean".to_owned())
        })
    }

    fn reject_unknown_fields(&mut self) {
        for name in self.object.keys() {
            if Application::FIELDS.contains(&name.as_str()) {
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
mod tests {
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
                FieldError::new("existing_credits", "must be an integer"),
                FieldError::new("dependents", "must be an integer"),
            ]
        );
    }

    #[test]
    fn an_empty_object_lists_all_eighteen_fields_as_required() {
        let errors = parse(json!({})).unwrap_err();
        assert_eq!(fields_of(errors), Application::FIELDS.to_vec());
    }

    #[test]
    fn nested_errors_carry_their_prefix() {
        let error =
            FieldError::new("age_years", "must be between 18 and 120").under("applications[3]");
        assert_eq!(error.field, "applications[3].age_years");
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
