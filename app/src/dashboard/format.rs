//! How the dashboard writes text, times and shares.

use chrono::{DateTime, SecondsFormat, Utc};

/// Text made inert in HTML, in an element or in a quoted attribute: the
/// window a caller typed and the model's own strings go through here.
pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// RFC 3339 in UTC, with as many fractional digits as the time needs.
pub(super) fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// A share as a percentage with one decimal.
pub(super) fn percent(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use pretty_assertions::assert_eq;

    use super::*;

    #[test]
    fn escaping_covers_the_five_characters_html_gives_a_meaning() {
        assert_eq!(
            escape(r#"a & b < c > d " e ' f"#),
            "a &amp; b &lt; c &gt; d &quot; e &#39; f"
        );
        assert_eq!(
            escape("&amp;"),
            "&amp;amp;",
            "escaped text is escaped again"
        );
        assert_eq!(escape("R01 · élan"), "R01 · élan", "the rest is left alone");
        assert_eq!(escape(""), "");
    }

    #[test]
    fn times_are_utc_with_the_fraction_they_need() {
        let whole = Utc.with_ymd_and_hms(2026, 12, 7, 6, 0, 0).unwrap();
        assert_eq!(time(whole), "2026-12-07T06:00:00Z");
        let millis = whole + chrono::TimeDelta::milliseconds(250);
        assert_eq!(time(millis), "2026-12-07T06:00:00.250Z");
    }

    #[test]
    fn shares_are_percentages_with_one_decimal() {
        assert_eq!(percent(0.0), "0.0%");
        assert_eq!(percent(0.12345), "12.3%");
        assert_eq!(percent(0.9996), "100.0%");
        assert_eq!(percent(1.0), "100.0%");
    }
}
