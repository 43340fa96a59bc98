//! Group commit: the appends of concurrent requests written in one statement
//! and one commit.
//!
//! An append joins a queue and waits for the commit that holds its rows. A
//! few writers take turns at the queue: the one whose turn it is takes every
//! append waiting (up to the largest group) and commits them together, while
//! the next one gathers what arrives meanwhile. Nothing waits on a timer, so
//! an idle service commits a lone append at once. Each append learns the
//! outcome of its own group: a failed commit fails exactly the appends in it.
//!
//! The queue is bounded in rows: an append that would overflow it is refused
//! at once (the caller answers 503), so a slow database never turns into
//! unbounded memory.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use domain::{StoreEntry, StoreError};
use tokio::sync::{Mutex, OwnedSemaphorePermit, Semaphore, mpsc, oneshot};
use tokio::task::JoinHandle;

/// One append waiting for its commit.
struct Waiting {
    entries: Vec<StoreEntry>,
    /// Its rows' places in the queue, given back when its group is done.
    _places: OwnedSemaphorePermit,
    done: oneshot::Sender<Result<(), StoreError>>,
}

/// How group commit is sized.
#[derive(Debug, Clone, Copy)]
pub struct GroupSettings {
    /// Rows that may wait for a commit at once.
    pub queue_rows: usize,
    /// Rows one commit takes at most (one append is never split, so a larger
    /// append is a group of its own).
    pub max_group_rows: usize,
    /// Commits that may be in flight at once, each on its own connection.
    pub writers: usize,
}

pub struct GroupCommit {
    queue: mpsc::UnboundedSender<Waiting>,
    places: Arc<Semaphore>,
    settings: GroupSettings,
    commits: Arc<AtomicU64>,
    writers: Vec<JoinHandle<()>>,
}

/// What commits a group of entries: one statement, one transaction. It is
/// told which writer calls it (0, 1, …), so that writers can keep apart.
pub type Commit = Arc<
    dyn Fn(usize, Vec<StoreEntry>) -> Pin<Box<dyn Future<Output = Result<(), StoreError>> + Send>>
        + Send
        + Sync,
>;

impl GroupCommit {
    /// The queue and its writers, spawned on the calling thread's runtime.
    pub fn start(settings: GroupSettings, commit: Commit) -> Self {
        let (queue, receiver) = mpsc::unbounded_channel();
        let turn = Arc::new(Mutex::new(receiver));
        let commits = Arc::new(AtomicU64::new(0));
        let writers = (0..settings.writers.max(1))
            .map(|writer| {
                tokio::spawn(write_groups(
                    writer,
                    turn.clone(),
                    commit.clone(),
                    settings.max_group_rows,
                    commits.clone(),
                ))
            })
            .collect();
        Self {
            queue,
            places: Arc::new(Semaphore::new(settings.queue_rows)),
            settings,
            commits,
            writers,
        }
    }

    /// Queues the entries and waits for the commit that holds them.
    pub async fn append(&self, entries: Vec<StoreEntry>) -> Result<(), StoreError> {
        let rows = entries.len().min(self.settings.queue_rows) as u32;
        let places = self
            .places
            .clone()
            .try_acquire_many_owned(rows)
            .map_err(|_| {
                StoreError::Unavailable(format!(
                    "the decision store's queue is full ({} rows wait for a commit)",
                    self.settings.queue_rows
                ))
            })?;
        let (done, outcome) = oneshot::channel();
        self.queue
            .send(Waiting {
                entries,
                _places: places,
                done,
            })
            .map_err(|_| StoreError::Unavailable("the decision store is closed".to_owned()))?;
        outcome.await.unwrap_or_else(|_| {
            Err(StoreError::Unavailable(
                "the decision store stopped before committing".to_owned(),
            ))
        })
    }

    /// Commits made so far (each of one or more appends).
    pub fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    /// Rows waiting for a commit now.
    pub fn waiting_rows(&self) -> usize {
        self.settings.queue_rows - self.places.available_permits()
    }

    /// Stops the writers once every queued append has its answer.
    pub async fn drain(&self, patience: std::time::Duration) {
        let deadline = tokio::time::Instant::now() + patience;
        while self.waiting_rows() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        self.writers.iter().for_each(JoinHandle::abort);
    }
}

async fn write_groups(
    writer: usize,
    turn: Arc<Mutex<mpsc::UnboundedReceiver<Waiting>>>,
    commit: Commit,
    max_group_rows: usize,
    commits: Arc<AtomicU64>,
) {
    loop {
        // This writer's turn: wait for the first append, then take all that
        // are already waiting behind it, up to the largest group.
        let mut group = {
            let mut queue = turn.lock().await;
            let Some(first) = queue.recv().await else {
                return;
            };
            let mut rows = first.entries.len();
            let mut group = vec![first];
            while rows < max_group_rows {
                match queue.try_recv() {
                    Ok(next) => {
                        rows += next.entries.len();
                        group.push(next);
                    }
                    Err(_) => break,
                }
            }
            group
        };
        let mut entries = Vec::with_capacity(group.iter().map(|w| w.entries.len()).sum());
        for waiting in &mut group {
            entries.append(&mut waiting.entries);
        }
        let outcome = commit(writer, entries).await;
        commits.fetch_add(1, Ordering::Relaxed);
        for waiting in group {
            let answer = match &outcome {
                Ok(()) => Ok(()),
                Err(error) => Err(StoreError::Unavailable(error.to_string())),
            };
            // A caller that stopped waiting (its request timed out) is gone.
            let _ = waiting.done.send(answer);
        }
    }
}
