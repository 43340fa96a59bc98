//! The near cache: verdicts read from Redis lately, kept in the process's own
//! memory, so that a repeated application is answered without a round trip.
//!
//! It stays coherent with Redis through server-assisted client-side caching
//! (`CLIENT TRACKING`): Redis remembers the keys this client's connection
//! read and tells it when one is written, deleted or expires, and the entry
//! is dropped then. Anything that could make this client miss such a message
//! (a lost connection, a reconnection before tracking is on again, a lagging
//! listener) drops every entry, and nothing is kept again until tracking is
//! confirmed on the new connection. An entry also lives no longer than
//! `max_age`: the bound on how long a message lost some other way could keep
//! it.
//!
//! A read racing a change is handled with a generation count: a read takes
//! the generation before it asks Redis, and what it read is kept only if no
//! invalidation, loss or reconnection came in between. An invalidation that
//! arrives after the read is kept removes the entry as usual.

use std::num::NonZeroUsize;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use domain::Verdict;
use lru::LruCache;

pub(crate) struct NearCache {
    state: Mutex<State>,
    max_age: Duration,
}

struct State {
    entries: LruCache<String, Kept>,
    /// Whether Redis tracks this client's reads now.
    tracked: bool,
    /// Moves on every event after which a read in flight may be stale.
    generation: u64,
}

struct Kept {
    verdict: Verdict,
    until: Instant,
}

/// What a read takes before asking Redis, to keep what it reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ticket(u64);

impl NearCache {
    /// Empty and untracked: nothing is kept until [`Self::tracked`].
    pub(crate) fn new(capacity: NonZeroUsize, max_age: Duration) -> Self {
        Self {
            state: Mutex::new(State {
                entries: LruCache::new(capacity),
                tracked: false,
                generation: 0,
            }),
            max_age,
        }
    }

    /// The verdict kept under `key`, if it is still fresh.
    pub(crate) fn get(&self, key: &str) -> Option<Verdict> {
        let mut state = self.lock();
        let kept = state.entries.get(key)?;
        if kept.until > Instant::now() {
            return Some(kept.verdict.clone());
        }
        state.entries.pop(key);
        None
    }

    /// Taken before a read from Redis; `None` while nothing may be kept.
    pub(crate) fn ticket(&self) -> Option<Ticket> {
        let state = self.lock();
        state.tracked.then_some(Ticket(state.generation))
    }

    /// Keeps what a read found, unless anything that could make it stale
    /// happened since its ticket was taken.
    pub(crate) fn keep(&self, ticket: Ticket, found: impl IntoIterator<Item = (String, Verdict)>) {
        let mut state = self.lock();
        if !state.tracked || Ticket(state.generation) != ticket {
            return;
        }
        let until = Instant::now() + self.max_age;
        for (key, verdict) in found {
            state.entries.put(key, Kept { verdict, until });
        }
    }

    /// Redis said these keys changed.
    pub(crate) fn invalidate<'a>(&self, keys: impl IntoIterator<Item = &'a str>) {
        let mut state = self.lock();
        state.generation += 1;
        for key in keys {
            state.entries.pop(key);
        }
    }

    /// Everything may have changed (a flush, or messages lost).
    pub(crate) fn drop_all(&self) {
        let mut state = self.lock();
        state.generation += 1;
        state.entries.clear();
    }

    /// The connection was lost: nothing is served or kept until tracking is
    /// on again.
    pub(crate) fn untracked(&self) {
        let mut state = self.lock();
        state.tracked = false;
        state.generation += 1;
        state.entries.clear();
    }

    /// Redis confirmed it tracks this client's reads. No ticket is out while
    /// untracked, and being untracked made every earlier one stale, so the
    /// generation stays: confirming twice spoils no read in flight.
    pub(crate) fn tracked(&self) {
        self.lock().tracked = true;
    }

    pub(crate) fn len(&self) -> usize {
        self.lock().entries.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state stays consistent whatever panicked while holding it.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(probability: f32) -> Verdict {
        Verdict::from_model(probability, 0.5, "v1")
    }

    fn tracked_cache(capacity: usize) -> NearCache {
        let near = NearCache::new(
            NonZeroUsize::new(capacity).unwrap(),
            Duration::from_secs(60),
        );
        near.tracked();
        near
    }

    #[test]
    fn nothing_is_kept_or_served_until_redis_tracks_the_reads() {
        let near = NearCache::new(NonZeroUsize::new(4).unwrap(), Duration::from_secs(60));
        assert_eq!(near.ticket(), None);
        near.tracked();
        let ticket = near.ticket().expect("tracked");
        near.keep(ticket, [("a".to_owned(), verdict(0.1))]);
        assert_eq!(near.get("a"), Some(verdict(0.1)));
        near.untracked();
        assert_eq!(near.get("a"), None);
        assert_eq!(near.ticket(), None);
    }

    #[test]
    fn a_read_is_not_kept_when_anything_changed_while_it_was_in_flight() {
        let near = tracked_cache(4);
        let events: [fn(&NearCache); 4] = [
            |near| near.invalidate(["other"]),
            NearCache::drop_all,
            NearCache::untracked,
            |near| {
                near.untracked();
                near.tracked();
            },
        ];
        for event in events {
            near.tracked();
            let ticket = near.ticket().unwrap();
            event(&near);
            near.keep(ticket, [("a".to_owned(), verdict(0.1))]);
            assert_eq!(near.get("a"), None);
        }
    }

    /// The generation only moves forward: two changes never bring an old
    /// ticket back to life.
    #[test]
    fn a_ticket_stays_stale_whatever_follows_the_change() {
        let near = tracked_cache(4);
        let ticket = near.ticket().unwrap();
        near.drop_all();
        near.invalidate(["other"]);
        near.keep(ticket, [("a".to_owned(), verdict(0.1))]);
        assert_eq!(near.get("a"), None);
    }

    #[test]
    fn tracking_confirmed_again_spoils_no_read_in_flight() {
        let near = tracked_cache(4);
        let ticket = near.ticket().unwrap();
        near.tracked();
        near.keep(ticket, [("a".to_owned(), verdict(0.1))]);
        assert_eq!(near.get("a"), Some(verdict(0.1)));
    }

    #[test]
    fn an_invalidated_key_is_dropped_and_the_others_kept() {
        let near = tracked_cache(4);
        let ticket = near.ticket().unwrap();
        near.keep(
            ticket,
            [
                ("a".to_owned(), verdict(0.1)),
                ("b".to_owned(), verdict(0.2)),
            ],
        );
        near.invalidate(["a"]);
        assert_eq!(near.get("a"), None);
        assert_eq!(near.get("b"), Some(verdict(0.2)));
    }

    #[test]
    fn an_entry_past_its_age_is_not_served() {
        let near = NearCache::new(NonZeroUsize::new(4).unwrap(), Duration::ZERO);
        near.tracked();
        near.keep(near.ticket().unwrap(), [("a".to_owned(), verdict(0.1))]);
        assert_eq!(near.get("a"), None);
        assert_eq!(near.len(), 0);
    }

    #[test]
    fn it_holds_at_most_its_capacity_dropping_the_least_recently_used() {
        let near = tracked_cache(2);
        near.keep(near.ticket().unwrap(), [("a".to_owned(), verdict(0.1))]);
        near.keep(near.ticket().unwrap(), [("b".to_owned(), verdict(0.2))]);
        assert!(near.get("a").is_some());
        near.keep(near.ticket().unwrap(), [("c".to_owned(), verdict(0.3))]);
        assert_eq!(near.len(), 2);
        assert_eq!(near.get("b"), None);
        assert!(near.get("a").is_some() && near.get("c").is_some());
    }
}
