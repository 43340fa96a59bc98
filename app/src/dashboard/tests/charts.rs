//! The charts' geometry: every mark inside its drawing, bars proportional to
//! what they count, the approval rate on its axis, no NaN anywhere.

use chrono::TimeDelta;
use domain::Role;
use domain::monitoring::{DriftStatus, HourCount};
use pretty_assertions::assert_eq;
use proptest::prelude::*;
use scraper::Html;

use super::super::charts::{HEIGHT, WIDTH, arm_rates_chart, decisions_chart, score_chart};
use super::{at, attribute, drift, hour, number, select, text, window};

/// Coordinates are written with one decimal.
const ROUNDING: f64 = 0.051;

struct Bar {
    x: f64,
    y: f64,
    width: f64,
    height: f64,
    title: String,
}

fn bars(html: &Html) -> Vec<Bar> {
    select(html, "rect")
        .iter()
        .map(|rect| Bar {
            x: number(rect, "x"),
            y: number(rect, "y"),
            width: number(rect, "width"),
            height: number(rect, "height"),
            title: text(rect),
        })
        .collect()
}

fn assert_inside_the_drawing(bar: &Bar) {
    assert!(bar.x >= 0.0 && bar.width > 0.0, "{}", bar.title);
    assert!(bar.x + bar.width <= WIDTH + ROUNDING, "{}", bar.title);
    assert!(bar.height >= 0.0 && bar.y >= -ROUNDING, "{}", bar.title);
    // Every bar stands on the axis.
    assert!(
        (bar.y + bar.height - HEIGHT).abs() <= 2.0 * ROUNDING,
        "{}: y {} height {}",
        bar.title,
        bar.y,
        bar.height
    );
}

fn assert_drawn_without_nan(svg: &str) {
    assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
}

/// The hours of a window: up to 60 days, sparse, each with its approvals.
fn hours_in_a_window() -> impl Strategy<Value = (i64, i64, Vec<(i64, u64, u64)>)> {
    (0i64..60, 0i64..24 * 60).prop_flat_map(|(minutes, span)| {
        let counts = proptest::collection::vec(
            (0..=span, 1u64..5_000)
                .prop_flat_map(|(offset, decided)| (Just(offset), Just(decided), 0..=decided)),
            0..40,
        );
        (Just(minutes), Just(span), counts)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn decisions_bars_count_every_hour_stay_inside_and_are_proportional(
        (minutes, span, counts) in hours_in_a_window()
    ) {
        let since = at(0) + TimeDelta::minutes(minutes);
        let until = at(span) + TimeDelta::minutes(minutes);
        let mut hours: Vec<HourCount> = Vec::new();
        for (offset, decided, approved) in counts {
            // An hour that starts at the window's (excluded) end holds none
            // of its decisions.
            if at(offset) < until && !hours.iter().any(|hour| hour.hour == at(offset)) {
                hours.push(hour(at(offset), decided, approved));
            }
        }
        hours.sort_by_key(|hour| hour.hour);
        let mut svg = String::new();
        decisions_chart(&mut svg, window(since, until), &hours);
        assert_drawn_without_nan(&svg);

        let html = Html::parse_fragment(&svg);
        let bars = bars(&html);
        prop_assert!(!bars.is_empty() && bars.len() <= 168, "{} bars", bars.len());
        // What each bar counts, from its title.
        let counted: Vec<u64> = bars
            .iter()
            .map(|bar| bar.title.rsplit(": ").next().unwrap().trim_end_matches(" decisions").parse().unwrap())
            .collect();
        prop_assert_eq!(counted.iter().sum::<u64>(), hours.iter().map(|hour| hour.decisions).sum::<u64>());
        let most = counted.iter().copied().max().unwrap_or(0).max(1) as f64;
        let mut left = 0.0;
        for (bar, &count) in bars.iter().zip(&counted) {
            assert_inside_the_drawing(bar);
            prop_assert!(bar.x >= left - ROUNDING, "bars overlap: {} at {}", bar.title, bar.x);
            left = bar.x + bar.width;
            prop_assert!((bar.height - HEIGHT * count as f64 / most).abs() <= ROUNDING, "{}", bar.title);
        }

        // The approval rate: a dot over each bar that has decisions, on its axis.
        let dots = select(&html, "circle");
        prop_assert_eq!(dots.len(), counted.iter().filter(|&&count| count > 0).count());
        let filled = bars.iter().zip(&counted).filter(|(_, count)| **count > 0);
        for (dot, (bar, _)) in dots.iter().zip(filled) {
            let (cx, cy) = (number(dot, "cx"), number(dot, "cy"));
            prop_assert!(cx >= bar.x && cx <= bar.x + bar.width + 1.0 + ROUNDING, "{} over {}", cx, bar.title);
            prop_assert!((0.0..=HEIGHT).contains(&cy), "cy {}", cy);
            let shown: f64 = text(dot).rsplit(": ").next().unwrap().trim_end_matches("% approved").parse().unwrap();
            // The title shows a tenth of a percent: 0.05% of the axis is 0.1.
            prop_assert!((cy - HEIGHT * (1.0 - shown / 100.0)).abs() <= 0.1 + ROUNDING, "cy {} for {}%", cy, shown);
        }
    }

    #[test]
    fn score_bars_sit_in_their_bins_slot_in_proportion_to_their_share(
        shares in proptest::collection::vec((0.0f64..1.0, proptest::option::of(0.0f64..1.0)), 1..12)
    ) {
        let labels: Vec<String> = (0..shares.len()).map(|k| format!("bin {k}")).collect();
        let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
        let mut score = drift(&labels, None, None, DriftStatus::InsufficientData);
        for (bin, (expected, actual)) in score.bins.iter_mut().zip(&shares) {
            bin.expected = *expected;
            bin.actual = *actual;
        }
        let mut svg = String::new();
        score_chart(&mut svg, &score);
        assert_drawn_without_nan(&svg);

        let html = Html::parse_fragment(&svg);
        let bars = bars(&html);
        let wanted: Vec<(usize, f64)> = shares
            .iter()
            .enumerate()
            .flat_map(|(k, (expected, actual))| std::iter::once((k, *expected)).chain(actual.map(|a| (k, a))))
            .collect();
        prop_assert_eq!(bars.len(), wanted.len());
        let most = wanted.iter().map(|(_, share)| *share).fold(0.0, f64::max).max(f64::EPSILON);
        let slot = WIDTH / shares.len() as f64;
        for (bar, (k, share)) in bars.iter().zip(&wanted) {
            assert_inside_the_drawing(bar);
            let (from, to) = (*k as f64 * slot, (*k + 1) as f64 * slot);
            prop_assert!(bar.x >= from - ROUNDING && bar.x + bar.width <= to + ROUNDING, "{} outside its slot", bar.title);
            prop_assert!((bar.height - HEIGHT * share / most).abs() <= ROUNDING, "{}", bar.title);
        }
        // A label under each bin, centred in its slot.
        let labels = select(&html, "text");
        prop_assert_eq!(labels.len(), shares.len());
        for (k, label) in labels.iter().enumerate() {
            prop_assert!((number(label, "x") - (k as f64 + 0.5) * slot).abs() <= ROUNDING);
            prop_assert!(number(label, "y") > HEIGHT);
        }
    }

    #[test]
    fn each_arms_rate_is_a_dot_per_hour_on_its_axis(
        span in 0i64..400,
        counts in proptest::collection::vec((0i64..400, 1u64..1_000, 0.0f64..=1.0, 0u64..1_000, 0.0f64..=1.0), 0..30)
    ) {
        let mut hours: Vec<HourCount> = Vec::new();
        for (offset, champion, champion_rate, shadow, shadow_rate) in counts {
            let offset = offset % (span + 1);
            if hours.iter().any(|hour| hour.hour == at(offset)) {
                continue;
            }
            let mut counted = hour(at(offset), champion, (champion as f64 * champion_rate) as u64);
            counted.by_role[Role::Shadow as usize] = (shadow, (shadow as f64 * shadow_rate) as u64);
            hours.push(counted);
        }
        hours.sort_by_key(|hour| hour.hour);
        let mut svg = String::new();
        arm_rates_chart(&mut svg, window(at(0), at(span)), &hours, Role::Shadow);
        assert_drawn_without_nan(&svg);

        let html = Html::parse_fragment(&svg);
        let lines = select(&html, "polyline");
        let mut drawn = lines.iter();
        for role in [Role::Champion, Role::Shadow] {
            let dots = select(&html, &format!("circle.{}", role.as_str()));
            // A line through the dots, when there are two or more.
            let through: Vec<String> = dots
                .iter()
                .map(|dot| format!("{},{}", attribute(dot, "cx"), attribute(dot, "cy")))
                .collect();
            if through.len() > 1 {
                let line = drawn.next().expect("a line through the dots");
                prop_assert_eq!(attribute(line, "points"), through.join(" "));
            }
            let counted: Vec<&HourCount> = hours.iter().filter(|hour| hour.by_role[role as usize].0 > 0).collect();
            prop_assert_eq!(dots.len(), counted.len());
            let mut left = -1.0;
            for (dot, hour) in dots.iter().zip(counted) {
                let (cx, cy) = (number(dot, "cx"), number(dot, "cy"));
                prop_assert!(cx > left && (0.0..=WIDTH).contains(&cx), "cx {}", cx);
                left = cx;
                // In the middle of its hour's slot: span + 1 hours across.
                let offset = (hour.hour - at(0)).num_hours() as f64;
                prop_assert!((cx - WIDTH * (offset + 0.5) / (span + 1) as f64).abs() <= ROUNDING, "cx {} for hour {}", cx, offset);
                let (decided, approved) = hour.by_role[role as usize];
                let rate = approved as f64 / decided as f64;
                prop_assert!((cy - HEIGHT * (1.0 - rate)).abs() <= ROUNDING, "cy {} for {}", cy, rate);
            }
        }
        prop_assert!(drawn.next().is_none(), "a line with fewer than two dots");
    }
}

#[test]
fn an_empty_window_is_drawn_without_nan() {
    let mut svg = String::new();
    decisions_chart(&mut svg, window(at(0), at(0)), &[]);
    arm_rates_chart(&mut svg, window(at(0), at(0)), &[], Role::Challenger);
    score_chart(
        &mut svg,
        &drift(&[], None, None, DriftStatus::InsufficientData),
    );
    assert_drawn_without_nan(&svg);
    let html = Html::parse_fragment(&svg);
    let bars = bars(&html);
    assert_eq!(bars.len(), 1, "one empty bar for the window");
    assert_eq!(bars[0].height, 0.0);
    assert!(select(&html, "circle").is_empty());
    assert!(select(&html, "polyline").is_empty());
}

#[test]
fn a_long_window_groups_hours_into_at_most_168_bars() {
    let thirty_days = window(at(0), at(24 * 30));
    let hours: Vec<_> = (0..24 * 30).map(|k| hour(at(k), 10, 5)).collect();
    let mut svg = String::new();
    decisions_chart(&mut svg, thirty_days, &hours);
    let html = Html::parse_fragment(&svg);
    let bars = bars(&html);
    // 720 hours (721 counted for the step) in steps of five.
    assert_eq!(bars.len(), 144);
    assert!(svg.contains("decisions per 5 hours (most 50)"), "{svg}");
    assert_eq!(bars[0].height, HEIGHT);
    let line = select(&html, "polyline");
    assert_eq!(attribute(&line[0], "points").split(' ').count(), 144);
    // The axis is labelled with the first hour and the last bar's.
    let labels: Vec<String> = select(&html, "text").iter().map(text).collect();
    assert_eq!(labels, ["2026-12-01T00:00:00Z", "2026-12-30T19:00:00Z"]);
}

#[test]
fn one_hour_is_one_bar_across_the_drawing_with_its_rate() {
    let mut svg = String::new();
    decisions_chart(
        &mut svg,
        window(at(3), at(3) + TimeDelta::minutes(30)),
        &[hour(at(3), 8, 2)],
    );
    let html = Html::parse_fragment(&svg);
    let bars = bars(&html);
    assert_eq!(bars.len(), 1);
    assert_eq!((bars[0].x, bars[0].y, bars[0].height), (0.0, 0.0, HEIGHT));
    assert_eq!(bars[0].title, "2026-12-01T03:00:00Z: 8 decisions");
    let dot = &select(&html, "circle")[0];
    assert_eq!((number(dot, "cx"), number(dot, "cy")), (WIDTH / 2.0, 150.0));
    assert_eq!(text(dot), "2026-12-01T03:00:00Z: 25.0% approved");
    // A lone point draws no line.
    assert!(select(&html, "polyline").is_empty());
}

#[test]
fn a_week_of_hours_is_drawn_one_bar_an_hour_and_a_longer_window_groups_them() {
    // 167 whole hours and a half: 168 hours touched, the most bars drawn.
    let week = window(at(0), at(167) + TimeDelta::minutes(30));
    let mut svg = String::new();
    decisions_chart(&mut svg, week, &[hour(at(0), 1, 1)]);
    assert_eq!(bars(&Html::parse_fragment(&svg)).len(), 168);
    assert!(svg.contains("decisions per hour"), "{svg}");
    // One hour more, and hours go in pairs.
    let longer = window(at(0), at(168) + TimeDelta::minutes(30));
    let mut svg = String::new();
    decisions_chart(&mut svg, longer, &[hour(at(0), 1, 1)]);
    assert_eq!(bars(&Html::parse_fragment(&svg)).len(), 85);
    assert!(svg.contains("decisions per 2 hours"), "{svg}");
}
