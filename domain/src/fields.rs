//! The value types of an application's fields.
//!
//! Each type can only hold a value the contract allows: the enums list the
//! contract's values in the data set's documented label order (a value's
//! position is its model code), the integers carry their bounds. Every type
//! implements [`Field`]: how it is read from JSON (with the message a client
//! sees when that fails), what the OpenAPI document and the model card say of
//! it ([`FieldKind`]), and the number the model reads for it.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What kind of value a field holds, with its allowed values or bounds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FieldKind {
    /// One of `values` (wire names, in model-code order); `names` are the
    /// values' names in code (`From0To200` for `0_to_200`), in the same
    /// order, for clients that cannot name a value starting with a digit.
    Categorical {
        values: &'static [&'static str],
        names: &'static [&'static str],
    },
    /// A JSON integer in `min..=max`.
    Integer {
        min: u8,
        max: u8,
    },
    /// A JSON number above `exclusive_min`, at most `max`.
    Number {
        exclusive_min: f64,
        max: f64,
    },
    Boolean,
}

impl FieldKind {
    /// The kind's name in the model card (`categorical`, `integer`, ...).
    pub fn name(self) -> &'static str {
        match self {
            FieldKind::Categorical { .. } => "categorical",
            FieldKind::Integer { .. } => "integer",
            FieldKind::Number { .. } => "number",
            FieldKind::Boolean => "boolean",
        }
    }
}

/// A type that can be one field of an application.
pub trait Field: Sized {
    const KIND: FieldKind;
    /// The value in a JSON body, or the message that says why it is not one.
    fn from_json(value: &Value) -> Result<Self, String>;
    /// The number the model reads for this value.
    fn feature(&self) -> f32;
}

/// A categorical field: the contract's wire values in data-set label order.
pub trait Categorical: Sized + Copy + 'static {
    /// Every value, in the order of the data set's documented labels.
    const ALL: &'static [Self];
    /// The wire values, in the same order.
    const WIRE: &'static [&'static str];
    /// The wire value, as written in the contract.
    fn as_str(self) -> &'static str;

    /// The model code of a value: its position in the documented label order.
    fn code(self) -> u8;

    fn parse(text: &str) -> Result<Self, String> {
        Self::ALL
            .iter()
            .copied()
            .find(|value| value.as_str() == text)
            .ok_or_else(|| {
                format!(
                    "unknown value '{}'; expected one of {}",
                    shortened(text),
                    Self::WIRE.join(", ")
                )
            })
    }
}

/// A client's value as an error message quotes it: at most 40 characters,
/// so that a long value cannot make a long answer.
fn shortened(text: &str) -> String {
    match text.char_indices().nth(40) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

/// Declares a categorical field: the enum, its wire names and its codes.
macro_rules! categorical {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $wire:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $(#[serde(rename = $wire)] $variant),+
        }

        impl Categorical for $name {
            const ALL: &'static [Self] = &[$(Self::$variant),+];
            const WIRE: &'static [&'static str] = &[$($wire),+];

            fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $wire),+ }
            }

            fn code(self) -> u8 {
                // The declaration order is the documented label order.
                self as u8
            }
        }

        impl Field for $name {
            const KIND: FieldKind = FieldKind::Categorical {
                values: Self::WIRE,
                names: &[$(stringify!($variant)),+],
            };

            fn from_json(value: &Value) -> Result<Self, String> {
                match value {
                    Value::String(text) => Self::parse(text),
                    _ => Err("must be a string".to_owned()),
                }
            }

            fn feature(&self) -> f32 {
                f32::from(self.code())
            }
        }
    };
}

categorical!(
    /// Status of the existing checking account (A11–A14).
    CheckingAccount {
        Below0 = "below_0",
        From0To200 = "0_to_200",
        From200OrMore = "200_or_more",
        NoAccount = "none",
    }
);

categorical!(
    /// Credit history (A30–A34).
    CreditHistory {
        NoCreditsTaken = "no_credits_taken",
        AllPaidThisBank = "all_paid_this_bank",
        ExistingPaidDuly = "existing_paid_duly",
        PastDelays = "past_delays",
        CriticalAccount = "critical_account",
    }
);

categorical!(
    /// Purpose of the credit (A40–A410, without the data set's unused "vacation").
    Purpose {
        CarNew = "car_new",
        CarUsed = "car_used",
        FurnitureEquipment = "furniture_equipment",
        RadioTelevision = "radio_television",
        DomesticAppliances = "domestic_appliances",
        Repairs = "repairs",
        Education = "education",
        Retraining = "retraining",
        Business = "business",
        Others = "others",
    }
);

categorical!(
    /// Savings account and bonds (A61–A65).
    Savings {
        Below100 = "below_100",
        From100To500 = "100_to_500",
        From500To1000 = "500_to_1000",
        From1000OrMore = "1000_or_more",
        Unknown = "unknown",
    }
);

categorical!(
    /// Present employment since (A71–A75).
    EmploymentSince {
        Unemployed = "unemployed",
        Below1Year = "below_1_year",
        From1To4Years = "1_to_4_years",
        From4To7Years = "4_to_7_years",
        From7YearsOrMore = "7_years_or_more",
    }
);

categorical!(
    /// Other debtors or guarantors (A101–A103).
    OtherDebtors {
        NoOne = "none",
        CoApplicant = "co_applicant",
        Guarantor = "guarantor",
    }
);

categorical!(
    /// Most valuable property (A121–A124).
    Property {
        RealEstate = "real_estate",
        SavingsOrInsurance = "savings_or_insurance",
        CarOrOther = "car_or_other",
        NoProperty = "none",
    }
);

categorical!(
    /// Other installment plans (A141–A143).
    OtherInstallmentPlans {
        Bank = "bank",
        Stores = "stores",
        NoPlans = "none",
    }
);

categorical!(
    /// Housing (A151–A153).
    Housing {
        Rent = "rent",
        Own = "own",
        ForFree = "for_free",
    }
);

categorical!(
    /// Job (A171–A174).
    Job {
        UnskilledNonResident = "unskilled_non_resident",
        UnskilledResident = "unskilled_resident",
        Skilled = "skilled",
        HighlyQualified = "highly_qualified",
    }
);

/// Declares an integer field with the contract's inclusive bounds.
macro_rules! bounded_integer {
    ($(#[$meta:meta])* $name:ident, $min:literal ..= $max:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(into = "u8", try_from = "i64")]
        pub struct $name(u8);

        impl $name {
            pub const MIN: u8 = $min;
            pub const MAX: u8 = $max;

            pub fn parse(value: i64) -> Result<Self, String> {
                if (i64::from(Self::MIN)..=i64::from(Self::MAX)).contains(&value) {
                    Ok(Self(value as u8))
                } else {
                    Err(format!("must be between {} and {}", Self::MIN, Self::MAX))
                }
            }

            pub fn get(self) -> u8 {
                self.0
            }
        }

        impl From<$name> for u8 {
            fn from(value: $name) -> u8 {
                value.0
            }
        }

        impl TryFrom<i64> for $name {
            type Error = String;
            fn try_from(value: i64) -> Result<Self, String> {
                Self::parse(value)
            }
        }

        impl Field for $name {
            const KIND: FieldKind = FieldKind::Integer { min: $min, max: $max };

            /// An integer is a whole JSON number, as JSON Schema counts it:
            /// `6` and `6.0` (one canonical form), not `6.5` or `"6"`.
            fn from_json(value: &Value) -> Result<Self, String> {
                if let Some(integer) = value.as_i64() {
                    return Self::parse(integer);
                }
                match value.as_f64() {
                    // Whole numbers beyond i64 are still numbers out of range.
                    Some(number) if number.fract() == 0.0 => {
                        Self::parse(number.clamp(i64::MIN as f64, i64::MAX as f64) as i64)
                    }
                    _ => Err("must be an integer".to_owned()),
                }
            }

            fn feature(&self) -> f32 {
                f32::from(self.0)
            }
        }
    };
}

bounded_integer!(
    /// Duration of the credit in months.
    DurationMonths, 1..=120
);
bounded_integer!(
    /// Installment rate in percentage of disposable income (1–4).
    InstallmentRate, 1..=4
);
bounded_integer!(
    /// Years at the present residence (1–4).
    ResidenceSince, 1..=4
);
bounded_integer!(
    /// Age in years.
    AgeYears, 18..=120
);
bounded_integer!(
    /// Number of existing credits at this bank.
    ExistingCredits, 1..=10
);
bounded_integer!(
    /// Number of people the applicant is liable to provide maintenance for.
    Dependents, 1..=10
);

/// The credit amount: a positive number of at most 1,000,000.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(try_from = "f64")]
pub struct CreditAmount(f64);

impl CreditAmount {
    pub const MAX: f64 = 1_000_000.0;

    pub fn parse(value: f64) -> Result<Self, String> {
        if value > 0.0 && value <= Self::MAX {
            Ok(Self(value))
        } else {
            Err("must be greater than 0 and at most 1000000".to_owned())
        }
    }

    pub fn get(self) -> f64 {
        self.0
    }
}

impl Field for CreditAmount {
    const KIND: FieldKind = FieldKind::Number {
        exclusive_min: 0.0,
        max: Self::MAX,
    };

    fn from_json(value: &Value) -> Result<Self, String> {
        match value.as_f64() {
            Some(number) => Self::parse(number),
            None => Err("must be a number".to_owned()),
        }
    }

    fn feature(&self) -> f32 {
        self.0 as f32
    }
}

/// `telephone`: registered under the applicant's name.
impl Field for bool {
    const KIND: FieldKind = FieldKind::Boolean;

    fn from_json(value: &Value) -> Result<Self, String> {
        value
            .as_bool()
            .ok_or_else(|| "must be a boolean".to_owned())
    }

    fn feature(&self) -> f32 {
        if *self { 1.0 } else { 0.0 }
    }
}

impl TryFrom<f64> for CreditAmount {
    type Error = String;
    fn try_from(value: f64) -> Result<Self, String> {
        Self::parse(value)
    }
}

/// Written as an integer when it is one, so that `2` and `2.0` have one
/// canonical form (the cache key depends on it) and a logged request reads
/// as the client most likely wrote it.
impl Serialize for CreditAmount {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // Every allowed whole amount (≤ 1,000,000) is exact in both f64 and u64.
        if self.0.fract() == 0.0 {
            serializer.serialize_u64(self.0 as u64)
        } else {
            serializer.serialize_f64(self.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn codes_follow_the_declared_label_order() {
        let codes: Vec<u8> = Purpose::ALL.iter().map(|p| p.code()).collect();
        assert_eq!(codes, (0..10).collect::<Vec<u8>>());
        assert_eq!(CheckingAccount::NoAccount.code(), 3);
    }

    #[test]
    fn an_unknown_enum_value_lists_the_expected_ones() {
        assert_eq!(
            Savings::parse("lots"),
            Err("unknown value 'lots'; expected one of below_100, 100_to_500, 500_to_1000, 1000_or_more, unknown".to_owned())
        );
        assert_eq!(Savings::parse("unknown"), Ok(Savings::Unknown));
        let long = "x".repeat(10_000);
        let message = Savings::parse(&long).unwrap_err();
        assert!(message.starts_with(&format!("unknown value '{}…'", "x".repeat(40))));
        assert!(message.len() < 200);
    }

    #[test]
    fn integer_bounds_are_inclusive() {
        assert_eq!(AgeYears::parse(18).map(AgeYears::get), Ok(18));
        assert_eq!(AgeYears::parse(120).map(AgeYears::get), Ok(120));
        assert_eq!(
            AgeYears::parse(17),
            Err("must be between 18 and 120".to_owned())
        );
        assert!(AgeYears::parse(121).is_err());
        assert!(AgeYears::parse(-1).is_err());
    }

    #[test]
    fn credit_amount_is_positive_and_capped() {
        assert!(CreditAmount::parse(0.0).is_err());
        assert!(CreditAmount::parse(-5.0).is_err());
        assert!(CreditAmount::parse(1_000_000.01).is_err());
        assert_eq!(
            CreditAmount::parse(1_000_000.0).map(CreditAmount::get),
            Ok(1_000_000.0)
        );
        assert_eq!(CreditAmount::parse(0.01).map(CreditAmount::get), Ok(0.01));
    }

    #[test]
    fn whole_credit_amounts_serialize_as_integers() {
        let whole = CreditAmount::parse(2.0).unwrap();
        let fractional = CreditAmount::parse(2.5).unwrap();
        assert_eq!(serde_json::to_string(&whole).unwrap(), "2");
        assert_eq!(serde_json::to_string(&fractional).unwrap(), "2.5");
    }
}
