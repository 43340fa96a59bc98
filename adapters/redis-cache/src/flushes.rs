//! Noticing that Redis was flushed, for the near cache.
//!
//! On `FLUSHDB`, `FLUSHALL` or `SWAPDB` Redis tells every tracking client
//! with one invalidation message that names no key. fred 10.1 drops that
//! message when it comes over RESP3 (`broadcast_resp3_invalidation` passes
//! on only an array of keys, and the flush's payload is a null), so the
//! near cache would keep serving what the operator flushed away.
//!
//! So each client keeps canary keys of its own in Redis, one on every
//! primary (a flush empties one node), and refreshes them a few times a
//! second with `SET … XX`, which writes only a key that still exists. A
//! canary gone means its node was flushed (or the key evicted, which costs
//! only the near cache's contents): the near cache is dropped and the
//! canary planted again. A flush is noticed within [`CHECK_EVERY`].

use std::time::Duration;

use fred::interfaces::ClusterInterface;
use fred::prelude::*;
use fred::types::{Expiration, SetOptions};

/// How often the canaries are looked at: the longest a flushed verdict may
/// still be served from memory.
pub(crate) const CHECK_EVERY: Duration = Duration::from_millis(250);

/// A canary outlives the client that planted it by at most this long.
const CANARY_LIFETIME_SECS: i64 = 3600;

pub(crate) struct Canaries {
    /// `<namespace>:near-canary:{<tag>}:<client id>`, with `<tag>` filled
    /// in for the node it must live on.
    prefix: String,
    suffix: String,
}

impl Canaries {
    pub(crate) fn new(namespace: &str, client_id: &str) -> Self {
        Self {
            prefix: format!("{namespace}:near-canary:{{"),
            suffix: format!("}}:{client_id}"),
        }
    }

    /// One canary per primary: on a cluster, a key whose hash tag falls in
    /// a slot range of each primary; on one server, one key.
    fn keys(&self, client: &Client) -> Vec<String> {
        let tags: Vec<String> = match client.cached_cluster_state() {
            None => vec!["0".to_owned()],
            Some(routing) => routing
                .unique_primary_nodes()
                .iter()
                .filter_map(|primary| {
                    let range = routing.slots().iter().find(|r| &r.primary == primary)?;
                    (0u32..).map(|n| n.to_string()).find(|tag| {
                        let slot = fred::util::redis_keyslot(tag.as_bytes());
                        (range.start..=range.end).contains(&slot)
                    })
                })
                .collect(),
        };
        tags.into_iter()
            .map(|tag| format!("{}{tag}{}", self.prefix, self.suffix))
            .collect()
    }

    /// Plants every canary, before the near cache keeps anything: what a
    /// flush removes from then on is noticed.
    pub(crate) async fn plant(&self, client: &Client) -> Result<(), Error> {
        self.set_all(client, None).await.map(|_| ())
    }

    /// Refreshes every canary; `Ok(true)` when one was gone (and is planted
    /// again). An error says nothing of a flush: a lost connection empties
    /// the near cache by itself.
    pub(crate) async fn any_gone(&self, client: &Client) -> Result<bool, Error> {
        let refreshed = self.set_all(client, Some(SetOptions::XX)).await?;
        if refreshed.iter().all(|answer| !answer.is_null()) {
            return Ok(false);
        }
        self.plant(client).await?;
        Ok(true)
    }

    async fn set_all(
        &self,
        client: &Client,
        only: Option<SetOptions>,
    ) -> Result<Vec<Value>, Error> {
        let keys = self.keys(client);
        crate::commands::concurrently(keys.iter().map(|key| {
            client.set::<Value, _, _>(
                key.as_str(),
                1,
                Some(Expiration::EX(CANARY_LIFETIME_SECS)),
                only.clone(),
                false,
            )
        }))
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_canary_is_namespaced_tagged_and_the_clients_own() {
        let canaries = Canaries::new("credit-decisions", "c1");
        let client = Builder::default_centralized().build().unwrap();
        assert_eq!(
            canaries.keys(&client),
            ["credit-decisions:near-canary:{0}:c1"]
        );
    }

    /// On the suite's Redis Cluster (`CREDIT_DECISIONS_TEST_REDIS_CLUSTER_URL`,
    /// started by scripts/test): one canary on each primary, so a flush of
    /// any node is noticed.
    #[tokio::test]
    async fn on_a_cluster_each_primary_holds_one_canary() {
        let url = std::env::var("CREDIT_DECISIONS_TEST_REDIS_CLUSTER_URL").unwrap_or_else(|_| {
            "redis-cluster://127.0.0.1:7101,127.0.0.1:7102,127.0.0.1:7103".to_owned()
        });
        let client = Builder::from_config(crate::url::config_of(&url).unwrap())
            .build()
            .unwrap();
        client
            .init()
            .await
            .expect("the Redis Cluster answers (scripts/test starts it)");
        let routing = client.cached_cluster_state().expect("a cluster's slot map");
        let keys = Canaries::new("credit-decisions", "c1").keys(&client);
        let mut holders: Vec<String> = keys
            .iter()
            .map(|key| {
                let tag = key.split(['{', '}']).nth(1).unwrap();
                let slot = fred::util::redis_keyslot(tag.as_bytes());
                routing.get_server(slot).unwrap().to_string()
            })
            .collect();
        holders.sort();
        let mut primaries: Vec<String> = routing
            .unique_primary_nodes()
            .iter()
            .map(ToString::to_string)
            .collect();
        primaries.sort();
        assert_eq!(holders, primaries);
        let _ = client.quit().await;
    }
}
