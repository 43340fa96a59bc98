//! Spies: recording decorators around any adapter of a port. They pass every
//! call through unchanged and remember what it was asked and answered, so a
//! test can say which port was called, how often, and with what.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use domain::{
    Application, CacheEntry, CacheError, CacheKey, DecisionCache, DecisionId, DecisionPage,
    DecisionRecord, DecisionStore, HourlyTally, MinuteWindow, ModelInfo, Reason, Scorer,
    ScoringError, StoreEntry, StoreError, Verdict,
};

/// One call the decision flow made, in the order calls were made across all
/// spies of one app (so tests can check cache → model → cache → log order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    CacheRead,
    CacheWrite,
    Score,
    Append,
}

/// The shared record of call order.
#[derive(Default, Clone)]
pub struct CallOrder(Arc<Mutex<Vec<Call>>>);

impl CallOrder {
    fn push(&self, call: Call) {
        self.0.lock().unwrap().push(call);
    }

    pub fn calls(&self) -> Vec<Call> {
        self.0.lock().unwrap().clone()
    }
}

/// A cache read: the keys asked for and what the cache answered.
#[derive(Debug, Clone, PartialEq)]
pub struct CacheRead {
    pub keys: Vec<CacheKey>,
    /// `None` when the read failed.
    pub answer: Option<Vec<CacheEntry>>,
}

pub struct SpyCache {
    inner: Arc<dyn DecisionCache>,
    order: CallOrder,
    reads: Mutex<Vec<CacheRead>>,
    writes: Mutex<Vec<Vec<(CacheKey, Verdict)>>>,
}

impl SpyCache {
    pub fn new(inner: Arc<dyn DecisionCache>, order: CallOrder) -> Self {
        Self {
            inner,
            order,
            reads: Mutex::default(),
            writes: Mutex::default(),
        }
    }

    pub fn reads(&self) -> Vec<CacheRead> {
        self.reads.lock().unwrap().clone()
    }

    pub fn writes(&self) -> Vec<Vec<(CacheKey, Verdict)>> {
        self.writes.lock().unwrap().clone()
    }
}

#[async_trait]
impl DecisionCache for SpyCache {
    async fn read(&self, keys: &[CacheKey]) -> Result<Vec<CacheEntry>, CacheError> {
        self.order.push(Call::CacheRead);
        let answer = self.inner.read(keys).await;
        self.reads.lock().unwrap().push(CacheRead {
            keys: keys.to_vec(),
            answer: answer.as_ref().ok().cloned(),
        });
        answer
    }

    async fn write(&self, entries: &[(CacheKey, Verdict)]) -> Result<(), CacheError> {
        self.order.push(Call::CacheWrite);
        self.writes.lock().unwrap().push(entries.to_vec());
        self.inner.write(entries).await
    }

    async fn ping(&self) -> Result<(), CacheError> {
        self.inner.ping().await
    }
}

pub struct SpyStore {
    inner: Arc<dyn DecisionStore>,
    order: CallOrder,
    appends: Mutex<Vec<Vec<DecisionRecord>>>,
}

impl SpyStore {
    pub fn new(inner: Arc<dyn DecisionStore>, order: CallOrder) -> Self {
        Self {
            inner,
            order,
            appends: Mutex::default(),
        }
    }

    pub fn appends(&self) -> Vec<Vec<DecisionRecord>> {
        self.appends.lock().unwrap().clone()
    }
}

#[async_trait]
impl DecisionStore for SpyStore {
    async fn append(&self, entries: &[StoreEntry]) -> Result<(), StoreError> {
        self.order.push(Call::Append);
        let records = entries.iter().map(|entry| entry.record.clone()).collect();
        self.appends.lock().unwrap().push(records);
        self.inner.append(entries).await
    }

    async fn get(&self, id: DecisionId) -> Result<Option<DecisionRecord>, StoreError> {
        self.inner.get(id).await
    }

    async fn list(
        &self,
        limit: u16,
        before: Option<DecisionId>,
    ) -> Result<DecisionPage, StoreError> {
        self.inner.list(limit, before).await
    }

    async fn tally(&self, window: MinuteWindow) -> Result<Vec<HourlyTally>, StoreError> {
        self.inner.tally(window).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.inner.ping().await
    }
}

pub struct SpyScorer {
    inner: Arc<dyn Scorer>,
    order: CallOrder,
    scored: Mutex<Vec<Vec<Application>>>,
}

impl SpyScorer {
    pub fn new(inner: Arc<dyn Scorer>, order: CallOrder) -> Self {
        Self {
            inner,
            order,
            scored: Mutex::default(),
        }
    }

    /// The applications of each call, in call order.
    pub fn calls(&self) -> Vec<Vec<Application>> {
        self.scored.lock().unwrap().clone()
    }
}

impl Scorer for SpyScorer {
    fn model(&self) -> &ModelInfo {
        self.inner.model()
    }

    fn score(&self, applications: &[&Application]) -> Result<Vec<f32>, ScoringError> {
        self.order.push(Call::Score);
        let copies = applications
            .iter()
            .map(|application| (*application).clone())
            .collect();
        self.scored.lock().unwrap().push(copies);
        self.inner.score(applications)
    }

    /// Passed through unrecorded: reasons are part of scoring a decline.
    fn explain(&self, declined: &[&Application]) -> Result<Vec<Vec<Reason>>, ScoringError> {
        self.inner.explain(declined)
    }
}
