//! The dashboard's charts, as inline SVG: decisions per hour with the
//! approval rate, the score's distribution against training, and each arm's
//! approval rate per hour. Every mark lies inside a drawing of
//! [`WIDTH`] × [`HEIGHT`], with a strip of labels below it.

use std::fmt::Write;

use chrono::{DateTime, TimeDelta, Utc};
use domain::monitoring::{Drift, HourCount, Window};
use domain::{HourlyTally, Role};

use super::format::{escape, percent, time};

/// At most this many bars in the decisions chart: longer windows group hours.
const MOST_BARS: i64 = 168;
pub(super) const WIDTH: f64 = 720.0;
pub(super) const HEIGHT: f64 = 200.0;
/// Below the drawing: the labels of the horizontal axis.
const LABELS: f64 = 20.0;

/// Bars of decisions per hour (or per group of hours for a long window),
/// with the approval rate of each as a line.
pub(super) fn decisions_chart(out: &mut String, window: Window, hours: &[HourCount]) {
    let span = (window.until - window.since).num_hours() + 1;
    let step = ((span + MOST_BARS - 1) / MOST_BARS).max(1);
    let first = HourlyTally::hour_of(window.since);
    let mut buckets: Vec<(DateTime<Utc>, u64, u64)> = Vec::new();
    let mut start = first;
    while start < window.until || buckets.is_empty() {
        buckets.push((start, 0, 0));
        start += TimeDelta::hours(step);
    }
    for hour in hours {
        let index = ((hour.hour - first).num_hours() / step) as usize;
        if let Some(bucket) = buckets.get_mut(index) {
            bucket.1 += hour.decisions;
            bucket.2 += hour.approved;
        }
    }
    let most = buckets.iter().map(|b| b.1).max().unwrap_or(0).max(1);
    let width = WIDTH / buckets.len() as f64;
    let unit = if step == 1 {
        "hour".to_owned()
    } else {
        format!("{step} hours")
    };
    let _ = write!(
        out,
        "<p class=\"legend muted\"><span><i class=\"swatch\" style=\"background:#4e79a7\"></i>decisions per {unit} (most {most})</span>\
         <span><i class=\"swatch\" style=\"background:#e15759\"></i>approval rate (0 – 100%)</span></p>\
         <svg id=\"decisions-chart\" role=\"img\" aria-label=\"Decisions per {unit}\" viewBox=\"0 0 {WIDTH} {}\">",
        HEIGHT + LABELS
    );
    let mut rate_points = Vec::new();
    for (k, (start, decisions, approved)) in buckets.iter().enumerate() {
        let height = HEIGHT * *decisions as f64 / most as f64;
        let x = k as f64 * width;
        let _ = write!(
            out,
            "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{height:.1}\" fill=\"#4e79a7\">\
             <title>{}: {decisions} decisions</title></rect>",
            HEIGHT - height,
            (width - 1.0).max(0.5),
            time(*start)
        );
        if *decisions > 0 {
            let rate = *approved as f64 / *decisions as f64;
            let (cx, cy) = (x + width / 2.0, HEIGHT * (1.0 - rate));
            rate_points.push(format!("{cx:.1},{cy:.1}"));
            // A dot per point: a lone hour has no line to draw.
            let _ = write!(
                out,
                "<circle cx=\"{cx:.1}\" cy=\"{cy:.1}\" r=\"3\" fill=\"#e15759\"><title>{}: {} approved</title></circle>",
                time(*start),
                percent(rate)
            );
        }
    }
    if rate_points.len() > 1 {
        let _ = write!(
            out,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"#e15759\" stroke-width=\"2\"/>",
            rate_points.join(" ")
        );
    }
    let last = buckets.last().map(|b| b.0).unwrap_or(first);
    axis_labels(out, first, last);
    out.push_str("</svg>");
}

/// Pairs of bars per score bin: the training share and the window's.
pub(super) fn score_chart(out: &mut String, score: &Drift) {
    let most = score
        .bins
        .iter()
        .map(|bin| bin.expected.max(bin.actual.unwrap_or(0.0)))
        .fold(0.0, f64::max)
        .max(f64::EPSILON);
    let width = WIDTH / score.bins.len().max(1) as f64;
    let _ = write!(
        out,
        "<p class=\"legend muted\"><span><i class=\"swatch\" style=\"background:#bab0ac\"></i>training</span>\
         <span><i class=\"swatch\" style=\"background:#4e79a7\"></i>this window</span></p>\
         <svg id=\"score-chart\" role=\"img\" aria-label=\"Score distribution\" viewBox=\"0 0 {WIDTH} {}\">",
        HEIGHT + LABELS
    );
    for (k, bin) in score.bins.iter().enumerate() {
        let x = k as f64 * width;
        // Under 100 decisions the window's shares are not shown.
        let bars = [
            Some((0.1, bin.expected, "#bab0ac", "training")),
            bin.actual.map(|actual| (0.5, actual, "#4e79a7", "window")),
        ];
        for (offset, share, colour, whose) in bars.into_iter().flatten() {
            let height = HEIGHT * share / most;
            let _ = write!(
                out,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{height:.1}\" fill=\"{colour}\">\
                 <title>{} {whose}: {}</title></rect>",
                x + width * offset,
                HEIGHT - height,
                width * 0.4,
                escape(&bin.bin),
                percent(share)
            );
        }
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            x + width / 2.0,
            HEIGHT + 15.0,
            escape(&bin.bin)
        );
    }
    out.push_str("</svg>");
}

/// Each arm's approval rate per hour of the window, as two lines.
pub(super) fn arm_rates_chart(
    out: &mut String,
    window: Window,
    hours: &[HourCount],
    challenger: Role,
) {
    let first = HourlyTally::hour_of(window.since);
    let span = ((window.until - first).num_hours() + 1).max(1) as f64;
    let _ = write!(
        out,
        "<h3>Approval rate per arm</h3><p class=\"legend muted\">\
         <span><i class=\"swatch\" style=\"background:#4e79a7\"></i>champion</span>\
         <span><i class=\"swatch\" style=\"background:#f28e2b\"></i>challenger</span> (0 – 100%, per hour)</p>\
         <svg id=\"arm-rates-chart\" role=\"img\" aria-label=\"Approval rate per arm\" viewBox=\"0 0 {WIDTH} {}\">",
        HEIGHT + LABELS
    );
    for (role, colour) in [(Role::Champion, "#4e79a7"), (challenger, "#f28e2b")] {
        let points: Vec<(f64, f64)> = hours
            .iter()
            .filter_map(|hour| {
                let (decided, approved) = hour.by_role[role as usize];
                (decided > 0).then(|| {
                    let x = WIDTH * ((hour.hour - first).num_hours() as f64 + 0.5) / span;
                    let y = HEIGHT * (1.0 - approved as f64 / decided as f64);
                    (x, y)
                })
            })
            .collect();
        for (x, y) in &points {
            let _ = write!(
                out,
                "<circle class=\"{}\" cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"3\" fill=\"{colour}\"/>",
                role.as_str()
            );
        }
        if points.len() > 1 {
            let line: Vec<String> = points
                .iter()
                .map(|(x, y)| format!("{x:.1},{y:.1}"))
                .collect();
            let _ = write!(
                out,
                "<polyline points=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\"/>",
                line.join(" ")
            );
        }
    }
    axis_labels(out, first, window.until);
    out.push_str("</svg>");
}

/// The first and the last time under the drawing, at its two ends.
fn axis_labels(out: &mut String, first: DateTime<Utc>, last: DateTime<Utc>) {
    let _ = write!(
        out,
        "<text x=\"0\" y=\"{0}\">{1}</text><text x=\"{WIDTH}\" y=\"{0}\" text-anchor=\"end\">{2}</text>",
        HEIGHT + 15.0,
        time(first),
        time(last)
    );
}
