//! A decision log in a vector, in insertion order, with an index by id.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use domain::{DecisionId, DecisionPage, DecisionRecord, DecisionStore, StoreError};

#[derive(Default)]
pub struct MemoryDecisionLog {
    log: Mutex<Log>,
}

#[derive(Default)]
struct Log {
    records: Vec<DecisionRecord>,
    position: HashMap<DecisionId, usize>,
}

impl MemoryDecisionLog {
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl DecisionStore for MemoryDecisionLog {
    async fn append(&self, records: &[DecisionRecord]) -> Result<(), StoreError> {
        let mut log = self.log.lock().expect("log lock poisoned");
        // All or none, as a transaction would: check every id before writing.
        if let Some(taken) = records
            .iter()
            .find(|record| log.position.contains_key(&record.decision_id))
        {
            return Err(StoreError::Unavailable(format!(
                "decision {} is already logged",
                taken.decision_id
            )));
        }
        for record in records {
            let position = log.records.len();
            log.position.insert(record.decision_id, position);
            log.records.push(record.clone());
        }
        Ok(())
    }

    async fn get(&self, id: DecisionId) -> Result<Option<DecisionRecord>, StoreError> {
        let log = self.log.lock().expect("log lock poisoned");
        Ok(log.position.get(&id).map(|&i| log.records[i].clone()))
    }

    async fn list(
        &self,
        limit: u16,
        before: Option<DecisionId>,
    ) -> Result<DecisionPage, StoreError> {
        let log = self.log.lock().expect("log lock poisoned");
        let end = match before {
            None => log.records.len(),
            Some(id) => *log.position.get(&id).ok_or(StoreError::UnknownCursor(id))?,
        };
        let items: Vec<DecisionRecord> = log.records[..end]
            .iter()
            .rev()
            .take(usize::from(limit))
            .cloned()
            .collect();
        let next = if end > items.len() {
            items.last().map(|record| record.decision_id)
        } else {
            None
        };
        Ok(DecisionPage { items, next })
    }

    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}
