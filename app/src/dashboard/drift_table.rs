//! The drift table: the PSI of the score and of every field against
//! training, coloured by status, each with its bins on demand.

use std::fmt::Write;

use domain::MonitoringReport;
use domain::monitoring::{Drift, DriftStatus};

use super::format::{escape, percent};

/// The score's PSI for the sentence above its chart.
pub(super) fn psi_text(drift: &Drift) -> String {
    match drift.psi {
        Some(psi) => format!(
            "{psi:.4} <span class=\"status {0}\">{0}</span>",
            drift.status.as_str()
        ),
        None => "not measured, and the window's shares not shown: fewer than 100 decisions in the window".to_owned(),
    }
}

/// One row for the score, then one per field in the contract's order.
pub(super) fn drift_table(out: &mut String, report: &MonitoringReport) {
    out.push_str(
        "<h2>Drift per field</h2><p class=\"muted\">Population stability index against training: \
         stable below 0.10, watch to 0.25, act from 0.25.</p>\
         <table id=\"drift-table\"><thead><tr><th>field</th><th>PSI</th><th>status</th><th>bins: training → window</th></tr></thead><tbody>",
    );
    let rows = std::iter::once(("probability_of_default", &report.score))
        .chain(report.features.iter().map(|(name, drift)| (*name, drift)));
    for (name, drift) in rows {
        let psi = drift.psi.map_or("—".to_owned(), |psi| format!("{psi:.4}"));
        let status = drift.status.as_str();
        let bins: Vec<String> = drift
            .bins
            .iter()
            .map(|bin| {
                format!(
                    "{} {} → {}",
                    escape(&bin.bin),
                    percent(bin.expected),
                    bin.actual.map_or("—".to_owned(), percent)
                )
            })
            .collect();
        let _ = write!(
            out,
            "<tr data-field=\"{name}\" data-status=\"{status}\"><td>{name}</td><td class=\"number\">{psi}\
             <td><span class=\"status {status}\">{}</span></td>\
             <td><details><summary>{} bins</summary>{}</details></td></tr>",
            if drift.status == DriftStatus::InsufficientData {
                "insufficient data"
            } else {
                status
            },
            drift.bins.len(),
            bins.join("<br>")
        );
    }
    out.push_str("</tbody></table>");
}
