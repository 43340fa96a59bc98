//! `TestApp`: the whole service on port 0, on the adapters a test chooses,
//! each wrapped in a spy, with a client that speaks the contract.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use app::ServerHandle;
use app::{Adapters, BackendNames, PerWorker, ServeOptions, Server};
use domain::{DecisionCache, DecisionStore, RoutingStore, Scorer};
use memory::{MemoryDecisionCache, MemoryDecisionStore, MemoryRoutingStore};
use onnx_scorer::OnnxScorer;
use reqwest::{Method, Response};
use serde_json::Value;

use postgres_store::PostgresDecisionStore;
use redis_cache::RedisDecisionCache;

use super::real_backends::RealBackends;
use super::spies::{CallOrder, SpyCache, SpyScorer, SpyStore};

/// The built-in model, loaded once for the whole suite.
pub fn built_in_scorer() -> OnnxScorer {
    static SCORER: OnceLock<OnnxScorer> = OnceLock::new();
    SCORER
        .get_or_init(|| OnnxScorer::built_in().expect("the built-in model loads"))
        .clone()
}

/// `model/versions`: the model versions the repository ships.
pub fn shipped_models_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../model/versions")
}

/// The version id of the shipped scorecard.
pub const SCORECARD: &str = "german-credit-scorecard-2026.12.0";

/// The adapters an app runs on, before the spies go around them.
pub struct TestBackends {
    pub cache: Option<Arc<dyn DecisionCache>>,
    pub store: Arc<dyn DecisionStore>,
    pub scorer: Arc<dyn Scorer>,
    /// Where the routing is kept: the log's database on real backends.
    pub routing: Arc<dyn RoutingStore>,
    pub names: BackendNames,
    /// The test's own database and namespace, when on real servers.
    pub real: Option<Arc<RealBackends>>,
    pub options: ServeOptions,
}

impl TestBackends {
    /// Fresh, empty in-memory adapters and the built-in model.
    pub fn memory() -> Self {
        Self {
            cache: Some(Arc::new(MemoryDecisionCache::new(Duration::from_secs(
                3600,
            )))),
            store: Arc::new(MemoryDecisionStore::new()),
            scorer: Arc::new(built_in_scorer()),
            routing: Arc::new(MemoryRoutingStore::new()),
            names: BackendNames {
                cache: "memory",
                store: "memory",
            },
            real: None,
            options: ServeOptions::default(),
        }
    }

    /// Redis and PostgreSQL, on a fresh database and namespace of the test's.
    pub async fn real() -> Self {
        let real = RealBackends::create().await;
        let cache = real.cache(Duration::from_secs(3600)).await;
        let store = real.store().await;
        Self::on_real(real, cache, store)
    }

    /// The test Redis Cluster and the test PostgreSQL through PgBouncer in
    /// transaction pooling, on a fresh database and namespace of the test's.
    pub async fn on_cluster_and_pgbouncer() -> Self {
        let real = RealBackends::create_on_the_cluster().await;
        let cache = real.cache(Duration::from_secs(3600)).await;
        let store = real.store_through_pgbouncer().await;
        Self::on_real(real, cache, store)
    }

    /// A Redis cache and a PostgreSQL log of `real`'s, connected as the test
    /// wishes (through a proxy, say).
    pub fn on_real(
        real: RealBackends,
        cache: RedisDecisionCache,
        store: PostgresDecisionStore,
    ) -> Self {
        Self {
            cache: Some(Arc::new(cache)),
            routing: Arc::new(store.clone()),
            store: Arc::new(store),
            scorer: Arc::new(built_in_scorer()),
            names: BackendNames {
                cache: "redis",
                store: "postgres",
            },
            real: Some(Arc::new(real)),
            options: ServeOptions::default(),
        }
    }

    /// Another replica's backends: `app`'s database and namespace, on
    /// connections of its own (the routing read from the same database).
    pub async fn replica_of(app: &TestApp) -> Self {
        let real = app.real.clone().expect("replicas share real servers");
        let cache = real.cache(Duration::from_secs(3600)).await;
        let store = real.store().await;
        Self {
            cache: Some(Arc::new(cache)),
            routing: Arc::new(store.clone()),
            store: Arc::new(store),
            scorer: Arc::new(built_in_scorer()),
            names: BackendNames {
                cache: "redis",
                store: "postgres",
            },
            real: Some(real),
            options: ServeOptions::default(),
        }
    }

    pub fn with_cache(mut self, cache: Option<Arc<dyn DecisionCache>>) -> Self {
        self.cache = cache;
        self
    }

    pub fn with_store(mut self, store: Arc<dyn DecisionStore>) -> Self {
        self.store = store;
        self
    }

    pub fn with_api_keys(mut self, keys: &[&str]) -> Self {
        self.options.api_keys = Some(keys.iter().map(|key| key.to_string()).collect());
        self
    }

    pub fn with_scorer(mut self, scorer: Arc<dyn Scorer>) -> Self {
        self.scorer = scorer;
        self
    }

    pub fn with_admin_keys(mut self, keys: &[&str]) -> Self {
        self.options.admin_keys = Some(keys.iter().map(|key| key.to_string()).collect());
        self
    }

    /// The shipped models directory (`model/versions`): the built-in model
    /// and the scorecard.
    pub fn with_shipped_models(self) -> Self {
        self.with_models_dir(shipped_models_dir())
    }

    pub fn with_models_dir(mut self, dir: std::path::PathBuf) -> Self {
        self.options.models_dir = Some(dir);
        self
    }
}

pub struct TestApp {
    pub base: String,
    /// The operators' address, when the app was given one.
    pub operator_base: Option<String>,
    client: reqwest::Client,
    pub order: CallOrder,
    /// `None` when the app runs without a cache.
    pub cache: Option<Arc<SpyCache>>,
    pub store: Arc<SpyStore>,
    pub scorer: Arc<SpyScorer>,
    /// The test's database and namespace, when on real servers; dropped
    /// (and so cleaned up) with the app.
    pub real: Option<Arc<RealBackends>>,
    handle: ServerHandle,
}

impl TestApp {
    /// The app on fresh in-memory adapters.
    pub async fn on_memory() -> Self {
        Self::spawn(TestBackends::memory()).await
    }

    /// The app on Redis and PostgreSQL, on fresh state of its own.
    pub async fn on_real() -> Self {
        Self::spawn(TestBackends::real().await).await
    }

    /// Another app, on fresh state of the same kind of backends as this one.
    pub async fn another(&self) -> Self {
        if self.real.is_some() {
            Self::on_real().await
        } else {
            Self::on_memory().await
        }
    }

    pub async fn spawn(backends: TestBackends) -> Self {
        let order = CallOrder::default();
        let cache = backends
            .cache
            .map(|cache| Arc::new(SpyCache::new(cache, order.clone())));
        let store = Arc::new(SpyStore::new(backends.store, order.clone()));
        let scorer = Arc::new(SpyScorer::new(backends.scorer, order.clone()));
        let adapters = Adapters {
            cache: cache
                .clone()
                .map(|spy| PerWorker::Shared(spy as Arc<dyn DecisionCache>)),
            store: PerWorker::Shared(store.clone()),
            scorer: scorer.clone(),
            routing: backends.routing,
            names: backends.names,
            closers: Vec::new(),
        };
        let service =
            Server::build_with("127.0.0.1:0".parse().unwrap(), adapters, backends.options)
                .await
                .expect("the app starts on a free port");
        let base = format!("http://{}", service.addr());
        let operator_base = service.operator_addr().map(|addr| format!("http://{addr}"));
        let handle = service.handle();
        tokio::spawn(service.run_until_stopped());
        Self {
            base,
            operator_base,
            client: reqwest::Client::new(),
            order,
            cache,
            store,
            scorer,
            real: backends.real,
            handle,
        }
    }

    pub fn real(&self) -> &RealBackends {
        self.real.as_deref().expect("this app runs on real servers")
    }

    pub fn cache(&self) -> &SpyCache {
        self.cache.as_deref().expect("this app runs with a cache")
    }

    pub async fn post_decision(&self, application: &Value) -> Response {
        self.post_json("/v1/decisions", application).await
    }

    /// The body of the answer to posting `application`, whatever its status.
    pub async fn post_decision_json(&self, application: &Value) -> Value {
        self.post_decision(application)
            .await
            .json()
            .await
            .expect("a JSON answer")
    }

    pub async fn post_batch(&self, applications: &[Value]) -> Response {
        self.post_json(
            "/v1/decisions/batch",
            &serde_json::json!({"applications": applications}),
        )
        .await
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.post_raw(
            path,
            Some("application/json"),
            body.to_string().into_bytes(),
        )
        .await
    }

    /// A POST with any body and content type (`None` sends no Content-Type).
    pub async fn post_raw(
        &self,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Response {
        let mut request = self.client.post(self.url(path)).body(body);
        if let Some(content_type) = content_type {
            request = request.header("Content-Type", content_type);
        }
        request.send().await.expect("the app answers")
    }

    pub async fn get(&self, path: &str) -> Response {
        self.request(Method::GET, path).await
    }

    pub async fn request(&self, method: Method, path: &str) -> Response {
        self.client
            .request(method, self.url(path))
            .send()
            .await
            .expect("the app answers")
    }

    /// A request built by the test (headers of its own, say).
    pub fn build(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, self.url(path))
    }

    /// Sends `request_line` and `headers` as written, byte for byte (no client
    /// normalises the path), with `body`; returns the status and the body.
    pub async fn send_raw(
        &self,
        request_line: &str,
        headers: &[&str],
        body: &[u8],
    ) -> (u16, String) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let addr = self.base.trim_start_matches("http://");
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let mut head = format!("{request_line}\r\nHost: {addr}\r\nConnection: close\r\n");
        for header in headers {
            head.push_str(header);
            head.push_str("\r\n");
        }
        head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(body).await.unwrap();
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await.unwrap();
        let answer = String::from_utf8_lossy(&answer).into_owned();
        let status = answer
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("not an HTTP answer: {answer}"));
        let body = answer
            .split_once("\r\n\r\n")
            .map(|(_, body)| body.to_owned())
            .unwrap_or_default();
        (status, body)
    }

    pub async fn get_decision(&self, id: &str) -> Response {
        self.get(&format!("/v1/decisions/{id}")).await
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Fails unless no request reached the cache, the model or the log.
    pub fn assert_nothing_reached_the_ports(&self) {
        pretty_assertions::assert_eq!(self.order.calls(), vec![], "calls made to the ports");
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Stop accepting and let the workers wind down; nothing waits on it.
        drop(self.handle.stop(false));
    }
}
