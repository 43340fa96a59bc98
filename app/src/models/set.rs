//! The live set of models: the available versions and the routing over
//! them, each behind an atomic pointer. A request takes the current
//! [`Routed`] once, when it starts, and is decided under it to the end;
//! a change or a reload builds the next one aside (loading models on a
//! blocking thread) and swaps it in. Nothing on the hot path takes a lock
//! or waits for a load.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arc_swap::ArcSwap;
use domain::{
    Change, ChangePage, Routed, Routing, RoutingError, RoutingRequest, RoutingStore, Scorer,
    StoreError,
};
use tokio::sync::Mutex;

use super::versions::{Version, Versions};
use crate::metrics::Metrics;

/// Wraps each loaded model (in the metrics).
pub type Wrap = Arc<dyn Fn(Arc<dyn Scorer>) -> Arc<dyn Scorer> + Send + Sync>;

/// How many times a change without `If-Match` is tried against a racing one.
const UNCONDITIONAL_TRIES: usize = 3;

pub struct Models {
    versions: ArcSwap<Versions>,
    routed: ArcSwap<Routed>,
    store: Arc<dyn RoutingStore>,
    configured: Version,
    dir: Option<PathBuf>,
    wrap: Wrap,
    metrics: Arc<Metrics>,
    /// One scan of the directory at a time.
    scanning: Mutex<()>,
    /// A routing this service could not serve under (a version it does not
    /// have), with why; cleared once it serves the newest routing.
    behind: ArcSwap<Option<String>>,
    /// The last generation that sent the service to scan for a version.
    scanned_for: AtomicU64,
}

impl Models {
    /// The configured model, the directory's, and the routing the store
    /// holds (the built-in one when it holds none).
    pub async fn start(
        configured: Version,
        dir: Option<PathBuf>,
        store: Arc<dyn RoutingStore>,
        wrap: Wrap,
        metrics: Arc<Metrics>,
    ) -> Result<Arc<Self>, StoreError> {
        let champion = configured.scorer.clone();
        let models = Arc::new(Self {
            versions: ArcSwap::from_pointee(Versions::configured(configured.clone())),
            routed: ArcSwap::from_pointee(Routed::single(champion)),
            store,
            configured,
            dir,
            wrap,
            metrics,
            scanning: Mutex::new(()),
            behind: ArcSwap::from_pointee(None),
            scanned_for: AtomicU64::new(0),
        });
        models.scan().await;
        models.refresh().await?;
        models.record_routing();
        Ok(models)
    }

    /// What a request starting now is decided under.
    pub fn routed(&self) -> Arc<Routed> {
        self.routed.load_full()
    }

    pub fn routing(&self) -> Routing {
        self.routed.load().routing.clone()
    }

    pub fn versions(&self) -> Arc<Versions> {
        self.versions.load_full()
    }

    /// Why this service does not serve under the newest routing, if so.
    pub fn behind(&self) -> Option<String> {
        self.behind.load().as_ref().clone()
    }

    /// Sets the routing: as generation `expected + 1` if the routing is
    /// still at `expected`, or (without one) after whatever is newest.
    pub async fn change(
        &self,
        expected: Option<u64>,
        request: &RoutingRequest,
        by: &str,
    ) -> Result<Change, RoutingError> {
        let change = match expected {
            Some(expected) => self.store.append(expected, request, by).await?,
            None => self.append_after_newest(request, by).await?,
        };
        self.follow(Some(change.clone())).await;
        Ok(change)
    }

    async fn append_after_newest(
        &self,
        request: &RoutingRequest,
        by: &str,
    ) -> Result<Change, RoutingError> {
        let mut tries = 0;
        loop {
            let newest = self.store.newest().await?;
            let expected = newest.map_or(0, |change| change.generation);
            match self.store.append(expected, request, by).await {
                Err(RoutingError::Stale { .. }) if tries + 1 < UNCONDITIONAL_TRIES => tries += 1,
                result => return result,
            }
        }
    }

    pub async fn changes(&self, limit: u16, before: Option<u64>) -> Result<ChangePage, StoreError> {
        self.store.changes(limit, before).await
    }

    /// Serves under `newest` (the store's newest change) unless it already
    /// does. A version it does not have sends it to scan the directory
    /// once; still missing, it keeps the routing it has and says why.
    async fn follow(&self, newest: Option<Change>) {
        let routing = newest.as_ref().map_or_else(
            || Routing::built_in(&self.configured.model().version),
            Routing::of,
        );
        if routing.generation == self.routed.load().routing.generation {
            return;
        }
        // Once per generation: a follower asks every second.
        let missing = routing
            .versions()
            .any(|id| !self.versions.load().contains(id));
        if missing
            && self.scanned_for.swap(routing.generation, Ordering::Relaxed) != routing.generation
        {
            self.scan().await;
        }
        match self.routed_of(&routing) {
            Ok(routed) => {
                tracing::info!(
                    generation = routing.generation,
                    champion = routing.champion,
                    challenger = ?routing.challenger,
                    "serving under a new routing"
                );
                self.routed.store(Arc::new(routed));
                self.behind.store(Arc::new(None));
                self.record_routing();
            }
            Err(missing) => {
                let why = format!(
                    "routing generation {} names version {missing}, which this service does not \
                     have; it serves under generation {}",
                    routing.generation,
                    self.routed.load().routing.generation
                );
                if self.behind.load().as_deref() != Some(&why) {
                    tracing::error!("{why}");
                }
                self.behind.store(Arc::new(Some(why)));
            }
        }
    }

    /// `POST /v1/models/reload`: the directory scanned again; then the
    /// newest routing followed, should it name a version only now loaded.
    pub async fn reload(&self) -> Result<(), StoreError> {
        self.scan().await;
        self.refresh().await
    }

    /// Reads the newest change and serves under it (the follower's tick).
    pub async fn refresh(&self) -> Result<(), StoreError> {
        let newest = self.store.newest().await?;
        self.follow(newest).await;
        Ok(())
    }

    /// The directory's models loaded anew, on a blocking thread; versions
    /// the routing uses stay even if their files went.
    async fn scan(&self) {
        let Some(dir) = self.dir.clone() else {
            return;
        };
        let _one_at_a_time = self.scanning.lock().await;
        let (configured, wrap) = (self.configured.clone(), self.wrap.clone());
        let scanned =
            tokio::task::spawn_blocking(move || Versions::scan(configured, &dir, wrap.as_ref()))
                .await;
        let scanned = match scanned {
            Ok(scanned) => scanned,
            Err(error) => {
                tracing::error!(%error, "the models directory scan failed");
                return;
            }
        };
        for refused in scanned.refused() {
            tracing::warn!(file = refused.file, error = refused.error, "model refused");
        }
        let routed = self.routed.load();
        let in_use: Vec<&str> = routed.routing.versions().collect();
        let versions = scanned.keeping(&self.versions.load(), &in_use);
        self.versions.store(Arc::new(versions));
    }

    /// The routing with the model of each version, or the first version
    /// this service does not have.
    fn routed_of(&self, routing: &Routing) -> Result<Routed, String> {
        let versions = self.versions.load();
        let scorer = |id: &str| {
            versions
                .get(id)
                .map(|version| version.scorer.clone())
                .ok_or_else(|| id.to_owned())
        };
        let champion = scorer(&routing.champion)?;
        let challenger = routing
            .challenger
            .as_ref()
            .map(|challenger| scorer(&challenger.version))
            .transpose()?;
        Ok(Routed {
            routing: routing.clone(),
            champion,
            challenger,
        })
    }

    fn record_routing(&self) {
        let generation = self.routed.load().routing.generation;
        self.metrics.routing_generation.set(generation as i64);
    }
}
