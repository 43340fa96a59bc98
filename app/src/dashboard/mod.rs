//! The monitoring dashboard, drawn on the server: HTML and inline SVG from a
//! [`MonitoringReport`] (and a [`Comparison`] when the window holds a
//! challenger), with no script and nothing loaded from elsewhere, so it
//! works behind any proxy and in any browser.

mod charts;
mod drift_table;
mod format;
#[cfg(test)]
mod tests;

use std::fmt::Write;

use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
use domain::{Comparison, Mode, MonitoringReport, Role};

use charts::{arm_rates_chart, decisions_chart, score_chart};
use drift_table::{drift_table, psi_text};
use format::{escape, percent, time};

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
    model_version: &str,
    comparison: &Comparison,
    now: DateTime<Utc>,
) -> String {
    let mut out = String::with_capacity(32 * 1024);
    let (since, until) = (time(report.window.since), time(report.window.until));
    header(&mut out, model_version, &since, &until, now);
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
    decisions_chart(&mut out, report.window, &report.hours);
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
    arm_rates_chart(out, report.window, &report.hours, challenger_role);
    out.push_str("</section>");
}
