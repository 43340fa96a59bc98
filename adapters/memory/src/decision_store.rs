//! A decision store in a vector, in insertion order, with an index by id.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use domain::monitoring::Role;
use domain::{
    CanonicalRequest, Cells, DecisionId, DecisionPage, DecisionRecord, DecisionStore, HourlyTally,
    LogPosition, LoggedRequests, MinuteWindow, RequestPage, StoreEntry, StoreError, Tally,
};

#[derive(Default)]
pub struct MemoryDecisionStore {
    log: Mutex<Log>,
}

#[derive(Default)]
struct Log {
    records: Vec<DecisionRecord>,
    /// Where each record counts for monitoring, and its shadow verdict, by
    /// position.
    cells: Vec<(Cells, Option<Cells>)>,
    position: HashMap<DecisionId, usize>,
}

impl MemoryDecisionStore {
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl DecisionStore for MemoryDecisionStore {
    async fn append(&self, entries: &[StoreEntry]) -> Result<(), StoreError> {
        let mut log = self.log.lock().expect("log lock poisoned");
        // All or none, as a transaction would: check every id before writing.
        if let Some(taken) = entries
            .iter()
            .find(|entry| log.position.contains_key(&entry.record.decision_id))
        {
            return Err(StoreError::Unavailable(format!(
                "decision {} is already logged",
                taken.record.decision_id
            )));
        }
        for entry in entries {
            let position = log.records.len();
            log.position.insert(entry.record.decision_id, position);
            log.records.push(entry.record.clone());
            log.cells.push((entry.cells, entry.shadow_cells));
        }
        Ok(())
    }

    /// Adds up the cells of every record in the window: a scan, which is
    /// fine for a log that lives in one process's memory.
    async fn tally(&self, window: MinuteWindow) -> Result<Vec<HourlyTally>, StoreError> {
        let log = self.log.lock().expect("log lock poisoned");
        let counted = log
            .records
            .iter()
            .zip(&log.cells)
            .filter(|(record, _)| window.contains(record.created_at))
            .flat_map(|(record, (cells, shadow_cells))| {
                let served = (
                    record.response.verdict.model_version.clone(),
                    Role::of(record.arm),
                    cells,
                );
                let shadow = record
                    .shadow
                    .as_ref()
                    .zip(shadow_cells.as_ref())
                    .map(|(shadow, cells)| (shadow.model_version.clone(), Role::Shadow, cells));
                std::iter::once(served)
                    .chain(shadow)
                    .map(|(model_version, role, cells)| {
                        let mut tally = Tally::default();
                        tally.add(cells);
                        (record.created_at, model_version, role, tally)
                    })
            });
        Ok(HourlyTally::gather(counted))
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

/// The applications logged in a window, by their position in the log.
#[async_trait]
impl LoggedRequests for MemoryDecisionStore {
    async fn count(&self, window: MinuteWindow) -> Result<u64, StoreError> {
        let log = self.log.lock().expect("log lock poisoned");
        Ok(log
            .records
            .iter()
            .filter(|record| window.contains(record.created_at))
            .count() as u64)
    }

    async fn page(
        &self,
        window: MinuteWindow,
        after: Option<LogPosition>,
        limit: u16,
    ) -> Result<RequestPage, StoreError> {
        let log = self.log.lock().expect("log lock poisoned");
        // A record's position: its time, then its place in the log.
        let mut found: Vec<(LogPosition, &CanonicalRequest)> = log
            .records
            .iter()
            .enumerate()
            .map(|(k, record)| {
                let position = LogPosition {
                    at: record.created_at,
                    seq: k as u64,
                };
                (position, &record.request)
            })
            .filter(|(position, _)| {
                window.contains(position.at) && after.is_none_or(|after| *position > after)
            })
            .collect();
        found.sort_by_key(|(position, _)| *position);
        let more = found.len() > usize::from(limit);
        found.truncate(usize::from(limit));
        Ok(RequestPage {
            next: more
                .then(|| found.last().map(|(position, _)| *position))
                .flatten(),
            requests: found
                .into_iter()
                .map(|(_, request)| request.clone())
                .collect(),
        })
    }
}
