"""The one mapping table between the contract's fields and the data set's columns.

The order of FEATURES is the order of the model's input vector and of the
contract's field table. A categorical value's code is its position in
`values`, which follows the data set's documented label order. The card
repeats this table, and the Rust scorer refuses a card that disagrees with the
contract's fields (adapters/onnx-scorer/src/card.rs).
"""

TARGET_COLUMN = "creditability"
# Protected attributes under fair-lending rules: never used.
EXCLUDED_COLUMNS = ["personal_status_and_sex", "foreign_worker"]

FEATURES = [
    {
        "name": "checking_account",
        "column": "status_of_existing_checking_account",
        "kind": "categorical",
        "values": [
            ("below_0", "... < 0 DM"),
            ("0_to_200", "0 <= ... < 200 DM"),
            ("200_or_more", "... >= 200 DM / salary assignments for at least 1 year"),
            ("none", "no checking account"),
        ],
    },
    {"name": "duration_months", "column": "duration_in_month", "kind": "integer"},
    {
        "name": "credit_history",
        "column": "credit_history",
        "kind": "categorical",
        "values": [
            ("no_credits_taken", "no credits taken/ all credits paid back duly"),
            ("all_paid_this_bank", "all credits at this bank paid back duly"),
            ("existing_paid_duly", "existing credits paid back duly till now"),
            ("past_delays", "delay in paying off in the past"),
            ("critical_account", "critical account/ other credits existing (not at this bank)"),
        ],
    },
    {
        "name": "purpose",
        "column": "purpose",
        "kind": "categorical",
        "values": [
            ("car_new", "car (new)"),
            ("car_used", "car (used)"),
            ("furniture_equipment", "furniture/equipment"),
            ("radio_television", "radio/television"),
            ("domestic_appliances", "domestic appliances"),
            ("repairs", "repairs"),
            ("education", "education"),
            ("retraining", "retraining"),
            ("business", "business"),
            ("others", "others"),
        ],
    },
    {"name": "credit_amount", "column": "credit_amount", "kind": "number"},
    {
        "name": "savings",
        "column": "savings_account_and_bonds",
        "kind": "categorical",
        "values": [
            ("below_100", "... < 100 DM"),
            ("100_to_500", "100 <= ... < 500 DM"),
            ("500_to_1000", "500 <= ... < 1000 DM"),
            ("1000_or_more", "... >= 1000 DM"),
            ("unknown", "unknown/ no savings account"),
        ],
    },
    {
        "name": "employment_since",
        "column": "present_employment_since",
        "kind": "categorical",
        "values": [
            ("unemployed", "unemployed"),
            ("below_1_year", "... < 1 year"),
            ("1_to_4_years", "1 <= ... < 4 years"),
            ("4_to_7_years", "4 <= ... < 7 years"),
            ("7_years_or_more", "... >= 7 years"),
        ],
    },
    {
        "name": "installment_rate",
        "column": "installment_rate_in_percentage_of_disposable_income",
        "kind": "integer",
    },
    {
        "name": "other_debtors",
        "column": "other_debtors_or_guarantors",
        "kind": "categorical",
        "values": [
            ("none", "none"),
            ("co_applicant", "co-applicant"),
            ("guarantor", "guarantor"),
        ],
    },
    {"name": "residence_since", "column": "present_residence_since", "kind": "integer"},
    {
        "name": "property",
        "column": "property",
        "kind": "categorical",
        "values": [
            ("real_estate", "real estate"),
            ("savings_or_insurance", "building society savings agreement/ life insurance"),
            ("car_or_other", "car or other, not in attribute Savings account/bonds"),
            ("none", "unknown / no property"),
        ],
    },
    {"name": "age_years", "column": "age_in_years", "kind": "integer"},
    {
        "name": "other_installment_plans",
        "column": "other_installment_plans",
        "kind": "categorical",
        "values": [("bank", "bank"), ("stores", "stores"), ("none", "none")],
    },
    {
        "name": "housing",
        "column": "housing",
        "kind": "categorical",
        "values": [("rent", "rent"), ("own", "own"), ("for_free", "for free")],
    },
    {
        "name": "existing_credits",
        "column": "number_of_existing_credits_at_this_bank",
        "kind": "integer",
    },
    {
        "name": "job",
        "column": "job",
        "kind": "categorical",
        "values": [
            ("unskilled_non_resident", "unemployed/ unskilled - non-resident"),
            ("unskilled_resident", "unskilled - resident"),
            ("skilled", "skilled employee / official"),
            ("highly_qualified", "management/ self-employed/ highly qualified employee/ officer"),
        ],
    },
    {
        "name": "dependents",
        "column": "number_of_people_being_liable_to_provide_maintenance_for",
        "kind": "integer",
    },
    {
        "name": "telephone",
        "column": "telephone",
        "kind": "boolean",
        "false_label": "none",
        "true_label": "yes, registered under the customers name",
    },
]


def encode_value(feature: dict, label):
    """The model input for one data set cell: a code, a 0/1, or the number."""
    if feature["kind"] == "categorical":
        labels = [label_ for _, label_ in feature["values"]]
        if label not in labels:
            raise ValueError(f"{feature['column']}: label {label!r} is not in the mapping table")
        return float(labels.index(label))
    if feature["kind"] == "boolean":
        if label not in (feature["false_label"], feature["true_label"]):
            raise ValueError(f"{feature['column']}: label {label!r} is not in the mapping table")
        return 1.0 if label == feature["true_label"] else 0.0
    return float(label)


def encode_row(row) -> list[float]:
    return [encode_value(feature, row[feature["column"]]) for feature in FEATURES]


def to_application(row) -> dict:
    """A data set row as the contract's JSON application."""
    application = {}
    for feature in FEATURES:
        label = row[feature["column"]]
        if feature["kind"] == "categorical":
            application[feature["name"]] = dict((l, v) for v, l in feature["values"])[label]
        elif feature["kind"] == "boolean":
            application[feature["name"]] = label == feature["true_label"]
        else:
            application[feature["name"]] = int(label)
    return application


# The adverse-action reason of each feature: a stable code and the words a
# letter to a declined applicant uses (ECOA / Regulation B §1002.9). A reason
# is given when the applicant's value of the feature raised the probability
# of default the most against its most favourable value (model/README.md).
REASONS = {
    "checking_account": ("R01", "Checking account balance is low or negative"),
    "duration_months": ("R02", "Loan duration is long"),
    "credit_history": ("R03", "Credit history shows delays or accounts in difficulty"),
    "purpose": ("R04", "Purpose of the loan carries more risk"),
    "credit_amount": ("R05", "Loan amount is high"),
    "savings": ("R06", "Savings are low or unknown"),
    "employment_since": ("R07", "Time in present employment is short"),
    "installment_rate": ("R08", "Installments are a high share of disposable income"),
    "other_debtors": ("R09", "No guarantor for the loan"),
    "residence_since": ("R10", "Length of time at present residence"),
    "property": ("R11", "Little or no property"),
    "age_years": ("R12", "Age of the applicant"),
    "other_installment_plans": ("R13", "Other installment plans with banks or stores"),
    "housing": ("R14", "Housing situation"),
    "existing_credits": ("R15", "Number of existing credits at this bank"),
    "job": ("R16", "Type of job"),
    "dependents": ("R17", "Number of people the applicant supports"),
    "telephone": ("R18", "No telephone registered in the applicant's name"),
}
assert list(REASONS) == [feature["name"] for feature in FEATURES]
