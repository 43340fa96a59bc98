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
use postgres_store::{PoolMode, PostgresDecisionStore, PostgresStoreSettings};
use redis_cache::{RedisCacheSettings, RedisDecisionCache};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use serde_json::Value;

use super::redis_cluster;

pub const DATABASE_VARIABLE: &str = "CREDIT_DECISIONS_TEST_DATABASE_URL";
pub const REDIS_VARIABLE: &str = "CREDIT_DECISIONS_TEST_REDIS_URL";
/// PgBouncer in transaction pooling in front of the test PostgreSQL, every
/// database passed through (`scripts/test` starts it).
pub const PGBOUNCER_VARIABLE: &str = "CREDIT_DECISIONS_TEST_PGBOUNCER_URL";
const DEFAULT_PGBOUNCER_URL: &str = "postgres://postgres@127.0.0.1:6433/postgres";
const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
/// The near cache of the tests' Redis caches, as large as the service's default.
pub const NEAR_ENTRIES: usize = 4_096;
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

    /// The URL of this database through the test PgBouncer.
    pub fn url_through_pgbouncer(&self) -> String {
        let pgbouncer =
            std::env::var(PGBOUNCER_VARIABLE).unwrap_or_else(|_| DEFAULT_PGBOUNCER_URL.to_owned());
        let base = pgbouncer
            .rsplit_once('/')
            .expect("a database URL names a database")
            .0;
        format!("{base}/{}", self.name)
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

/// A Redis key namespace for one test, on the test Redis or the test
/// cluster, emptied when it goes out of scope.
pub struct TestNamespace {
    pub namespace: String,
    /// The Redis (`redis://`) or Redis Cluster (`redis-cluster://`) it is on.
    pub redis_url: String,
}

impl TestNamespace {
    /// A namespace on the test Redis.
    pub fn new() -> Self {
        Self::on(redis_url())
    }

    /// A namespace on the Redis or Redis Cluster at `redis_url`.
    pub fn on(redis_url: String) -> Self {
        Self {
            namespace: format!("credit-decisions-test:{}", uuid::Uuid::now_v7().simple()),
            redis_url,
        }
    }

    fn is_on_a_cluster(&self) -> bool {
        self.redis_url.starts_with("redis-cluster://")
    }

    /// The verdicts' keys under the namespace (not the near cache's
    /// canaries, which live there too).
    pub async fn keys(&self) -> Vec<String> {
        if self.is_on_a_cluster() {
            let located = self.keys_by_primary().await;
            return located.into_iter().map(|(_, key)| key).collect();
        }
        let client = redis_client().await;
        let keys = keys_matching(&client, &format!("{}:verdict:*", self.namespace)).await;
        let _ = client.quit().await;
        keys
    }

    /// On a cluster: the verdicts' keys with the primary holding each.
    pub async fn keys_by_primary(&self) -> Vec<(String, String)> {
        redis_cluster::keys_by_primary(&self.redis_url, &format!("{}:verdict:*", self.namespace))
            .await
    }
}

async fn keys_matching(client: &Client, pattern: &str) -> Vec<String> {
    client
        .custom::<Vec<String>, String>(fred::cmd!("KEYS"), vec![pattern.to_owned()])
        .await
        .unwrap()
}

impl Drop for TestNamespace {
    fn drop(&mut self) {
        let namespace = self.namespace.clone();
        let on_a_cluster = self.is_on_a_cluster();
        let redis_url = self.redis_url.clone();
        let _ = std::thread::spawn(move || {
            block_on_new_runtime(async move {
                if on_a_cluster {
                    let pattern = format!("{namespace}:*");
                    let located = redis_cluster::keys_by_primary(&redis_url, &pattern).await;
                    redis_cluster::delete_keys(located).await;
                    return;
                }
                let client = redis_client().await;
                let keys = keys_matching(&client, &format!("{namespace}:*")).await;
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
    redis_client_at(&redis_url()).await
}

/// A client on the Redis or Redis Cluster at `url`; on a cluster it follows
/// the slot map, so a key is read wherever it lives.
pub async fn redis_client_at(url: &str) -> Client {
    let config = match url.strip_prefix("redis-cluster://") {
        // fred's URL names one node of a cluster; it discovers the rest.
        Some(nodes) => {
            let first = nodes.split(',').next().unwrap_or_default();
            Config::from_url(&format!("redis-cluster://{first}"))
        }
        None => Config::from_url(url),
    };
    let client = Builder::from_config(config.expect("a Redis URL"))
        .build()
        .unwrap();
    let connected = tokio::time::timeout(Duration::from_secs(5), client.init()).await;
    if !matches!(connected, Ok(Ok(_))) {
        panic!(
            "cannot reach Redis at {url} (set by {REDIS_VARIABLE} or {}).\n\
             Start it (scripts/test does, or: redis-server --daemonize yes --port 6379 --save '' --appendonly no), \
             or point the variable at a Redis the tests may write to.",
            redis_cluster::CLUSTER_VARIABLE
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

    /// A database, and a namespace on the test Redis Cluster.
    pub async fn create_on_the_cluster() -> Self {
        Self {
            database: Some(TestDatabase::create().await),
            namespace: TestNamespace::on(redis_cluster::cluster_url()),
        }
    }

    /// A namespace on the test Redis Cluster only.
    pub fn on_the_cluster_without_database() -> Self {
        Self {
            database: None,
            namespace: TestNamespace::on(redis_cluster::cluster_url()),
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
    pub async fn store(&self) -> PostgresDecisionStore {
        self.store_at(&self.database().url).await
    }

    /// The decision log on this test's database, through the test PgBouncer
    /// in transaction pooling.
    pub async fn store_through_pgbouncer(&self) -> PostgresDecisionStore {
        let url = self.database().url_through_pgbouncer();
        let store = PostgresDecisionStore::connect(&PostgresStoreSettings {
            pool_mode: PoolMode::Transaction,
            ..PostgresStoreSettings::new(&url)
        })
        .await;
        store.unwrap_or_else(|error| {
            panic!(
                "{error} ({PGBOUNCER_VARIABLE}: {url}; scripts/test starts PgBouncer, \
                 see scripts/services.sh, ensure_pgbouncer)"
            )
        })
    }

    /// The decision log reached through `url` (a proxy, say).
    pub async fn store_at(&self, url: &str) -> PostgresDecisionStore {
        self.store_with(PostgresStoreSettings::new(url)).await
    }

    /// The decision log with settings of the test's (a short commit bound, say).
    pub async fn store_with(&self, settings: PostgresStoreSettings) -> PostgresDecisionStore {
        PostgresDecisionStore::connect(&settings)
            .await
            .unwrap_or_else(|error| {
                panic!("{error} ({DATABASE_VARIABLE}={})", admin_database_url())
            })
    }

    /// The cache in this test's namespace, with a near cache as the service
    /// has by default. Generous bound: under a loaded test run a slow answer
    /// must not turn a hit into a miss.
    pub async fn cache(&self, ttl: Duration) -> RedisDecisionCache {
        self.cache_at(
            &self.namespace.redis_url,
            ttl,
            Duration::from_secs(2),
            NEAR_ENTRIES,
        )
        .await
    }

    /// The cache in this test's namespace on the Redis at `url`, keeping
    /// `near_entries` verdicts in memory (0: every read goes to Redis).
    pub async fn cache_at(
        &self,
        url: &str,
        ttl: Duration,
        timeout: Duration,
        near_entries: usize,
    ) -> RedisDecisionCache {
        self.cache_with(self.cache_settings(url, ttl, timeout, near_entries))
            .await
    }

    /// How this test's caches are set up: its namespace on the Redis at `url`.
    pub fn cache_settings(
        &self,
        url: &str,
        ttl: Duration,
        timeout: Duration,
        near_entries: usize,
    ) -> RedisCacheSettings {
        RedisCacheSettings {
            url: url.to_owned(),
            namespace: self.namespace.namespace.clone(),
            ttl,
            timeout,
            near_entries,
            signing_key: None,
        }
    }

    pub async fn cache_with(&self, settings: RedisCacheSettings) -> RedisDecisionCache {
        RedisDecisionCache::connect(settings).await.unwrap()
    }
}
