//! Bins, cells, tallies, PSI and windows, with hand-worked figures.

use chrono::{DateTime, TimeZone, Utc};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use super::*;
use crate::application::Application;
use crate::decision::{Outcome, Source};
use crate::fields::FieldKind;
use crate::routing::Mode;

/// A baseline over every field: the score at 0.1 and 0.3 (30/40/30%),
/// categories evenly shared, numbers split in two halves.
pub(crate) fn test_baseline() -> Baseline {
    let score = Bins::numeric(
        vec![0.1, 0.3],
        shares(&["low", "middle", "high"], &[0.3, 0.4, 0.3]),
    )
    .unwrap();
    let features = Application::FIELDS
        .iter()
        .map(|field| {
            let bins = match field.kind {
                FieldKind::Categorical { values, .. } => {
                    let even = vec![1.0 / values.len() as f64; values.len()];
                    Bins::categorical(shares(values, &even))
                }
                FieldKind::Boolean => Bins::categorical(shares(&["false", "true"], &[0.5, 0.5])),
                FieldKind::Integer { min, max } => {
                    let middle = f64::from(min) + f64::from(max - min) / 2.0;
                    Bins::numeric(vec![middle.floor()], shares(&["low", "high"], &[0.5, 0.5]))
                }
                FieldKind::Number { .. } => {
                    Bins::numeric(vec![1000.0], shares(&["low", "high"], &[0.5, 0.5]))
                }
            };
            (field.name.to_owned(), bins.unwrap())
        })
        .collect();
    Baseline::new(score, features).unwrap()
}

fn shares(labels: &[&str], shares: &[f64]) -> Vec<(String, f64)> {
    labels
        .iter()
        .map(|label| label.to_string())
        .zip(shares.iter().copied())
        .collect()
}

fn example() -> Application {
    let body: Value =
        serde_json::from_str(include_str!("../../testdata/example-application.json")).unwrap();
    Application::from_json(body.as_object().unwrap()).unwrap()
}

fn at(hour: u32, minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, hour, minute, 0).unwrap()
}

fn window() -> MinuteWindow {
    MinuteWindow::covering(Window {
        since: at(0, 0),
        until: at(23, 0),
    })
}

/// A tally of `n` decisions of the example, each with `probability`.
fn tally_of(baseline: &Baseline, n: usize, probability: f64, source: Source) -> Tally {
    let cells = baseline.cells(&example(), probability, Outcome::Approve, source);
    let mut tally = Tally::default();
    (0..n).for_each(|_| tally.add(&cells));
    tally
}

fn hourly(hour: u32, model_version: &str, tally: Tally) -> HourlyTally {
    HourlyTally {
        hour: at(hour, 0),
        model_version: model_version.to_owned(),
        role: Role::Champion,
        tally,
    }
}

#[test]
fn numbers_fall_in_right_closed_bins_and_categories_in_their_code() {
    let bins = Bins::numeric(vec![1.0, 2.0], shares(&["a", "b", "c"], &[0.2, 0.3, 0.5])).unwrap();
    let baseline = test_baseline();
    let cells = |probability| match baseline.cells(
        &example(),
        probability,
        Outcome::Decline,
        Source::Cache,
    ) {
        cells if cells.is_binned() => cells.counted().to_vec(),
        _ => panic!("a decision is binned"),
    };
    // The score's bins start at cell 4: 0.1 falls below its edge, 0.1001 above.
    assert_eq!(cells(0.1)[..3], [1, 3, 4]);
    assert_eq!(cells(0.1001)[2], 5);
    assert_eq!(cells(0.99)[2], 6);
    // checking_account "below_0" is code 0: the first of its four bins.
    assert_eq!(cells(0.5)[3], 7);
    assert_eq!(bins.labels(), ["a", "b", "c"]);
}

#[test]
fn a_baseline_that_does_not_describe_the_application_is_refused() {
    let good = test_baseline();
    let score = good.score().clone();
    let mut features: Vec<(String, Bins)> = Application::FIELDS
        .iter()
        .map(|f| f.name.to_owned())
        .zip(good.features().iter().cloned())
        .collect();

    let mut swapped = features.clone();
    swapped.swap(0, 1);
    assert!(
        Baseline::new(score.clone(), swapped)
            .unwrap_err()
            .contains("not the application's")
    );

    features[0].1 = Bins::categorical(shares(&["below_0", "none"], &[0.5, 0.5])).unwrap();
    let refused = Baseline::new(score, features).unwrap_err();
    assert!(
        refused.starts_with("checking_account: the bins are"),
        "{refused}"
    );

    assert!(Bins::numeric(vec![2.0, 1.0], shares(&["a", "b", "c"], &[0.2, 0.3, 0.5])).is_err());
    assert!(Bins::numeric(vec![1.0], shares(&["a", "b"], &[0.2, 0.3])).is_err());
    assert!(Bins::numeric(vec![1.0], shares(&["a"], &[1.0])).is_err());
}

#[test]
fn psi_is_worked_by_hand_and_an_empty_bin_counts_as_the_floor() {
    let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
    // (0.25 − 0.5)·ln(0.5) + (0.75 − 0.5)·ln(1.5)
    assert!(close(
        psi(&[0.5, 0.5], &[0.25, 0.75]),
        0.25 * 2f64.ln() + 0.25 * 1.5f64.ln()
    ));
    assert_eq!(psi(&[0.3, 0.7], &[0.3, 0.7]), 0.0);
    // An empty bin is 0.0001, not 0 (which would make the index infinite).
    let floored = (PSI_FLOOR - 0.5) * (PSI_FLOOR / 0.5).ln() + 0.5 * 2f64.ln();
    assert!(close(psi(&[0.5, 0.5], &[0.0, 1.0]), floored));
}

#[test]
fn the_status_follows_the_contracts_thresholds() {
    let baseline = test_baseline();
    let status_at = |low: usize, high: usize| {
        // The score's bins are 30/40/30%; put `low` in the first, `high` in the last.
        let mut tally = tally_of(&baseline, low, 0.05, Source::Model);
        tally.merge(&tally_of(&baseline, 1000 - low - high, 0.2, Source::Model));
        tally.merge(&tally_of(&baseline, high, 0.5, Source::Model));
        let report = MonitoringReport::of(window(), &baseline, "v1", &[hourly(1, "v1", tally)]);
        (report.score.psi.unwrap(), report.score.status)
    };
    assert_eq!(status_at(300, 300), (0.0, DriftStatus::Stable));
    let (psi, status) = status_at(250, 250);
    assert!(psi < 0.10, "{psi}");
    assert_eq!(status, DriftStatus::Stable);
    let (psi, status) = status_at(200, 200);
    assert!((0.10..0.25).contains(&psi), "{psi}");
    assert_eq!(status, DriftStatus::Watch);
    let (psi, status) = status_at(50, 500);
    assert!(psi >= 0.25, "{psi}");
    assert_eq!(status, DriftStatus::Act);
}

#[test]
fn under_a_hundred_decisions_no_psi_is_given() {
    let baseline = test_baseline();
    let report_of = |n| {
        let tally = tally_of(&baseline, n, 0.2, Source::Model);
        MonitoringReport::of(window(), &baseline, "v1", &[hourly(1, "v1", tally)])
    };
    let few = report_of(99);
    assert_eq!(few.decisions, 99);
    assert_eq!(few.score.psi, None);
    // Nor any share: a narrow window must not show how its few applicants
    // answered. The counts stay.
    let drifts = std::iter::once(&few.score).chain(few.features.iter().map(|(_, drift)| drift));
    for drift in drifts {
        assert!(
            drift.bins.iter().all(|bin| bin.actual.is_none()),
            "{drift:?}"
        );
        assert!(drift.bins.iter().all(|bin| bin.expected > 0.0), "{drift:?}");
    }
    assert_eq!(few.by_decision.approve, 99);
    assert_eq!(few.score.status, DriftStatus::InsufficientData);
    assert!(
        few.features
            .iter()
            .all(|(_, drift)| drift.psi.is_none() && drift.status == DriftStatus::InsufficientData)
    );
    // Every application is the example, so every share sits in one bin: act.
    let enough = report_of(100);
    assert_eq!(enough.score.status, DriftStatus::Act);
    assert!(enough.features.iter().all(|(_, drift)| drift.psi.is_some()));
}

#[test]
fn every_decision_counts_in_the_totals_but_only_the_serving_models_in_the_bins() {
    let baseline = test_baseline();
    let mut old = Tally::default();
    (0..7).for_each(|_| old.add(&Cells::unbinned(Outcome::Decline, Source::Cache)));
    let tallies = [
        hourly(1, "v1", tally_of(&baseline, 200, 0.05, Source::Model)),
        hourly(1, "v0", old),
        hourly(2, "v1", tally_of(&baseline, 100, 0.5, Source::Cache)),
    ];

    let report = MonitoringReport::of(window(), &baseline, "v1", &tallies);

    assert_eq!(report.decisions, 307);
    assert_eq!(
        (report.by_decision.approve, report.by_decision.decline),
        (300, 7)
    );
    assert_eq!((report.by_source.model, report.by_source.cache), (200, 107));
    assert_eq!(report.approval_rate, Some(300.0 / 307.0));
    let actual: Vec<Option<f64>> = report.score.bins.iter().map(|bin| bin.actual).collect();
    assert_eq!(
        actual,
        [Some(200.0 / 300.0), Some(0.0), Some(100.0 / 300.0)]
    );
    let hours: Vec<(u32, u64, u64)> = report
        .hours
        .iter()
        .map(|h| {
            (
                h.hour.format("%H").to_string().parse().unwrap(),
                h.decisions,
                h.approved,
            )
        })
        .collect();
    assert_eq!(hours, [(1, 207, 200), (2, 100, 100)]);
}

#[test]
fn the_report_reads_as_the_contract_writes_it() {
    let baseline = test_baseline();
    let report = MonitoringReport::of(window(), &baseline, "v1", &[]);
    let body = serde_json::to_value(&report).unwrap();

    assert_eq!(
        body["window"],
        json!({"since": "2026-11-25T00:00:00Z", "until": "2026-11-25T23:00:00Z"})
    );
    assert_eq!(body["decisions"], 0);
    assert_eq!(body["by_decision"], json!({"approve": 0, "decline": 0}));
    assert_eq!(body["by_source"], json!({"model": 0, "cache": 0}));
    assert_eq!(body["approval_rate"], Value::Null);
    assert_eq!(
        body["score"]["bins"][0],
        json!({"bin": "low", "expected": 0.3, "actual": null})
    );
    assert_eq!(body["score"]["status"], "insufficient_data");
    let names: Vec<&str> = body["features"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let fields: Vec<&str> = Application::FIELDS.iter().map(|f| f.name).collect();
    let mut sorted = fields.clone();
    sorted.sort_unstable();
    let mut listed = names.clone();
    listed.sort_unstable();
    assert_eq!(listed, sorted);
    assert_eq!(body.as_object().unwrap().len(), 7);
}

#[test]
fn a_window_defaults_to_the_last_day_and_reads_rfc_3339_in_any_offset() {
    let now = at(12, 30);
    assert_eq!(
        Window::parse(None, None, now).unwrap(),
        Window {
            since: now - Window::DEFAULT_LENGTH,
            until: now
        }
    );
    assert_eq!(
        Window::parse(Some("2026-11-25T10:00:00+02:00"), None, now).unwrap(),
        Window {
            since: at(8, 0),
            until: now
        }
    );
    assert_eq!(
        Window::parse(None, Some("2026-11-25T01:00:00Z"), now).unwrap(),
        Window {
            since: at(1, 0) - Window::DEFAULT_LENGTH,
            until: at(1, 0)
        }
    );
    let empty = Window::parse(
        Some("2026-11-25T01:00:00Z"),
        Some("2026-11-25T01:00:00Z"),
        now,
    )
    .unwrap();
    assert!(!empty.contains(at(1, 0)));
    assert!(window().contains(at(0, 0)) && !window().contains(at(23, 0)));
}

#[test]
fn a_bad_window_names_each_bad_parameter() {
    let now = at(12, 0);
    let fields = |since, until| -> Vec<String> {
        Window::parse(since, until, now)
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect()
    };
    assert_eq!(
        fields(Some("yesterday"), Some("2026-13-01T00:00:00Z")),
        ["since", "until"]
    );
    assert_eq!(fields(None, Some("1700000000")), ["until"]);
    assert_eq!(
        fields(Some("2026-11-25T02:00:00Z"), Some("2026-11-25T01:00:00Z")),
        ["since"]
    );
}

#[test]
fn the_status_changes_exactly_at_the_contracts_thresholds() {
    assert_eq!(DriftStatus::of(0.099_999), DriftStatus::Stable);
    assert_eq!(DriftStatus::of(0.10), DriftStatus::Watch);
    assert_eq!(DriftStatus::of(0.249_999), DriftStatus::Watch);
    assert_eq!(DriftStatus::of(0.25), DriftStatus::Act);
    // The dashboard's words are the report's.
    for status in [
        DriftStatus::Stable,
        DriftStatus::Watch,
        DriftStatus::Act,
        DriftStatus::InsufficientData,
    ] {
        assert_eq!(json!(status), json!(status.as_str()));
    }
}

#[test]
fn each_field_is_counted_in_its_own_bins() {
    let baseline = test_baseline();
    let cells = baseline.cells(&example(), 0.2, Outcome::Approve, Source::Model);
    let cells = cells.counted();
    for (k, bins) in baseline.features().iter().enumerate() {
        let first = baseline.offset(k + 1);
        let cell = usize::from(cells[3 + k]);
        assert!(
            (first..first + bins.len()).contains(&cell),
            "{}: cell {cell}, its bins from {first}",
            Application::FIELDS[k].name
        );
    }
    // By hand: an amount of 1169 is above the 1000 edge, and a telephone
    // (true) is the second of false/true.
    let field = |name| {
        Application::FIELDS
            .iter()
            .position(|f| f.name == name)
            .unwrap()
    };
    for name in ["credit_amount", "telephone"] {
        let k = field(name);
        assert_eq!(
            usize::from(cells[3 + k]),
            baseline.offset(k + 1) + 1,
            "{name}"
        );
    }
}

#[test]
fn a_fields_drift_is_read_from_its_own_cells() {
    // A thousand times the example: each field wholly in the example's bin.
    let baseline = test_baseline();
    let tally = tally_of(&baseline, 1000, 0.2, Source::Model);
    let report = MonitoringReport::of(window(), &baseline, "v1", &[hourly(1, "v1", tally)]);
    let (name, checking) = &report.features[0];
    assert_eq!(*name, "checking_account");
    // `below_0` is the first of four even bins.
    assert_eq!(checking.psi, Some(psi(&[0.25; 4], &[1.0, 0.0, 0.0, 0.0])));
}

#[test]
fn a_window_without_decisions_has_no_approval_rate() {
    let report = MonitoringReport::of(window(), &test_baseline(), "v1", &[]);
    assert_eq!(report.decisions, 0);
    assert_eq!(report.approval_rate, None);
}

#[test]
fn tallies_gather_by_hour_and_model_version_earliest_first() {
    let baseline = test_baseline();
    let one = || tally_of(&baseline, 1, 0.2, Source::Model);
    let gathered = HourlyTally::gather([
        (at(2, 10), "v1".to_owned(), Role::Champion, one()),
        (at(1, 59), "v1".to_owned(), Role::Champion, one()),
        (at(2, 50), "v1".to_owned(), Role::Champion, one()),
        (at(2, 0), "v2".to_owned(), Role::Champion, one()),
        (at(2, 5), "v2".to_owned(), Role::Shadow, one()),
    ]);
    let summary: Vec<(DateTime<Utc>, &str, Role, u64)> = gathered
        .iter()
        .map(|hour| {
            (
                hour.hour,
                hour.model_version.as_str(),
                hour.role,
                hour.tally.count(0),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (at(1, 0), "v1", Role::Champion, 1),
            (at(2, 0), "v1", Role::Champion, 2),
            (at(2, 0), "v2", Role::Champion, 1),
            (at(2, 0), "v2", Role::Shadow, 1)
        ]
    );
    // A tally read back from its counts, as a log stores it, is the same.
    let tally = tally_of(&baseline, 3, 0.2, Source::Model);
    assert_eq!(Tally::from_counts(tally.counts().to_vec()), tally);
}

#[test]
fn a_report_covers_the_whole_minutes_of_its_window() {
    let at_ms = |minute: u32, ms: i64| at(10, minute) + chrono::TimeDelta::milliseconds(ms);
    let covering = |since, until| MinuteWindow::covering(Window { since, until }).window();
    // A millisecond is widened to its minute.
    assert_eq!(
        covering(at_ms(5, 30_000), at_ms(5, 30_001)),
        Window {
            since: at(10, 5),
            until: at(10, 6)
        }
    );
    // Ends already on minutes stay; an empty window on a minute stays empty.
    assert_eq!(
        covering(at(10, 5), at(10, 7)),
        Window {
            since: at(10, 5),
            until: at(10, 7)
        }
    );
    assert_eq!(covering(at(10, 5), at(10, 5)).since, at(10, 5));
    assert_eq!(covering(at(10, 5), at(10, 5)).until, at(10, 5));
    // Across an hour.
    assert_eq!(
        covering(at_ms(59, 1), at_ms(59, 59_999)),
        Window {
            since: at(10, 59),
            until: at(11, 0)
        }
    );
    // The last minute RFC 3339 can write is not rounded past it.
    let last = Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap()
        + chrono::TimeDelta::milliseconds(999);
    assert_eq!(
        covering(last - chrono::TimeDelta::seconds(10), last).until,
        last
    );
    let report = MonitoringReport::of(
        MinuteWindow::covering(Window {
            since: at_ms(5, 1),
            until: at_ms(5, 2),
        }),
        &test_baseline(),
        "v1",
        &[],
    );
    assert_eq!(
        serde_json::to_value(&report).unwrap()["window"],
        json!({"since": "2026-11-25T10:05:00Z", "until": "2026-11-25T10:06:00Z"})
    );
}

#[test]
fn hours_and_minutes_start_by_the_calendar_even_past_2262() {
    let late = Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap()
        + chrono::TimeDelta::milliseconds(999);
    assert_eq!(
        HourlyTally::hour_of(late),
        Utc.with_ymd_and_hms(9999, 12, 31, 23, 0, 0).unwrap()
    );
    assert_eq!(
        minute_of(late),
        Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 0).unwrap()
    );
}

/// A tally of shadow verdicts: `n` of `shadow` with `probability`, each
/// beside a served `served`.
fn shadow_tally(
    baseline: &Baseline,
    n: usize,
    probability: f64,
    shadow: Outcome,
    served: Outcome,
) -> Tally {
    let cells = baseline.shadow_cells(&example(), probability, shadow, Source::Model, served);
    let mut tally = Tally::default();
    (0..n).for_each(|_| tally.add(&cells));
    tally
}

fn part(model_version: &str, role: Role, tally: Tally) -> HourlyTally {
    HourlyTally {
        hour: at(3, 0),
        model_version: model_version.to_owned(),
        role,
        tally,
    }
}

#[test]
fn a_shadow_comparison_counts_the_swap_set_and_the_agreement() {
    let baseline = test_baseline();
    let served = |n, probability, outcome| {
        let cells = baseline.cells(&example(), probability, outcome, Source::Model);
        let mut tally = Tally::default();
        (0..n).for_each(|_| tally.add(&cells));
        tally
    };
    use Outcome::{Approve, Decline};
    let tallies = [
        part("v1", Role::Champion, served(6, 0.1, Approve)),
        part("v1", Role::Champion, served(4, 0.6, Decline)),
        // Of the six approved, the shadow approves five and declines one;
        // of the four declined, it approves two and declines two.
        part(
            "v2",
            Role::Shadow,
            shadow_tally(&baseline, 5, 0.2, Approve, Approve),
        ),
        part(
            "v2",
            Role::Shadow,
            shadow_tally(&baseline, 1, 0.5, Decline, Approve),
        ),
        part(
            "v2",
            Role::Shadow,
            shadow_tally(&baseline, 2, 0.25, Approve, Decline),
        ),
        part(
            "v2",
            Role::Shadow,
            shadow_tally(&baseline, 2, 0.7, Decline, Decline),
        ),
    ];
    let comparison = Comparison::of(
        window(),
        "v1",
        Some(("v2", Mode::Shadow)),
        &|_| Some(&baseline),
        &tallies,
    );

    assert_eq!(comparison.champion.decisions, 10);
    assert_eq!(comparison.champion.approval_rate, Some(0.6));
    let mean = comparison.champion.mean_probability_of_default.unwrap();
    assert!(
        (mean - (6.0 * 0.1 + 4.0 * 0.6) / 10.0).abs() < 1e-9,
        "{mean}"
    );
    let challenger = comparison.challenger.unwrap();
    assert_eq!(
        (challenger.version.as_str(), challenger.mode),
        ("v2", Mode::Shadow)
    );
    assert_eq!(challenger.decisions, 10);
    assert_eq!(challenger.approval_rate, Some(0.7));
    let mean = challenger.mean_probability_of_default.unwrap();
    assert!(
        (mean - (5.0 * 0.2 + 0.5 + 2.0 * 0.25 + 2.0 * 0.7) / 10.0).abs() < 1e-9,
        "{mean}"
    );
    assert_eq!(
        comparison.swap_set,
        Some(SwapSet {
            both_approve: 5,
            swap_in: 2,
            swap_out: 1,
            both_decline: 2
        })
    );
    assert_eq!(comparison.agreement, Some(0.7));
}

#[test]
fn a_split_has_no_swap_set_and_a_window_without_a_challenger_no_challenger() {
    let baseline = test_baseline();
    let tallies = [
        part(
            "v1",
            Role::Champion,
            tally_of(&baseline, 3, 0.1, Source::Model),
        ),
        part(
            "v2",
            Role::Challenger,
            tally_of(&baseline, 2, 0.4, Source::Cache),
        ),
    ];
    let split = Comparison::of(
        window(),
        "v1",
        Some(("v2", Mode::Split)),
        &|_| Some(&baseline),
        &tallies,
    );
    let challenger = split.challenger.unwrap();
    assert_eq!((challenger.mode, challenger.decisions), (Mode::Split, 2));
    assert_eq!((split.swap_set, split.agreement), (None, None));
    assert_eq!(split.champion.decisions, 3);

    let alone = Comparison::of(window(), "v1", None, &|_| Some(&baseline), &tallies[..1]);
    assert_eq!(alone.challenger, None);
    assert_eq!(
        serde_json::to_value(&alone).unwrap()["swap_set"],
        Value::Null
    );
}

#[test]
fn the_comparison_prefers_the_current_challenger_among_several() {
    let baseline = test_baseline();
    let tallies = [
        part(
            "v1",
            Role::Champion,
            tally_of(&baseline, 3, 0.1, Source::Model),
        ),
        part(
            "v2",
            Role::Shadow,
            shadow_tally(&baseline, 1, 0.2, Outcome::Approve, Outcome::Approve),
        ),
        part(
            "v3",
            Role::Challenger,
            tally_of(&baseline, 2, 0.4, Source::Model),
        ),
    ];
    let of = |current| Comparison::of(window(), "v1", current, &|_| Some(&baseline), &tallies);
    assert_eq!(
        of(Some(("v3", Mode::Split))).challenger.unwrap().version,
        "v3"
    );
    assert_eq!(
        of(Some(("v2", Mode::Shadow))).challenger.unwrap().version,
        "v2"
    );
    // With none current, a shadow's is shown first: it has a swap set.
    assert_eq!(of(None).challenger.unwrap().version, "v2");
    // The same version in both modes: the current mode's.
    let both = [
        part(
            "v2",
            Role::Shadow,
            shadow_tally(&baseline, 1, 0.2, Outcome::Approve, Outcome::Approve),
        ),
        part(
            "v2",
            Role::Challenger,
            tally_of(&baseline, 2, 0.4, Source::Model),
        ),
    ];
    let split = Comparison::of(
        window(),
        "v1",
        Some(("v2", Mode::Split)),
        &|_| Some(&baseline),
        &both,
    );
    assert_eq!(split.challenger.unwrap().mode, Mode::Split);
}
