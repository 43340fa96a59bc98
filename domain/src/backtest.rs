//! A backtest: what a model version would have decided on the applications
//! already logged, against the champion, as the contract's comparison of a
//! shadow says it (swap set, agreement, approval rates, mean probability).
//!
//! The applications are read a page at a time (memory stays bounded
//! whatever the window holds), each page scored by both versions in one run
//! each, and counted in the same cells a shadow's verdicts are: the very
//! arithmetic of `GET /v1/models/comparison`. Nothing is written: a
//! backtest is not a decision.

use serde::Serialize;
use serde_json::{Map, Value};
use thiserror::Error;

use crate::application::Application;
use crate::decision::{Source, Verdict};
use crate::monitoring::{Comparison, HourlyTally, MinuteWindow, Role, Tally};
use crate::ports::{LoggedRequests, Scorer, ScoringError, StoreError};
use crate::routing::Mode;

/// Applications read and scored at a time.
pub const PAGE: u16 = 1000;

#[derive(Debug, Error)]
pub enum BacktestError {
    #[error("the champion and the model backtested are one version ({0}); name two")]
    SameVersion(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Scoring(#[from] ScoringError),
    #[error("interrupted after {0} applications; nothing was written")]
    Interrupted(u64),
}

/// The comparison, and how many logged applications it rests on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Backtest {
    #[serde(flatten)]
    pub comparison: Comparison,
    /// Applications scored by both versions.
    pub scored: u64,
    /// Applications logged under other rules than today's, which the models
    /// cannot read: counted, not scored.
    pub unreadable: u64,
}

/// Scores every application `log` holds in `window` with `challenger` and
/// `champion`. `progress` is told how many have been read after each page;
/// `stop` is asked before each, and a backtest stopped returns at once.
pub async fn backtest(
    log: &dyn LoggedRequests,
    window: MinuteWindow,
    champion: &dyn Scorer,
    challenger: &dyn Scorer,
    progress: &mut (dyn FnMut(u64) + Send),
    stop: &(dyn Fn() -> bool + Sync),
) -> Result<Backtest, BacktestError> {
    let (champion_info, challenger_info) = (champion.model(), challenger.model());
    if champion_info.version == challenger_info.version {
        return Err(BacktestError::SameVersion(champion_info.version.clone()));
    }
    let mut served = Tally::default();
    let mut shadowed = Tally::default();
    let (mut read, mut scored, mut unreadable) = (0u64, 0u64, 0u64);
    let mut after = None;
    loop {
        if stop() {
            return Err(BacktestError::Interrupted(read));
        }
        let page = log.page(window, after, PAGE).await?;
        read += page.requests.len() as u64;
        let applications: Vec<Application> = page
            .requests
            .iter()
            .filter_map(|request| {
                let parsed = serde_json::from_str::<Map<String, Value>>(request.as_str())
                    .ok()
                    .and_then(|body| Application::from_json(&body).ok());
                if parsed.is_none() {
                    unreadable += 1;
                }
                parsed
            })
            .collect();
        let references: Vec<&Application> = applications.iter().collect();
        let by_champion = verdicts(champion, &references)?;
        let by_challenger = verdicts(challenger, &references)?;
        for ((application, first), second) in
            applications.iter().zip(&by_champion).zip(&by_challenger)
        {
            served.add(&champion_info.baseline.cells(
                application,
                first.probability_of_default,
                first.outcome,
                Source::Model,
            ));
            shadowed.add(&challenger_info.baseline.shadow_cells(
                application,
                second.probability_of_default,
                second.outcome,
                Source::Model,
                first.outcome,
            ));
        }
        scored += applications.len() as u64;
        progress(read);
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let hour = HourlyTally::hour_of(window.window().since);
    let tallies = [
        HourlyTally {
            hour,
            model_version: champion_info.version.clone(),
            role: Role::Champion,
            tally: served,
        },
        HourlyTally {
            hour,
            model_version: challenger_info.version.clone(),
            role: Role::Shadow,
            tally: shadowed,
        },
    ];
    let baseline_of = |version: &str| {
        [champion_info, challenger_info]
            .into_iter()
            .find(|info| info.version == version)
            .map(|info| &info.baseline)
    };
    let comparison = Comparison::of(
        window,
        &champion_info.version,
        Some((challenger_info.version.as_str(), Mode::Shadow)),
        &baseline_of,
        &tallies,
    );
    Ok(Backtest {
        comparison,
        scored,
        unreadable,
    })
}

/// A model's verdicts (outcome and probability; no reasons, which a
/// comparison does not count) on `applications`, in one run.
fn verdicts(
    model: &dyn Scorer,
    applications: &[&Application],
) -> Result<Vec<Verdict>, ScoringError> {
    if applications.is_empty() {
        return Ok(Vec::new());
    }
    let info = model.model();
    let probabilities = model.score(applications)?;
    if probabilities.len() != applications.len() {
        return Err(ScoringError(format!(
            "{} probabilities for {} applications",
            probabilities.len(),
            applications.len()
        )));
    }
    Ok(probabilities
        .into_iter()
        .map(|probability| Verdict::from_model(probability, info.threshold, &info.version))
        .collect())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use async_trait::async_trait;
    use chrono::{DateTime, TimeZone, Utc};
    use pretty_assertions::assert_eq;
    use serde_json::json;

    use super::*;
    use crate::decision::CanonicalRequest;
    use crate::model::ModelInfo;
    use crate::model::tests::test_model;
    use crate::monitoring::{SwapSet, Window};
    use crate::ports::{LogPosition, MockScorer, RequestPage};

    /// A log of `requests`, read `PAGE` at a time.
    struct Log {
        requests: Vec<CanonicalRequest>,
        pages: AtomicUsize,
    }

    #[async_trait]
    impl LoggedRequests for Log {
        async fn count(&self, _: MinuteWindow) -> Result<u64, StoreError> {
            Ok(self.requests.len() as u64)
        }

        async fn page(
            &self,
            _: MinuteWindow,
            after: Option<LogPosition>,
            limit: u16,
        ) -> Result<RequestPage, StoreError> {
            self.pages.fetch_add(1, Ordering::Relaxed);
            // Position k is the k-th request, all logged at one time.
            let from = after.map_or(0, |position| position.seq as usize + 1);
            let to = (from + usize::from(limit)).min(self.requests.len());
            Ok(RequestPage {
                requests: self.requests[from..to].to_vec(),
                next: (to < self.requests.len()).then(|| LogPosition {
                    at: DateTime::UNIX_EPOCH,
                    seq: to as u64 - 1,
                }),
            })
        }
    }

    fn request(age: i64) -> CanonicalRequest {
        let mut body: Value =
            serde_json::from_str(include_str!("../testdata/example-application.json")).unwrap();
        body["age_years"] = age.into();
        CanonicalRequest::of(&Application::from_json(body.as_object().unwrap()).unwrap())
    }

    /// A model of `version` whose probability is `of(age)`, threshold 0.5.
    fn scorer(version: &str, of: fn(i64) -> f32) -> MockScorer {
        let mut scorer = MockScorer::new();
        scorer.expect_model().return_const(ModelInfo {
            version: version.to_owned(),
            threshold: 0.5,
            ..test_model()
        });
        let age = Application::FIELDS
            .iter()
            .position(|field| field.name == "age_years")
            .unwrap();
        scorer.expect_score().returning(move |applications| {
            Ok(applications
                .iter()
                .map(|a| of(a.features()[age] as i64))
                .collect())
        });
        scorer
    }

    fn window() -> MinuteWindow {
        MinuteWindow::covering(Window {
            since: Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap(),
            until: Utc.with_ymd_and_hms(2026, 12, 2, 0, 0, 0).unwrap(),
        })
    }

    #[tokio::test]
    async fn every_page_is_scored_by_both_and_counted_as_a_shadow_would_be() {
        // Ages 20 to 69, 50 times over: 2,500 applications, three pages.
        let requests: Vec<CanonicalRequest> = (0..2500).map(|n| request(20 + n % 50)).collect();
        let mut with_an_old_one = requests.clone();
        with_an_old_one
            .push(CanonicalRequest::from_logged(json!({"savings": "lots"}).to_string()).unwrap());
        let log = Log {
            requests: with_an_old_one,
            pages: AtomicUsize::new(0),
        };
        // The champion declines under 40, the challenger under 30.
        let champion = scorer("v1", |age| if age < 40 { 0.9 } else { 0.1 });
        let challenger = scorer("v2", |age| if age < 30 { 0.8 } else { 0.2 });
        let mut seen = Vec::new();
        let done = backtest(
            &log,
            window(),
            &champion,
            &challenger,
            &mut |read| seen.push(read),
            &|| false,
        )
        .await
        .unwrap();
        assert_eq!(log.pages.load(Ordering::Relaxed), 3);
        assert_eq!(seen, [1000, 2000, 2501]);
        assert_eq!((done.scored, done.unreadable), (2500, 1));
        // Ages 20–29 both decline, 30–39 swap in, 40–69 both approve.
        assert_eq!(
            done.comparison.swap_set,
            Some(SwapSet {
                both_approve: 1500,
                swap_in: 500,
                swap_out: 0,
                both_decline: 500
            })
        );
        assert_eq!(done.comparison.agreement, Some(0.8));
        assert_eq!(done.comparison.champion.approval_rate, Some(0.6));
        let challenger = done.comparison.challenger.unwrap();
        assert_eq!(
            (challenger.version.as_str(), challenger.mode),
            ("v2", Mode::Shadow)
        );
        assert_eq!(challenger.approval_rate, Some(0.8));
        let mean = challenger.mean_probability_of_default.unwrap();
        assert!((mean - (0.8 * 0.2 + 0.2 * 0.8)).abs() < 1e-6, "{mean}");
    }

    #[tokio::test]
    async fn a_stop_ends_it_before_the_next_page_and_one_version_is_refused() {
        let log = Log {
            requests: (0..2500).map(|n| request(20 + n % 50)).collect(),
            pages: AtomicUsize::new(0),
        };
        let champion = scorer("v1", |_| 0.1);
        let challenger = scorer("v2", |_| 0.1);
        let stop_after_one = || log.pages.load(Ordering::Relaxed) >= 1;
        let stopped = backtest(
            &log,
            window(),
            &champion,
            &challenger,
            &mut |_| {},
            &stop_after_one,
        )
        .await;
        assert!(
            matches!(stopped, Err(BacktestError::Interrupted(1000))),
            "{stopped:?}"
        );
        let same = backtest(
            &log,
            window(),
            &champion,
            &scorer("v1", |_| 0.1),
            &mut |_| {},
            &|| false,
        )
        .await;
        assert!(matches!(same, Err(BacktestError::SameVersion(_))));
    }
}
