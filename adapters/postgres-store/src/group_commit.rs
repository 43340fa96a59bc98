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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use domain::{
        Arm, CanonicalRequest, Cells, Decision, DecisionId, DecisionRecord, Outcome, Source,
        Verdict,
    };

    /// What an append that failed says.
    fn refusal(outcome: Result<(), StoreError>) -> String {
        outcome.expect_err("refused").to_string()
    }

    fn entries(count: usize) -> Vec<StoreEntry> {
        (0..count)
            .map(|_| {
                let decision_id = DecisionId::mint();
                StoreEntry {
                    record: DecisionRecord {
                        decision_id,
                        created_at: chrono::Utc::now(),
                        source: Source::Model,
                        request: CanonicalRequest::from_logged("{}".to_owned()).unwrap(),
                        response: Decision {
                            decision_id,
                            verdict: Verdict::from_model(0.1, 0.5, "v1"),
                        },
                        arm: Arm::Champion,
                        shadow: None,
                    },
                    cells: Cells::unbinned(Outcome::Approve, Source::Model),
                    shadow_cells: None,
                }
            })
            .collect()
    }

    /// A database as the writers see it: it records each group's size and
    /// writer, holds every commit until let through, and fails a group of
    /// `fails` rows.
    struct Database {
        groups: std::sync::Mutex<Vec<(usize, usize)>>,
        /// Commits begun, let through or not.
        begun: AtomicU64,
        gate: Semaphore,
        fails: usize,
    }

    impl Database {
        fn new(open: bool, fails: usize) -> Arc<Self> {
            Arc::new(Self {
                groups: std::sync::Mutex::new(Vec::new()),
                begun: AtomicU64::new(0),
                gate: Semaphore::new(if open { Semaphore::MAX_PERMITS } else { 0 }),
                fails,
            })
        }

        fn sizes(&self) -> Vec<usize> {
            let groups = self.groups.lock().unwrap();
            groups.iter().map(|&(_, size)| size).collect()
        }

        fn writers(&self) -> Vec<usize> {
            let groups = self.groups.lock().unwrap();
            groups.iter().map(|&(writer, _)| writer).collect()
        }

        fn let_through(&self, commits: usize) {
            self.gate.add_permits(commits);
        }

        fn commit(self: &Arc<Self>) -> Commit {
            let database = self.clone();
            Arc::new(move |writer, group: Vec<StoreEntry>| {
                let database = database.clone();
                Box::pin(async move {
                    database.begun.fetch_add(1, Ordering::SeqCst);
                    database.gate.acquire().await.unwrap().forget();
                    database.groups.lock().unwrap().push((writer, group.len()));
                    if group.len() == database.fails {
                        return Err(StoreError::Unavailable("disk full".to_owned()));
                    }
                    Ok(())
                })
            })
        }
    }

    fn start(
        database: &Arc<Database>,
        queue_rows: usize,
        max_group_rows: usize,
        writers: usize,
    ) -> Arc<GroupCommit> {
        let settings = GroupSettings {
            queue_rows,
            max_group_rows,
            writers,
        };
        Arc::new(GroupCommit::start(settings, database.commit()))
    }

    /// Lets the spawned writers run until `done` holds.
    async fn until(what: &str, done: impl Fn() -> bool) {
        for _ in 0..2_000 {
            if done() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        panic!("{what}: not after two seconds");
    }

    /// Appends `rows` rows in a task of its own, once the rows before it
    /// are queued: the queue's order is the order of the calls.
    async fn append(
        group: &Arc<GroupCommit>,
        rows: usize,
    ) -> tokio::task::JoinHandle<Result<(), StoreError>> {
        let queued = group.waiting_rows() + rows.min(group.settings.queue_rows);
        let appending = {
            let group = group.clone();
            tokio::spawn(async move { group.append(entries(rows)).await })
        };
        until("the append is queued", || group.waiting_rows() == queued).await;
        appending
    }

    #[tokio::test]
    async fn a_lone_append_is_committed_at_once() {
        let database = Database::new(true, 0);
        let group = start(&database, 10, 10, 1);
        assert_eq!(group.commits(), 0);
        group.append(entries(3)).await.unwrap();
        assert_eq!(database.sizes(), [3]);
        assert_eq!(group.commits(), 1);
        assert_eq!(group.waiting_rows(), 0);
    }

    #[tokio::test]
    async fn appends_that_wait_together_are_one_commit_up_to_the_largest_group() {
        let database = Database::new(false, 0);
        let group = start(&database, 100, 4, 1);
        // The first is taken alone; the rest wait behind its commit.
        let mut appends = vec![append(&group, 1).await];
        for rows in [2, 1, 1, 1, 6] {
            appends.push(append(&group, rows).await);
        }
        assert_eq!(group.waiting_rows(), 12);
        database.let_through(3);
        for appended in appends {
            appended.await.unwrap().unwrap();
        }
        // 2 + 1 + 1 reach the bound of 4; then 1 and the 6 behind it: an
        // append is never split, so a group passes its bound by the last
        // append it takes.
        assert_eq!(database.sizes(), [1, 4, 7]);
        assert_eq!(group.commits(), 3);
        assert_eq!(group.waiting_rows(), 0);
    }

    #[tokio::test]
    async fn a_failed_commit_fails_exactly_the_appends_in_it() {
        // The group of 3 rows fails.
        let database = Database::new(false, 3);
        let group = start(&database, 100, 3, 1);
        let first = append(&group, 1).await;
        let failing = [append(&group, 2).await, append(&group, 1).await];
        let last = append(&group, 1).await;
        database.let_through(3);
        first.await.unwrap().unwrap();
        for appended in failing {
            assert_eq!(
                refusal(appended.await.unwrap()),
                "the decision store is unavailable: the decision store is unavailable: disk full"
            );
        }
        last.await.unwrap().unwrap();
        assert_eq!(database.sizes(), [1, 3, 1]);
    }

    #[tokio::test]
    async fn a_full_queue_refuses_an_append_at_once_and_takes_one_again_when_drained() {
        let database = Database::new(false, 0);
        let group = start(&database, 4, 4, 1);
        let waiting = [append(&group, 1).await, append(&group, 2).await];
        assert_eq!(
            refusal(group.append(entries(2)).await),
            "the decision store is unavailable: the decision store's queue is full (4 rows wait \
             for a commit)"
        );
        assert_eq!(group.waiting_rows(), 3);
        database.let_through(2);
        for appended in waiting {
            appended.await.unwrap().unwrap();
        }
        // Larger than the whole queue: taken when the queue is empty, as a
        // group of its own.
        assert_eq!(group.waiting_rows(), 0);
        let large = append(&group, 9).await;
        database.let_through(1);
        large.await.unwrap().unwrap();
        assert_eq!(database.sizes(), [1, 2, 9]);
    }

    #[tokio::test]
    async fn writers_take_turns_each_with_its_own_number() {
        let database = Database::new(false, 0);
        let group = start(&database, 100, 1, 3);
        let appends = [
            append(&group, 1).await,
            append(&group, 1).await,
            append(&group, 1).await,
        ];
        until("three commits in flight", || {
            database.begun.load(Ordering::SeqCst) == 3
        })
        .await;
        database.let_through(3);
        for appended in appends {
            appended.await.unwrap().unwrap();
        }
        let mut writers = database.writers();
        writers.sort();
        assert_eq!(writers, [0, 1, 2]);
    }

    #[tokio::test]
    async fn draining_lets_what_is_queued_be_committed_within_its_patience() {
        let database = Database::new(false, 0);
        let group = start(&database, 100, 100, 1);
        let waiting = append(&group, 2).await;
        let draining = {
            let group = group.clone();
            tokio::spawn(async move { group.drain(Duration::from_secs(10)).await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!draining.is_finished(), "drained with rows waiting");
        database.let_through(1);
        waiting.await.unwrap().unwrap();
        draining.await.unwrap();
        assert_eq!(database.sizes(), [2]);
    }

    #[tokio::test]
    async fn an_idle_store_drains_at_once() {
        let database = Database::new(true, 0);
        let group = start(&database, 100, 100, 1);
        group.append(entries(1)).await.unwrap();
        let drained =
            tokio::time::timeout(Duration::from_secs(2), group.drain(Duration::from_secs(60)))
                .await;
        assert!(drained.is_ok(), "an empty queue waited for its patience");
    }

    #[tokio::test]
    async fn draining_waits_for_the_queue_then_stops_the_writers() {
        let database = Database::new(false, 0);
        let group = start(&database, 100, 100, 1);
        let waiting = append(&group, 2).await;
        // Nothing is committed within its patience: it stops all the same.
        group.drain(Duration::from_millis(50)).await;
        assert_eq!(group.waiting_rows(), 2);
        assert_eq!(
            refusal(waiting.await.unwrap()),
            "the decision store is unavailable: the decision store stopped before committing"
        );
        assert_eq!(group.waiting_rows(), 0);
        assert!(group.append(entries(1)).await.is_err());
        assert_eq!(database.sizes(), Vec::<usize>::new());
    }
}
