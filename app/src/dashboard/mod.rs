//! The monitoring dashboard, drawn on the server: HTML and inline SVG from a
//! [`MonitoringReport`] (and a [`Comparison`] when the window holds a
//! challenger), with no script and nothing loaded from elsewhere, so it
//! works behind any proxy and in any browser.

use std::fmt::Write;

use chrono::{DateTime, SecondsFormat, SubsecRound, TimeDelta, Utc};
use domain::monitoring::{Drift, DriftStatus};
use domain::{Comparison, Mode, ModelInfo, MonitoringReport, Role};

/// At most this many bars in the decisions chart: longer windows group hours.
const MOST_BARS: i64 = 168;
const CHART_WIDTH: f64 = 720.0;
const CHART_HEIGHT: f64 = 200.0;

const STYLE: &str = "
body { font: 15px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 62rem; padding: 1rem 1.5rem; color: #1f2328; }
h1 { margin: 0 0 .25rem; font-size: 1.5rem; } h2 { font-size: 1.1rem; margin: 2rem 0 .5rem; }
.muted { color: #59636e; } nav a { margin-right: 1rem; }
form { margin: .75rem 0; display: flex; gap: .75rem; flex-wrap: wrap; align-items: end; }
input { font: inherit; width: 15rem; }
.figures { display: flex; gap: 2rem; flex-wrap: wrap; margin-top: 1rem; }
.figures div { font-size: 1.6rem; font-weight: 600; } .figures span { display: block; font-size: .85rem; font-weight: 400; color: #59636e; }
svg { max-width: 100%; height: auto; } svg text { font-size: 11px; fill: #59636e; }
table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid #d1d9e0; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
.status { padding: .1rem .5rem; border-radius: 1rem; color: #fff; font-size: .85rem; }
.stable { background: #2e7d32; } .watch { background: #b26a00; } .act { background: #c62828; } .insufficient_data { background: #6e7781; }
.legend span { margin-right: 1rem; } .swatch { display: inline-block; width: .8rem; height: .8rem; margin-right: .3rem; vertical-align: -.1rem; }
";

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

fn percent(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

/// The page's head, title and window picker.
fn header(out: &mut String, model_version: &str, since: &str, until: &str, now: DateTime<Utc>) {
    // Links to whole seconds read better; rounded up, so that the decisions
    // of this very second are in the window.
    let now = now.trunc_subsecs(0) + TimeDelta::seconds(1);
    let _ = write!(
        out,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Monitoring · credit-decisions</title><style>{STYLE}</style></head><body>\
         <h1>Monitoring the credit model</h1>\
         <p class=\"muted\">Model <strong>{}</strong>. The population served, from the decision store, \
         against the training population. <a href=\"/v1/monitoring\">JSON</a> · <a href=\"/docs\">API</a></p><nav>",
        escape(model_version)
    );
    for (label, hours) in [
        ("Last hour", 1),
        ("Last 24 hours", 24),
        ("Last 7 days", 24 * 7),
        ("Last 30 days", 24 * 30),
    ] {
        let _ = write!(
            out,
            "<a href=\"/monitoring?since={}&amp;until={}\">{label}</a>",
            time(now - TimeDelta::hours(hours)),
            time(now)
        );
    }
    let _ = write!(
        out,
        "</nav><form method=\"get\" action=\"/monitoring\">\
         <label>Since (RFC 3339)<br><input name=\"since\" value=\"{}\"></label>\
         <label>Until<br><input name=\"until\" value=\"{}\"></label>\
         <button type=\"submit\">Show</button></form>",
        escape(since),
        escape(until)
    );
}

/// The dashboard of a report.
pub fn page(
    report: &MonitoringReport,
    model: &ModelInfo,
    comparison: &Comparison,
    now: DateTime<Utc>,
) -> String {
    let mut out = String::with_capacity(32 * 1024);
    let (since, until) = (time(report.window.since), time(report.window.until));
    header(&mut out, &model.version, &since, &until, now);
    let rate = report.approval_rate.map_or("—".to_owned(), percent);
    let _ = write!(
        out,
        "<p class=\"muted\">From {since} to {until} (UTC, the end excluded).</p>\
         <section class=\"figures\" id=\"figures\">\
         <div>{}<span>decisions</span></div><div>{rate}<span>approval rate</span></div>\
         <div>{}<span>scored by the model</span></div><div>{}<span>served from the cache</span></div></section>",
        report.decisions, report.by_source.model, report.by_source.cache
    );
    out.push_str("<h2>Decisions per hour</h2>");
    decisions_chart(&mut out, report);
    let _ = write!(
        out,
        "<h2>Score distribution</h2><p class=\"muted\">The probability of default in the training \
         deciles: the training share of each, and the window's. PSI {}.</p>",
        psi_text(&report.score)
    );
    score_chart(&mut out, &report.score);
    drift_table(&mut out, report);
    champion_and_challenger(&mut out, report, comparison);
    out.push_str("</body></html>");
    out
}

/// The champion against the challenger: each arm's figures, the swap set
/// as a 2x2 table (shadow), and each arm's approval rate per hour.
fn champion_and_challenger(out: &mut String, report: &MonitoringReport, comparison: &Comparison) {
    let Some(challenger) = &comparison.challenger else {
        return;
    };
    let rate = |rate: Option<f64>| rate.map_or("—".to_owned(), percent);
    let mean = |mean: Option<f64>| mean.map_or("—".to_owned(), |mean| format!("{mean:.4}"));
    let champion = &comparison.champion;
    let _ = write!(
        out,
        "<section id=\"champion-challenger\"><h2>Champion and challenger</h2>\
         <table id=\"arms\"><thead><tr><th>arm</th><th>version</th><th>decisions</th><th>approval rate</th>\
         <th>mean probability of default</th></tr></thead><tbody>\
         <tr data-arm=\"champion\"><td>champion</td><td>{}</td><td class=\"number\">{}</td><td class=\"number\">{}</td><td class=\"number\">{}</td></tr>\
         <tr data-arm=\"challenger\"><td>challenger ({})</td><td>{}</td><td class=\"number\">{}</td><td class=\"number\">{}</td><td class=\"number\">{}</td></tr>\
         </tbody></table>",
        escape(&champion.version),
        champion.decisions,
        rate(champion.approval_rate),
        mean(champion.mean_probability_of_default),
        challenger.mode,
        escape(&challenger.version),
        challenger.decisions,
        rate(challenger.approval_rate),
        mean(challenger.mean_probability_of_default),
    );
    match (&comparison.swap_set, challenger.mode) {
        (Some(set), _) => {
            let _ = write!(
                out,
                "<h3>Swap set</h3><p class=\"muted\">The applications the challenger scored in the \
                 shadow, by what the champion decided and what the challenger would have. \
                 Agreement {}.</p>\
                 <table id=\"swap-set\"><thead><tr><th></th><th>challenger would approve</th>\
                 <th>challenger would decline</th></tr></thead><tbody>\
                 <tr><th>champion approved</th><td class=\"number\" data-cell=\"both_approve\">{}</td>\
                 <td class=\"number\" data-cell=\"swap_out\">{} swapped out</td></tr>\
                 <tr><th>champion declined</th><td class=\"number\" data-cell=\"swap_in\">{} swapped in</td>\
                 <td class=\"number\" data-cell=\"both_decline\">{}</td></tr></tbody></table>",
                rate(comparison.agreement),
                set.both_approve,
                set.swap_out,
                set.swap_in,
                set.both_decline
            );
        }
        (None, Mode::Split) => out.push_str(
            "<p class=\"muted\">In a split the arms decide different applications: there is \
             no swap set.</p>",
        ),
        (None, Mode::Shadow) => {}
    }
    let challenger_role = match challenger.mode {
        Mode::Shadow => Role::Shadow,
        Mode::Split => Role::Challenger,
    };
    arm_rates_chart(out, report, challenger_role);
    out.push_str("</section>");
}

/// Each arm's approval rate per hour of the window, as two lines.
fn arm_rates_chart(out: &mut String, report: &MonitoringReport, challenger: Role) {
    let window = report.window;
    let first = domain::HourlyTally::hour_of(window.since);
    let hours = ((window.until - first).num_hours() + 1).max(1) as f64;
    let _ = write!(
        out,
        "<h3>Approval rate per arm</h3><p class=\"legend muted\">\
         <span><i class=\"swatch\" style=\"background:#4e79a7\"></i>champion</span>\
         <span><i class=\"swatch\" style=\"background:#f28e2b\"></i>challenger</span> (0 – 100%, per hour)</p>\
         <svg id=\"arm-rates-chart\" role=\"img\" aria-label=\"Approval rate per arm\" viewBox=\"0 0 {} {}\">",
        CHART_WIDTH,
        CHART_HEIGHT + 20.0
    );
    for (role, colour) in [(Role::Champion, "#4e79a7"), (challenger, "#f28e2b")] {
        let points: Vec<String> = report
            .hours
            .iter()
            .filter_map(|hour| {
                let (decided, approved) = hour.by_role[role as usize];
                (decided > 0).then(|| {
                    let x = CHART_WIDTH * ((hour.hour - first).num_hours() as f64 + 0.5) / hours;
                    let y = CHART_HEIGHT * (1.0 - approved as f64 / decided as f64);
                    format!("{x:.1},{y:.1}")
                })
            })
            .collect();
        for point in &points {
            let (cx, cy) = point.split_once(',').expect("x,y");
            let _ = write!(
                out,
                "<circle class=\"{}\" cx=\"{cx}\" cy=\"{cy}\" r=\"3\" fill=\"{colour}\"/>",
                role.as_str()
            );
        }
        if points.len() > 1 {
            let _ = write!(
                out,
                "<polyline points=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\"/>",
                points.join(" ")
            );
        }
    }
    let _ = write!(
        out,
        "<text x=\"0\" y=\"{0}\">{1}</text><text x=\"{2}\" y=\"{0}\" text-anchor=\"end\">{3}</text></svg>",
        CHART_HEIGHT + 15.0,
        time(first),
        CHART_WIDTH,
        time(window.until)
    );
}

fn psi_text(drift: &Drift) -> String {
    match drift.psi {
        Some(psi) => format!(
            "{psi:.4} <span class=\"status {0}\">{0}</span>",
            drift.status.as_str()
        ),
        None => "not measured, and the window's shares not shown: fewer than 100 decisions in the window".to_owned(),
    }
}

/// Bars of decisions per hour (or per group of hours for a long window),
/// with the approval rate of each as a line.
fn decisions_chart(out: &mut String, report: &MonitoringReport) {
    let window = report.window;
    let hours = (window.until - window.since).num_hours() + 1;
    let step = ((hours + MOST_BARS - 1) / MOST_BARS).max(1);
    let first = domain::HourlyTally::hour_of(window.since);
    let mut buckets: Vec<(DateTime<Utc>, u64, u64)> = Vec::new();
    let mut start = first;
    while start < window.until || buckets.is_empty() {
        buckets.push((start, 0, 0));
        start += TimeDelta::hours(step);
    }
    for hour in &report.hours {
        let index = ((hour.hour - first).num_hours() / step) as usize;
        if let Some(bucket) = buckets.get_mut(index) {
            bucket.1 += hour.decisions;
            bucket.2 += hour.approved;
        }
    }
    let most = buckets.iter().map(|b| b.1).max().unwrap_or(0).max(1);
    let width = CHART_WIDTH / buckets.len() as f64;
    let unit = if step == 1 {
        "hour".to_owned()
    } else {
        format!("{step} hours")
    };
    let _ = write!(
        out,
        "<p class=\"legend muted\"><span><i class=\"swatch\" style=\"background:#4e79a7\"></i>decisions per {unit} (most {most})</span>\
         <span><i class=\"swatch\" style=\"background:#e15759\"></i>approval rate (0 – 100%)</span></p>\
         <svg id=\"decisions-chart\" role=\"img\" aria-label=\"Decisions per {unit}\" viewBox=\"0 0 {} {}\">",
        CHART_WIDTH,
        CHART_HEIGHT + 20.0
    );
    let mut rate_points = Vec::new();
    for (k, (start, decisions, approved)) in buckets.iter().enumerate() {
        let height = CHART_HEIGHT * *decisions as f64 / most as f64;
        let x = k as f64 * width;
        let _ = write!(
            out,
            "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{height:.1}\" fill=\"#4e79a7\">\
             <title>{}: {decisions} decisions</title></rect>",
            CHART_HEIGHT - height,
            (width - 1.0).max(0.5),
            time(*start)
        );
        if *decisions > 0 {
            let rate = *approved as f64 / *decisions as f64;
            let (cx, cy) = (x + width / 2.0, CHART_HEIGHT * (1.0 - rate));
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
    if !rate_points.is_empty() {
        let _ = write!(
            out,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"#e15759\" stroke-width=\"2\"/>",
            rate_points.join(" ")
        );
    }
    let last = buckets.last().map(|b| b.0).unwrap_or(first);
    let _ = write!(
        out,
        "<text x=\"0\" y=\"{0}\">{1}</text><text x=\"{2}\" y=\"{0}\" text-anchor=\"end\">{3}</text></svg>",
        CHART_HEIGHT + 15.0,
        time(first),
        CHART_WIDTH,
        time(last)
    );
}

/// Pairs of bars per score bin: the training share and the window's.
fn score_chart(out: &mut String, score: &Drift) {
    let most = score
        .bins
        .iter()
        .map(|bin| bin.expected.max(bin.actual.unwrap_or(0.0)))
        .fold(0.0, f64::max)
        .max(f64::EPSILON);
    let width = CHART_WIDTH / score.bins.len().max(1) as f64;
    let _ = write!(
        out,
        "<p class=\"legend muted\"><span><i class=\"swatch\" style=\"background:#bab0ac\"></i>training</span>\
         <span><i class=\"swatch\" style=\"background:#4e79a7\"></i>this window</span></p>\
         <svg id=\"score-chart\" role=\"img\" aria-label=\"Score distribution\" viewBox=\"0 0 {} {}\">",
        CHART_WIDTH,
        CHART_HEIGHT + 20.0
    );
    for (k, bin) in score.bins.iter().enumerate() {
        let x = k as f64 * width;
        // Under 100 decisions the window's shares are not shown.
        let bars = [
            Some((0.1, bin.expected, "#bab0ac", "training")),
            bin.actual.map(|actual| (0.5, actual, "#4e79a7", "window")),
        ];
        for (offset, share, colour, whose) in bars.into_iter().flatten() {
            let height = CHART_HEIGHT * share / most;
            let _ = write!(
                out,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{height:.1}\" fill=\"{colour}\">\
                 <title>{} {whose}: {}</title></rect>",
                x + width * offset,
                CHART_HEIGHT - height,
                width * 0.4,
                escape(&bin.bin),
                percent(share)
            );
        }
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            x + width / 2.0,
            CHART_HEIGHT + 15.0,
            escape(&bin.bin)
        );
    }
    out.push_str("</svg>");
}

/// PSI per field, coloured by status, each with its bins on demand.
fn drift_table(out: &mut String, report: &MonitoringReport) {
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
            "<tr data-field=\"{name}\" data-status=\"{status}\"><td>{name}</td><td class=\"number\">{psi}</td>\
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
