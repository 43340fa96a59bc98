//! Keeping the near cache coherent with Redis: its client's tracking
//! invalidations applied, and everything dropped whenever they may have been
//! missed (a lost or replaced connection, a listener that fell behind, a
//! flush seen by the canaries).

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;

use fred::interfaces::TrackingInterface;
use fred::prelude::*;
use tokio::sync::broadcast::error::RecvError;

use crate::flushes::{self, Canaries};
use crate::near::NearCache;
use crate::settings::RedisCacheSettings;

/// The longest the near cache keeps a verdict, whatever Redis says (and
/// never longer than the entry's TTL): the bound on how long an invalidation
/// lost in some way nothing noticed could leave one stale.
const NEAR_MAX_AGE: Duration = Duration::from_secs(60);

/// The longest the near cache waits for a reconnection fred announced to
/// complete before asking Redis to track it.
const RECONNECTED_WITHIN: Duration = Duration::from_secs(5);

/// The near cache of a client about to connect, with the task that keeps it
/// coherent on the calling thread's runtime; `None` when it is off.
pub(crate) fn near_cache_of(
    client: &Client,
    settings: &RedisCacheSettings,
) -> Option<(Arc<NearCache>, Arc<Canaries>)> {
    let capacity = NonZeroUsize::new(settings.near_entries)?;
    let near = Arc::new(NearCache::new(capacity, NEAR_MAX_AGE.min(settings.ttl)));
    // Listening from now on: no event of a connection made later is missed.
    let events = Events {
        invalidations: client.invalidation_rx(),
        errors: client.error_rx(),
        reconnections: client.reconnect_rx(),
    };
    let canaries = Arc::new(Canaries::new(
        &settings.namespace,
        &format!("{}-{}", std::process::id(), client.id()),
    ));
    tokio::spawn(keep_coherent(
        client.clone(),
        events,
        near.clone(),
        canaries.clone(),
    ));
    Some((near, canaries))
}

/// What a client tells of its connections.
struct Events {
    invalidations: tokio::sync::broadcast::Receiver<fred::types::client::Invalidation>,
    errors: tokio::sync::broadcast::Receiver<(Error, Option<Server>)>,
    reconnections: tokio::sync::broadcast::Receiver<Server>,
}

/// Applies what Redis says of the keys this client read, and drops the near
/// cache whenever the connection may have missed some of it: lost, replaced,
/// or a listener that fell behind, or Redis flushed (seen by the canaries).
/// Runs until the client quits.
async fn keep_coherent(
    client: Client,
    events: Events,
    near: Arc<NearCache>,
    canaries: Arc<Canaries>,
) {
    let Events {
        mut invalidations,
        mut errors,
        mut reconnections,
    } = events;
    let mut flush_checks = tokio::time::interval(flushes::CHECK_EVERY);
    flush_checks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The first connection may have been made before these listened.
    if near.ticket().is_none() {
        track(&client, &near, &canaries).await;
    }
    loop {
        tokio::select! {
            message = invalidations.recv() => match message {
                // A flush names no keys (fred 10.1 passes RESP2's form of it
                // on; RESP3's is lost, which `NEAR_MAX_AGE` bounds).
                Ok(invalidation) if invalidation.keys.is_empty() => near.drop_all(),
                Ok(invalidation) => {
                    near.invalidate(invalidation.keys.iter().filter_map(|key| key.as_str()));
                }
                Err(RecvError::Lagged(_)) => near.drop_all(),
                Err(RecvError::Closed) => return,
            },
            event = errors.recv() => {
                if matches!(event, Err(RecvError::Closed)) {
                    return;
                }
                near.untracked();
                track(&client, &near, &canaries).await;
            }
            _ = flush_checks.tick() => {
                // Nothing is served from memory while untracked.
                if near.ticket().is_some() && client.is_connected()
                    && let Ok(true) = canaries.any_gone(&client).await
                {
                    near.drop_all();
                }
            }
            event = reconnections.recv() => {
                if matches!(event, Err(RecvError::Closed)) {
                    return;
                }
                near.untracked();
                // fred announces a new connection before it counts as
                // connected: wait for that (bounded, in case the moment
                // passed before this listened), then track it.
                let _ = tokio::time::timeout(RECONNECTED_WITHIN, client.wait_for_connect()).await;
                track(&client, &near, &canaries).await;
            }
        }
    }
}

/// Asks Redis to track this client's reads (on every node of a cluster),
/// not telling it of its own writes, with the canaries of flushes planted
/// first; the near cache serves once it has.
pub(crate) async fn track(client: &Client, near: &NearCache, canaries: &Canaries) {
    if !client.is_connected() {
        // The next connection is announced, and tracked then.
        return;
    }
    if let Err(error) = canaries.plant(client).await {
        tracing::warn!(%error, "the near cache's canaries cannot be planted; it stays off until Redis reconnects");
        return;
    }
    match client.start_tracking(None, false, false, false, true).await {
        Ok(()) => near.tracked(),
        Err(error) => {
            tracing::warn!(%error, "Redis does not track reads; the near cache stays off until it reconnects")
        }
    }
}
