//! The decision log in PostgreSQL as the contract describes it: append-only
//! in the database itself, partitioned by month with retention, a bound on
//! the commit, records read as logged, and an earlier release's database
//! migrated in place with its rows.

use std::time::{Duration, Instant};

use chrono::{Months, Utc};
use domain::{DecisionStore, Source};
use std::sync::Arc;

use postgres_store::{
    GroupSettings, Migrator, PostgresDecisionStore, PostgresStoreSettings, partitions,
};
use pretty_assertions::assert_eq;
use sea_orm::{ConnectionTrait, Database, TransactionTrait};
use sea_orm_migration::MigratorTrait;
use serde_json::{Value, json};

use crate::harness::answers::{expect_problem, header};
use crate::harness::data::{example_application, example_with};
use crate::harness::real_backends::{RealBackends, TestDatabase, admin_database_url};
use crate::harness::{TestApp, TestBackends, eventually};
use crate::scenarios::port_contracts::{entries, record, scanned_tallies};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_refuses_to_change_or_remove_a_logged_decision() {
    let app = TestApp::on_real().await;
    let decision = app.post_decision_json(&example_application()).await;
    let database = app.real().database();
    let db = Database::connect(&database.url).await.unwrap();
    for statement in [
        "UPDATE decisions SET decision = 'approve'".to_owned(),
        format!(
            "DELETE FROM decisions WHERE decision_id = '{}'",
            decision["decision_id"].as_str().unwrap()
        ),
        "TRUNCATE decisions".to_owned(),
    ] {
        let error = db
            .execute_unprepared(&statement)
            .await
            .expect_err(&statement);
        assert!(
            error.to_string().contains("append-only"),
            "{statement}: {error}"
        );
    }
    // Nor through a partition.
    let month = Utc::now().format("decisions_%Y_%m").to_string();
    for statement in [format!("DELETE FROM {month}"), format!("TRUNCATE {month}")] {
        assert!(
            db.execute_unprepared(&statement).await.is_err(),
            "{statement}"
        );
    }
    let _ = db.close().await;
    let read: Value = app
        .get_decision(decision["decision_id"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read["response"], decision);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn months_past_retention_are_dropped_and_nothing_younger() {
    let real = RealBackends::create().await;
    let store = real.store().await;
    let db = Database::connect(&real.database().url).await.unwrap();
    // At the log's precision, so records read back equal.
    let now = domain::decision::now_for_store();
    let record_at = |at| {
        let mut record = record(Source::Model);
        record.created_at = at;
        record
    };
    let old = record_at(now - Months::new(3));
    let last_month = record_at(now - Months::new(1));
    let recent = record_at(now);
    for record in [&old, &last_month] {
        partitions::create_partition(&db, record.created_at)
            .await
            .unwrap();
    }
    store
        .append(&entries(&[old.clone(), last_month.clone(), recent.clone()]))
        .await
        .unwrap();

    // Two months' retention: the month three months ago is wholly older.
    let dropped = partitions::maintain(&db, now, 2).await.unwrap();
    assert_eq!(
        dropped,
        vec![old.created_at.format("decisions_%Y_%m").to_string()]
    );
    assert_eq!(store.get(old.decision_id).await.unwrap(), None);
    assert_eq!(
        store.get(last_month.decision_id).await.unwrap(),
        Some(last_month.clone())
    );
    assert_eq!(store.get(recent.decision_id).await.unwrap(), Some(recent));

    // Partitions are made ahead: a record next month has its place already.
    let ahead = record_at(now + Months::new(1));
    store
        .append(&entries(std::slice::from_ref(&ahead)))
        .await
        .unwrap();
    assert_eq!(store.get(ahead.decision_id).await.unwrap(), Some(ahead));
    // And running it again drops nothing more.
    assert_eq!(
        partitions::maintain(&db, now, 2).await.unwrap(),
        Vec::<String>::new()
    );
    let _ = db.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_reads_back_as_logged_even_when_todays_rules_refuse_it() {
    let app = TestApp::on_real().await;
    let decision = app.post_decision_json(&example_application()).await;
    // A row logged under other rules: an age and a field today's
    // validation refuses. Inserting is what the log allows.
    let tampered_id = "01a20cbf-a936-7298-8e60-e112755cf3ae";
    let db = Database::connect(&app.real().database().url).await.unwrap();
    db.execute_unprepared(&format!(
        "INSERT INTO decisions (decision_id, created_at, source, model_version, decision,
                                probability_of_default, request, response)
         VALUES ('{tampered_id}', now(), 'model', 'older-model', 'decline', 0.9,
                 '{{\"age_years\": 12, \"shoe_size\": 44}}',
                 '{{\"decision_id\": \"{tampered_id}\", \"decision\": \"decline\",
                   \"probability_of_default\": 0.9, \"model_version\": \"older-model\"}}')"
    ))
    .await
    .unwrap();
    let _ = db.close().await;

    let response = app.get_decision(tampered_id).await;
    assert_eq!(response.status(), 200);
    let record: Value = response.json().await.unwrap();
    assert_eq!(record["request"], json!({"age_years": 12, "shoe_size": 44}));
    let page: Value = app.get("/v1/decisions").await.json().await.unwrap();
    let ids: Vec<&Value> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["decision_id"])
        .collect();
    assert_eq!(ids, vec![&json!(tampered_id), &decision["decision_id"]]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_that_waits_past_its_bound_is_503_and_the_log_recovers() {
    let real = RealBackends::create().await;
    let settings = PostgresStoreSettings {
        commit_timeout: Duration::from_millis(500),
        ..PostgresStoreSettings::new(&real.database().url)
    };
    let store = real.store_with(settings).await;
    let cache = real.cache(Duration::from_secs(3600)).await;
    let app = TestApp::spawn(TestBackends::on_real(real, cache, store)).await;

    let holder = Database::connect(&app.real().database().url).await.unwrap();
    let lock = holder.begin().await.unwrap();
    lock.execute_unprepared("LOCK TABLE decisions IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let started = Instant::now();
    let response = app.post_decision(&example_application()).await;
    let waited = started.elapsed();
    assert_eq!(header(&response, "retry-after").as_deref(), Some("5"));
    expect_problem(response, 503, "unavailable").await;
    assert!(
        waited < Duration::from_secs(3),
        "a locked table held a request {waited:?}"
    );

    lock.rollback().await.unwrap();
    let _ = holder.close().await;
    assert_eq!(
        app.post_decision(&example_with("age_years", json!(30)))
            .await
            .status(),
        200
    );
}

/// Closing the store at shutdown folds what its commits left as deltas
/// (here no background fold would have, for an hour) and closes its pool.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_the_store_folds_its_deltas_and_closes_its_pool() {
    let real = RealBackends::create().await;
    let url = real.database().url.clone();
    let log = real
        .store_with(PostgresStoreSettings {
            fold_every: Duration::from_secs(3600),
            ..PostgresStoreSettings::new(&url)
        })
        .await;
    let records = [record(Source::Model), record(Source::Cache)];
    log.append(&entries(&records)).await.unwrap();
    assert!(deltas_left(&url).await > 0, "the commit left deltas");
    log.close().await;
    assert_eq!(deltas_left(&url).await, 0, "closing folded them");
    assert_eq!(rows_of(&url, &records).await, vec![1, 1]);
    assert!(
        log.get(records[0].decision_id).await.is_err(),
        "a closed store reads no more"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_of_the_first_release_is_migrated_in_place_with_its_rows() {
    let real = RealBackends::create().await;
    let url = real.database().url.clone();
    let db = Database::connect(&url).await.unwrap();
    Migrator::up(&db, Some(1)).await.unwrap();
    // Two rows as the first release wrote them (JSONB bodies, identity seq),
    // the older one in an earlier month.
    let rows = [
        (
            "01900000-0000-7000-8000-000000000001",
            "now() - interval '40 days'",
            0.7,
            "decline",
        ),
        (
            "01900000-0000-7000-8000-000000000002",
            "now()",
            0.1,
            "approve",
        ),
    ];
    for (id, at, probability, decision) in rows {
        db.execute_unprepared(&format!(
            "INSERT INTO decisions (decision_id, created_at, source, model_version, decision,
                                    probability_of_default, request, response)
             VALUES ('{id}', {at}, 'model', 'german-credit-2026.11.0', '{decision}', {probability},
                     '{}'::jsonb,
                     '{{\"decision_id\": \"{id}\", \"decision\": \"{decision}\",
                       \"probability_of_default\": {probability},
                       \"model_version\": \"german-credit-2026.11.0\"}}'::jsonb)",
            example_application()
        ))
        .await
        .unwrap();
    }
    let _ = db.close().await;

    let store = real.store().await;
    let page = store.list(10, None).await.unwrap();
    let ids: Vec<String> = page
        .items
        .iter()
        .map(|r| r.decision_id.to_string())
        .collect();
    assert_eq!(ids, vec![rows[1].0, rows[0].0], "newest first, as before");
    let first = &page.items[1];
    assert_eq!(
        serde_json::from_str::<Value>(first.request.as_str()).unwrap(),
        example_application()
    );
    assert_eq!(first.response.verdict.probability_of_default, 0.7);

    // New decisions are logged after them, and the log is now append-only.
    let cache = real.cache(Duration::from_secs(60)).await;
    let app = TestApp::spawn(TestBackends::on_real(real, cache, store)).await;
    let decision = app.post_decision_json(&example_application()).await;
    let page: Value = app.get("/v1/decisions").await.json().await.unwrap();
    assert_eq!(page["items"][0]["decision_id"], decision["decision_id"]);
    assert_eq!(page["items"].as_array().unwrap().len(), 3);
    let db = Database::connect(&url).await.unwrap();
    assert!(
        db.execute_unprepared("DELETE FROM decisions")
            .await
            .is_err()
    );
    let _ = db.close().await;
}

/// Groups and a queue large enough that nothing is refused.
const ROOMY: GroupSettings = GroupSettings {
    queue_rows: 1_000,
    max_group_rows: 1_000,
    writers: 2,
};

/// A log whose group commit is sized by the test.
async fn store_with_groups(real: &RealBackends, group: GroupSettings) -> PostgresDecisionStore {
    real.store_with(PostgresStoreSettings {
        group,
        ..PostgresStoreSettings::new(&real.database().url)
    })
    .await
}

/// How many rows the log holds of each record, seen from another connection.
async fn rows_of(url: &str, records: &[domain::DecisionRecord]) -> Vec<usize> {
    let mut counts = Vec::new();
    for record in records {
        let rows = crate::harness::real_backends::TestDatabase::query_json_at(
            url,
            &format!(
                "SELECT 1 FROM decisions WHERE decision_id = '{}'",
                record.decision_id
            ),
        )
        .await;
        counts.push(rows.len());
    }
    counts
}

/// A row keeps the cells its decision counts in (little-endian u16s), so
/// that tallies can be rebuilt from the rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_keeps_the_cells_its_decision_counts_in() {
    let real = RealBackends::create().await;
    let log = real.store().await;
    let record = record(Source::Model);
    let logged = entries(std::slice::from_ref(&record));
    log.append(&logged).await.unwrap();
    let rows = TestDatabase::query_json_at(
        &real.database().url,
        &format!(
            "SELECT encode(cells, 'hex') AS cells FROM decisions WHERE decision_id = '{}'",
            record.decision_id
        ),
    )
    .await;
    assert!(logged[0].cells.is_binned());
    let counted = logged[0].cells.counted();
    let expected: String = counted
        .iter()
        .flat_map(|cell| cell.to_le_bytes())
        .map(|byte| format!("{byte:02x}"))
        .collect();
    assert_eq!(rows, vec![json!({ "cells": expected })]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_share_commits_and_each_returns_after_its_own() {
    let real = RealBackends::create().await;
    let url = real.database().url.clone();
    let log = Arc::new(store_with_groups(&real, ROOMY).await);
    let before = log.commits();
    let appends: Vec<_> = (0..64)
        .map(|_| {
            let (log, url) = (log.clone(), url.clone());
            tokio::spawn(async move {
                let record = record(Source::Model);
                log.append(&entries(std::slice::from_ref(&record)))
                    .await
                    .unwrap();
                // Answered, so committed: another connection sees it.
                rows_of(&url, std::slice::from_ref(&record)).await
            })
        })
        .collect();
    for append in appends {
        assert_eq!(append.await.unwrap(), vec![1], "answered before its commit");
    }
    let commits = log.commits() - before;
    println!("64 concurrent appends: {commits} commits");
    assert!(commits < 64, "64 appends took {commits} commits");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_commit_fails_exactly_the_appends_in_it() {
    let real = RealBackends::create().await;
    let url = real.database().url.clone();
    let log = Arc::new(store_with_groups(&real, ROOMY).await);
    let taken = record(Source::Model);
    log.append(&entries(std::slice::from_ref(&taken)))
        .await
        .unwrap();

    // Forty appends at once, one of them holding an id already logged: the
    // commit that holds it fails, with every append in it, and only those.
    let appends: Vec<_> = (0..40)
        .map(|i| {
            let log = log.clone();
            let records = if i == 20 {
                vec![record(Source::Model), taken.clone()]
            } else {
                vec![record(Source::Cache)]
            };
            tokio::spawn(async move {
                let outcome = log.append(&entries(&records)).await;
                (records, outcome.is_ok())
            })
        })
        .collect();
    let mut failed = 0;
    for append in appends {
        let (records, ok) = append.await.unwrap();
        let fresh = &records[..1];
        let expected = if ok { vec![1] } else { vec![0] };
        assert_eq!(rows_of(&url, fresh).await, expected, "answered ok={ok}");
        failed += usize::from(!ok);
    }
    assert!(failed >= 1, "the append with a logged id failed");
    println!("one bad append failed {failed} of 40 appends: its group");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_is_refused_at_once() {
    let real = RealBackends::create().await;
    let log = Arc::new(
        store_with_groups(
            &real,
            GroupSettings {
                queue_rows: 4,
                max_group_rows: 1_000,
                writers: 1,
            },
        )
        .await,
    );
    // A locked table holds the commits, so the queue fills.
    let holder = Database::connect(&real.database().url).await.unwrap();
    let lock = holder.begin().await.unwrap();
    lock.execute_unprepared("LOCK TABLE decisions IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let waiting: Vec<_> = (0..4)
        .map(|_| {
            let log = log.clone();
            tokio::spawn(async move { log.append(&entries(&[record(Source::Model)])).await })
        })
        .collect();
    eventually(
        "four rows wait for their commit",
        Duration::from_secs(10),
        || std::future::ready(log.waiting_rows() == 4),
    )
    .await;
    // Refused at once, not after the commit bound.
    let started = Instant::now();
    let refused = log.append(&entries(&[record(Source::Model)])).await;
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(
        refused
            .as_ref()
            .is_err_and(|error| error.to_string().contains("queue is full")),
        "{refused:?}"
    );
    lock.rollback().await.unwrap();
    for append in waiting {
        append.await.unwrap().unwrap();
    }
    // With the queue free again, appends are taken.
    log.append(&entries(&[record(Source::Model)]))
        .await
        .unwrap();
    let _ = holder.close().await;
}

/// Each server thread appends through a handle of its own (its pool, its
/// writers, on its runtime); the rows land in the one log, and the queue's
/// bound holds for all the handles together.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handle_on_another_thread_logs_to_the_same_table_within_the_same_bound() {
    let real = RealBackends::create().await;
    let log = store_with_groups(
        &real,
        GroupSettings {
            queue_rows: 4,
            max_group_rows: 1_000,
            writers: 1,
        },
    )
    .await;
    let holder = Database::connect(&real.database().url).await.unwrap();
    let lock = holder.begin().await.unwrap();
    lock.execute_unprepared("LOCK TABLE decisions IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    // A thread with a runtime of its own, as each actix-web worker has.
    let records: Vec<_> = (0..4).map(|_| record(Source::Model)).collect();
    let on_the_thread = log.clone();
    let to_append = records.clone();
    let thread = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let handle = on_the_thread.on_this_thread(3);
            let appends = to_append
                .into_iter()
                .map(|record| {
                    let handle = handle.clone();
                    tokio::spawn(async move { handle.append(&entries(&[record])).await })
                })
                .collect::<Vec<_>>();
            let mut outcomes = Vec::new();
            for append in appends {
                outcomes.push(append.await.unwrap());
            }
            outcomes
        })
    });
    eventually(
        "the thread's four rows wait",
        Duration::from_secs(10),
        || std::future::ready(log.waiting_rows() == 4),
    )
    .await;
    // The thread's four rows fill the bound this handle shares.
    let refused = log.append(&entries(&[record(Source::Model)])).await;
    assert!(
        refused
            .as_ref()
            .is_err_and(|error| error.to_string().contains("queue is full")),
        "{refused:?}"
    );
    let commits_before = log.commits();
    lock.rollback().await.unwrap();
    let outcomes = tokio::task::spawn_blocking(move || thread.join().unwrap())
        .await
        .unwrap();
    assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
    for record in &records {
        let logged = log.get(record.decision_id).await.unwrap();
        assert_eq!(logged.as_ref(), Some(record));
    }
    assert!(log.commits() > commits_before, "the thread's commits count");
    let _ = holder.close().await;
}

/// The server processes whose last statement was a group commit's append.
async fn appending_backends(admin: &sea_orm::DatabaseConnection) -> Vec<i32> {
    admin
        .query_all_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT pid FROM pg_stat_activity
             WHERE datname = current_database() AND pid <> pg_backend_pid()
               AND query LIKE '%INSERT INTO decisions%'",
        ))
        .await
        .unwrap()
        .iter()
        .map(|row| row.try_get::<i32>("", "pid").unwrap())
        .collect()
}

/// A writer commits group after group on one connection of its own (a pool
/// would spread them over many server processes, and check each connection
/// with a round trip on its way back); one that breaks is replaced.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_keeps_one_connection_and_replaces_it_when_it_breaks() {
    let real = RealBackends::create().await;
    let log = Arc::new(
        store_with_groups(
            &real,
            GroupSettings {
                queue_rows: 1_000,
                max_group_rows: 1_000,
                writers: 1,
            },
        )
        .await,
    );
    let admin = Database::connect(&real.database().url).await.unwrap();
    let append_concurrently = |count: usize| {
        let log = log.clone();
        async move {
            let appends = (0..count).map(|_| {
                let log = log.clone();
                tokio::spawn(async move { log.append(&entries(&[record(Source::Model)])).await })
            });
            for append in futures::future::join_all(appends).await {
                append.unwrap().unwrap();
            }
        }
    };
    append_concurrently(50).await;
    append_concurrently(50).await;
    let first = appending_backends(&admin).await;
    assert_eq!(first.len(), 1, "one server process took every commit");

    admin
        .execute_unprepared(&format!("SELECT pg_terminate_backend({})", first[0]))
        .await
        .unwrap();
    let mut failed = 0;
    while log
        .append(&entries(&[record(Source::Model)]))
        .await
        .is_err()
    {
        failed += 1;
        assert!(
            failed <= 1,
            "only the commit on the broken connection fails"
        );
    }
    append_concurrently(20).await;
    let after = appending_backends(&admin).await;
    assert_eq!(after.len(), 1);
    assert_ne!(after, first, "a new connection replaced the broken one");
    let _ = admin.close().await;
}

async fn deltas_left(url: &str) -> i64 {
    let rows = crate::harness::real_backends::TestDatabase::query_json_at(
        url,
        "SELECT count(*) AS n FROM decision_tally_delta",
    )
    .await;
    rows[0]["n"].as_i64().unwrap()
}

/// The store folds its deltas by itself, every `fold_every`: a report reads
/// a second's worth of them, not the day's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_folds_its_deltas_by_itself() {
    let real = RealBackends::create().await;
    let url = real.database().url.clone();
    let log = real
        .store_with(PostgresStoreSettings {
            fold_every: Duration::from_millis(100),
            ..PostgresStoreSettings::new(&url)
        })
        .await;
    let records = [record(Source::Model), record(Source::Cache)];
    for record in &records {
        log.append(&entries(std::slice::from_ref(record)))
            .await
            .unwrap();
    }
    let url = &url;
    eventually(
        "the deltas are folded",
        Duration::from_secs(10),
        || async move { deltas_left(url).await == 0 },
    )
    .await;
    assert_eq!(rows_of(url, &records).await, vec![1, 1]);
}

/// Each commit leaves its tallies as a delta; folding moves them into the
/// per-minute rows. A report counts every decision exactly once before,
/// during and after folds, even with two folds racing each other and
/// appends arriving meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tallies_count_each_decision_once_before_during_and_after_folding() {
    let real = RealBackends::create().await;
    let url = real.database().url.clone();
    // No fold but those the test makes (the first runs at connection).
    let log = Arc::new(
        real.store_with(PostgresStoreSettings {
            fold_every: Duration::from_secs(3600),
            ..PostgresStoreSettings::new(&url)
        })
        .await,
    );
    let now = domain::decision::now_for_store();
    let minute = domain::monitoring::minute_of(now);
    let window = domain::MinuteWindow::covering(domain::Window {
        since: minute - chrono::TimeDelta::minutes(60),
        until: minute + chrono::TimeDelta::minutes(10),
    });
    let mut logged = Vec::new();
    for batch in 0..20 {
        let appended = entries(&vec![record(Source::Model); 1 + batch % 3]);
        // Distinct ids (the copies above share one), over four minutes and
        // two model versions: eight sums a fold keeps apart.
        let appended: Vec<_> = appended
            .into_iter()
            .map(|mut entry| {
                let id = domain::DecisionId::mint();
                entry.record.decision_id = id;
                entry.record.response.decision_id = id;
                entry.record.created_at = now + chrono::TimeDelta::minutes((batch % 4) as i64);
                entry.record.response.verdict.model_version =
                    ["contract-test", "older-model"][(batch / 4) % 2].to_owned();
                entry
            })
            .collect();
        log.append(&appended).await.unwrap();
        logged.extend(appended);
    }
    let first_count = logged.len() as u64;
    assert!(deltas_left(&url).await > 0, "commits leave deltas");
    assert_eq!(log.tally(window).await.unwrap(), scanned_tallies(&logged));

    // Two folds race each other while appends go on.
    let other = Arc::new(log.on_this_thread(2));
    let more: Vec<_> = (0..30)
        .map(|_| entries(&[record(Source::Cache)]).remove(0))
        .collect();
    let appending = {
        let (log, more) = (log.clone(), more.clone());
        tokio::spawn(async move {
            for entry in more {
                log.append(&[entry]).await.unwrap();
            }
        })
    };
    let (first, second) = tokio::join!(log.fold_tallies(), other.fold_tallies());
    let (first, second) = (first.unwrap(), second.unwrap());
    assert!(first + second > 0, "the folds moved the deltas");
    let during = log.tally(window).await.unwrap();
    appending.await.unwrap();
    logged.extend(more);
    // Read during the appends: the first decisions and some of the others,
    // none twice.
    let counted: u64 = during
        .iter()
        .map(|part| part.tally.count(0) + part.tally.count(1))
        .sum();
    assert!(
        (first_count..=first_count + 30).contains(&counted),
        "{counted} decisions counted"
    );

    log.fold_tallies().await.unwrap();
    assert_eq!(deltas_left(&url).await, 0, "a fold leaves no delta behind");
    assert_eq!(log.tally(window).await.unwrap(), scanned_tallies(&logged));
}

/// This month's partition, as PostgreSQL names it.
fn this_months_partition() -> String {
    Utc::now().format("decisions_%Y_%m").to_string()
}

/// A month without its partition (dropped by hand, or never made) does not
/// refuse decisions: the insert that finds none makes it and is tried once
/// more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decision_in_a_month_without_its_partition_makes_it() {
    let app = TestApp::on_real().await;
    let db = Database::connect(&app.real().database().url).await.unwrap();
    db.execute_unprepared(&format!("DROP TABLE {}", this_months_partition()))
        .await
        .unwrap();
    let response = app.post_decision(&example_application()).await;
    assert_eq!(response.status(), 200);
    let decision: Value = response.json().await.unwrap();
    let rows = app
        .real()
        .database()
        .query_json(&format!(
            "SELECT decision_id::text AS id FROM {}",
            this_months_partition()
        ))
        .await;
    assert_eq!(rows, vec![json!({"id": decision["decision_id"]})]);
    let _ = db.close().await;
}

/// While this month has no partition the log cannot take a row, and
/// readiness says so (a load balancer stops sending decisions); the upkeep
/// it nudges makes the partition again, and readiness says so too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_is_503_while_the_month_has_no_partition_then_200() {
    let app = TestApp::on_real().await;
    assert_eq!(app.get("/health/ready").await.status(), 200);
    let db = Database::connect(&app.real().database().url).await.unwrap();
    db.execute_unprepared(&format!("DROP TABLE {}", this_months_partition()))
        .await
        .unwrap();
    let not_ready = app.get("/health/ready").await;
    assert_eq!(not_ready.status(), 503);
    let body: Value = not_ready.json().await.unwrap();
    assert_eq!(body["components"]["store"]["status"], "down", "{body}");
    eventually("readiness is back", Duration::from_secs(10), || async {
        app.get("/health/ready").await.status() == 200
    })
    .await;
    let made = app
        .real()
        .database()
        .query_json(&format!(
            "SELECT to_regclass('{}') IS NOT NULL AS made",
            this_months_partition()
        ))
        .await;
    assert_eq!(made, vec![json!({"made": true})]);
    let _ = db.close().await;
}

/// A role of the test's own, dropped (with what it was granted) after the
/// databases it was granted things in.
struct TestRole {
    name: String,
}

impl TestRole {
    async fn create() -> Self {
        let name = format!("credit_decisions_serving_{}", uuid::Uuid::now_v7().simple());
        let admin = Database::connect(&admin_database_url()).await.unwrap();
        admin
            .execute_unprepared(&format!("CREATE ROLE \"{name}\" LOGIN"))
            .await
            .unwrap();
        let _ = admin.close().await;
        Self { name }
    }
}

impl Drop for TestRole {
    fn drop(&mut self) {
        let name = self.name.clone();
        let _ = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(async move {
                    let admin = Database::connect(&admin_database_url()).await.unwrap();
                    let _ = admin
                        .execute_unprepared(&format!("DROP ROLE IF EXISTS \"{name}\""))
                        .await;
                    let _ = admin.close().await;
                })
        })
        .join();
    }
}

/// With an owner role, the role the service serves with can write and read
/// decisions and nothing more: each statement the probe undid the log with
/// as the service's own role is refused, and the rows stay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_serving_role_cannot_change_the_store_or_its_schema() {
    let role = TestRole::create().await;
    let real = RealBackends::create().await;
    let owner_url = real.database().url.clone();
    let serving_url = owner_url.replacen("postgres@", &format!("{}@", role.name), 1);
    assert_ne!(
        serving_url, owner_url,
        "the test database URL names its user"
    );
    let store = real
        .store_with(PostgresStoreSettings {
            owner_url: Some(owner_url.clone()),
            ..PostgresStoreSettings::new(&serving_url)
        })
        .await;
    let cache = real.cache(Duration::from_secs(3600)).await;
    let app = TestApp::spawn(TestBackends::on_real(real, cache, store)).await;
    let decision = app.post_decision_json(&example_application()).await;
    let id = decision["decision_id"].as_str().unwrap();
    assert_eq!(app.get_decision(id).await.status(), 200);
    assert_eq!(app.get("/health/ready").await.status(), 200);
    assert_eq!(app.get("/v1/monitoring").await.status(), 200);

    let month = this_months_partition();
    let serving = Database::connect(&serving_url).await.unwrap();
    for statement in [
        "ALTER TABLE decisions ALTER COLUMN decision TYPE text USING 'approve'".to_owned(),
        "ALTER TABLE decisions DISABLE TRIGGER decisions_append_only".to_owned(),
        "DROP TRIGGER decisions_append_only ON decisions".to_owned(),
        format!("ALTER TABLE decisions DETACH PARTITION {month}"),
        format!("DROP TABLE {month}"),
        "DROP TABLE decisions".to_owned(),
        "CREATE OR REPLACE FUNCTION decisions_are_append_only() RETURNS trigger \
         LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$"
            .to_owned(),
        "UPDATE decisions SET decision = 'approve'".to_owned(),
        "DELETE FROM decisions".to_owned(),
        format!("DELETE FROM {month}"),
        "TRUNCATE decisions".to_owned(),
        "SELECT decisions_create_partition(now() - interval '40 months')".to_owned(),
        "SELECT decisions_make_partition(now() - interval '2 months')".to_owned(),
        "SELECT decisions_make_partition(now() + interval '30 months')".to_owned(),
        "DELETE FROM decision_tally".to_owned(),
    ] {
        assert!(
            serving.execute_unprepared(&statement).await.is_err(),
            "the serving role could: {statement}"
        );
    }
    // Making this month's partition, which exists, is what it may do.
    serving
        .execute_unprepared("SELECT decisions_make_partition(now())")
        .await
        .unwrap();
    let _ = serving.close().await;
    let rows =
        TestDatabase::query_json_at(&owner_url, "SELECT count(*) AS rows FROM decisions").await;
    assert_eq!(rows, vec![json!({"rows": 1})]);
    drop(app);
}

/// A report's cost does not depend on where its window's ends fall: with a
/// hundred thousand decisions in one minute, a window whose ends cut through
/// that minute costs what one on whole minutes does (the probe's windows
/// cost ~0.8 s of database work each, from scanning the cut minutes' rows).
/// Compared as a ratio of the two, never as a time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reports_cost_does_not_depend_on_where_its_window_ends() {
    let app = TestApp::on_real().await;
    // An hour ahead: its month's partition is made ahead of time.
    let busy = domain::monitoring::minute_of(Utc::now()) + chrono::TimeDelta::hours(1);
    let db = Database::connect(&app.real().database().url).await.unwrap();
    db.execute_unprepared(&format!(
        "INSERT INTO decisions (decision_id, created_at, source, model_version, decision,
                                probability_of_default, request, response)
         SELECT gen_random_uuid(), '{busy}'::timestamptz + i * interval '500 microseconds',
                'model', 'busy-model', 'approve', 0.1, '{{}}', '{{}}'
         FROM generate_series(1, 100000) AS i"
    ))
    .await
    .unwrap();
    let _ = db.close().await;
    let text = |at: chrono::DateTime<Utc>| at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let cost = |since: chrono::DateTime<Utc>, until: chrono::DateTime<Utc>| {
        let query = format!("/v1/monitoring?since={}&until={}", text(since), text(until));
        let app = &app;
        async move {
            let started = Instant::now();
            for _ in 0..10 {
                assert_eq!(app.get(&query).await.status(), 200);
            }
            started.elapsed()
        }
    };
    let seconds = chrono::TimeDelta::seconds;
    let (whole_window, cut_window) = (
        (busy, busy + seconds(60)),
        (busy + seconds(20), busy + seconds(40)),
    );
    // Warm both up, then measure.
    cost(whole_window.0, whole_window.1).await;
    cost(cut_window.0, cut_window.1).await;
    let whole = cost(whole_window.0, whole_window.1).await;
    let cut = cost(cut_window.0, cut_window.1).await;
    let ratio = cut.as_secs_f64() / whole.as_secs_f64();
    assert!(
        ratio < 3.0,
        "a window cutting a busy minute cost {ratio:.1} times one on whole minutes ({cut:?} against {whole:?})"
    );
}

/// A routing change PostgreSQL refuses for any reason but a racing
/// replica's is the store unavailable (503), never a stale routing (412):
/// the caller would be told to read again and retry what cannot succeed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_routing_change_the_database_refuses_is_unavailable_not_stale() {
    use domain::{RoutingError, RoutingStore, StoreError};
    let real = RealBackends::create().await;
    let store = real.store().await;
    let db = Database::connect(&real.database().url).await.unwrap();
    db.execute_unprepared(
        "CREATE FUNCTION refuse_the_change() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN RAISE EXCEPTION 'refused by the test'; END $$;
         CREATE TRIGGER refuse_the_change BEFORE INSERT ON routing_changes
             FOR EACH ROW EXECUTE FUNCTION refuse_the_change();",
    )
    .await
    .unwrap();
    let _ = db.close().await;
    let refused = RoutingStore::append(
        &store,
        0,
        &crate::scenarios::port_contracts::routing_request("v1", None, "refused"),
        "3f2a9c1e",
    )
    .await;
    assert!(
        matches!(&refused, Err(RoutingError::Unavailable(StoreError::Unavailable(words)))
            if words.contains("refused by the test")),
        "{refused:?}"
    );
    assert_eq!(store.newest().await.unwrap(), None);
}

/// Two replicas appending the same generation at the same instant: both
/// saw none, both insert generation 1, and the primary key lets one
/// through. The other's is a stale routing (412: read again), not an
/// unavailable store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_two_changes_racing_for_one_generation_the_loser_is_stale() {
    use domain::{RoutingError, RoutingStore};
    let real = RealBackends::create().await;
    let store = Arc::new(real.store().await);
    let url = real.database().url.clone();
    let other = Database::connect(&url).await.unwrap();
    let other_replica = other.begin().await.unwrap();
    other_replica
        .execute_unprepared(
            "INSERT INTO routing_changes (generation, changed_at, by, champion, reason)
             VALUES (1, now(), 'other', 'v0', 'first')",
        )
        .await
        .unwrap();
    let racing = {
        let store = store.clone();
        tokio::spawn(async move {
            let request = crate::scenarios::port_contracts::routing_request("v1", None, "second");
            RoutingStore::append(store.as_ref(), 0, &request, "3f2a9c1e").await
        })
    };
    let url = &url;
    eventually(
        "the second insert waits on the first's key",
        Duration::from_secs(5),
        || async move {
            TestDatabase::query_json_at(
                url,
                "SELECT 1 FROM pg_stat_activity
                 WHERE datname = current_database() AND wait_event_type = 'Lock'",
            )
            .await
            .len()
                == 1
        },
    )
    .await;
    other_replica.commit().await.unwrap();
    let lost = racing.await.unwrap();
    assert!(
        matches!(
            lost,
            Err(RoutingError::Stale {
                expected: 0,
                current: 1
            })
        ),
        "{lost:?}"
    );
    assert_eq!(store.newest().await.unwrap().unwrap().by, "other");
    let _ = other.close().await;
}
