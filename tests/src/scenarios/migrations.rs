//! The schema's migrations as operators meet them: `credit-decisions
//! migrate` on an empty database, and going back a release (sea-orm's
//! `down`), which undoes what can be undone and refuses where it would
//! lose what the log holds.

use chrono::{Months, Utc};
use domain::{DecisionStore, Source};
use postgres_store::{Migrator, PostgresDecisionStore, PostgresStoreSettings};
use pretty_assertions::assert_eq;
use sea_orm::{ConnectionTrait, Database};
use sea_orm_migration::MigratorTrait;
use serde_json::json;

use crate::harness::real_backends::{RealBackends, TestDatabase};
use crate::scenarios::port_contracts::{entries, record};

/// `credit-decisions migrate` in-process: an empty database gets the
/// schema and this month's partition and the next three, and the store
/// then connects to it without migrating anything more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrating_an_empty_database_makes_the_schema_and_the_months_ahead() {
    let real = RealBackends::create().await;
    let database = real.database();
    PostgresDecisionStore::migrate(&PostgresStoreSettings::new(&database.url))
        .await
        .unwrap();
    let partitions: Vec<String> = database
        .query_json(
            "SELECT child.relname AS name FROM pg_inherits
             JOIN pg_class parent ON parent.oid = inhparent
             JOIN pg_class child ON child.oid = inhrelid
             WHERE parent.relname = 'decisions' ORDER BY 1",
        )
        .await
        .iter()
        .map(|row| row["name"].as_str().unwrap().to_owned())
        .collect();
    let this_month = Utc::now();
    let wanted: Vec<String> = (0..=3)
        .map(|ahead| {
            (this_month + Months::new(ahead))
                .format("decisions_%Y_%m")
                .to_string()
        })
        .collect();
    assert_eq!(partitions, wanted);
    // The names each release recorded: a database upgraded from one of
    // them is migrated from the first name it lacks, so a renamed
    // migration would be run twice.
    let applied = || async {
        database
            .query_json("SELECT version FROM seaql_migrations ORDER BY version")
            .await
            .iter()
            .map(|row| row["version"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    let names = [
        "m20261124_000001_create_decision_log",
        "m20261125_000002_partitioned_append_only",
        "m20261125_000003_monitoring_tallies",
        "m20261202_000004_tally_deltas",
        "m20261207_000005_partitions_on_demand",
        "m20261207_000006_model_routing",
    ];
    assert_eq!(applied().await, names);
    let store = real.store().await;
    assert_eq!(
        applied().await,
        names,
        "nothing was left for the store to migrate"
    );
    let record = record(Source::Model);
    store
        .append(&entries(std::slice::from_ref(&record)))
        .await
        .unwrap();
    assert_eq!(store.get(record.decision_id).await.unwrap(), Some(record));
}

/// How many migrations the database has recorded as applied.
async fn applied(database: &TestDatabase) -> usize {
    database
        .query_json("SELECT version FROM seaql_migrations")
        .await
        .len()
}

/// Going back from the current schema is refused: the routing's history
/// would be lost. From a release before it (five migrations), each step
/// back undoes its own: the partition function goes, the tallies not yet
/// folded are folded before their table goes, the tallies go; the step to
/// an unpartitioned log is refused; and a database of the first release
/// alone can be emptied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn going_back_undoes_each_step_and_refuses_to_lose_the_log() {
    let current = TestDatabase::create().await;
    let db = Database::connect(&current.url).await.unwrap();
    Migrator::up(&db, None).await.unwrap();
    let refused = Migrator::down(&db, Some(1)).await.unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("routing's history is not migrated back"),
        "{refused}"
    );
    assert_eq!(applied(&current).await, 6);
    let _ = db.close().await;

    let earlier = TestDatabase::create().await;
    let db = Database::connect(&earlier.url).await.unwrap();
    Migrator::up(&db, Some(5)).await.unwrap();
    db.execute_unprepared(
        "INSERT INTO decision_tally (minute, model_version, shard, counts)
             VALUES ('2026-12-01T10:00:00Z', 'v1', 0, '{1, 2}');
         INSERT INTO decision_tally_delta (minute, model_version, counts)
             VALUES ('2026-12-01T10:00:00Z', 'v1', '{10, 20, 30}'),
                    ('2026-12-01T10:01:00Z', 'v1', '{5}')",
    )
    .await
    .unwrap();
    Migrator::down(&db, Some(1)).await.unwrap();
    assert_eq!(applied(&earlier).await, 4);
    let function = "SELECT count(*) AS n FROM pg_proc WHERE proname = 'decisions_make_partition'";
    assert_eq!(earlier.query_json(function).await, vec![json!({"n": 0})]);

    Migrator::down(&db, Some(1)).await.unwrap();
    assert_eq!(applied(&earlier).await, 3);
    assert_eq!(
        earlier
            .query_json("SELECT minute, counts FROM decision_tally ORDER BY minute")
            .await,
        vec![
            json!({"minute": "2026-12-01T10:00:00+00:00", "counts": [11, 22, 30]}),
            json!({"minute": "2026-12-01T10:01:00+00:00", "counts": [5]}),
        ],
        "the deltas were folded before their table went"
    );
    let table = |name: &str| format!("SELECT to_regclass('{name}') IS NOT NULL AS present");
    assert_eq!(
        earlier.query_json(&table("decision_tally_delta")).await,
        vec![json!({"present": false})]
    );

    Migrator::down(&db, Some(1)).await.unwrap();
    assert_eq!(applied(&earlier).await, 2);
    assert_eq!(
        earlier.query_json(&table("decision_tally")).await,
        vec![json!({"present": false})]
    );
    let refused = Migrator::down(&db, Some(1)).await.unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("partitioned decision log is not migrated back"),
        "{refused}"
    );
    assert_eq!(applied(&earlier).await, 2);
    let _ = db.close().await;

    let first = TestDatabase::create().await;
    let db = Database::connect(&first.url).await.unwrap();
    Migrator::up(&db, Some(1)).await.unwrap();
    Migrator::down(&db, Some(1)).await.unwrap();
    assert_eq!(
        first.query_json(&table("decisions")).await,
        vec![json!({"present": false})]
    );
    let _ = db.close().await;
}
