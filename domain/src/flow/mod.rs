//! The decision flow of the contract, over the ports.
//!
//! For each application: read the cache under its key; on a miss, score
//! with the model and write the cache; store every decision, hit or miss;
//! answer only once the store holds it. The cache is an optimisation, so
//! none of its failures fail a request; the store is the record of truth,
//! so any of its failures does.
//!
//! Every request is decided under one [`Routed`]: the routing current when
//! it started, with the model of each version it routes to. An application
//! in a challenger's share is decided by the challenger (split), or scored
//! by it beside the champion (shadow: the champion's verdict is served and
//! the shadow's stored with it, on cache hits too). Each version's verdicts
//! are cached under its own keys.
//!
//! The applications of a request go through the steps together, one row
//! each ([`Row`]): look up (one cache read), score (one model run per
//! version over its misses, and one over their declines for the reasons),
//! keep (one cache write), store (one append), answer.

use std::sync::Arc;

use thiserror::Error;

use crate::application::Application;
use crate::cache_key::CacheKey;
use crate::decision::Arm;
use crate::decision::{
    CanonicalRequest, Decision, DecisionId, DecisionPage, DecisionRecord, Outcome, Source, Verdict,
    now_for_store,
};
use crate::model::ModelInfo;
use crate::monitoring::{Baseline, Comparison, MinuteWindow, MonitoringReport, Window};
use crate::ports::{
    CacheEntry, CacheError, DecisionCache, DecisionStore, Scorer, ScoringError, StoreEntry,
    StoreError,
};
use crate::routing::{Mode, Routing};

/// How the cache took part in a decision (for the `Cache-Status` header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheStatus {
    Hit,
    /// Not in the cache, or the cache failed.
    Miss,
    /// In the cache, but not a verdict the model could have given this
    /// application (or unreadable): scored again and overwritten.
    Refused,
    /// No cache is configured.
    Off,
}

/// A decision as served, with how it was made.
#[derive(Debug, Clone, PartialEq)]
pub struct Served {
    pub decision: Decision,
    pub source: Source,
    pub cache: CacheStatus,
    pub arm: Arm,
}

#[derive(Debug, Error)]
pub enum DecideError {
    #[error(transparent)]
    ModelUnavailable(#[from] ScoringError),
    #[error(transparent)]
    StoreUnavailable(#[from] StoreError),
}

/// The state of each component, for readiness.
#[derive(Debug)]
pub struct Readiness {
    /// `None` when no cache is configured.
    pub cache: Option<Result<(), CacheError>>,
    pub store: Result<(), StoreError>,
}

/// A routing with the model of each version it routes to: what one request
/// is decided under, from start to end, whatever changes meanwhile.
#[derive(Clone)]
pub struct Routed {
    pub routing: Routing,
    pub champion: Arc<dyn Scorer>,
    /// The challenger's model, when the routing has a challenger.
    pub challenger: Option<Arc<dyn Scorer>>,
}

impl Routed {
    /// One model deciding everything: the built-in routing of its version.
    pub fn single(champion: Arc<dyn Scorer>) -> Self {
        Self {
            routing: Routing::built_in(&champion.model().version),
            champion,
            challenger: None,
        }
    }

    /// The model of `arm`.
    fn model_of(&self, arm: Arm) -> &dyn Scorer {
        match (arm, &self.challenger) {
            (Arm::Challenger, Some(challenger)) => challenger.as_ref(),
            _ => self.champion.as_ref(),
        }
    }

    /// The challenger's model and mode, if the application is in its share.
    fn challenger_of(&self, canonical: &CanonicalRequest) -> Option<(Mode, &dyn Scorer)> {
        let routed = self.routing.challenger.as_ref()?;
        let model = self.challenger.as_deref()?;
        routed.takes(canonical).then_some((routed.mode, model))
    }
}

/// One version's verdict on one application, from the cache or the model.
struct Verdicted {
    key: CacheKey,
    cache: CacheStatus,
    verdict: Option<Verdict>,
    /// Scored in this request: to be written to the cache.
    fresh: bool,
}

impl Verdicted {
    fn under(model: &ModelInfo, canonical: &CanonicalRequest) -> Self {
        Self {
            key: CacheKey::for_canonical(&model.version, canonical),
            cache: CacheStatus::Off,
            verdict: None,
            fresh: false,
        }
    }
}

/// One application on its way through the flow.
struct Row<'a> {
    application: &'a Application,
    canonical: CanonicalRequest,
    arm: Arm,
    served: Verdicted,
    /// The shadow challenger's, when the application is in its share.
    shadow: Option<Verdicted>,
}

impl<'a> Row<'a> {
    fn new(application: &'a Application, routed: &Routed) -> Self {
        // Serialised once: the cache keys are its hash, the store keeps it.
        let canonical = CanonicalRequest::of(application);
        let challenger = routed.challenger_of(&canonical);
        let arm = match challenger {
            Some((Mode::Split, _)) => Arm::Challenger,
            _ => Arm::Champion,
        };
        let served = Verdicted::under(routed.model_of(arm).model(), &canonical);
        let shadow = match challenger {
            Some((Mode::Shadow, model)) => Some(Verdicted::under(model.model(), &canonical)),
            _ => None,
        };
        Self {
            application,
            canonical,
            arm,
            served,
            shadow,
        }
    }
}

pub struct DecisionFlow {
    cache: Option<Arc<dyn DecisionCache>>,
    store: Arc<dyn DecisionStore>,
}

impl DecisionFlow {
    pub fn new(cache: Option<Arc<dyn DecisionCache>>, store: Arc<dyn DecisionStore>) -> Self {
        Self { cache, store }
    }

    /// Decides one application.
    pub async fn decide(
        &self,
        application: Application,
        routed: &Routed,
    ) -> Result<Served, DecideError> {
        let mut served = self.decide_all(vec![application], routed).await?;
        Ok(served.pop().expect("one decision per application"))
    }

    /// Decides applications in order: one cache read, one model run per
    /// version over its misses (and one over their declines), one cache
    /// write and one store append for all of them.
    pub async fn decide_all(
        &self,
        applications: Vec<Application>,
        routed: &Routed,
    ) -> Result<Vec<Served>, DecideError> {
        let mut rows: Vec<Row> = applications
            .iter()
            .map(|application| Row::new(application, routed))
            .collect();
        self.look_up(&mut rows, routed).await;
        score_misses(&mut rows, routed)?;
        self.keep_fresh(&rows).await;
        let (entries, served) = to_store(rows, routed);
        // Only a durably stored decision may leave the service.
        self.store.append(&entries).await?;
        Ok(served)
    }

    /// Every verdict the rows need, from one cache read: the served
    /// version's and the shadow's. A verdict the model could not have given
    /// its application is refused, whoever wrote it, and scored again.
    async fn look_up(&self, rows: &mut [Row<'_>], routed: &Routed) {
        let Some(cache) = &self.cache else {
            return;
        };
        let keys: Vec<CacheKey> = rows
            .iter()
            .flat_map(|row| std::iter::once(&row.served).chain(&row.shadow))
            .map(|verdicted| verdicted.key.clone())
            .collect();
        let mut entries = read_cache(cache.as_ref(), &keys).await.into_iter();
        for row in rows {
            let served_model = routed.model_of(row.arm).model();
            let entry = entries.next().unwrap_or(CacheEntry::Missing);
            accept(&mut row.served, entry, served_model, row.application);
            if let Some(shadow) = &mut row.shadow {
                let model = routed
                    .challenger
                    .as_ref()
                    .expect("a shadow row has a challenger")
                    .model();
                let entry = entries.next().unwrap_or(CacheEntry::Missing);
                accept(shadow, entry, model, row.application);
            }
        }
    }

    /// Writes every verdict scored in this request, each under its
    /// version's key.
    async fn keep_fresh(&self, rows: &[Row<'_>]) {
        let Some(cache) = &self.cache else {
            return;
        };
        let fresh: Vec<(CacheKey, Verdict)> = rows
            .iter()
            .flat_map(|row| std::iter::once(&row.served).chain(&row.shadow))
            .filter(|verdicted| verdicted.fresh)
            .map(|verdicted| {
                let verdict = verdicted.verdict.clone().expect("a fresh verdict");
                (verdicted.key.clone(), verdict)
            })
            .collect();
        if fresh.is_empty() {
            return;
        }
        match cache.write(&fresh).await {
            Ok(()) | Err(CacheError::Paused(_)) => {}
            Err(error) => tracing::warn!(%error, "cache write failed; the decision stands"),
        }
    }

    /// The population `model` served in a window (and scored in a
    /// shadow), against its training one. The report covers the whole
    /// minutes around `window` ([`MinuteWindow`]).
    pub async fn monitoring(
        &self,
        window: Window,
        model: &ModelInfo,
    ) -> Result<MonitoringReport, StoreError> {
        let window = MinuteWindow::covering(window);
        let tallies = self.store.tally(window).await?;
        Ok(MonitoringReport::of(
            window,
            &model.baseline,
            &model.version,
            &tallies,
        ))
    }

    /// The champion against the challenger the window holds.
    pub async fn comparison<'b>(
        &self,
        window: Window,
        routing: &Routing,
        baseline_of: &dyn Fn(&str) -> Option<&'b Baseline>,
    ) -> Result<Comparison, StoreError> {
        let window = MinuteWindow::covering(window);
        let tallies = self.store.tally(window).await?;
        Ok(compare(window, routing, baseline_of, &tallies))
    }

    /// The champion's report and the comparison, from one read of the
    /// tallies (the dashboard's).
    pub async fn monitoring_and_comparison<'b>(
        &self,
        window: Window,
        routing: &Routing,
        baseline_of: &dyn Fn(&str) -> Option<&'b Baseline>,
        champion: &ModelInfo,
    ) -> Result<(MonitoringReport, Comparison), StoreError> {
        let window = MinuteWindow::covering(window);
        let tallies = self.store.tally(window).await?;
        let report = MonitoringReport::of(window, &champion.baseline, &champion.version, &tallies);
        Ok((report, compare(window, routing, baseline_of, &tallies)))
    }

    pub async fn record(&self, id: DecisionId) -> Result<Option<DecisionRecord>, StoreError> {
        self.store.get(id).await
    }

    pub async fn records(
        &self,
        limit: u16,
        before: Option<DecisionId>,
    ) -> Result<DecisionPage, StoreError> {
        self.store.list(limit, before).await
    }

    pub async fn readiness(&self) -> Readiness {
        let cache = match &self.cache {
            Some(cache) => Some(cache.ping().await),
            None => None,
        };
        Readiness {
            cache,
            store: self.store.ping().await,
        }
    }
}

fn compare<'b>(
    window: MinuteWindow,
    routing: &Routing,
    baseline_of: &dyn Fn(&str) -> Option<&'b Baseline>,
    tallies: &[crate::monitoring::HourlyTally],
) -> Comparison {
    let current = routing
        .challenger
        .as_ref()
        .map(|challenger| (challenger.version.as_str(), challenger.mode));
    Comparison::of(window, &routing.champion, current, baseline_of, tallies)
}

/// The cache's entry under each key; anything it cannot give (an error,
/// the wrong number of entries) is a miss for every key.
async fn read_cache(cache: &dyn DecisionCache, keys: &[CacheKey]) -> Vec<CacheEntry> {
    let missed = || vec![CacheEntry::Missing; keys.len()];
    match cache.read(keys).await {
        Ok(entries) if entries.len() == keys.len() => entries,
        Ok(entries) => {
            tracing::warn!(
                keys = keys.len(),
                entries = entries.len(),
                "cache answered the wrong number of entries"
            );
            missed()
        }
        // Already reported when the breaker opened.
        Err(CacheError::Paused(_)) => missed(),
        Err(error) => {
            tracing::warn!(%error, "cache read failed, scoring instead");
            missed()
        }
    }
}

/// Takes a cache entry for a verdict of `model` on `application`, if it is
/// one the model could have given.
fn accept(
    verdicted: &mut Verdicted,
    entry: CacheEntry,
    model: &ModelInfo,
    application: &Application,
) {
    let key = verdicted.key.as_str();
    verdicted.cache = match entry {
        CacheEntry::Found(verdict) => match model.check(&verdict, application) {
            Ok(()) => {
                verdicted.verdict = Some(verdict);
                CacheStatus::Hit
            }
            Err(untrusted) => {
                tracing::warn!(key, %untrusted, "cache entry refused, scoring instead");
                CacheStatus::Refused
            }
        },
        CacheEntry::Missing => CacheStatus::Miss,
        CacheEntry::Unreadable(reason) => {
            tracing::warn!(key, %reason, "unreadable cache entry, scoring instead");
            CacheStatus::Refused
        }
    };
}

/// Scores what the cache did not give: each model over its own misses, in
/// one run, and its declines' reasons in one more.
fn score_misses(rows: &mut [Row<'_>], routed: &Routed) -> Result<(), ScoringError> {
    let models = std::iter::once((routed.champion.as_ref(), Arm::Champion)).chain(
        routed
            .challenger
            .as_deref()
            .map(|model| (model, Arm::Challenger)),
    );
    for (model, arm) in models {
        // The rows this model decides, and (for the challenger) the rows it
        // shadows, that the cache did not answer.
        let mut wanted: Vec<&mut Verdicted> = Vec::new();
        let mut applications: Vec<&Application> = Vec::new();
        for row in rows.iter_mut() {
            if row.arm == arm && row.served.verdict.is_none() {
                applications.push(row.application);
                wanted.push(&mut row.served);
            }
            if arm == Arm::Challenger
                && let Some(shadow) = row
                    .shadow
                    .as_mut()
                    .filter(|shadow| shadow.verdict.is_none())
            {
                applications.push(row.application);
                wanted.push(shadow);
            }
        }
        for (verdicted, verdict) in wanted.into_iter().zip(verdicts_of(model, &applications)?) {
            verdicted.verdict = Some(verdict);
            verdicted.fresh = true;
        }
    }
    Ok(())
}

/// The model's verdicts on `applications`, in order: one run for the
/// probabilities, one for the reasons of the declines among them.
fn verdicts_of(
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
    let mut verdicts: Vec<Verdict> = probabilities
        .into_iter()
        .map(|probability| Verdict::from_model(probability, info.threshold, &info.version))
        .collect();
    // A decline says why; the reasons are cached with it.
    let declined: Vec<usize> = (0..verdicts.len())
        .filter(|&k| verdicts[k].outcome == Outcome::Decline)
        .collect();
    if !declined.is_empty() {
        let to_explain: Vec<&Application> = declined.iter().map(|&k| applications[k]).collect();
        let reasons = model.explain(&to_explain)?;
        if reasons.len() != declined.len() {
            return Err(ScoringError(format!(
                "{} sets of reasons for {} declines",
                reasons.len(),
                declined.len()
            )));
        }
        for (k, reasons) in declined.into_iter().zip(reasons) {
            verdicts[k].reasons = reasons;
        }
    }
    Ok(verdicts)
}

/// What the store appends for each row, and what the client gets.
fn to_store(rows: Vec<Row<'_>>, routed: &Routed) -> (Vec<StoreEntry>, Vec<Served>) {
    let mut entries = Vec::with_capacity(rows.len());
    let mut served = Vec::with_capacity(rows.len());
    for row in rows {
        let source = source_of(&row.served);
        let verdict = row.served.verdict.expect("every miss was scored");
        let decision = Decision {
            decision_id: DecisionId::mint(),
            verdict,
        };
        let baseline = &routed.model_of(row.arm).model().baseline;
        let outcome = decision.verdict.outcome;
        let cells = baseline.cells(
            row.application,
            decision.verdict.probability_of_default,
            outcome,
            source,
        );
        let shadow = row.shadow.map(|shadow| {
            let source = source_of(&shadow);
            let verdict = shadow.verdict.expect("every shadow was scored");
            let challenger = routed
                .challenger
                .as_ref()
                .expect("a shadow has a challenger");
            let cells = challenger.model().baseline.shadow_cells(
                row.application,
                verdict.probability_of_default,
                verdict.outcome,
                source,
                outcome,
            );
            (verdict, cells)
        });
        let (shadow, shadow_cells) = shadow.unzip();
        entries.push(StoreEntry {
            record: DecisionRecord {
                decision_id: decision.decision_id,
                created_at: now_for_store(),
                source,
                request: row.canonical,
                response: decision.clone(),
                arm: row.arm,
                shadow,
            },
            cells,
            shadow_cells,
        });
        served.push(Served {
            decision,
            source,
            cache: row.served.cache,
            arm: row.arm,
        });
    }
    (entries, served)
}

fn source_of(verdicted: &Verdicted) -> Source {
    if verdicted.cache == CacheStatus::Hit {
        Source::Cache
    } else {
        Source::Model
    }
}

#[cfg(test)]
mod tests;
