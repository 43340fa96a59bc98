//! The routing's history in memory: the service's own, lost at a restart
//! (then the built-in routing holds again).

use std::sync::Mutex;

use async_trait::async_trait;
use domain::{Change, ChangePage, RoutingError, RoutingRequest, RoutingStore, StoreError};

#[derive(Default)]
pub struct MemoryRoutingStore {
    changes: Mutex<Vec<Change>>,
}

impl MemoryRoutingStore {
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl RoutingStore for MemoryRoutingStore {
    async fn newest(&self) -> Result<Option<Change>, StoreError> {
        Ok(self
            .changes
            .lock()
            .expect("routing lock poisoned")
            .last()
            .cloned())
    }

    async fn append(
        &self,
        expected: u64,
        routing: &RoutingRequest,
        by: &str,
    ) -> Result<Change, RoutingError> {
        let mut changes = self.changes.lock().expect("routing lock poisoned");
        let current = changes.last().map_or(0, |change| change.generation);
        if current != expected {
            return Err(RoutingError::Stale { expected, current });
        }
        let change = Change {
            generation: current + 1,
            changed_at: domain::decision::now_for_store(),
            by: by.to_owned(),
            champion: routing.champion.clone(),
            challenger: routing.challenger.clone(),
            reason: routing.reason.clone(),
        };
        changes.push(change.clone());
        Ok(change)
    }

    async fn changes(&self, limit: u16, before: Option<u64>) -> Result<ChangePage, StoreError> {
        let changes = self.changes.lock().expect("routing lock poisoned");
        let older: Vec<&Change> = changes
            .iter()
            .rev()
            .filter(|change| before.is_none_or(|before| change.generation < before))
            .collect();
        let items: Vec<Change> = older
            .iter()
            .take(usize::from(limit))
            .map(|c| (*c).clone())
            .collect();
        let next = (older.len() > items.len())
            .then(|| items.last().map(|change| change.generation))
            .flatten();
        Ok(ChangePage { items, next })
    }
}
