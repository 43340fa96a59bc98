//! The whole page, read back by html5ever: no parse error (an unclosed or
//! misnested element is one), no id twice, what the caller typed inert.

use std::collections::HashSet;

use chrono::TimeDelta;
use domain::monitoring::{ArmFigures, ChallengerFigures, SwapSet, Window};
use domain::{Comparison, Mode};
use pretty_assertions::assert_eq;
use scraper::Html;

use super::super::{header, page};
use super::{at, attribute, hour, report, select, text, window};

fn champion_only(window: Window) -> Comparison {
    Comparison {
        window,
        champion: ArmFigures {
            version: "german-credit-2026.11.0".to_owned(),
            decisions: 10,
            approval_rate: Some(0.7),
            mean_probability_of_default: Some(0.2),
        },
        challenger: None,
        swap_set: None,
        agreement: None,
    }
}

fn with_challenger(window: Window, mode: Mode) -> Comparison {
    let shadow = mode == Mode::Shadow;
    Comparison {
        challenger: Some(ChallengerFigures {
            version: "scorecard-<2026>".to_owned(),
            mode,
            decisions: 10,
            approval_rate: Some(0.6),
            mean_probability_of_default: None,
        }),
        swap_set: shadow.then_some(SwapSet {
            both_approve: 5,
            swap_in: 1,
            swap_out: 2,
            both_decline: 2,
        }),
        agreement: shadow.then_some(0.7),
        ..champion_only(window)
    }
}

fn parsed(page: &str) -> Html {
    let html = Html::parse_document(page);
    assert_eq!(html.errors, Vec::<std::borrow::Cow<str>>::new(), "{page}");
    html
}

fn assert_ids_unique(html: &Html) {
    let mut seen = HashSet::new();
    for element in select(html, "[id]") {
        let id = attribute(&element, "id");
        assert!(seen.insert(id.clone()), "id {id} twice");
    }
}

#[test]
fn every_variant_of_the_page_parses_cleanly_with_unique_ids() {
    let day = window(at(0), at(24));
    let busy = report(day, (0..24).map(|k| hour(at(k), 100, 70)).collect());
    let empty = report(day, vec![]);
    for (report, comparison) in [
        (&busy, champion_only(day)),
        (&busy, with_challenger(day, Mode::Shadow)),
        (&busy, with_challenger(day, Mode::Split)),
        (&empty, champion_only(day)),
        (&empty, with_challenger(day, Mode::Shadow)),
    ] {
        let page = page(report, "german-credit-2026.11.0", &comparison, at(24));
        assert!(!page.contains("NaN"), "{page}");
        let html = parsed(&page);
        assert_ids_unique(&html);
        for id in ["figures", "decisions-chart", "score-chart", "drift-table"] {
            assert_eq!(select(&html, &format!("#{id}")).len(), 1, "#{id}");
        }
        let challenged = comparison.challenger.is_some();
        assert_eq!(
            select(&html, "#champion-challenger").len(),
            usize::from(challenged)
        );
        assert_eq!(
            select(&html, "#arm-rates-chart").len(),
            usize::from(challenged)
        );
        assert_eq!(
            select(&html, "#swap-set").len(),
            usize::from(comparison.swap_set.is_some())
        );
    }
}

#[test]
fn the_figures_are_the_reports() {
    let day = window(at(0), at(24));
    let html = parsed(&page(
        &report(day, vec![hour(at(1), 30, 12), hour(at(2), 10, 4)]),
        "german-credit-2026.11.0",
        &champion_only(day),
        at(24),
    ));
    let figures: Vec<String> = select(&html, "#figures div").iter().map(text).collect();
    assert_eq!(
        figures,
        [
            "40decisions",
            "40.0%approval rate",
            "40scored by the model",
            "0served from the cache"
        ]
    );
    let empty = parsed(&page(
        &report(day, vec![]),
        "v",
        &champion_only(day),
        at(24),
    ));
    let figures: Vec<String> = select(&empty, "#figures div").iter().map(text).collect();
    assert_eq!(figures[1], "—approval rate");
}

#[test]
fn the_arms_and_the_swap_set_are_the_comparisons() {
    let day = window(at(0), at(24));
    let html = parsed(&page(
        &report(day, vec![hour(at(1), 10, 7)]),
        "german-credit-2026.11.0",
        &with_challenger(day, Mode::Shadow),
        at(24),
    ));
    let arm = |name: &str| -> Vec<String> {
        select(&html, &format!("#arms tr[data-arm={name}] td"))
            .iter()
            .map(text)
            .collect()
    };
    assert_eq!(
        arm("champion"),
        [
            "champion",
            "german-credit-2026.11.0",
            "10",
            "70.0%",
            "0.2000"
        ]
    );
    assert_eq!(
        arm("challenger"),
        [
            "challenger (shadow)",
            "scorecard-<2026>",
            "10",
            "60.0%",
            "—"
        ]
    );
    let cell = |name: &str| text(&select(&html, &format!("#swap-set td[data-cell={name}]"))[0]);
    assert_eq!(cell("both_approve"), "5");
    assert_eq!(cell("swap_out"), "2 swapped out");
    assert_eq!(cell("swap_in"), "1 swapped in");
    assert_eq!(cell("both_decline"), "2");
    assert!(text(&select(&html, "#champion-challenger")[0]).contains("Agreement 70.0%"));

    let split = parsed(&page(
        &report(day, vec![]),
        "german-credit-2026.11.0",
        &with_challenger(day, Mode::Split),
        at(24),
    ));
    assert!(text(&select(&split, "#champion-challenger")[0]).contains("no swap set"));
}

#[test]
fn a_window_or_a_version_carrying_markup_is_shown_as_text() {
    let typed = r#""><script>alert('x')</script><b a='1'>"#;
    let mut out = String::new();
    header(&mut out, "<i>v</i>&", typed, typed, at(0));
    out.push_str("</body></html>");
    let html = parsed(&out);
    assert!(select(&html, "script").is_empty());
    assert!(select(&html, "b").is_empty());
    assert!(select(&html, "i").is_empty());
    for name in ["since", "until"] {
        let input = &select(&html, &format!("input[name={name}]"))[0];
        assert_eq!(attribute(input, "value"), typed);
    }
    assert_eq!(text(&select(&html, "p strong")[0]), "<i>v</i>&");
}

#[test]
fn the_windows_offered_end_at_the_next_whole_second() {
    let now = at(5) + TimeDelta::milliseconds(1_500);
    let mut out = String::new();
    header(&mut out, "v", "", "", now);
    out.push_str("</body></html>");
    let html = parsed(&out);
    let links: Vec<String> = select(&html, "nav a")
        .iter()
        .map(|a| attribute(a, "href"))
        .collect();
    assert_eq!(
        links,
        [
            "/monitoring?since=2026-12-01T04:00:02Z&until=2026-12-01T05:00:02Z",
            "/monitoring?since=2026-11-30T05:00:02Z&until=2026-12-01T05:00:02Z",
            "/monitoring?since=2026-11-24T05:00:02Z&until=2026-12-01T05:00:02Z",
            "/monitoring?since=2026-11-01T05:00:02Z&until=2026-12-01T05:00:02Z",
        ]
    );
}
