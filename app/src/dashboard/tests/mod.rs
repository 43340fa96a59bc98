//! The dashboard's tests: the page read back by a real HTML parser
//! (html5ever, through scraper), the charts' geometry as properties, the
//! drift table row by row.

mod charts;
mod drift_table;
mod page;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use domain::Application;
use domain::monitoring::{
    BinShare, ByDecision, BySource, Drift, DriftStatus, HourCount, MonitoringReport, Window,
};
use scraper::{ElementRef, Html, Selector};

/// `hours` after midnight on 2026-12-01.
fn at(hours: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap() + TimeDelta::hours(hours)
}

fn window(since: DateTime<Utc>, until: DateTime<Utc>) -> Window {
    Window { since, until }
}

/// A drift over `labels`, the training shares even, the window's given.
fn drift(labels: &[&str], actual: Option<&[f64]>, psi: Option<f64>, status: DriftStatus) -> Drift {
    let expected = 1.0 / labels.len() as f64;
    Drift {
        psi,
        status,
        bins: labels
            .iter()
            .enumerate()
            .map(|(k, label)| BinShare {
                bin: (*label).to_owned(),
                expected,
                actual: actual.map(|shares| shares[k]),
            })
            .collect(),
    }
}

/// A report of `hours` over `window`, every field stable.
fn report(window: Window, hours: Vec<HourCount>) -> MonitoringReport {
    let decisions: u64 = hours.iter().map(|hour| hour.decisions).sum();
    let approve: u64 = hours.iter().map(|hour| hour.approved).sum();
    let stable = || {
        drift(
            &["low", "high"],
            Some(&[0.5, 0.5]),
            Some(0.0),
            DriftStatus::Stable,
        )
    };
    MonitoringReport {
        window,
        decisions,
        by_decision: ByDecision {
            approve,
            decline: decisions - approve,
        },
        by_source: BySource {
            model: decisions,
            cache: 0,
        },
        approval_rate: (decisions > 0).then(|| approve as f64 / decisions as f64),
        score: stable(),
        features: Application::FIELDS
            .iter()
            .map(|field| (field.name, stable()))
            .collect(),
        hours,
    }
}

/// An hour of `decisions` served by the champion, `approved` of them.
fn hour(at: DateTime<Utc>, decisions: u64, approved: u64) -> HourCount {
    HourCount {
        hour: at,
        decisions,
        approved,
        by_role: [(decisions, approved), (0, 0), (0, 0)],
    }
}

fn select<'a>(html: &'a Html, css: &str) -> Vec<ElementRef<'a>> {
    let selector = Selector::parse(css).expect("a valid selector");
    html.select(&selector).collect()
}

fn attribute(element: &ElementRef, name: &str) -> String {
    element
        .value()
        .attr(name)
        .unwrap_or_else(|| panic!("no {name} on {}", element.html()))
        .to_owned()
}

fn number(element: &ElementRef, name: &str) -> f64 {
    let text = attribute(element, name);
    text.parse()
        .unwrap_or_else(|_| panic!("{name}={text} is not a number"))
}

fn text(element: &ElementRef) -> String {
    element.text().collect()
}
