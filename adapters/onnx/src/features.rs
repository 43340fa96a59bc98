//! The model's input: an application as 18 numbers, in contract order.
//!
//! A categorical field is its code (its position in the contract's value
//! list), `telephone` is 0 or 1, the numbers are themselves. The training
//! side's table (`model/features.py`) encodes the same way; the card repeats
//! that table and [`expected_features`] is what it is checked against.

use domain::Application;
use domain::fields::Categorical;
use serde_json::{Value, json};

pub const FEATURE_COUNT: usize = Application::FIELDS.len();

/// The feature vector of an application.
pub fn encode(application: &Application) -> [f32; FEATURE_COUNT] {
    let code = |value: u8| f32::from(value);
    [
        code(application.checking_account.code()),
        f32::from(application.duration_months.get()),
        code(application.credit_history.code()),
        code(application.purpose.code()),
        application.credit_amount.get() as f32,
        code(application.savings.code()),
        code(application.employment_since.code()),
        f32::from(application.installment_rate.get()),
        code(application.other_debtors.code()),
        f32::from(application.residence_since.get()),
        code(application.property.code()),
        f32::from(application.age_years.get()),
        code(application.other_installment_plans.code()),
        code(application.housing.code()),
        f32::from(application.existing_credits.get()),
        code(application.job.code()),
        f32::from(application.dependents.get()),
        if application.telephone { 1.0 } else { 0.0 },
    ]
}

/// How the contract says one feature is encoded.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectedFeature {
    pub name: &'static str,
    pub kind: &'static str,
    /// (wire value, code) of every value, for categoricals and booleans.
    pub codes: Vec<(Value, u8)>,
}

fn categorical<C: Categorical>(name: &'static str) -> ExpectedFeature {
    ExpectedFeature {
        name,
        kind: "categorical",
        codes: C::ALL
            .iter()
            .map(|value| (json!(value.as_str()), value.code()))
            .collect(),
    }
}

fn plain(name: &'static str, kind: &'static str) -> ExpectedFeature {
    ExpectedFeature {
        name,
        kind,
        codes: Vec::new(),
    }
}

/// The features in input order, as the domain defines them.
pub fn expected_features() -> Vec<ExpectedFeature> {
    use domain::fields::*;
    vec![
        categorical::<CheckingAccount>("checking_account"),
        plain("duration_months", "integer"),
        categorical::<CreditHistory>("credit_history"),
        categorical::<Purpose>("purpose"),
        plain("credit_amount", "number"),
        categorical::<Savings>("savings"),
        categorical::<EmploymentSince>("employment_since"),
        plain("installment_rate", "integer"),
        categorical::<OtherDebtors>("other_debtors"),
        plain("residence_since", "integer"),
        categorical::<Property>("property"),
        plain("age_years", "integer"),
        categorical::<OtherInstallmentPlans>("other_installment_plans"),
        categorical::<Housing>("housing"),
        plain("existing_credits", "integer"),
        categorical::<Job>("job"),
        plain("dependents", "integer"),
        ExpectedFeature {
            name: "telephone",
            kind: "boolean",
            codes: vec![(json!(false), 0), (json!(true), 1)],
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn features_follow_the_contract_field_order() {
        let names: Vec<&str> = expected_features().iter().map(|f| f.name).collect();
        assert_eq!(names, Application::FIELDS.to_vec());
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
