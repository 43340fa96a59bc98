//! The drift table: a row per field in the contract's order, each with the
//! status its PSI earned, and its bins.

use domain::Application;
use domain::monitoring::DriftStatus;
use pretty_assertions::assert_eq;
use scraper::Html;

use super::super::drift_table::{drift_table, psi_text};
use super::{at, attribute, drift, report, select, text, window};

fn table_of(report: &domain::MonitoringReport) -> Html {
    let mut out = String::new();
    drift_table(&mut out, report);
    Html::parse_fragment(&out)
}

#[test]
fn there_is_a_row_for_the_score_then_one_per_field_in_the_contracts_order() {
    let html = table_of(&report(window(at(0), at(1)), vec![]));
    let fields: Vec<String> = select(&html, "tbody tr")
        .iter()
        .map(|row| attribute(row, "data-field"))
        .collect();
    let mut expected = vec!["probability_of_default".to_owned()];
    expected.extend(
        Application::FIELDS
            .iter()
            .map(|field| field.name.to_owned()),
    );
    assert_eq!(fields, expected);
    let names: Vec<String> = select(&html, "tbody tr td:first-child")
        .iter()
        .map(text)
        .collect();
    assert_eq!(names, expected);
}

#[test]
fn each_row_shows_its_psi_and_the_status_it_earned() {
    let mut report = report(window(at(0), at(1)), vec![]);
    let cases = [
        (
            Some(0.04),
            DriftStatus::Stable,
            "0.0400",
            "stable",
            "stable",
        ),
        (Some(0.1), DriftStatus::Watch, "0.1000", "watch", "watch"),
        (Some(0.31234), DriftStatus::Act, "0.3123", "act", "act"),
        (
            None,
            DriftStatus::InsufficientData,
            "—",
            "insufficient_data",
            "insufficient data",
        ),
    ];
    for (k, (psi, status, ..)) in cases.iter().enumerate() {
        report.features[k].1 = drift(&["a", "b"], Some(&[0.5, 0.5]), *psi, *status);
    }
    let html = table_of(&report);
    let rows = select(&html, "tbody tr");
    // Row 0 is the score.
    for (row, (_, _, psi, class, label)) in rows[1..].iter().zip(cases) {
        let cells: Vec<String> = row.child_elements().map(|cell| text(&cell)).collect();
        assert_eq!(cells[1], psi);
        assert_eq!(attribute(row, "data-status"), class);
        let badge = row
            .child_elements()
            .nth(2)
            .and_then(|cell| cell.child_elements().next())
            .unwrap();
        assert_eq!(attribute(&badge, "class"), format!("status {class}"));
        assert_eq!(text(&badge), label);
    }
}

#[test]
fn a_rows_bins_show_training_and_window_shares_with_their_labels_inert() {
    let mut report = report(window(at(0), at(1)), vec![]);
    report.features[0].1 = drift(
        &["< 0 DM", "0 to <200 & \"more\""],
        Some(&[0.25, 0.75]),
        Some(0.2),
        DriftStatus::Watch,
    );
    report.features[1].1 = drift(&["x", "y", "z"], None, None, DriftStatus::InsufficientData);
    let html = table_of(&report);
    let rows = select(&html, "tbody tr");
    let bins = |row: usize| text(&select(&html, "details")[row]);
    assert_eq!(
        bins(1),
        "2 bins< 0 DM 50.0% → 25.0%0 to <200 & \"more\" 50.0% → 75.0%"
    );
    assert_eq!(bins(2), "3 binsx 33.3% → —y 33.3% → —z 33.3% → —");
    // One break between every two bins: 18 rows of two bins, one of three.
    assert_eq!(select(&html, "details br").len(), 18 + 2);
    assert_eq!(rows.len(), 19);
}

#[test]
fn the_scores_psi_sentence_says_why_there_is_none() {
    let stable = drift(&["a"], Some(&[1.0]), Some(0.01234), DriftStatus::Stable);
    assert_eq!(
        psi_text(&stable),
        "0.0123 <span class=\"status stable\">stable</span>"
    );
    let unknown = drift(&["a"], None, None, DriftStatus::InsufficientData);
    assert!(psi_text(&unknown).starts_with("not measured"));
    assert!(psi_text(&unknown).contains("fewer than 100 decisions"));
}
