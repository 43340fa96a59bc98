//! Fresh state on the real servers for every test: a PostgreSQL database of
//! its own (created, migrated by the service's own migrations, dropped
//! afterwards) and a Redis key namespace of its own (deleted afterwards).
//! Tests run in parallel and twice in a row without seeing each other.
//!
//! Server addresses come from `CREDIT_DECISIONS_TEST_DATABASE_URL` and
//! `CREDIT_DECISIONS_TEST_REDIS_URL` (local defaults); a server that cannot be
//! reached fails the test with a message saying how to start it.

use std::time::Duration;

use fred::prelude::*;
use postgres_log::{PostgresDecisionLog, PostgresLogSettings};
use redis_cache::{RedisCacheSettings, RedisDecisionCache};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use serde_json::Value;

pub const DATABASE_VARIABLE: &str = "CREDIT_DECISIONS_TEST_DATABASE_URL";
pub const REDIS_VARIABLE: &str = "CREDIT_DECISIONS_TEST_REDIS_URL";
const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6379";

pub fn admin_database_url() -> String {
    std::env::var(DATABASE_VARIABLE).unwrap_or_else(|_| DEFAULT_DATABASE_URL.to_owned())
}

pub fn redis_url() -> String {
    std::env::var(REDIS_VARIABLE).unwrap_or_else(|_| DEFAULT_REDIS_URL.to_owned())
}

/// A name no other test (or run) uses.
fn unique_name(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::now_v7().simple())
}

async fn connect_admin(url: &str) -> DatabaseConnection {
    Database::connect(url).await.unwrap_or_else(|error| {
        panic!(
            "cannot reach PostgreSQL at {url} (set by {DATABASE_VARIABLE}): {error}\n\
             Start it (scripts/test does, or: pg_ctlcluster --skip-systemctl-redirect 15 main start), \
             or point {DATABASE_VARIABLE} at a server whose user may create databases."
        )
    })
}

/// The prefix of every test database's name; a UUID v7 (its creation time)
/// follows it.
const DATABASE_PREFIX: &str = "credit_decisions_test";

/// A test database older than this is a crashed run's: no run lasts so long,
/// and a younger one may belong to a run going on beside this one.
const LEFTOVER_AGE: Duration = Duration::from_secs(3600);

/// Drops the test databases that crashed runs left behind, once per run of
/// the suite, before its first database is made.
fn sweep_leftover_databases_once() {
    static SWEEP: std::sync::Once = std::sync::Once::new();
    SWEEP.call_once(|| {
        let admin_url = admin_database_url();
        let _ = std::thread::spawn(move || {
            block_on_new_runtime(async move {
                let admin = connect_admin(&admin_url).await;
                let listed = admin
                    .query_all_raw(sea_orm::Statement::from_string(
                        admin.get_database_backend(),
                        format!("SELECT datname FROM pg_database WHERE starts_with(datname, '{DATABASE_PREFIX}_')"),
                    ))
                    .await
                    .unwrap_or_default();
                for row in listed {
                    let Ok(name) = row.try_get::<String>("", "datname") else {
                        continue;
                    };
                    if created_longer_ago_than(&name, LEFTOVER_AGE) {
                        let _ = admin
                            .execute_unprepared(&format!(
                                "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                            ))
                            .await;
                    }
                }
                let _ = admin.close().await;
            })
        })
        .join();
    });
}

/// Whether the UUID v7 at the end of a test database's name is older than `age`.
fn created_longer_ago_than(name: &str, age: Duration) -> bool {
    let Some(created) = name
        .rsplit('_')
        .next()
        .and_then(|id| uuid::Uuid::try_parse(id).ok())
        .and_then(|id| id.get_timestamp())
    else {
        return false;
    };
    let (seconds, nanos) = created.to_unix();
    let created = std::time::UNIX_EPOCH + Duration::new(seconds, nanos);
    created
        .elapsed()
        .is_ok_and(|since_creation| since_creation > age)
}

/// A database for one test, dropped when it goes out of scope.
pub struct TestDatabase {
    pub name: String,
    pub url: String,
    admin_url: String,
}

impl TestDatabase {
    pub async fn create() -> Self {
        sweep_leftover_databases_once();
        let admin_url = admin_database_url();
        let name = unique_name(DATABASE_PREFIX);
        let admin = connect_admin(&admin_url).await;
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await
            .unwrap_or_else(|error| panic!("cannot create database {name}: {error}"));
        let _ = admin.close().await;
        let base = admin_url
            .rsplit_once('/')
            .expect("a database URL names a database")
            .0;
        Self {
            url: format!("{base}/{name}"),
            name,
            admin_url,
        }
    }

    /// Runs SQL in the test's database and returns each row as JSON.
    pub async fn query_json(&self, sql: &str) -> Vec<Value> {
        Self::query_json_at(&self.url, sql).await
    }

    /// Runs SQL in the database at `url` and returns each row as JSON.
    pub async fn query_json_at(url: &str, sql: &str) -> Vec<Value> {
        let db = Database::connect(url).await.unwrap();
        let wrapped = format!("SELECT to_jsonb(r) AS row FROM ({sql}) r");
        let rows = db
            .query_all_raw(sea_orm::Statement::from_string(
                db.get_database_backend(),
                wrapped,
            ))
            .await
            .unwrap();
        let values = rows
            .into_iter()
            .map(|row| row.try_get::<Value>("", "row").unwrap())
            .collect();
        let _ = db.close().await;
        values
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop cannot await: clean up on a thread with a runtime of its own.
        let _ = std::thread::spawn(move || {
            block_on_new_runtime(async move {
                let admin = connect_admin(&admin_url).await;
                let _ = admin
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .await;
                let _ = admin.close().await;
            })
        })
        .join();
    }
}

/// A Redis key namespace for one test, emptied when it goes out of scope.
pub struct TestNamespace {
    pub namespace: String,
}

impl TestNamespace {
    pub fn new() -> Self {
        Self {
            namespace: format!("credit-decisions-test:{}", uuid::Uuid::now_v7().simple()),
        }
    }

    /// The keys under the namespace.
    pub async fn keys(&self) -> Vec<String> {
        let client = redis_client().await;
        let keys = keys_under(&client, &self.namespace).await;
        let _ = client.quit().await;
        keys
    }
}

async fn keys_under(client: &Client, namespace: &str) -> Vec<String> {
    client
        .custom::<Vec<String>, String>(fred::cmd!("KEYS"), vec![format!("{namespace}:*")])
        .await
        .unwrap()
}

impl Drop for TestNamespace {
    fn drop(&mut self) {
        let namespace = self.namespace.clone();
        let _ = std::thread::spawn(move || {
            block_on_new_runtime(async move {
                let client = redis_client().await;
                let keys = keys_under(&client, &namespace).await;
                if !keys.is_empty() {
                    let _: i64 = client.del(keys).await.unwrap_or(0);
                }
                let _ = client.quit().await;
            })
        })
        .join();
    }
}

/// A plain client to look into the test Redis directly.
pub async fn redis_client() -> Client {
    let url = redis_url();
    let client = Builder::from_config(Config::from_url(&url).expect("a Redis URL"))
        .build()
        .unwrap();
    let connected = tokio::time::timeout(Duration::from_secs(5), client.init()).await;
    if !matches!(connected, Ok(Ok(_))) {
        panic!(
            "cannot reach Redis at {url} (set by {REDIS_VARIABLE}).\n\
             Start it (scripts/test does, or: redis-server --daemonize yes --port 6379 --save '' --appendonly no), \
             or point {REDIS_VARIABLE} at a Redis the tests may write to."
        );
    }
    client
}

fn block_on_new_runtime<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

/// The real adapters of one test, on its own database and namespace.
pub struct RealBackends {
    pub database: Option<TestDatabase>,
    pub namespace: TestNamespace,
}

impl RealBackends {
    pub async fn create() -> Self {
        Self {
            database: Some(TestDatabase::create().await),
            namespace: TestNamespace::new(),
        }
    }

    /// A namespace only, for tests of the cache alone.
    pub fn create_without_database() -> Self {
        Self {
            database: None,
            namespace: TestNamespace::new(),
        }
    }

    pub fn database(&self) -> &TestDatabase {
        self.database.as_ref().expect("this test has a database")
    }

    /// The decision log on this test's database, migrated.
    pub async fn store(&self) -> PostgresDecisionLog {
        self.store_at(&self.database().url).await
    }

    /// The decision log reached through `url` (a proxy, say).
    pub async fn store_at(&self, url: &str) -> PostgresDecisionLog {
        self.store_with(PostgresLogSettings::new(url)).await
    }

    /// The decision log with settings of the test's (a short commit bound, say).
    pub async fn store_with(&self, settings: PostgresLogSettings) -> PostgresDecisionLog {
        PostgresDecisionLog::connect(&settings)
            .await
            .unwrap_or_else(|error| {
                panic!("{error} ({DATABASE_VARIABLE}={})", admin_database_url())
            })
    }

    /// The cache in this test's namespace. Generous bound: under a loaded
    /// test run a slow answer must not turn a hit into a miss.
    pub async fn cache(&self, ttl: Duration) -> RedisDecisionCache {
        self.cache_at(&redis_url(), ttl, Duration::from_secs(2))
            .await
    }

    pub async fn cache_at(
        &self,
        url: &str,
        ttl: Duration,
        timeout: Duration,
    ) -> RedisDecisionCache {
        RedisDecisionCache::connect(RedisCacheSettings {
            url: url.to_owned(),
            namespace: self.namespace.namespace.clone(),
            ttl,
            timeout,
        })
        .await
        .unwrap()
    }
}
