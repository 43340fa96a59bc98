//! The client configuration of a Redis URL.

use fred::prelude::*;
use fred::types::config::ClusterDiscoveryPolicy;

/// The client configuration of a URL: `redis://`, `rediss://`, or
/// `redis-cluster://host:port,host:port` for a cluster (any reachable nodes;
/// the client discovers the rest).
pub(crate) fn config_of(url: &str) -> Result<Config, String> {
    let invalid = |error: Error| format!("not a Redis URL: {error}");
    let Some(nodes) = url.strip_prefix(CLUSTER_SCHEME) else {
        return Config::from_url(url).map_err(invalid);
    };
    // fred spells a cluster's further nodes as `?node=host:port` parameters.
    let (nodes, parameters) = nodes.split_once('?').unwrap_or((nodes, ""));
    let (first, others) = nodes.split_once(',').unwrap_or((nodes, ""));
    let mut query: Vec<String> = others
        .split(',')
        .filter(|node| !node.is_empty())
        .map(|node| format!("node={node}"))
        .collect();
    if !parameters.is_empty() {
        query.push(parameters.to_owned());
    }
    let url = if query.is_empty() {
        format!("{CLUSTER_SCHEME}{first}")
    } else {
        format!("{CLUSTER_SCHEME}{first}?{}", query.join("&"))
    };
    let mut config = Config::from_url(&url).map_err(invalid)?;
    // A node named in the URL may be the one that is down: reconnect through
    // any node the client has seen in the cluster's slot map too.
    config
        .server
        .set_cluster_discovery_policy(ClusterDiscoveryPolicy::UseCache)
        .map_err(invalid)?;
    Ok(config)
}

const CLUSTER_SCHEME: &str = "redis-cluster://";

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn a_cluster_url_lists_its_nodes() {
        let config =
            config_of("redis-cluster://10.0.0.1:7001,10.0.0.2:7002,10.0.0.3:7003").unwrap();
        let mut hosts: Vec<String> = config
            .server
            .hosts()
            .iter()
            .map(|server| format!("{}:{}", server.host, server.port))
            .collect();
        hosts.sort();
        assert_eq!(hosts, ["10.0.0.1:7001", "10.0.0.2:7002", "10.0.0.3:7003"]);
        // fred's own spelling of further nodes is kept beside ours.
        let spelled = config_of("redis-cluster://10.0.0.1:7001?node=10.0.0.2:7002").unwrap();
        assert_eq!(spelled.server.hosts().len(), 2);
        let one = config_of("redis-cluster://:pw@10.0.0.1:7001").unwrap();
        assert_eq!(one.server.hosts().len(), 1);
        assert_eq!(one.password.as_deref(), Some("pw"));
        assert!(
            !config_of("redis://10.0.0.1:6379/2")
                .unwrap()
                .server
                .is_clustered()
        );
        assert!(config_of("redis-cluster://").is_err());
    }
}
