//! Redis Cluster for the scaling tests. The shared test cluster (three
//! primaries, three replicas) is started by `scripts/test` and found through
//! `CREDIT_DECISIONS_TEST_REDIS_CLUSTER_URL`; tests use it in namespaces of
//! their own, like the single Redis. A test that breaks a cluster starts a
//! throwaway one of its own ([`ThrowawayCluster`]).

use std::net::TcpListener;
use std::ops::RangeInclusive;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fred::prelude::*;

use super::waiting::eventually;

pub const CLUSTER_VARIABLE: &str = "CREDIT_DECISIONS_TEST_REDIS_CLUSTER_URL";
const DEFAULT_CLUSTER_URL: &str = "redis-cluster://127.0.0.1:7101,127.0.0.1:7102,127.0.0.1:7103";

pub fn cluster_url() -> String {
    std::env::var(CLUSTER_VARIABLE).unwrap_or_else(|_| DEFAULT_CLUSTER_URL.to_owned())
}

/// The `host:port` of each node a cluster URL names.
fn nodes_of(url: &str) -> Vec<String> {
    url.trim_start_matches("redis-cluster://")
        .split(',')
        .map(str::to_owned)
        .collect()
}

/// A plain client on one node: it does not follow the cluster's
/// redirections, so it sees what that node holds and nothing else.
pub async fn node_client(node: &str) -> Client {
    let client = Builder::from_config(Config::from_url(&format!("redis://{node}")).unwrap())
        .build()
        .unwrap();
    let connected = tokio::time::timeout(Duration::from_secs(5), client.init()).await;
    if !matches!(connected, Ok(Ok(_))) {
        panic!(
            "cannot reach the Redis Cluster node {node} (from {CLUSTER_VARIABLE}).\n\
             scripts/test starts the test cluster; see scripts/services.sh, ensure_redis_cluster."
        );
    }
    client
}

/// Each primary's `host:port` with the slots it owns, from `CLUSTER SLOTS`
/// asked of the first node of `url` that answers.
pub async fn slot_owners(url: &str) -> Vec<(RangeInclusive<u16>, String)> {
    for node in nodes_of(url) {
        let client = node_client(&node).await;
        let reply: Result<Value, _> = client.custom(fred::cmd!("CLUSTER"), vec!["SLOTS"]).await;
        let _ = client.quit().await;
        let Ok(Value::Array(ranges)) = reply else {
            continue;
        };
        return ranges
            .into_iter()
            .map(|range| {
                let Value::Array(parts) = range else {
                    panic!("CLUSTER SLOTS answered {range:?}")
                };
                let slot = |value: &Value| value.as_i64().unwrap() as u16;
                let Value::Array(primary) = &parts[2] else {
                    panic!("CLUSTER SLOTS named no primary: {parts:?}")
                };
                let host = primary[0].as_string().unwrap();
                let port = primary[1].as_i64().unwrap();
                (slot(&parts[0])..=slot(&parts[1]), format!("{host}:{port}"))
            })
            .collect();
    }
    panic!("no node of {url} answered CLUSTER SLOTS")
}

/// The primary that owns `key`'s slot.
pub async fn owner_of(url: &str, key: &str) -> String {
    let slot = fred::util::redis_keyslot(key.as_bytes());
    slot_owners(url)
        .await
        .into_iter()
        .find(|(slots, _)| slots.contains(&slot))
        .map(|(_, node)| node)
        .unwrap_or_else(|| panic!("no primary owns slot {slot}"))
}

/// The keys matching `pattern` on each primary, as (primary, key).
pub async fn keys_by_primary(url: &str, pattern: &str) -> Vec<(String, String)> {
    let mut primaries: Vec<String> = slot_owners(url)
        .await
        .into_iter()
        .map(|(_, node)| node)
        .collect();
    primaries.sort();
    primaries.dedup();
    let mut found = Vec::new();
    for primary in primaries {
        let client = node_client(&primary).await;
        let keys: Vec<String> = client
            .custom(fred::cmd!("KEYS"), vec![pattern])
            .await
            .unwrap();
        let _ = client.quit().await;
        found.extend(keys.into_iter().map(|key| (primary.clone(), key)));
    }
    found
}

/// Deletes keys from the cluster, each on the primary that holds it (one
/// `DEL` of many keys would cross slots).
pub async fn delete_keys(located: Vec<(String, String)>) {
    for (primary, key) in located {
        let client = node_client(&primary).await;
        let _: Result<i64, _> = client.del(key).await;
        let _ = client.quit().await;
    }
}

/// A cluster of three primaries and three replicas, on free ports of the
/// test's, stopped and removed when dropped. Its short node timeout (1 s)
/// lets a replica take over a killed primary within a few seconds.
pub struct ThrowawayCluster {
    pub url: String,
    nodes: Vec<(String, Child)>,
    _dir: tempfile::TempDir,
}

impl ThrowawayCluster {
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let ports = free_cluster_ports(6);
        let nodes: Vec<(String, Child)> = ports
            .iter()
            .map(|&port| (format!("127.0.0.1:{port}"), start_node(dir.path(), port)))
            .collect();
        let addresses: Vec<&str> = nodes.iter().map(|(node, _)| node.as_str()).collect();
        for node in &addresses {
            eventually("a node answers", Duration::from_secs(10), || {
                std::future::ready(
                    redis_cli(node, &["ping"]).is_some_and(|reply| reply.trim() == "PONG"),
                )
            })
            .await;
        }
        let created = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(&addresses)
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .stdout(Stdio::null())
            .status()
            .expect("redis-cli runs (Debian: apt-get install redis-tools)");
        assert!(created.success(), "redis-cli --cluster create failed");
        let cluster = Self {
            url: format!("redis-cluster://{}", addresses[..3].join(",")),
            nodes,
            _dir: dir,
        };
        // Ready when every node sees the whole cluster, replicas included,
        // and every replica has synced with its primary: a replica that never
        // has would not take over.
        eventually("the cluster is whole", Duration::from_secs(20), || {
            std::future::ready(cluster.nodes.iter().all(|(node, _)| {
                redis_cli(node, &["cluster", "info"]).is_some_and(|info| {
                    info.contains("cluster_state:ok") && info.contains("cluster_known_nodes:6")
                }) && cluster.replicas_seen_by(node) == 3
                    && redis_cli(node, &["info", "replication"]).is_some_and(|info| {
                        info.contains("role:master") || info.contains("master_link_status:up")
                    })
            }))
        })
        .await;
        cluster
    }

    /// How many nodes `node` knows as replicas.
    fn replicas_seen_by(&self, node: &str) -> usize {
        redis_cli(node, &["cluster", "nodes"])
            .map(|nodes| {
                // The third field holds the flags, `myself,slave` for itself.
                nodes
                    .lines()
                    .filter(|line| {
                        line.split(' ')
                            .nth(2)
                            .is_some_and(|flags| flags.contains("slave"))
                    })
                    .count()
            })
            .unwrap_or(0)
    }

    /// Kills a primary's process outright, as a crashed machine would go.
    pub fn kill(&mut self, node: &str) {
        let (_, child) = self
            .nodes
            .iter_mut()
            .find(|(address, _)| address == node)
            .unwrap_or_else(|| panic!("{node} is not a node of this cluster"));
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// Waits until a live node reports the cluster whole again, with
    /// `dead` failed and its slots served by the replica that took over.
    pub async fn wait_for_failover(&self, dead: &str, within: Duration) {
        let live: Vec<&str> = self
            .nodes
            .iter()
            .map(|(node, _)| node.as_str())
            .filter(|node| *node != dead)
            .collect();
        eventually("the failover", within, || {
            std::future::ready(
                redis_cli(live[0], &["cluster", "info"])
                    .is_some_and(|info| info.contains("cluster_state:ok"))
                    && redis_cli(live[0], &["cluster", "nodes"]).is_some_and(|nodes| {
                        // id, address, flags, primary, ping, pong, epoch, link;
                        // then the slots it serves, if any.
                        nodes.lines().any(|line| {
                            let fields: Vec<&str> = line.split_whitespace().collect();
                            fields[1].starts_with(&format!("{dead}@"))
                                && fields[2].split(',').any(|flag| flag == "fail")
                                && fields.len() == 8
                        })
                    }),
            )
        })
        .await;
    }
}

impl Drop for ThrowawayCluster {
    fn drop(&mut self) {
        for (_, child) in &mut self.nodes {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn start_node(dir: &Path, port: u16) -> Child {
    Command::new("redis-server")
        .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
        .args(["--cluster-enabled", "yes", "--cluster-node-timeout", "1000"])
        .arg("--cluster-config-file")
        .arg(dir.join(format!("nodes-{port}.conf")))
        .args(["--save", "", "--appendonly", "no"])
        .arg("--dir")
        .arg(dir)
        .stdout(Stdio::null())
        .spawn()
        .expect("redis-server runs (Debian: apt-get install redis-server)")
}

/// Ports that are free, and whose cluster bus ports (port + 10000) are too.
fn free_cluster_ports(count: usize) -> Vec<u16> {
    let mut ports = Vec::new();
    while ports.len() < count {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let bus_free = port < 55_000 && TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok();
        if bus_free && !ports.contains(&port) {
            ports.push(port);
        }
    }
    ports
}

/// `redis-cli -h host -p port <args>`'s output, if it answered.
fn redis_cli(node: &str, args: &[&str]) -> Option<String> {
    let (host, port) = node.rsplit_once(':').unwrap();
    let output = Command::new("redis-cli")
        .args(["-h", host, "-p", port])
        .args(args)
        .stderr(Stdio::null())
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
        .filter(|text| !text.starts_with("Could not connect"))
}
