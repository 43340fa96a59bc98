//! The decision flow of the contract, over the ports.
//!
//! For each application: read the cache under its key; on a miss, score with
//! the model and write the cache; log every decision, hit or miss; answer
//! only once the store holds it. The cache is an optimisation, so none of its
//! failures fail a request; the store is the record of truth, so any of its
//! failures does.

use std::sync::Arc;

use thiserror::Error;

use crate::application::Application;
use crate::cache_key::CacheKey;
use crate::decision::{
    CanonicalRequest, Decision, DecisionId, DecisionPage, DecisionRecord, Outcome, Source, Verdict,
    now_for_store,
};
use crate::model::ModelInfo;
use crate::monitoring::{MinuteWindow, MonitoringReport, Window};
use crate::ports::{
    CacheEntry, CacheError, DecisionCache, DecisionStore, Scorer, ScoringError, StoreEntry,
    StoreError,
};

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

pub struct DecisionFlow {
    cache: Option<Arc<dyn DecisionCache>>,
    store: Arc<dyn DecisionStore>,
    scorer: Arc<dyn Scorer>,
}

impl DecisionFlow {
    pub fn new(
        cache: Option<Arc<dyn DecisionCache>>,
        store: Arc<dyn DecisionStore>,
        scorer: Arc<dyn Scorer>,
    ) -> Self {
        Self {
            cache,
            store,
            scorer,
        }
    }

    pub fn model(&self) -> &ModelInfo {
        self.scorer.model()
    }

    /// Decides one application.
    pub async fn decide(&self, application: Application) -> Result<Served, DecideError> {
        let mut served = self.decide_all(vec![application]).await?;
        Ok(served.pop().expect("one decision per application"))
    }

    /// Decides applications in order: one cache read, one model run over the
    /// misses, one cache write and one log append for all of them.
    pub async fn decide_all(
        &self,
        applications: Vec<Application>,
    ) -> Result<Vec<Served>, DecideError> {
        let model = self.scorer.model();
        // Serialised once: the cache key is its hash, the store keeps it.
        let canonical: Vec<CanonicalRequest> =
            applications.iter().map(CanonicalRequest::of).collect();
        let keys: Vec<CacheKey> = canonical
            .iter()
            .map(|request| CacheKey::for_canonical(&model.version, request))
            .collect();

        let looked_up = self.read_cache(&keys, &applications).await;
        let statuses: Vec<CacheStatus> = looked_up.iter().map(|(status, _)| *status).collect();
        let mut verdicts: Vec<Option<Verdict>> =
            looked_up.into_iter().map(|(_, verdict)| verdict).collect();

        let misses: Vec<usize> = (0..applications.len())
            .filter(|&i| verdicts[i].is_none())
            .collect();
        if !misses.is_empty() {
            let to_score: Vec<Application> =
                misses.iter().map(|&i| applications[i].clone()).collect();
            let probabilities = self.scorer.score(&to_score)?;
            if probabilities.len() != misses.len() {
                return Err(ScoringError(format!(
                    "{} probabilities for {} applications",
                    probabilities.len(),
                    misses.len()
                ))
                .into());
            }
            let mut scored: Vec<Verdict> = probabilities
                .into_iter()
                .map(|probability| {
                    Verdict::from_model(probability, model.threshold, &model.version)
                })
                .collect();
            // A decline says why; the reasons are cached with it. All the
            // declines of a batch are explained together.
            let declined: Vec<usize> = (0..scored.len())
                .filter(|&k| scored[k].outcome == Outcome::Decline)
                .collect();
            if !declined.is_empty() {
                let to_explain: Vec<Application> = declined
                    .iter()
                    .map(|&k| applications[misses[k]].clone())
                    .collect();
                let reasons = self.scorer.explain(&to_explain)?;
                if reasons.len() != declined.len() {
                    return Err(ScoringError(format!(
                        "{} sets of reasons for {} declines",
                        reasons.len(),
                        declined.len()
                    ))
                    .into());
                }
                for (k, reasons) in declined.into_iter().zip(reasons) {
                    scored[k].reasons = reasons;
                }
            }
            let mut fresh = Vec::with_capacity(misses.len());
            for (&i, verdict) in misses.iter().zip(scored) {
                fresh.push((keys[i].clone(), verdict.clone()));
                verdicts[i] = Some(verdict);
            }
            self.write_cache(&fresh).await;
        }

        let mut entries = Vec::with_capacity(applications.len());
        let mut served = Vec::with_capacity(applications.len());
        let decided = canonical.into_iter().zip(verdicts).zip(statuses);
        for (((request, verdict), cache), application) in decided.zip(&applications) {
            let verdict = verdict.expect("every miss was scored");
            let source = if cache == CacheStatus::Hit {
                Source::Cache
            } else {
                Source::Model
            };
            let decision = Decision {
                decision_id: DecisionId::mint(),
                verdict,
            };
            let cells = model.baseline.cells(
                application,
                decision.verdict.probability_of_default,
                decision.verdict.outcome,
                source,
            );
            entries.push(StoreEntry {
                record: DecisionRecord {
                    decision_id: decision.decision_id,
                    created_at: now_for_store(),
                    source,
                    request,
                    response: decision.clone(),
                },
                cells,
            });
            served.push(Served {
                decision,
                source,
                cache,
            });
        }

        // Only a durably logged decision may leave the service.
        self.store.append(&entries).await?;
        Ok(served)
    }

    /// The population served in a window, against the training one.
    /// The report covers the whole minutes around `window`
    /// ([`MinuteWindow`]).
    pub async fn monitoring(&self, window: Window) -> Result<MonitoringReport, StoreError> {
        let window = MinuteWindow::covering(window);
        let tallies = self.store.tally(window).await?;
        let model = self.scorer.model();
        Ok(MonitoringReport::of(
            window,
            &model.baseline,
            &model.version,
            &tallies,
        ))
    }

    /// How the cache took part for each key, with the verdict it gave.
    /// Anything the cache cannot give (an error, an unreadable entry) is a
    /// miss; an entry that is not a verdict the model could have given its
    /// application is refused, whoever wrote it, and scored again.
    async fn read_cache(
        &self,
        keys: &[CacheKey],
        applications: &[Application],
    ) -> Vec<(CacheStatus, Option<Verdict>)> {
        let Some(cache) = &self.cache else {
            return vec![(CacheStatus::Off, None); keys.len()];
        };
        let missed = || vec![(CacheStatus::Miss, None); keys.len()];
        let entries = match cache.read(keys).await {
            Ok(entries) if entries.len() == keys.len() => entries,
            Ok(entries) => {
                tracing::warn!(
                    keys = keys.len(),
                    entries = entries.len(),
                    "cache answered the wrong number of entries"
                );
                return missed();
            }
            // Already reported when the breaker opened.
            Err(CacheError::Paused(_)) => return missed(),
            Err(error) => {
                tracing::warn!(%error, "cache read failed, scoring instead");
                return missed();
            }
        };
        let model = self.scorer.model();
        entries
            .into_iter()
            .zip(keys.iter().zip(applications))
            .map(|(entry, (key, application))| match entry {
                CacheEntry::Found(verdict) => match model.check(&verdict, application) {
                    Ok(()) => (CacheStatus::Hit, Some(verdict)),
                    Err(untrusted) => {
                        tracing::warn!(key = key.as_str(), %untrusted, "cache entry refused, scoring instead");
                        (CacheStatus::Refused, None)
                    }
                },
                CacheEntry::Missing => (CacheStatus::Miss, None),
                CacheEntry::Unreadable(reason) => {
                    tracing::warn!(key = key.as_str(), %reason, "unreadable cache entry, scoring instead");
                    (CacheStatus::Refused, None)
                }
            })
            .collect()
    }

    async fn write_cache(&self, entries: &[(CacheKey, Verdict)]) {
        if let Some(cache) = &self.cache
            && let Err(error) = cache.write(entries).await
            && !matches!(error, CacheError::Paused(_))
        {
            tracing::warn!(%error, "cache write failed; the decision stands");
        }
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

#[cfg(test)]
mod tests;
