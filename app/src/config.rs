//! The service's configuration: the contract's environment variables, typed,
//! with their defaults in one place.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use thiserror::Error;

pub const DEFAULT_ADDR: &str = "127.0.0.1:8080";
pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(86_400);
/// The longest a cache call may hold a request before it counts as a miss.
pub const DEFAULT_CACHE_TIMEOUT: Duration = Duration::from_millis(50);
/// The prefix of every key the service writes to Redis.
pub const DEFAULT_REDIS_NAMESPACE: &str = "credit-decisions";

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub addr: SocketAddr,
    pub cache: CacheConfig,
    pub cache_ttl: Duration,
    pub store: StoreConfig,
    /// `None` serves the model built into the binary.
    pub model: Option<PathBuf>,
    /// `None` turns authentication off.
    pub api_keys: Option<Vec<String>>,
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CacheConfig {
    Memory,
    Redis {
        url: String,
        namespace: String,
        timeout: Duration,
    },
    None,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StoreConfig {
    Memory,
    Postgres { url: String },
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Error, PartialEq)]
#[error("{variable}: {problem}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub problem: String,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok().filter(|value| !value.is_empty()))
    }

    /// Reads every variable through `lookup`, so tests need not touch the
    /// process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let error = |variable: &'static str, problem: String| ConfigError { variable, problem };
        let required = |variable: &'static str, when: &str| {
            lookup(variable).ok_or_else(|| error(variable, format!("is required when {when}")))
        };

        let addr_text = lookup("CREDIT_DECISIONS_ADDR").unwrap_or_else(|| DEFAULT_ADDR.to_owned());
        let addr = addr_text.parse().map_err(|_| {
            error(
                "CREDIT_DECISIONS_ADDR",
                format!("'{addr_text}' is not an address like {DEFAULT_ADDR}"),
            )
        })?;

        let cache = match lookup("CREDIT_DECISIONS_CACHE").as_deref() {
            None | Some("memory") => CacheConfig::Memory,
            Some("none") => CacheConfig::None,
            Some("redis") => CacheConfig::Redis {
                url: required("CREDIT_DECISIONS_REDIS_URL", "CREDIT_DECISIONS_CACHE=redis")?,
                namespace: lookup("CREDIT_DECISIONS_REDIS_NAMESPACE")
                    .unwrap_or_else(|| DEFAULT_REDIS_NAMESPACE.to_owned()),
                timeout: match lookup("CREDIT_DECISIONS_CACHE_TIMEOUT_MS") {
                    None => DEFAULT_CACHE_TIMEOUT,
                    Some(text) => Duration::from_millis(positive(&text).ok_or_else(|| {
                        error(
                            "CREDIT_DECISIONS_CACHE_TIMEOUT_MS",
                            format!("'{text}' is not a positive number of milliseconds"),
                        )
                    })?),
                },
            },
            Some(other) => {
                return Err(error(
                    "CREDIT_DECISIONS_CACHE",
                    format!("'{other}' is not one of memory, redis, none"),
                ));
            }
        };

        let cache_ttl = match lookup("CREDIT_DECISIONS_CACHE_TTL_SECS") {
            None => DEFAULT_CACHE_TTL,
            Some(text) => Duration::from_secs(positive(&text).ok_or_else(|| {
                error(
                    "CREDIT_DECISIONS_CACHE_TTL_SECS",
                    format!("'{text}' is not a positive number of seconds"),
                )
            })?),
        };

        let store = match lookup("CREDIT_DECISIONS_STORE").as_deref() {
            None | Some("memory") => StoreConfig::Memory,
            Some("postgres") => StoreConfig::Postgres {
                url: required(
                    "CREDIT_DECISIONS_DATABASE_URL",
                    "CREDIT_DECISIONS_STORE=postgres",
                )?,
            },
            Some(other) => {
                return Err(error(
                    "CREDIT_DECISIONS_STORE",
                    format!("'{other}' is not one of memory, postgres"),
                ));
            }
        };

        let api_keys = match lookup("CREDIT_DECISIONS_API_KEYS") {
            None => None,
            Some(text) => {
                let keys: Vec<String> = text
                    .split(',')
                    .map(str::trim)
                    .filter(|key| !key.is_empty())
                    .map(str::to_owned)
                    .collect();
                if keys.is_empty() {
                    return Err(error(
                        "CREDIT_DECISIONS_API_KEYS",
                        "holds no key".to_owned(),
                    ));
                }
                Some(keys)
            }
        };

        let log_format = match lookup("CREDIT_DECISIONS_LOG_FORMAT").as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(error(
                    "CREDIT_DECISIONS_LOG_FORMAT",
                    format!("'{other}' is not one of text, json"),
                ));
            }
        };

        Ok(Config {
            addr,
            cache,
            cache_ttl,
            store,
            model: lookup("CREDIT_DECISIONS_MODEL").map(PathBuf::from),
            api_keys,
            log_format,
        })
    }
}

fn positive(text: &str) -> Option<u64> {
    text.trim().parse().ok().filter(|&n| n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use std::collections::HashMap;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn nothing_set_means_memory_adapters_and_the_built_in_model() {
        assert_eq!(
            config(&[]).unwrap(),
            Config {
                addr: DEFAULT_ADDR.parse().unwrap(),
                cache: CacheConfig::Memory,
                cache_ttl: DEFAULT_CACHE_TTL,
                store: StoreConfig::Memory,
                model: None,
                api_keys: None,
                log_format: LogFormat::Text,
            }
        );
    }

    #[test]
    fn redis_needs_its_url() {
        assert_eq!(
            config(&[("CREDIT_DECISIONS_CACHE", "redis")]).unwrap_err(),
            ConfigError {
                variable: "CREDIT_DECISIONS_REDIS_URL",
                problem: "is required when CREDIT_DECISIONS_CACHE=redis".to_owned()
            }
        );
    }

    #[test]
    fn postgres_needs_its_url() {
        let error = config(&[("CREDIT_DECISIONS_STORE", "postgres")]).unwrap_err();
        assert_eq!(error.variable, "CREDIT_DECISIONS_DATABASE_URL");
    }

    #[test]
    fn unknown_values_are_refused_by_name() {
        assert_eq!(
            config(&[("CREDIT_DECISIONS_CACHE", "memcached")])
                .unwrap_err()
                .to_string(),
            "CREDIT_DECISIONS_CACHE: 'memcached' is not one of memory, redis, none"
        );
        assert!(config(&[("CREDIT_DECISIONS_CACHE_TTL_SECS", "0")]).is_err());
        assert!(config(&[("CREDIT_DECISIONS_ADDR", "localhost")]).is_err());
        assert!(config(&[("CREDIT_DECISIONS_API_KEYS", " , ")]).is_err());
    }

    #[test]
    fn api_keys_are_comma_separated() {
        let keys = config(&[("CREDIT_DECISIONS_API_KEYS", "alpha, beta")])
            .unwrap()
            .api_keys;
        assert_eq!(keys, Some(vec!["alpha".to_owned(), "beta".to_owned()]));
    }
}
