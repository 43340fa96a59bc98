//! The flow's rules, one port at a time, with mockall mocks: which port is
//! called, how often, with what and in which order.

use std::sync::Arc;

use mockall::Sequence;
use mockall::predicate::always;
use pretty_assertions::assert_eq;
use serde_json::Value;

use super::*;
use crate::decision::Arm;
use crate::decision::{Outcome, Reason};
use crate::monitoring::Role;
use crate::ports::{MockDecisionCache, MockDecisionStore, MockScorer};
use crate::routing::{Challenger, Mode, share_point};

use crate::model::tests::{THRESHOLD, VERSION, test_model};

fn application(age: i64) -> Application {
    let mut body: Value =
        serde_json::from_str(include_str!("../../testdata/example-application.json")).unwrap();
    body["age_years"] = age.into();
    Application::from_json(body.as_object().unwrap()).unwrap()
}

fn key(application: &Application) -> CacheKey {
    CacheKey::for_application(VERSION, application)
}

/// The reason every test scorer gives for a decline: the card's first.
fn test_reason() -> Reason {
    test_model().reasons.of_field[0].clone()
}

/// The verdict the flow makes of a probability: a decline with the test reason.
fn verdict(probability: f32) -> Verdict {
    let mut verdict = Verdict::from_model(probability, THRESHOLD, VERSION);
    if verdict.outcome == Outcome::Decline {
        verdict.reasons = vec![test_reason()];
    }
    verdict
}

fn scorer() -> MockScorer {
    let mut scorer = MockScorer::new();
    scorer.expect_model().return_const(test_model());
    scorer
        .expect_explain()
        .returning(|declined| Ok(vec![vec![test_reason()]; declined.len()]));
    scorer
}

/// The flow over these mocks, deciding under one model.
struct Service {
    flow: DecisionFlow,
    routed: Routed,
}

impl Service {
    async fn decide(&self, application: Application) -> Result<Served, DecideError> {
        self.flow.decide(application, &self.routed).await
    }

    async fn decide_all(&self, applications: Vec<Application>) -> Result<Vec<Served>, DecideError> {
        self.flow.decide_all(applications, &self.routed).await
    }

    async fn monitoring(&self, window: Window) -> Result<MonitoringReport, StoreError> {
        self.flow
            .monitoring(window, self.routed.champion.model())
            .await
    }

    async fn record(&self, id: DecisionId) -> Result<Option<DecisionRecord>, StoreError> {
        self.flow.record(id).await
    }

    async fn records(
        &self,
        limit: u16,
        before: Option<DecisionId>,
    ) -> Result<DecisionPage, StoreError> {
        self.flow.records(limit, before).await
    }
}

fn service(
    cache: Option<MockDecisionCache>,
    store: MockDecisionStore,
    scorer: MockScorer,
) -> Service {
    let cache = cache.map(|cache| Arc::new(cache) as Arc<dyn DecisionCache>);
    Service {
        flow: DecisionFlow::new(cache, Arc::new(store)),
        routed: Routed::single(Arc::new(scorer)),
    }
}

/// A store that expects exactly one append and checks it with `check`.
fn store_expecting(check: impl Fn(&[DecisionRecord]) + Send + 'static) -> MockDecisionStore {
    let mut store = MockDecisionStore::new();
    store.expect_append().times(1).returning(move |entries| {
        let records: Vec<DecisionRecord> = entries.iter().map(|e| e.record.clone()).collect();
        check(&records);
        Ok(())
    });
    store
}

fn store_never_called() -> MockDecisionStore {
    let mut store = MockDecisionStore::new();
    store.expect_append().never();
    store
}

#[tokio::test]
async fn a_miss_reads_the_cache_scores_writes_the_cache_then_logs_in_that_order() {
    let app = application(67);
    let mut order = Sequence::new();
    let mut cache = MockDecisionCache::new();
    let mut scorer = scorer();
    let mut store = MockDecisionStore::new();

    let expected_key = key(&app);
    cache
        .expect_read()
        .withf(move |keys| keys == [expected_key.clone()])
        .times(1)
        .in_sequence(&mut order)
        .returning(|_| Ok(vec![CacheEntry::Missing]));
    let expected_app = app.clone();
    scorer
        .expect_score()
        .withf(move |applications| applications == [&expected_app])
        .times(1)
        .in_sequence(&mut order)
        .returning(|_| Ok(vec![0.125]));
    let expected_entry = (key(&app), verdict(0.125));
    cache
        .expect_write()
        .withf(move |entries| entries == [expected_entry.clone()])
        .times(1)
        .in_sequence(&mut order)
        .returning(|_| Ok(()));
    let logged_app = app.clone();
    store
        .expect_append()
        .withf(move |entries| {
            entries.len() == 1
                && entries[0].record.source == Source::Model
                && entries[0].record.request == CanonicalRequest::of(&logged_app)
        })
        .times(1)
        .in_sequence(&mut order)
        .returning(|_| Ok(()));

    let served = service(Some(cache), store, scorer)
        .decide(app)
        .await
        .unwrap();

    assert_eq!(served.source, Source::Model);
    assert_eq!(served.cache, CacheStatus::Miss);
    assert_eq!(served.decision.verdict, verdict(0.125));
    assert_eq!(served.decision.verdict.outcome, Outcome::Approve);
}

#[tokio::test]
async fn a_hit_serves_the_cached_verdict_under_a_new_id_and_logs_it_without_scoring() {
    let app = application(67);
    let cached = verdict(0.5);
    let mut cache = MockDecisionCache::new();
    let mut scorer = scorer();

    let found = cached.clone();
    let expected_key = key(&app);
    cache
        .expect_read()
        .withf(move |keys| keys == [expected_key.clone()])
        .times(1)
        .returning(move |_| Ok(vec![CacheEntry::Found(found.clone())]));
    cache.expect_write().never();
    scorer.expect_score().never();
    let logged_verdict = cached.clone();
    let logged_app = app.clone();
    let store = store_expecting(move |records| {
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].source, Source::Cache);
        assert_eq!(records[0].request, CanonicalRequest::of(&logged_app));
        assert_eq!(records[0].response.verdict, logged_verdict);
        assert_eq!(records[0].decision_id, records[0].response.decision_id);
    });

    let service = service(Some(cache), store, scorer);
    let served = service.decide(app).await.unwrap();

    assert_eq!(served.source, Source::Cache);
    assert_eq!(served.cache, CacheStatus::Hit);
    assert_eq!(served.decision.verdict, cached);
    assert_eq!(served.decision.verdict.outcome, Outcome::Decline);
}

#[tokio::test]
async fn every_serving_gets_its_own_decision_id() {
    let mut cache = MockDecisionCache::new();
    cache
        .expect_read()
        .times(2)
        .returning(|_| Ok(vec![CacheEntry::Found(verdict(0.5))]));
    let mut store = MockDecisionStore::new();
    store.expect_append().times(2).returning(|_| Ok(()));
    let service = service(Some(cache), store, scorer());

    let first = service.decide(application(67)).await.unwrap();
    let second = service.decide(application(67)).await.unwrap();

    assert!(first.decision.decision_id < second.decision.decision_id);
    assert_eq!(first.decision.verdict, second.decision.verdict);
}

#[tokio::test]
async fn a_failed_cache_read_falls_back_to_the_model_and_still_logs() {
    let mut cache = MockDecisionCache::new();
    cache
        .expect_read()
        .times(1)
        .returning(|_| Err(CacheError::Unavailable("connection refused".into())));
    // The write is still tried: the cache may be back by then.
    cache.expect_write().times(1).returning(|_| Ok(()));
    let mut scorer = scorer();
    scorer.expect_score().times(1).returning(|_| Ok(vec![0.3]));
    let store = store_expecting(|records| assert_eq!(records[0].source, Source::Model));

    let served = service(Some(cache), store, scorer)
        .decide(application(67))
        .await
        .unwrap();

    assert_eq!(served.cache, CacheStatus::Miss);
    assert_eq!(served.decision.verdict, verdict(0.3));
}

#[tokio::test]
async fn a_failed_cache_write_keeps_the_decision_and_logs_it() {
    let mut cache = MockDecisionCache::new();
    cache
        .expect_read()
        .times(1)
        .returning(|_| Ok(vec![CacheEntry::Missing]));
    cache
        .expect_write()
        .times(1)
        .returning(|_| Err(CacheError::TimedOut(50)));
    let mut scorer = scorer();
    scorer.expect_score().times(1).returning(|_| Ok(vec![0.3]));
    let store = store_expecting(|records| assert_eq!(records[0].response.verdict, verdict(0.3)));

    let served = service(Some(cache), store, scorer)
        .decide(application(67))
        .await
        .unwrap();

    assert_eq!(served.source, Source::Model);
}

#[tokio::test]
async fn an_unreadable_cache_entry_is_refused_and_is_overwritten() {
    let app = application(67);
    let mut cache = MockDecisionCache::new();
    cache
        .expect_read()
        .times(1)
        .returning(|_| Ok(vec![CacheEntry::Unreadable("not JSON".into())]));
    let expected_entry = (key(&app), verdict(0.3));
    cache
        .expect_write()
        .withf(move |entries| entries == [expected_entry.clone()])
        .times(1)
        .returning(|_| Ok(()));
    let mut scorer = scorer();
    scorer.expect_score().times(1).returning(|_| Ok(vec![0.3]));
    let store = store_expecting(|records| assert_eq!(records[0].source, Source::Model));

    let served = service(Some(cache), store, scorer)
        .decide(app)
        .await
        .unwrap();

    assert_eq!(served.cache, CacheStatus::Refused);
}

/// Whoever can write to the cache must not choose decisions: an entry the
/// model could not have given this application is scored again, served
/// from the model, and overwritten with the model's verdict.
#[tokio::test]
async fn a_cached_verdict_the_model_could_not_have_given_is_refused_and_overwritten() {
    let mut approve_anyway = verdict(0.9);
    approve_anyway.outcome = Outcome::Approve;
    approve_anyway.reasons.clear();
    let mut age_for_the_elderly = verdict(0.9);
    age_for_the_elderly.reasons = vec![
        test_model()
            .reasons
            .of_field
            .into_iter()
            .find(|reason| reason.feature == "age_years")
            .unwrap(),
    ];
    let mut other_version = verdict(0.9);
    other_version.model_version = "evil-model-9".to_owned();
    for forged in [approve_anyway, age_for_the_elderly, other_version] {
        let app = application(67);
        let mut cache = MockDecisionCache::new();
        let stored = forged.clone();
        cache
            .expect_read()
            .times(1)
            .returning(move |_| Ok(vec![CacheEntry::Found(stored.clone())]));
        let expected_entry = (key(&app), verdict(0.9));
        cache
            .expect_write()
            .withf(move |entries| entries == [expected_entry.clone()])
            .times(1)
            .returning(|_| Ok(()));
        let mut scorer = scorer();
        scorer.expect_score().times(1).returning(|_| Ok(vec![0.9]));
        let store = store_expecting(|records| {
            assert_eq!(records[0].source, Source::Model);
            assert_eq!(records[0].response.verdict, verdict(0.9));
        });

        let served = service(Some(cache), store, scorer)
            .decide(app)
            .await
            .unwrap();

        assert_eq!(served.cache, CacheStatus::Refused, "{forged:?}");
        assert_eq!(served.decision.verdict, verdict(0.9));
    }
}

#[tokio::test]
async fn a_cache_answering_the_wrong_number_of_entries_is_ignored() {
    let mut cache = MockDecisionCache::new();
    cache.expect_read().times(1).returning(|_| Ok(vec![]));
    cache.expect_write().times(1).returning(|_| Ok(()));
    let mut scorer = scorer();
    scorer.expect_score().times(1).returning(|_| Ok(vec![0.3]));
    let store = store_expecting(|records| assert_eq!(records.len(), 1));

    let served = service(Some(cache), store, scorer)
        .decide(application(67))
        .await
        .unwrap();

    assert_eq!(served.decision.verdict, verdict(0.3));
}

#[tokio::test]
async fn a_scorer_error_returns_no_decision_and_touches_neither_cache_write_nor_store() {
    let mut cache = MockDecisionCache::new();
    cache
        .expect_read()
        .times(1)
        .returning(|_| Ok(vec![CacheEntry::Missing]));
    cache.expect_write().never();
    let mut scorer = scorer();
    scorer
        .expect_score()
        .times(1)
        .returning(|_| Err(ScoringError("tensor shape mismatch".into())));

    let outcome = service(Some(cache), store_never_called(), scorer)
        .decide(application(67))
        .await;

    assert!(
        matches!(outcome, Err(DecideError::ModelUnavailable(_))),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn a_scorer_answering_the_wrong_number_of_probabilities_is_an_error() {
    let mut scorer = scorer();
    scorer
        .expect_score()
        .times(1)
        .returning(|_| Ok(vec![0.1, 0.2]));

    let outcome = service(None, store_never_called(), scorer)
        .decide(application(67))
        .await;

    assert!(
        matches!(outcome, Err(DecideError::ModelUnavailable(_))),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn a_store_error_returns_no_decision() {
    let mut cache = MockDecisionCache::new();
    cache
        .expect_read()
        .times(1)
        .returning(|_| Ok(vec![CacheEntry::Missing]));
    cache.expect_write().times(1).returning(|_| Ok(()));
    let mut scorer = scorer();
    scorer.expect_score().times(1).returning(|_| Ok(vec![0.3]));
    let mut store = MockDecisionStore::new();
    store
        .expect_append()
        .times(1)
        .returning(|_| Err(StoreError::Unavailable("connection reset".into())));

    let outcome = service(Some(cache), store, scorer)
        .decide(application(67))
        .await;

    assert!(
        matches!(outcome, Err(DecideError::StoreUnavailable(_))),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn without_a_cache_every_decision_is_scored_and_logged() {
    let mut scorer = scorer();
    scorer.expect_score().times(1).returning(|_| Ok(vec![0.9]));
    let store = store_expecting(|records| assert_eq!(records[0].source, Source::Model));

    let served = service(None, store, scorer)
        .decide(application(67))
        .await
        .unwrap();

    assert_eq!(served.cache, CacheStatus::Off);
    assert_eq!(served.decision.verdict.outcome, Outcome::Decline);
}

#[tokio::test]
async fn a_batch_scores_only_its_misses_in_one_call_and_logs_everything_in_input_order() {
    let apps = vec![application(30), application(40), application(50)];
    let mut cache = MockDecisionCache::new();
    let keys: Vec<CacheKey> = apps.iter().map(key).collect();
    cache
        .expect_read()
        .withf(move |asked| asked == keys.as_slice())
        .times(1)
        .returning(|_| {
            Ok(vec![
                CacheEntry::Missing,
                CacheEntry::Found(verdict(0.7)),
                CacheEntry::Missing,
            ])
        });
    let written = vec![(key(&apps[0]), verdict(0.1)), (key(&apps[2]), verdict(0.3))];
    cache
        .expect_write()
        .withf(move |entries| entries == written.as_slice())
        .times(1)
        .returning(|_| Ok(()));
    let mut scorer = scorer();
    let misses = [apps[0].clone(), apps[2].clone()];
    scorer
        .expect_score()
        .withf(move |asked| asked.iter().copied().eq(misses.iter()))
        .times(1)
        .returning(|_| Ok(vec![0.1, 0.3]));
    let logged_apps = apps.clone();
    let store = store_expecting(move |records| {
        let sources: Vec<Source> = records.iter().map(|r| r.source).collect();
        assert_eq!(sources, vec![Source::Model, Source::Cache, Source::Model]);
        let requests: Vec<CanonicalRequest> = records.iter().map(|r| r.request.clone()).collect();
        let expected: Vec<CanonicalRequest> =
            logged_apps.iter().map(CanonicalRequest::of).collect();
        assert_eq!(requests, expected);
    });

    let served = service(Some(cache), store, scorer)
        .decide_all(apps)
        .await
        .unwrap();

    let probabilities: Vec<f64> = served
        .iter()
        .map(|s| s.decision.verdict.probability_of_default)
        .collect();
    assert_eq!(probabilities, vec![0.1, 0.7, 0.3]);
}

#[tokio::test]
async fn reads_go_to_the_store() {
    let id = DecisionId::mint();
    let mut store = MockDecisionStore::new();
    store
        .expect_get()
        .with(mockall::predicate::eq(id))
        .times(1)
        .returning(|_| Ok(None));
    store
        .expect_list()
        .with(mockall::predicate::eq(10), always())
        .times(1)
        .returning(|_, _| {
            Ok(DecisionPage {
                items: vec![],
                next: None,
            })
        });
    let service = service(None, store, scorer());

    assert_eq!(service.record(id).await.unwrap(), None);
    assert_eq!(service.records(10, Some(id)).await.unwrap().items, vec![]);
}

#[tokio::test]
async fn a_decline_carries_the_models_reasons_and_an_approval_none() {
    let (approved, declined) = (application(30), application(40));
    let mut scorer = MockScorer::new();
    scorer.expect_model().return_const(test_model());
    scorer.expect_score().returning(|_| Ok(vec![0.1, 0.9]));
    let asked = declined.clone();
    scorer
        .expect_explain()
        .withf(move |declined| declined == [&asked])
        .times(1)
        .returning(|_| Ok(vec![vec![test_reason()]]));
    let mut cache = MockDecisionCache::new();
    cache
        .expect_read()
        .returning(|keys| Ok(vec![CacheEntry::Missing; keys.len()]));
    cache
        .expect_write()
        .withf(|entries| entries[0].1.reasons.is_empty() && entries[1].1.reasons == [test_reason()])
        .times(1)
        .returning(|_| Ok(()));
    let store = store_expecting(|records| {
        assert_eq!(records[1].response.verdict.reasons, vec![test_reason()]);
    });
    let served = service(Some(cache), store, scorer)
        .decide_all(vec![approved, declined])
        .await
        .unwrap();
    assert_eq!(served[0].decision.verdict.reasons, vec![]);
    assert_eq!(served[1].decision.verdict.reasons, vec![test_reason()]);
}

#[tokio::test]
async fn a_model_that_cannot_explain_a_decline_returns_no_decision() {
    let mut scorer = MockScorer::new();
    scorer.expect_model().return_const(test_model());
    scorer.expect_score().returning(|_| Ok(vec![0.9]));
    scorer
        .expect_explain()
        .returning(|_| Err(ScoringError("no reasons".to_owned())));
    let result = service(None, store_never_called(), scorer)
        .decide(application(40))
        .await;
    assert!(matches!(result, Err(DecideError::ModelUnavailable(_))));
}

#[tokio::test]
async fn each_logged_decision_carries_the_cells_the_baseline_gives_it() {
    let app = application(67);
    let mut cache = MockDecisionCache::new();
    cache
        .expect_read()
        .returning(|_| Ok(vec![CacheEntry::Found(verdict(0.5))]));
    let mut store = MockDecisionStore::new();
    let expected = test_model().baseline.cells(
        &app,
        verdict(0.5).probability_of_default,
        Outcome::Decline,
        Source::Cache,
    );
    store
        .expect_append()
        .withf(move |entries| entries.len() == 1 && entries[0].cells == expected)
        .times(1)
        .returning(|_| Ok(()));

    service(Some(cache), store, scorer())
        .decide(app)
        .await
        .unwrap();
}

#[tokio::test]
async fn the_monitoring_report_is_made_from_the_stores_tally_of_the_window() {
    use crate::monitoring::{HourlyTally, Tally, Window};
    // The store is asked for the whole minutes around the window.
    let asked_for = Window::parse(
        Some("2026-11-25T00:00:30Z"),
        Some("2026-11-25T11:59:00.5Z"),
        chrono::Utc::now(),
    )
    .unwrap();
    let window = Window::parse(
        Some("2026-11-25T00:00:00Z"),
        Some("2026-11-25T12:00:00Z"),
        chrono::Utc::now(),
    )
    .unwrap();
    let cells =
        test_model()
            .baseline
            .cells(&application(30), 0.05, Outcome::Approve, Source::Model);
    let mut tally = Tally::default();
    (0..100).for_each(|_| tally.add(&cells));
    let mut store = MockDecisionStore::new();
    store
        .expect_tally()
        .withf(move |asked| asked.window() == window)
        .times(1)
        .returning(move |_| {
            Ok(vec![HourlyTally {
                hour: window.since,
                model_version: VERSION.to_owned(),
                role: Role::Champion,
                tally: tally.clone(),
            }])
        });

    let report = service(None, store, scorer())
        .monitoring(asked_for)
        .await
        .unwrap();

    assert_eq!(report.window, window);
    assert_eq!((report.decisions, report.by_decision.approve), (100, 100));
    assert_eq!(
        report.score.bins[0].actual,
        Some(1.0),
        "0.05 is in the lowest bin"
    );
}

// Champion and challenger.

const CHALLENGER: &str = "test-model-2";
const CHALLENGER_THRESHOLD: f32 = 0.4;

fn challenger_model() -> ModelInfo {
    ModelInfo {
        version: CHALLENGER.to_owned(),
        threshold: CHALLENGER_THRESHOLD,
        ..test_model()
    }
}

/// A challenger whose declines give the card's second reason, so that a
/// record shows whose reasons it holds.
fn challenger_scorer() -> MockScorer {
    let mut scorer = MockScorer::new();
    scorer.expect_model().return_const(challenger_model());
    let reason = test_model().reasons.of_field[1].clone();
    scorer
        .expect_explain()
        .returning(move |declined| Ok(vec![vec![reason.clone()]; declined.len()]));
    scorer
}

fn challenger_verdict(probability: f32) -> Verdict {
    let mut verdict = Verdict::from_model(probability, CHALLENGER_THRESHOLD, CHALLENGER);
    if verdict.outcome == Outcome::Decline {
        verdict.reasons = vec![test_model().reasons.of_field[1].clone()];
    }
    verdict
}

fn challenger_key(application: &Application) -> CacheKey {
    CacheKey::for_application(CHALLENGER, application)
}

/// The flow routing to the mock champion and a mock challenger.
fn routed_service(
    cache: Option<MockDecisionCache>,
    store: MockDecisionStore,
    champion: MockScorer,
    challenger: MockScorer,
    mode: Mode,
    share: f64,
) -> Service {
    let cache = cache.map(|cache| Arc::new(cache) as Arc<dyn DecisionCache>);
    let routing = Routing {
        generation: 3,
        champion: VERSION.to_owned(),
        challenger: Some(Challenger {
            version: CHALLENGER.to_owned(),
            mode,
            share,
        }),
        changed_at: None,
        reason: Some("test".to_owned()),
    };
    Service {
        flow: DecisionFlow::new(cache, Arc::new(store)),
        routed: Routed {
            routing,
            champion: Arc::new(champion),
            challenger: Some(Arc::new(challenger)),
        },
    }
}

/// Applications on both sides of a share of one half.
fn in_and_out_of_half() -> (Application, Application) {
    let in_half = |age: i64| share_point(&CanonicalRequest::of(&application(age))) < 0.5;
    let inside = (20..100).find(|age| in_half(*age)).unwrap();
    let outside = (20..100).find(|age| !in_half(*age)).unwrap();
    (application(inside), application(outside))
}

#[tokio::test]
async fn a_shadow_scores_beside_the_champion_which_alone_is_served() {
    let app = application(67);
    let mut cache = MockDecisionCache::new();
    let keys = vec![key(&app), challenger_key(&app)];
    cache
        .expect_read()
        .withf(move |asked| asked == keys.as_slice())
        .times(1)
        .returning(|_| Ok(vec![CacheEntry::Missing, CacheEntry::Missing]));
    // Each version's verdict is cached under its own key.
    let written = vec![
        (key(&app), verdict(0.1)),
        (challenger_key(&app), challenger_verdict(0.5)),
    ];
    cache
        .expect_write()
        .withf(move |entries| entries == written.as_slice())
        .times(1)
        .returning(|_| Ok(()));
    let mut champion = scorer();
    champion
        .expect_score()
        .times(1)
        .returning(|_| Ok(vec![0.1]));
    let mut challenger = challenger_scorer();
    let expected_app = app.clone();
    challenger
        .expect_score()
        .withf(move |asked| asked == [&expected_app])
        .times(1)
        .returning(|_| Ok(vec![0.5]));
    let store = store_expecting(|records| {
        assert_eq!(records[0].arm, Arm::Champion);
        assert_eq!(records[0].response.verdict, verdict(0.1));
        assert_eq!(records[0].shadow, Some(challenger_verdict(0.5)));
    });

    let served = routed_service(Some(cache), store, champion, challenger, Mode::Shadow, 1.0)
        .decide(app)
        .await
        .unwrap();

    assert_eq!(served.arm, Arm::Champion);
    assert_eq!(served.decision.verdict, verdict(0.1));
    assert_eq!(served.cache, CacheStatus::Miss);
}

#[tokio::test]
async fn a_shadow_scores_on_a_champion_hit_and_its_own_hit_is_logged_too() {
    let (first, second) = (application(30), application(40));
    let mut cache = MockDecisionCache::new();
    cache.expect_read().times(1).returning(|_| {
        Ok(vec![
            CacheEntry::Found(verdict(0.1)),
            CacheEntry::Missing,
            CacheEntry::Found(verdict(0.9)),
            CacheEntry::Found(challenger_verdict(0.2)),
        ])
    });
    let written = vec![(challenger_key(&first), challenger_verdict(0.6))];
    cache
        .expect_write()
        .withf(move |entries| entries == written.as_slice())
        .times(1)
        .returning(|_| Ok(()));
    let mut champion = scorer();
    champion.expect_score().never();
    let mut challenger = challenger_scorer();
    let expected_app = first.clone();
    challenger
        .expect_score()
        .withf(move |asked| asked == [&expected_app])
        .times(1)
        .returning(|_| Ok(vec![0.6]));
    let store = store_expecting(|records| {
        let shadows: Vec<Option<Verdict>> = records.iter().map(|r| r.shadow.clone()).collect();
        assert_eq!(
            shadows,
            vec![Some(challenger_verdict(0.6)), Some(challenger_verdict(0.2))]
        );
        assert!(
            records
                .iter()
                .all(|r| r.source == Source::Cache && r.arm == Arm::Champion)
        );
    });

    let served = routed_service(Some(cache), store, champion, challenger, Mode::Shadow, 1.0)
        .decide_all(vec![first, second])
        .await
        .unwrap();

    let verdicts: Vec<Verdict> = served.into_iter().map(|s| s.decision.verdict).collect();
    assert_eq!(verdicts, vec![verdict(0.1), verdict(0.9)]);
}

#[tokio::test]
async fn outside_its_share_a_shadow_is_neither_read_nor_run() {
    let (inside, outside) = in_and_out_of_half();
    let mut champion = scorer();
    champion
        .expect_score()
        .times(1)
        .returning(|asked| Ok(vec![0.1; asked.len()]));
    let mut challenger = challenger_scorer();
    let expected_app = inside.clone();
    challenger
        .expect_score()
        .withf(move |asked| asked == [&expected_app])
        .times(1)
        .returning(|_| Ok(vec![0.3]));
    let store = store_expecting(|records| {
        assert_eq!(records[0].shadow, Some(challenger_verdict(0.3)));
        assert_eq!(records[1].shadow, None);
    });

    let served = routed_service(None, store, champion, challenger, Mode::Shadow, 0.5)
        .decide_all(vec![inside, outside])
        .await
        .unwrap();

    assert!(
        served
            .iter()
            .all(|s| s.decision.verdict.model_version == VERSION)
    );
}

#[tokio::test]
async fn a_split_challenger_decides_serves_and_explains_its_share() {
    let (inside, outside) = in_and_out_of_half();
    let mut cache = MockDecisionCache::new();
    let keys = vec![challenger_key(&inside), key(&outside)];
    cache
        .expect_read()
        .withf(move |asked| asked == keys.as_slice())
        .times(1)
        .returning(|_| Ok(vec![CacheEntry::Missing, CacheEntry::Missing]));
    cache.expect_write().times(1).returning(|_| Ok(()));
    let mut champion = scorer();
    let expected_outside = outside.clone();
    champion
        .expect_score()
        .withf(move |asked| asked == [&expected_outside])
        .times(1)
        .returning(|_| Ok(vec![0.3]));
    let mut challenger = challenger_scorer();
    let expected_inside = inside.clone();
    challenger
        .expect_score()
        .withf(move |asked| asked == [&expected_inside])
        .times(1)
        .returning(|_| Ok(vec![0.5]));
    let store = store_expecting(|records| {
        let arms: Vec<Arm> = records.iter().map(|r| r.arm).collect();
        assert_eq!(arms, vec![Arm::Challenger, Arm::Champion]);
        assert!(records.iter().all(|r| r.shadow.is_none()));
    });

    let served = routed_service(Some(cache), store, champion, challenger, Mode::Split, 0.5)
        .decide_all(vec![inside, outside])
        .await
        .unwrap();

    assert_eq!(served[0].arm, Arm::Challenger);
    // Its own version, threshold and reasons.
    assert_eq!(served[0].decision.verdict, challenger_verdict(0.5));
    assert_eq!(served[1].arm, Arm::Champion);
    assert_eq!(served[1].decision.verdict, verdict(0.3));
}

#[tokio::test]
async fn a_cached_verdict_of_the_other_version_is_never_served() {
    let app = application(30);
    let mut cache = MockDecisionCache::new();
    // The challenger's key holds the champion's verdict: refused, scored
    // again by the challenger and overwritten.
    cache
        .expect_read()
        .times(1)
        .returning(|_| Ok(vec![CacheEntry::Found(verdict(0.1))]));
    let written = vec![(challenger_key(&app), challenger_verdict(0.2))];
    cache
        .expect_write()
        .withf(move |entries| entries == written.as_slice())
        .times(1)
        .returning(|_| Ok(()));
    let mut challenger = challenger_scorer();
    challenger
        .expect_score()
        .times(1)
        .returning(|_| Ok(vec![0.2]));
    let store = store_expecting(|_| {});

    let served = routed_service(Some(cache), store, scorer(), challenger, Mode::Split, 1.0)
        .decide(app)
        .await
        .unwrap();

    assert_eq!(served.cache, CacheStatus::Refused);
    assert_eq!(served.decision.verdict.model_version, CHALLENGER);
}
