//! Every replica on one database serves under the routing its newest
//! change sets: each asks for the newest change every [`EVERY`], a
//! one-row read by primary key, which works behind PgBouncer's transaction
//! pooling where LISTEN cannot. A change made here is served at once; one
//! made on another replica within [`EVERY`] and a read.

use std::sync::Arc;
use std::time::Duration;

use super::set::Models;

/// How often a replica reads the newest change.
pub const EVERY: Duration = Duration::from_secs(1);

/// Follows the store's routing until the returned handle is aborted. A
/// store that fails is retried on the next tick; meanwhile the replica
/// keeps serving under the routing it has.
pub fn follow(models: Arc<Models>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(EVERY);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut failing = false;
        loop {
            ticks.tick().await;
            match models.refresh().await {
                Ok(()) => failing = false,
                Err(error) => {
                    if !failing {
                        tracing::warn!(%error, "cannot read the routing; serving under the one held");
                    }
                    failing = true;
                }
            }
        }
    })
}
