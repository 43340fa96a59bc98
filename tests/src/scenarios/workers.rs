//! The server's worker threads each hold their own handles on the backends
//! (`app::PerWorker`): made on the worker's thread, and used only there, so
//! that no request waits on another thread to reach Redis or PostgreSQL.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::ThreadId;

use app::{Adapters, BackendNames, PerWorker, ServeOptions, Server};
use async_trait::async_trait;
use domain::{
    DecisionId, DecisionPage, DecisionRecord, DecisionStore, HourlyTally, MinuteWindow, StoreEntry,
    StoreError,
};
use futures::future::join_all;
use memory::MemoryDecisionStore;
use pretty_assertions::assert_eq;

use crate::harness::data::example_with;
use crate::harness::test_app::built_in_scorer;

/// A log handle that counts the calls made to it from a thread other than
/// the one it was made on.
struct ThreadBound {
    inner: Arc<MemoryDecisionStore>,
    made_on: ThreadId,
    appends: Arc<AtomicUsize>,
    elsewhere: Arc<AtomicUsize>,
}

impl ThreadBound {
    fn check_thread(&self) {
        if std::thread::current().id() != self.made_on {
            self.elsewhere.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[async_trait]
impl DecisionStore for ThreadBound {
    async fn append(&self, entries: &[StoreEntry]) -> Result<(), StoreError> {
        self.check_thread();
        self.appends.fetch_add(1, Ordering::Relaxed);
        self.inner.append(entries).await
    }

    async fn get(&self, id: DecisionId) -> Result<Option<DecisionRecord>, StoreError> {
        self.check_thread();
        self.inner.get(id).await
    }

    async fn list(
        &self,
        limit: u16,
        before: Option<DecisionId>,
    ) -> Result<DecisionPage, StoreError> {
        self.check_thread();
        self.inner.list(limit, before).await
    }

    async fn tally(&self, window: MinuteWindow) -> Result<Vec<HourlyTally>, StoreError> {
        self.check_thread();
        self.inner.tally(window).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.check_thread();
        self.inner.ping().await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_worker_makes_its_own_store_handle_on_its_thread_and_uses_it_only_there() {
    let log = Arc::new(MemoryDecisionStore::new());
    let made_on = Arc::new(Mutex::new(Vec::new()));
    let appends = Arc::new(AtomicUsize::new(0));
    let elsewhere = Arc::new(AtomicUsize::new(0));
    let store = {
        let (log, made_on) = (log.clone(), made_on.clone());
        let (appends, elsewhere) = (appends.clone(), elsewhere.clone());
        PerWorker::made(move || {
            let thread = std::thread::current().id();
            made_on.lock().unwrap().push(thread);
            Arc::new(ThreadBound {
                inner: log.clone(),
                made_on: thread,
                appends: appends.clone(),
                elsewhere: elsewhere.clone(),
            }) as Arc<dyn DecisionStore>
        })
    };
    let adapters = Adapters {
        cache: None,
        store,
        scorer: Arc::new(built_in_scorer()),
        routing: Arc::new(memory::MemoryRoutingStore::new()),
        names: BackendNames {
            cache: "none",
            store: "memory",
        },
        closers: Vec::new(),
    };
    let server = Server::build_with(
        "127.0.0.1:0".parse().unwrap(),
        adapters,
        ServeOptions::default(),
    )
    .await
    .unwrap();
    let url = format!("http://{}/v1/decisions", server.addr());
    let handle = server.handle();
    tokio::spawn(server.run_until_stopped());

    // Enough requests at once that every worker serves some.
    let client = reqwest::Client::new();
    let answers = join_all((0..64).map(|n| {
        client
            .post(&url)
            .json(&example_with("credit_amount", serde_json::json!(1_000 + n)))
            .send()
    }))
    .await;
    for answer in answers {
        assert_eq!(answer.unwrap().status(), 200);
    }

    let made_on = made_on.lock().unwrap().clone();
    let workers = std::thread::available_parallelism().unwrap().get();
    assert_eq!(made_on.len(), workers, "one handle per worker");
    let threads: HashSet<ThreadId> = made_on.iter().copied().collect();
    assert_eq!(threads.len(), workers, "each on a thread of its own");
    assert!(!threads.contains(&std::thread::current().id()));
    assert_eq!(appends.load(Ordering::Relaxed), 64);
    assert_eq!(
        elsewhere.load(Ordering::Relaxed),
        0,
        "no call crossed threads"
    );
    assert_eq!(log.list(100, None).await.unwrap().items.len(), 64);
    handle.stop(true).await;
}
