//! The port contracts: one set of checks per port, run over every adapter
//! of that port. Passing them is what lets the in-memory fakes stand in for
//! the real backends in the rest of the suite.

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeDelta, Utc};

use domain::{
    Application, Arm, CacheEntry, CacheKey, Cells, Challenger, DecisionCache, DecisionId,
    DecisionRecord, DecisionStore, HourlyTally, LoggedRequests, MinuteWindow, Mode, Outcome, Role,
    RoutingError, RoutingRequest, RoutingStore, Scorer, Source, StoreEntry, StoreError, Tally,
    Verdict, Window,
};
use pretty_assertions::assert_eq;

use crate::harness::data::{example_application, example_with};
use crate::harness::eventually;
use crate::harness::test_app::built_in_scorer;

fn key(n: u32) -> CacheKey {
    let application = example_with("age_years", serde_json::json!(20 + n));
    CacheKey::for_application(
        "contract-test",
        &domain::Application::from_json(application.as_object().unwrap()).unwrap(),
    )
}

fn verdict(probability: f64) -> Verdict {
    Verdict {
        outcome: if probability < 0.5 {
            Outcome::Approve
        } else {
            Outcome::Decline
        },
        probability_of_default: probability,
        model_version: "contract-test".to_owned(),
        // A decline's reasons are part of what a cache keeps.
        reasons: if probability < 0.5 {
            Vec::new()
        } else {
            vec![domain::Reason {
                code: "R02".to_owned(),
                feature: "duration_months".to_owned(),
                description: "Loan duration is long".to_owned(),
            }]
        },
    }
}

/// Everything a `DecisionCache` must do. `make` builds an empty cache with
/// the given time to live.
pub async fn cache_contract<F, Fut>(make: F)
where
    F: Fn(Duration) -> Fut,
    Fut: std::future::Future<Output = Arc<dyn DecisionCache>>,
{
    let cache = make(Duration::from_secs(3600)).await;
    cache.ping().await.expect("a fresh cache answers");

    assert_eq!(cache.read(&[]).await.unwrap(), vec![]);
    assert_eq!(
        cache.read(&[key(1), key(2)]).await.unwrap(),
        vec![CacheEntry::Missing, CacheEntry::Missing]
    );

    cache
        .write(&[(key(1), verdict(0.125)), (key(2), verdict(0.75))])
        .await
        .unwrap();
    cache.write(&[]).await.unwrap();
    assert_eq!(
        cache.read(&[key(2), key(3), key(1)]).await.unwrap(),
        vec![
            CacheEntry::Found(verdict(0.75)),
            CacheEntry::Missing,
            CacheEntry::Found(verdict(0.125))
        ],
        "entries come back in the order of the keys asked"
    );

    // Probabilities survive the round trip exactly, as clients saw them.
    let awkward = Verdict::from_model(0.057_359_487, 0.2326, "contract-test");
    cache.write(&[(key(4), awkward.clone())]).await.unwrap();
    assert_eq!(
        cache.read(&[key(4)]).await.unwrap(),
        vec![CacheEntry::Found(awkward)]
    );

    cache.write(&[(key(1), verdict(0.25))]).await.unwrap();
    assert_eq!(
        cache.read(&[key(1)]).await.unwrap(),
        vec![CacheEntry::Found(verdict(0.25))],
        "a write replaces the entry"
    );

    let short_lived = make(Duration::from_millis(300)).await;
    short_lived.write(&[(key(5), verdict(0.5))]).await.unwrap();
    assert_eq!(
        short_lived.read(&[key(5)]).await.unwrap(),
        vec![CacheEntry::Found(verdict(0.5))]
    );
    // Virtual time on a paused clock (memory), real time for a server.
    eventually(
        "entries expire after their time to live",
        Duration::from_secs(5),
        || async { short_lived.read(&[key(5)]).await.unwrap() == vec![CacheEntry::Missing] },
    )
    .await;
}

pub fn record(source: Source) -> DecisionRecord {
    let id = DecisionId::mint();
    DecisionRecord {
        decision_id: id,
        created_at: domain::decision::now_for_store(),
        source,
        request: domain::CanonicalRequest::of(
            &domain::Application::from_json(example_application().as_object().unwrap()).unwrap(),
        ),
        response: domain::Decision {
            decision_id: id,
            verdict: Verdict::from_model(0.057_359_487, 0.2326, "contract-test"),
        },
        arm: Arm::Champion,
        shadow: None,
    }
}

/// Records as the flow logs them, each counted in the bins the built-in
/// model's baseline gives it.
pub fn entries(records: &[DecisionRecord]) -> Vec<StoreEntry> {
    let scorer = built_in_scorer();
    let baseline = &scorer.model().baseline;
    records
        .iter()
        .map(|record| {
            let request: serde_json::Value = serde_json::from_str(record.request.as_str()).unwrap();
            let application = Application::from_json(request.as_object().unwrap()).unwrap();
            let verdict = &record.response.verdict;
            StoreEntry {
                record: record.clone(),
                cells: baseline.cells(
                    &application,
                    verdict.probability_of_default,
                    verdict.outcome,
                    record.source,
                ),
                shadow_cells: record.shadow.as_ref().map(|shadow| {
                    baseline.shadow_cells(
                        &application,
                        shadow.probability_of_default,
                        shadow.outcome,
                        Source::Model,
                        verdict.outcome,
                    )
                }),
            }
        })
        .collect()
}

/// The tallies a scan of `logged` counts: each entry's cells under its
/// version and arm's role, and its shadow's under the shadow's version.
pub fn scanned_tallies<'a>(logged: impl IntoIterator<Item = &'a StoreEntry>) -> Vec<HourlyTally> {
    let one = |cells: &Cells| {
        let mut tally = Tally::default();
        tally.add(cells);
        tally
    };
    HourlyTally::gather(logged.into_iter().flat_map(|entry| {
        let record = &entry.record;
        let role = match record.arm {
            Arm::Champion => Role::Champion,
            Arm::Challenger => Role::Challenger,
        };
        let served = (
            record.created_at,
            record.response.verdict.model_version.clone(),
            role,
            one(&entry.cells),
        );
        let shadow =
            record
                .shadow
                .as_ref()
                .zip(entry.shadow_cells.as_ref())
                .map(|(shadow, cells)| {
                    (
                        record.created_at,
                        shadow.model_version.clone(),
                        Role::Shadow,
                        one(cells),
                    )
                });
        std::iter::once(served).chain(shadow)
    }))
}

/// What a store's tallies must add up to: the cells of exactly the entries
/// whose `created_at` is in the window's whole minutes, by hour, model
/// version and role (champion, challenger, shadow), whether the window
/// asked for ends on whole minutes or inside them.
pub async fn tally_contract(store: Arc<dyn DecisionStore>) {
    // Hours ahead (their partitions exist), on a whole hour.
    let hour = HourlyTally::hour_of(Utc::now()) + TimeDelta::hours(2);
    let at = |minutes: i64, seconds: i64| hour + TimeDelta::seconds(minutes * 60 + seconds);
    let logged_at = |at, source, version: &str| {
        let mut record = record(source);
        record.created_at = at;
        record.response.verdict.model_version = version.to_owned();
        record
    };
    let mut split = logged_at(at(1, 20), Source::Model, "challenger-model");
    split.arm = Arm::Challenger;
    let mut shadowed = logged_at(at(1, 30), Source::Cache, "contract-test");
    shadowed.shadow = Some(Verdict::from_model(0.4, 0.25, "shadow-model"));
    let mut logged = entries(&[
        logged_at(at(0, 30), Source::Model, "contract-test"),
        logged_at(at(1, 10), Source::Cache, "contract-test"),
        logged_at(at(1, 50), Source::Model, "contract-test"),
        logged_at(at(5, 0), Source::Model, "contract-test"),
        logged_at(at(62, 0), Source::Model, "older-model"),
        split,
        shadowed,
    ]);
    // Logged before monitoring: counted by outcome and source only.
    logged[3].record.response.verdict.outcome = Outcome::Decline;
    logged[3].cells = Cells::unbinned(Outcome::Decline, Source::Model);
    store.append(&logged[..2]).await.unwrap();
    store.append(&logged[2..]).await.unwrap();

    for (since, until) in [
        (at(0, 0), at(120, 0)),
        (at(0, 45), at(5, 0)),
        (at(0, 30), at(1, 10)),
        (at(1, 10), at(1, 50)),
        (at(0, 31), at(62, 1)),
        (at(5, 0), at(5, 0)),
        (at(-60, 0), at(0, 0)),
    ] {
        let window = MinuteWindow::covering(Window { since, until });
        let scanned = scanned_tallies(
            logged
                .iter()
                .filter(|e| window.contains(e.record.created_at)),
        );
        assert_eq!(
            store.tally(window).await.unwrap(),
            scanned,
            "{since} – {until}"
        );
    }
    let all = store
        .tally(MinuteWindow::covering(Window {
            since: at(0, 0),
            until: at(120, 0),
        }))
        .await
        .unwrap();
    let decisions: Vec<(u32, &str, Role, u64)> = all
        .iter()
        .map(|part| {
            let minutes = (part.hour - hour).num_minutes() as u32;
            (
                minutes,
                part.model_version.as_str(),
                part.role,
                part.tally.count(0) + part.tally.count(1),
            )
        })
        .collect();
    assert_eq!(
        decisions,
        [
            (0, "challenger-model", Role::Challenger, 1),
            (0, "contract-test", Role::Champion, 5),
            (0, "shadow-model", Role::Shadow, 1),
            (60, "older-model", Role::Champion, 1)
        ]
    );
}

pub fn routing_request(
    champion: &str,
    challenger: Option<(&str, Mode, f64)>,
    reason: &str,
) -> RoutingRequest {
    RoutingRequest {
        champion: champion.to_owned(),
        challenger: challenger.map(|(version, mode, share)| Challenger {
            version: version.to_owned(),
            mode,
            share,
        }),
        reason: reason.to_owned(),
    }
}

/// Everything a `RoutingStore` must do, on an empty one: generations from
/// 1, each append only on the generation its maker saw, the history
/// append-only and paged newest first, the newest change the routing.
pub async fn routing_contract(store: Arc<dyn RoutingStore>) {
    assert_eq!(store.newest().await.unwrap(), None, "no change yet");
    let empty = store.changes(10, None).await.unwrap();
    assert_eq!((empty.items.len(), empty.next), (0, None));

    let first = store
        .append(
            0,
            &routing_request("v1", Some(("v2", Mode::Shadow, 0.25)), "shadow v2"),
            "3f2a9c1e",
        )
        .await
        .unwrap();
    assert_eq!(first.generation, 1);
    assert_eq!(first.by, "3f2a9c1e");
    assert_eq!(
        first.challenger,
        Some(Challenger {
            version: "v2".to_owned(),
            mode: Mode::Shadow,
            share: 0.25
        })
    );
    assert_eq!(store.newest().await.unwrap(), Some(first.clone()));

    // A maker who saw generation 0 is too late now, and changes nothing.
    let stale = store
        .append(0, &routing_request("v2", None, "promote"), "3f2a9c1e")
        .await
        .unwrap_err();
    assert!(
        matches!(
            stale,
            RoutingError::Stale {
                expected: 0,
                current: 1
            }
        ),
        "{stale:?}"
    );
    assert_eq!(store.newest().await.unwrap(), Some(first.clone()));

    let second = store
        .append(
            1,
            &routing_request("v2", Some(("v1", Mode::Split, 1.0)), "split"),
            "anonymous",
        )
        .await
        .unwrap();
    let third = store
        .append(2, &routing_request("v2", None, "promote v2"), "0badc0de")
        .await
        .unwrap();
    assert_eq!((second.generation, third.generation), (2, 3));
    assert!(first.changed_at <= second.changed_at && second.changed_at <= third.changed_at);
    assert_eq!(store.newest().await.unwrap(), Some(third.clone()));

    let all = store.changes(10, None).await.unwrap();
    assert_eq!(
        all.items,
        vec![third.clone(), second.clone(), first.clone()]
    );
    assert_eq!(all.next, None);
    let exactly = store.changes(3, None).await.unwrap();
    assert_eq!(
        (exactly.items.len(), exactly.next),
        (3, None),
        "a page holding exactly what is left says there is no more"
    );
    let page = store.changes(2, None).await.unwrap();
    assert_eq!(page.items, vec![third.clone(), second.clone()]);
    assert_eq!(page.next, Some(2));
    let rest = store.changes(2, page.next).await.unwrap();
    assert_eq!((rest.items, rest.next), (vec![first.clone()], None));

    // Two makers racing for the same generation: exactly one wins.
    let request = routing_request("v1", None, "race");
    let (left, right) = tokio::join!(
        store.append(3, &request, "aaaaaaaa"),
        store.append(3, &request, "bbbbbbbb")
    );
    assert_eq!(
        [left.is_ok(), right.is_ok()]
            .iter()
            .filter(|won| **won)
            .count(),
        1,
        "{left:?} {right:?}"
    );
    assert_eq!(store.newest().await.unwrap().unwrap().generation, 4);
}

/// Every request logged in a window, read a page at a time (what a backtest
/// does): each once, by time and then in the order logged, whatever the
/// page's size; none from outside the window.
pub async fn logged_requests_contract(store: Arc<dyn DecisionStore>, log: Arc<dyn LoggedRequests>) {
    let start = domain::monitoring::minute_of(Utc::now()) - TimeDelta::minutes(10);
    let minute = |n: i64| start + TimeDelta::minutes(n);
    // Logged out of time order, three to a minute; one before, one after.
    let minutes = [2, 0, 1, 0, 2, 1, 0, 1, 2, -2, 5];
    let records: Vec<DecisionRecord> = minutes
        .iter()
        .enumerate()
        .map(|(k, &n)| {
            let application = example_with("age_years", (30 + k).into());
            DecisionRecord {
                created_at: minute(n) + TimeDelta::seconds(7),
                request: domain::CanonicalRequest::of(
                    &Application::from_json(application.as_object().unwrap()).unwrap(),
                ),
                ..record(Source::Model)
            }
        })
        .collect();
    store.append(&entries(&records)).await.unwrap();
    let age = |request: &domain::CanonicalRequest| -> u64 {
        let body: serde_json::Value = serde_json::from_str(request.as_str()).unwrap();
        body["age_years"].as_u64().unwrap()
    };
    let mut expected: Vec<(i64, usize)> = minutes
        .iter()
        .enumerate()
        .filter(|(_, n)| (0..3).contains(*n))
        .map(|(k, &n)| (n, k))
        .collect();
    expected.sort();
    let expected: Vec<u64> = expected.iter().map(|(_, k)| 30 + *k as u64).collect();

    let window = MinuteWindow::covering(Window {
        since: minute(0),
        until: minute(3),
    });
    assert_eq!(log.count(window).await.unwrap(), 9);
    for limit in [1u16, 2, 4, 9, 100] {
        let (mut read, mut after, mut pages) = (Vec::new(), None, 0);
        loop {
            let page = log.page(window, after, limit).await.unwrap();
            pages += 1;
            // A cursor that does not move fails here instead of paging forever.
            assert!(pages <= 9, "pages of {limit} end");
            assert!(page.requests.len() <= usize::from(limit));
            read.extend(page.requests.iter().map(age));
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        assert_eq!(read, expected, "pages of {limit}");
        assert_eq!(
            pages,
            9usize.div_ceil(usize::from(limit)),
            "pages of {limit}"
        );
    }
    let empty = MinuteWindow::covering(Window {
        since: minute(3),
        until: minute(5),
    });
    assert_eq!(log.count(empty).await.unwrap(), 0);
    let page = log.page(empty, None, 10).await.unwrap();
    assert!(page.requests.is_empty() && page.next.is_none());
}

fn ids(records: &[DecisionRecord]) -> Vec<DecisionId> {
    records.iter().map(|r| r.decision_id).collect()
}

/// Everything a `DecisionStore` must do, on an empty store.
pub async fn store_contract(store: Arc<dyn DecisionStore>) {
    store.ping().await.expect("a fresh store answers");
    let empty = store.list(10, None).await.unwrap();
    assert_eq!((empty.items.len(), empty.next), (0, None));

    // Minted first, appended last: the log's order is insertion order.
    let late = record(Source::Model);
    let a = record(Source::Model);
    let b = record(Source::Cache);
    let c = record(Source::Model);
    store
        .append(&entries(std::slice::from_ref(&a)))
        .await
        .unwrap();
    store
        .append(&entries(&[b.clone(), c.clone()]))
        .await
        .unwrap();
    store
        .append(&entries(std::slice::from_ref(&late)))
        .await
        .unwrap();

    assert_eq!(
        store.get(b.decision_id).await.unwrap(),
        Some(b.clone()),
        "reads back equal"
    );
    assert_eq!(store.get(DecisionId::mint()).await.unwrap(), None);

    let all = store.list(10, None).await.unwrap();
    assert_eq!(
        ids(&all.items),
        ids(&[late.clone(), c.clone(), b.clone(), a.clone()])
    );
    assert_eq!(
        all.items,
        vec![late.clone(), c.clone(), b.clone(), a.clone()]
    );
    assert_eq!(all.next, None);

    let first = store.list(2, None).await.unwrap();
    assert_eq!(ids(&first.items), ids(&[late.clone(), c.clone()]));
    assert_eq!(first.next, Some(c.decision_id));
    let second = store.list(2, first.next).await.unwrap();
    assert_eq!(ids(&second.items), ids(&[b.clone(), a.clone()]));
    assert_eq!(second.next, None, "no next page when nothing older is left");

    let unknown = DecisionId::mint();
    assert!(matches!(
        store.list(2, Some(unknown)).await,
        Err(StoreError::UnknownCursor(id)) if id == unknown
    ));

    // An append is all or nothing: a batch with an id already logged
    // leaves no trace.
    let fresh = record(Source::Model);
    assert!(
        store
            .append(&entries(&[fresh.clone(), a.clone()]))
            .await
            .is_err()
    );
    assert_eq!(store.get(fresh.decision_id).await.unwrap(), None);
    assert_eq!(store.list(10, None).await.unwrap().items.len(), 4);
}

mod memory {
    use super::*;
    use ::memory::{MemoryDecisionCache, MemoryDecisionStore};

    /// On a paused clock: the contract's wait for entries to expire passes
    /// in virtual time, which the memory cache keeps its TTL on.
    #[tokio::test(start_paused = true)]
    async fn the_memory_cache_keeps_the_cache_contract() {
        cache_contract(|ttl| async move {
            Arc::new(MemoryDecisionCache::new(ttl)) as Arc<dyn DecisionCache>
        })
        .await;
    }

    #[tokio::test]
    async fn the_memory_store_keeps_the_store_contract() {
        store_contract(Arc::new(MemoryDecisionStore::new())).await;
    }

    #[tokio::test]
    async fn the_memory_store_keeps_the_tally_contract() {
        tally_contract(Arc::new(MemoryDecisionStore::new())).await;
    }

    #[tokio::test]
    async fn the_memory_store_keeps_the_logged_requests_contract() {
        let store = Arc::new(MemoryDecisionStore::new());
        logged_requests_contract(store.clone(), store).await;
    }

    #[tokio::test]
    async fn the_memory_routing_store_keeps_the_routing_contract() {
        routing_contract(Arc::new(::memory::MemoryRoutingStore::new())).await;
    }
}

mod real_servers {
    use std::sync::Mutex;

    use fred::prelude::*;

    use super::*;
    use crate::harness::proxy::{TcpProxy, socket_addr_of};
    use crate::harness::real_backends::{NEAR_ENTRIES, RealBackends, redis_client};
    use pretty_assertions::assert_eq;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_redis_cache_keeps_the_cache_contract() {
        // Each cache the contract asks for gets a namespace of its own,
        // kept (and cleaned up) until the test ends.
        let made: Mutex<Vec<Arc<RealBackends>>> = Mutex::default();
        let made = &made;
        cache_contract(|ttl| async move {
            let real = Arc::new(RealBackends::create_without_database());
            let cache = real.cache(ttl).await;
            made.lock().unwrap().push(real);
            Arc::new(cache) as Arc<dyn DecisionCache>
        })
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_postgres_store_keeps_the_store_contract() {
        let real = RealBackends::create().await;
        store_contract(Arc::new(real.store().await)).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_postgres_store_keeps_the_tally_contract() {
        let real = RealBackends::create().await;
        tally_contract(Arc::new(real.store().await)).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_postgres_log_reader_keeps_the_logged_requests_contract() {
        let real = RealBackends::create().await;
        let store = Arc::new(real.store().await);
        let settings = postgres_store::PostgresStoreSettings::new(&real.database().url);
        let reader = postgres_store::PostgresLogReader::open(&settings)
            .await
            .unwrap();
        logged_requests_contract(store, Arc::new(reader)).await;
    }

    /// A backtest compares against the champion the log's newest routing
    /// change names.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_postgres_log_reader_names_the_newest_champion() {
        let real = RealBackends::create().await;
        let store: Arc<dyn RoutingStore> = Arc::new(real.store().await);
        let settings = postgres_store::PostgresStoreSettings::new(&real.database().url);
        let reader = postgres_store::PostgresLogReader::open(&settings)
            .await
            .unwrap();
        assert_eq!(reader.champion().await.unwrap(), None);
        for (generation, champion) in [(0, "v1"), (1, "v2")] {
            store
                .append(
                    generation,
                    &routing_request(champion, None, "promote"),
                    "3f2a9c1e",
                )
                .await
                .unwrap();
            assert_eq!(reader.champion().await.unwrap().as_deref(), Some(champion));
        }
        reader.close().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_postgres_store_keeps_the_routing_contract() {
        let real = RealBackends::create().await;
        routing_contract(Arc::new(real.store().await)).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_unreadable_redis_entry_is_reported_as_such() {
        let real = RealBackends::create_without_database();
        let cache = real.cache(Duration::from_secs(60)).await;
        let client = redis_client().await;
        let _: () = client
            .set(
                cache.redis_key(&key(1)),
                "{not a verdict",
                None,
                None,
                false,
            )
            .await
            .unwrap();
        let _: i64 = client
            .custom(
                fred::cmd!("HSET"),
                vec![cache.redis_key(&key(2)), "field".into(), "value".into()],
            )
            .await
            .unwrap();
        let entries = cache.read(&[key(1), key(2), key(3)]).await.unwrap();
        assert!(
            matches!(entries[0], CacheEntry::Unreadable(_)),
            "{entries:?}"
        );
        // MGET answers nil for a key of another type: nothing to use.
        assert_eq!(entries[1..], [CacheEntry::Missing, CacheEntry::Missing]);
        let _ = client.quit().await;
    }

    /// Seconds since Redis last served `key` to anyone.
    async fn idle_seconds(client: &Client, key: String) -> i64 {
        client
            .custom(
                fred::cmd!("OBJECT"),
                vec![Value::from("IDLETIME"), Value::from(key)],
            )
            .await
            .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_repeated_read_is_answered_from_the_near_cache_without_asking_redis() {
        let real = RealBackends::create_without_database();
        let ttl = Duration::from_secs(60);
        let near = real.cache(ttl).await;
        let direct = real
            .cache_at(&real.namespace.redis_url, ttl, Duration::from_secs(2), 0)
            .await;
        let client = redis_client().await;
        near.write(&[(key(1), verdict(0.125))]).await.unwrap();
        assert_eq!(
            near.near_entries(),
            0,
            "a write is not kept: Redis does not track it"
        );
        let found = vec![CacheEntry::Found(verdict(0.125))];
        assert_eq!(near.read(&[key(1)]).await.unwrap(), found);
        assert_eq!(near.near_entries(), 1);

        // Read over and over from memory, the key stays idle in Redis (whose
        // idle clock ticks in whole seconds).
        eventually(
            "Redis sees the key idle",
            Duration::from_secs(5),
            || async {
                assert_eq!(near.read(&[key(1)]).await.unwrap(), found);
                idle_seconds(&client, near.redis_key(&key(1))).await >= 1
            },
        )
        .await;
        // Without a near cache, every read is Redis's.
        assert_eq!(direct.read(&[key(1)]).await.unwrap(), found);
        assert_eq!(idle_seconds(&client, near.redis_key(&key(1))).await, 0);
        let _ = client.quit().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_key_changed_in_redis_by_anyone_is_read_from_redis_again() {
        let real = RealBackends::create_without_database();
        let near = real.cache(Duration::from_secs(60)).await;
        let client = redis_client().await;
        let redis_key = near.redis_key(&key(1));
        let reads_become = |expected: fn(&CacheEntry) -> bool, what: &'static str| {
            let near = &near;
            eventually(what, Duration::from_secs(5), move || async move {
                expected(&near.read(&[key(1)]).await.unwrap().remove(0))
            })
        };

        near.write(&[(key(1), verdict(0.125))]).await.unwrap();
        near.read(&[key(1)]).await.unwrap();
        assert_eq!(near.near_entries(), 1);
        // Overwritten by another client (another replica, an operator).
        let _: () = client
            .set(redis_key.as_str(), "{not a verdict", None, None, false)
            .await
            .unwrap();
        reads_become(
            |entry| matches!(entry, CacheEntry::Unreadable(_)),
            "the key was overwritten",
        )
        .await;

        // Written by this client, then deleted by another.
        near.write(&[(key(1), verdict(0.25))]).await.unwrap();
        assert_eq!(
            near.read(&[key(1)]).await.unwrap(),
            vec![CacheEntry::Found(verdict(0.25))],
            "this client's own write is read at once"
        );
        let _: i64 = client.del(redis_key.as_str()).await.unwrap();
        reads_become(|entry| *entry == CacheEntry::Missing, "the key was deleted").await;
        let _ = client.quit().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_near_cache_entry_expires_with_its_redis_entry() {
        let real = RealBackends::create_without_database();
        let near = real.cache(Duration::from_millis(1_000)).await;
        near.write(&[(key(1), verdict(0.125))]).await.unwrap();
        near.read(&[key(1)]).await.unwrap();
        assert_eq!(near.near_entries(), 1);
        eventually(
            "the entry expires in Redis",
            Duration::from_secs(5),
            || async { near.read(&[key(1)]).await.unwrap() == vec![CacheEntry::Missing] },
        )
        .await;
        assert_eq!(near.near_entries(), 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn after_a_lost_connection_the_near_cache_is_empty_and_then_kept_again() {
        let real = RealBackends::create_without_database();
        let proxy = TcpProxy::start(socket_addr_of(&real.namespace.redis_url)).await;
        let near = real
            .cache_at(
                &proxy.url_for(&real.namespace.redis_url),
                Duration::from_secs(60),
                Duration::from_millis(200),
                NEAR_ENTRIES,
            )
            .await;
        near.write(&[(key(1), verdict(0.125))]).await.unwrap();
        near.read(&[key(1)]).await.unwrap();
        assert_eq!(near.near_entries(), 1);

        proxy.cut();
        let until = |what: &'static str, done: fn(&redis_cache::RedisDecisionCache) -> bool| {
            let near = &near;
            eventually(what, Duration::from_secs(10), move || async move {
                // A read, to let nothing but the client's own events
                // decide; its outcome does not matter here.
                let _ = near.read(&[key(1)]).await;
                done(near)
            })
        };
        until("the near cache emptied", |near| near.near_entries() == 0).await;

        // Back: a read is kept again, once Redis tracks the new connection.
        proxy.restore();
        until("a read kept again", |near| near.near_entries() == 1).await;
        assert_eq!(
            near.read(&[key(1)]).await.unwrap(),
            vec![CacheEntry::Found(verdict(0.125))]
        );
    }
}
