//! The service's configuration: the contract's environment variables, typed,
//! range-checked, with their defaults in one place. A value out of its range
//! stops the service at start-up naming the variable (exit code 2), never a
//! panic or a silent failure later. Secrets are kept in types that never
//! print them ([`crate::startup::secrets`]).

use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::time::Duration;

use postgres_store::PoolMode;
use redis_cache::SigningKey;
use thiserror::Error;

use crate::startup::secrets::{SecretKeys, SecretUrl};

pub const DEFAULT_ADDR: &str = "127.0.0.1:8080";
/// The prefix of every key the service writes to Redis.
pub const DEFAULT_REDIS_NAMESPACE: &str = "credit-decisions";

/// A numeric setting: its variable, its range and its default.
pub struct Setting {
    pub variable: &'static str,
    pub range: RangeInclusive<u64>,
    pub default: u64,
    pub unit: &'static str,
}

/// Cache entry lifetime: one second to one year (the contract's range).
pub(crate) const CACHE_TTL_SECS: Setting = Setting {
    variable: "CREDIT_DECISIONS_CACHE_TTL_SECS",
    range: 1..=31_536_000,
    default: 86_400,
    unit: "seconds",
};
/// The longest one Redis call may hold a request (the contract's range).
pub(crate) const CACHE_TIMEOUT_MS: Setting = Setting {
    variable: "CREDIT_DECISIONS_CACHE_TIMEOUT_MS",
    range: 1..=10_000,
    default: 50,
    unit: "milliseconds",
};
/// Verdicts each worker thread keeps in memory in front of Redis (the near
/// cache, coherent through Redis's client tracking); 0 turns it off.
pub(crate) const CACHE_NEAR_ENTRIES: Setting = Setting {
    variable: "CREDIT_DECISIONS_CACHE_NEAR_ENTRIES",
    range: 0..=1_000_000,
    default: 4_096,
    unit: "entries",
};
/// Months a logged decision is kept; 25 is Regulation B §1002.12(b).
pub(crate) const LOG_RETENTION_MONTHS: Setting = Setting {
    variable: "CREDIT_DECISIONS_LOG_RETENTION_MONTHS",
    range: 1..=1_200,
    default: 25,
    unit: "months",
};
/// The longest a request waits for its log row to be committed before it
/// is answered 503.
pub(crate) const LOG_TIMEOUT_MS: Setting = Setting {
    variable: "CREDIT_DECISIONS_LOG_TIMEOUT_MS",
    range: 1..=60_000,
    default: 5_000,
    unit: "milliseconds",
};
/// Connections to PostgreSQL: the commit writers', and the reads', shared
/// out among the worker threads (one each at least).
pub(crate) const DATABASE_POOL_SIZE: Setting = Setting {
    variable: "CREDIT_DECISIONS_DATABASE_POOL_SIZE",
    range: 2..=1_000,
    default: 16,
    unit: "connections",
};
/// Rows that may wait for a commit; past it a decision is answered 503.
pub(crate) const LOG_QUEUE_ROWS: Setting = Setting {
    variable: "CREDIT_DECISIONS_LOG_QUEUE_ROWS",
    range: 1..=1_000_000,
    default: 10_000,
    unit: "rows",
};
/// The most rows one commit takes.
pub(crate) const LOG_GROUP_ROWS: Setting = Setting {
    variable: "CREDIT_DECISIONS_LOG_GROUP_ROWS",
    range: 1..=100_000,
    default: 2_000,
    unit: "rows",
};
/// Commits in flight at once, for the whole process (every worker thread's
/// appends join one queue). One gathers the largest groups.
pub(crate) const LOG_WRITERS: Setting = Setting {
    variable: "CREDIT_DECISIONS_LOG_WRITERS",
    range: 1..=64,
    default: 1,
    unit: "writers",
};
/// The longest a request's body may take to arrive before it is answered 408.
pub(crate) const BODY_TIMEOUT_MS: Setting = Setting {
    variable: "CREDIT_DECISIONS_BODY_TIMEOUT_MS",
    range: 1..=60_000,
    default: 10_000,
    unit: "milliseconds",
};

const CACHE_SIGNING_KEY: &str = "CREDIT_DECISIONS_CACHE_SIGNING_KEY";
const DATABASE_OWNER_URL: &str = "CREDIT_DECISIONS_DATABASE_OWNER_URL";

/// The settings of the Redis cache alone.
const REDIS_SETTINGS: &[&str] = &[
    "CREDIT_DECISIONS_REDIS_URL",
    "CREDIT_DECISIONS_REDIS_NAMESPACE",
    CACHE_TIMEOUT_MS.variable,
    CACHE_NEAR_ENTRIES.variable,
    CACHE_SIGNING_KEY,
];
/// The settings of any cache.
const CACHE_SETTINGS: &[&str] = &[CACHE_TTL_SECS.variable];
/// The settings of the PostgreSQL log alone.
const POSTGRES_SETTINGS: &[&str] = &[
    "CREDIT_DECISIONS_DATABASE_URL",
    DATABASE_OWNER_URL,
    "CREDIT_DECISIONS_DATABASE_POOL_MODE",
    DATABASE_POOL_SIZE.variable,
    LOG_RETENTION_MONTHS.variable,
    LOG_TIMEOUT_MS.variable,
    LOG_QUEUE_ROWS.variable,
    LOG_GROUP_ROWS.variable,
    LOG_WRITERS.variable,
];

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub addr: SocketAddr,
    /// When set, `/metrics` and `/monitoring` are served here only.
    pub operator_addr: Option<SocketAddr>,
    pub cache: CacheConfig,
    pub cache_ttl: Duration,
    pub store: StoreConfig,
    /// `None` serves the model built into the binary.
    pub model: Option<PathBuf>,
    /// A directory of model versions the routing may choose from.
    pub models_dir: Option<PathBuf>,
    /// With neither API nor admin keys, authentication is off.
    pub api_keys: Option<SecretKeys>,
    /// Keys for admin operations (routing, reloading models).
    pub admin_keys: Option<SecretKeys>,
    pub log_format: LogFormat,
    pub body_timeout: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CacheConfig {
    Memory,
    Redis {
        url: SecretUrl,
        namespace: String,
        timeout: Duration,
        /// Verdicts each worker keeps in memory in front of Redis; 0 for none.
        near_entries: usize,
        /// Signs the entries; `None` checks them without signatures.
        signing_key: Option<SigningKey>,
    },
    None,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StoreConfig {
    Memory,
    Postgres {
        url: SecretUrl,
        /// The role that owns the schema, when not the serving one.
        owner_url: Option<SecretUrl>,
        retention_months: u32,
        /// The longest a request waits for its row to be committed.
        timeout: Duration,
        pool_size: u32,
        /// Whether PgBouncer in transaction pooling stands in between.
        pool_mode: PoolMode,
        queue_rows: usize,
        group_rows: usize,
        writers: usize,
    },
}

/// As the start-up line names it: the adapter, and where it is, never a
/// password.
impl std::fmt::Display for CacheConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CacheConfig::Memory => f.write_str("memory"),
            CacheConfig::None => f.write_str("none"),
            CacheConfig::Redis {
                url, signing_key, ..
            } => {
                let signed = if signing_key.is_some() {
                    "signed"
                } else {
                    "unsigned"
                };
                write!(f, "redis at {url} (entries {signed})")
            }
        }
    }
}

impl std::fmt::Display for StoreConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreConfig::Memory => {
                f.write_str("memory (decisions kept as long as the process runs)")
            }
            StoreConfig::Postgres { url, owner_url, .. } => {
                write!(f, "postgres at {url}")?;
                match owner_url {
                    Some(owner) => write!(f, " (schema owned by {owner})"),
                    None => f.write_str(" (the same role owns the schema)"),
                }
            }
        }
    }
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
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads every variable through `lookup`, so tests need not touch the
    /// process environment. A variable set to nothing counts as unset, but
    /// for the secrets: a key set to nothing is a mistake, never "no keys".
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let raw = &lookup;
        let lookup = |name: &str| raw(name).filter(|value| !value.is_empty());
        let error = |variable: &'static str, problem: String| ConfigError { variable, problem };
        let required = |variable: &'static str, when: &str| {
            lookup(variable).ok_or_else(|| error(variable, format!("is required when {when}")))
        };
        let number = |setting: &Setting| -> Result<u64, ConfigError> {
            let Some(text) = lookup(setting.variable) else {
                return Ok(setting.default);
            };
            // Digits only: no sign, no space, nothing a typo could hide in.
            Some(text.as_str())
                .filter(|text| text.bytes().all(|byte| byte.is_ascii_digit()))
                .and_then(|text| text.parse::<u64>().ok())
                .filter(|value| setting.range.contains(value))
                .ok_or_else(|| {
                    error(
                        setting.variable,
                        format!(
                            "'{text}' is not a whole number of {} from {} to {}",
                            setting.unit,
                            setting.range.start(),
                            setting.range.end()
                        ),
                    )
                })
        };
        let address = |variable: &'static str, text: String| -> Result<SocketAddr, ConfigError> {
            text.parse().map_err(|_| {
                error(
                    variable,
                    format!("'{text}' is not an address like {DEFAULT_ADDR}"),
                )
            })
        };

        let addr = address(
            "CREDIT_DECISIONS_ADDR",
            lookup("CREDIT_DECISIONS_ADDR").unwrap_or_else(|| DEFAULT_ADDR.to_owned()),
        )?;
        let operator_addr = lookup("CREDIT_DECISIONS_OPERATOR_ADDR")
            .map(|text| address("CREDIT_DECISIONS_OPERATOR_ADDR", text))
            .transpose()?;
        if operator_addr.is_some_and(|operator| operator == addr && addr.port() != 0) {
            return Err(error(
                "CREDIT_DECISIONS_OPERATOR_ADDR",
                "is the public address; give the operators an address of their own".to_owned(),
            ));
        }

        let cache = match lookup("CREDIT_DECISIONS_CACHE").as_deref() {
            None | Some("memory") => CacheConfig::Memory,
            Some("none") => CacheConfig::None,
            Some("redis") => CacheConfig::Redis {
                url: url_with_scheme(
                    "CREDIT_DECISIONS_REDIS_URL",
                    required("CREDIT_DECISIONS_REDIS_URL", "CREDIT_DECISIONS_CACHE=redis")?,
                    &["redis", "rediss", "redis-cluster"],
                )?,
                namespace: lookup("CREDIT_DECISIONS_REDIS_NAMESPACE")
                    .unwrap_or_else(|| DEFAULT_REDIS_NAMESPACE.to_owned()),
                timeout: Duration::from_millis(number(&CACHE_TIMEOUT_MS)?),
                near_entries: number(&CACHE_NEAR_ENTRIES)? as usize,
                signing_key: match raw(CACHE_SIGNING_KEY) {
                    None => None,
                    Some(key) if key.trim().is_empty() => {
                        return Err(error(
                            CACHE_SIGNING_KEY,
                            "is set but holds no key".to_owned(),
                        ));
                    }
                    Some(key) => Some(SigningKey::new(key)),
                },
            },
            Some(other) => {
                return Err(error(
                    "CREDIT_DECISIONS_CACHE",
                    format!("'{other}' is not one of memory, redis, none"),
                ));
            }
        };
        let cache_ttl = Duration::from_secs(number(&CACHE_TTL_SECS)?);

        let store = match lookup("CREDIT_DECISIONS_STORE").as_deref() {
            None | Some("memory") => StoreConfig::Memory,
            Some("postgres") => StoreConfig::Postgres {
                url: url_with_scheme(
                    "CREDIT_DECISIONS_DATABASE_URL",
                    required(
                        "CREDIT_DECISIONS_DATABASE_URL",
                        "CREDIT_DECISIONS_STORE=postgres",
                    )?,
                    &["postgres", "postgresql"],
                )?,
                owner_url: lookup(DATABASE_OWNER_URL)
                    .map(|url| {
                        url_with_scheme(DATABASE_OWNER_URL, url, &["postgres", "postgresql"])
                    })
                    .transpose()?,
                retention_months: number(&LOG_RETENTION_MONTHS)? as u32,
                timeout: Duration::from_millis(number(&LOG_TIMEOUT_MS)?),
                pool_size: number(&DATABASE_POOL_SIZE)? as u32,
                pool_mode: match lookup("CREDIT_DECISIONS_DATABASE_POOL_MODE").as_deref() {
                    None | Some("session") => PoolMode::Session,
                    Some("transaction") => PoolMode::Transaction,
                    Some(other) => {
                        return Err(error(
                            "CREDIT_DECISIONS_DATABASE_POOL_MODE",
                            format!("'{other}' is not one of session, transaction"),
                        ));
                    }
                },
                queue_rows: number(&LOG_QUEUE_ROWS)? as usize,
                group_rows: number(&LOG_GROUP_ROWS)? as usize,
                writers: match number(&LOG_WRITERS)? {
                    // Reads need a connection of their own.
                    writers if writers < number(&DATABASE_POOL_SIZE)? => writers as usize,
                    writers => {
                        return Err(error(
                            LOG_WRITERS.variable,
                            format!(
                                "{writers} writers need a pool of more connections \
                                 (CREDIT_DECISIONS_DATABASE_POOL_SIZE)"
                            ),
                        ));
                    }
                },
            },
            Some(other) => {
                return Err(error(
                    "CREDIT_DECISIONS_STORE",
                    format!("'{other}' is not one of memory, postgres"),
                ));
            }
        };

        // A setting of an adapter that is not selected is a mistake (a
        // database URL without the PostgreSQL store would keep the store in
        // memory, and lose it at the next restart): refused, never ignored.
        let selected = [
            (
                matches!(cache, CacheConfig::Redis { .. }),
                "CREDIT_DECISIONS_CACHE=redis",
                REDIS_SETTINGS,
            ),
            (
                !matches!(cache, CacheConfig::None),
                "a cache (CREDIT_DECISIONS_CACHE memory or redis)",
                CACHE_SETTINGS,
            ),
            (
                matches!(store, StoreConfig::Postgres { .. }),
                "CREDIT_DECISIONS_STORE=postgres",
                POSTGRES_SETTINGS,
            ),
        ];
        for (is_selected, when, variables) in selected {
            if let Some(variable) = variables
                .iter()
                .find(|variable| !is_selected && lookup(variable).is_some())
            {
                return Err(error(
                    variable,
                    format!("applies only with {when}, which is not set"),
                ));
            }
        }

        let keys = |variable: &'static str| match raw(variable) {
            None => Ok(None),
            Some(text) => {
                let keys: Vec<String> = text
                    .split(',')
                    .map(str::trim)
                    .filter(|key| !key.is_empty())
                    .map(str::to_owned)
                    .collect();
                if keys.is_empty() {
                    return Err(error(
                        variable,
                        "is set but holds no key; unset it to serve without keys".to_owned(),
                    ));
                }
                Ok(Some(SecretKeys(keys)))
            }
        };
        let api_keys = keys("CREDIT_DECISIONS_API_KEYS")?;
        let admin_keys = keys("CREDIT_DECISIONS_ADMIN_KEYS")?;

        let models_dir = match lookup("CREDIT_DECISIONS_MODELS_DIR").map(PathBuf::from) {
            Some(dir) if !dir.is_dir() => {
                return Err(error(
                    "CREDIT_DECISIONS_MODELS_DIR",
                    format!("{} is not a directory this service can read", dir.display()),
                ));
            }
            dir => dir,
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
            operator_addr,
            cache,
            cache_ttl,
            store,
            model: lookup("CREDIT_DECISIONS_MODEL").map(PathBuf::from),
            models_dir,
            api_keys,
            admin_keys,
            log_format,
            body_timeout: Duration::from_millis(number(&BODY_TIMEOUT_MS)?),
        })
    }
}

/// A URL whose scheme is one of `schemes`. A refusal does not quote it: a
/// URL too broken to parse may hide a password where no redaction finds it.
fn url_with_scheme(
    variable: &'static str,
    url: String,
    schemes: &[&str],
) -> Result<SecretUrl, ConfigError> {
    let scheme = url.split_once("://").map(|(scheme, _)| scheme);
    if scheme.is_some_and(|scheme| schemes.contains(&scheme)) {
        Ok(SecretUrl::new(url))
    } else {
        Err(ConfigError {
            variable,
            problem: format!(
                "is not a URL of scheme {} (not shown: it may hold a password)",
                schemes.join(", ")
            ),
        })
    }
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
                operator_addr: None,
                cache: CacheConfig::Memory,
                cache_ttl: Duration::from_secs(86_400),
                store: StoreConfig::Memory,
                model: None,
                models_dir: None,
                api_keys: None,
                admin_keys: None,
                log_format: LogFormat::Text,
                body_timeout: Duration::from_secs(10),
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
        assert!(config(&[("CREDIT_DECISIONS_API_KEYS", "")]).is_err());
    }

    #[test]
    fn api_keys_are_comma_separated() {
        let keys = config(&[("CREDIT_DECISIONS_API_KEYS", "alpha, beta")])
            .unwrap()
            .api_keys;
        assert_eq!(
            keys,
            Some(SecretKeys(vec!["alpha".to_owned(), "beta".to_owned()]))
        );
    }

    #[test]
    fn admin_keys_and_a_models_directory_are_read_and_checked() {
        let read = config(&[
            ("CREDIT_DECISIONS_ADMIN_KEYS", "boss"),
            ("CREDIT_DECISIONS_MODELS_DIR", env!("CARGO_MANIFEST_DIR")),
        ])
        .unwrap();
        assert_eq!(read.admin_keys, Some(SecretKeys(vec!["boss".to_owned()])));
        assert_eq!(
            read.models_dir.as_deref(),
            Some(std::path::Path::new(env!("CARGO_MANIFEST_DIR")))
        );
        assert_eq!(
            config(&[("CREDIT_DECISIONS_ADMIN_KEYS", " ,")])
                .unwrap_err()
                .variable,
            "CREDIT_DECISIONS_ADMIN_KEYS"
        );
        assert_eq!(
            config(&[("CREDIT_DECISIONS_MODELS_DIR", "/no/such/directory")])
                .unwrap_err()
                .variable,
            "CREDIT_DECISIONS_MODELS_DIR"
        );
    }

    #[test]
    fn the_pool_mode_says_whether_a_transaction_pooler_stands_between() {
        let pool_mode = |value: Option<&str>| {
            let mut variables = vec![
                ("CREDIT_DECISIONS_STORE", "postgres"),
                (
                    "CREDIT_DECISIONS_DATABASE_URL",
                    "postgres://pgbouncer:6432/log",
                ),
            ];
            variables.extend(value.map(|value| ("CREDIT_DECISIONS_DATABASE_POOL_MODE", value)));
            config(&variables).map(|config| match config.store {
                StoreConfig::Postgres { pool_mode, .. } => pool_mode,
                StoreConfig::Memory => unreachable!("the store is postgres"),
            })
        };
        assert_eq!(pool_mode(None), Ok(PoolMode::Session));
        assert_eq!(pool_mode(Some("session")), Ok(PoolMode::Session));
        assert_eq!(pool_mode(Some("transaction")), Ok(PoolMode::Transaction));
        assert_eq!(
            pool_mode(Some("statement")).unwrap_err().to_string(),
            "CREDIT_DECISIONS_DATABASE_POOL_MODE: 'statement' is not one of session, transaction"
        );
    }

    #[test]
    fn a_variable_set_to_nothing_counts_as_unset() {
        assert_eq!(
            config(&[
                ("CREDIT_DECISIONS_CACHE", ""),
                ("CREDIT_DECISIONS_DATABASE_URL", ""),
            ]),
            config(&[])
        );
    }

    /// Keys set to nothing would serve without authentication: a mistake
    /// that must stop the service, never open it.
    #[test]
    fn keys_set_to_nothing_are_refused() {
        for keys in ["", " ", ",", " , "] {
            let error = config(&[("CREDIT_DECISIONS_API_KEYS", keys)]).unwrap_err();
            assert_eq!(error.variable, "CREDIT_DECISIONS_API_KEYS", "{keys:?}");
        }
        let error = config(&[
            ("CREDIT_DECISIONS_CACHE", "redis"),
            ("CREDIT_DECISIONS_REDIS_URL", "redis://127.0.0.1"),
            ("CREDIT_DECISIONS_CACHE_SIGNING_KEY", ""),
        ])
        .unwrap_err();
        assert_eq!(error.variable, "CREDIT_DECISIONS_CACHE_SIGNING_KEY");
    }

    /// A setting of an adapter that is not selected would be silently
    /// ignored (a database URL with the memory store keeps the store in
    /// memory): each stops the service, naming the variable.
    #[test]
    fn settings_of_an_adapter_not_selected_are_refused() {
        for (variable, value) in [
            ("CREDIT_DECISIONS_DATABASE_URL", "postgres://db/log"),
            (
                "CREDIT_DECISIONS_DATABASE_OWNER_URL",
                "postgres://owner@db/log",
            ),
            ("CREDIT_DECISIONS_DATABASE_POOL_MODE", "transaction"),
            ("CREDIT_DECISIONS_DATABASE_POOL_SIZE", "8"),
            ("CREDIT_DECISIONS_LOG_RETENTION_MONTHS", "25"),
            ("CREDIT_DECISIONS_LOG_TIMEOUT_MS", "100"),
            ("CREDIT_DECISIONS_LOG_QUEUE_ROWS", "100"),
            ("CREDIT_DECISIONS_LOG_GROUP_ROWS", "100"),
            ("CREDIT_DECISIONS_LOG_WRITERS", "1"),
            ("CREDIT_DECISIONS_REDIS_URL", "redis://127.0.0.1"),
            ("CREDIT_DECISIONS_REDIS_NAMESPACE", "ns"),
            ("CREDIT_DECISIONS_CACHE_TIMEOUT_MS", "abc"),
            ("CREDIT_DECISIONS_CACHE_NEAR_ENTRIES", "10"),
            ("CREDIT_DECISIONS_CACHE_SIGNING_KEY", "s3cret"),
        ] {
            let error = config(&[(variable, value)]).unwrap_err();
            assert_eq!(error.variable, variable);
            assert!(error.problem.contains("applies only with"), "{error}");
            assert!(!error.to_string().contains("s3cret"), "{error}");
        }
        let error = config(&[
            ("CREDIT_DECISIONS_CACHE", "none"),
            ("CREDIT_DECISIONS_CACHE_TTL_SECS", "60"),
        ])
        .unwrap_err();
        assert_eq!(error.variable, "CREDIT_DECISIONS_CACHE_TTL_SECS");
        // Selected, each is taken.
        let both = config(&[
            ("CREDIT_DECISIONS_CACHE", "redis"),
            ("CREDIT_DECISIONS_REDIS_URL", "redis://127.0.0.1"),
            ("CREDIT_DECISIONS_CACHE_SIGNING_KEY", "s3cret"),
            ("CREDIT_DECISIONS_STORE", "postgres"),
            ("CREDIT_DECISIONS_DATABASE_URL", "postgres://app@db/log"),
            (
                "CREDIT_DECISIONS_DATABASE_OWNER_URL",
                "postgres://owner@db/log",
            ),
        ])
        .unwrap();
        assert!(matches!(
            both.cache,
            CacheConfig::Redis {
                signing_key: Some(_),
                ..
            }
        ));
        assert!(matches!(
            both.store,
            StoreConfig::Postgres {
                owner_url: Some(_),
                ..
            }
        ));
    }

    #[test]
    fn the_operator_address_is_an_address_of_its_own() {
        let operator = config(&[("CREDIT_DECISIONS_OPERATOR_ADDR", "127.0.0.1:9090")]).unwrap();
        assert_eq!(
            operator.operator_addr,
            Some("127.0.0.1:9090".parse().unwrap())
        );
        for (value, problem) in [
            ("localhost", "'localhost' is not an address"),
            ("127.0.0.1:8080", "is the public address"),
        ] {
            let error = config(&[("CREDIT_DECISIONS_OPERATOR_ADDR", value)]).unwrap_err();
            assert_eq!(error.variable, "CREDIT_DECISIONS_OPERATOR_ADDR");
            assert!(error.problem.contains(problem), "{error}");
        }
    }

    #[test]
    fn the_writers_need_fewer_connections_than_the_pool() {
        let with = |writers: &str, pool: &str| {
            config(&[
                ("CREDIT_DECISIONS_STORE", "postgres"),
                ("CREDIT_DECISIONS_DATABASE_URL", "postgres://db/log"),
                ("CREDIT_DECISIONS_LOG_WRITERS", writers),
                ("CREDIT_DECISIONS_DATABASE_POOL_SIZE", pool),
            ])
        };
        assert!(with("7", "8").is_ok());
        // Reads need a connection of their own.
        let error = with("8", "8").unwrap_err();
        assert_eq!(error.variable, "CREDIT_DECISIONS_LOG_WRITERS");
        assert!(with("9", "8").is_err());
    }

    #[test]
    fn every_number_is_range_checked_naming_the_variable() {
        let with_redis_and_postgres = |variable: &str, value: &str| {
            config(&[
                ("CREDIT_DECISIONS_CACHE", "redis"),
                ("CREDIT_DECISIONS_REDIS_URL", "redis://127.0.0.1:6379"),
                ("CREDIT_DECISIONS_STORE", "postgres"),
                ("CREDIT_DECISIONS_DATABASE_URL", "postgres://db/log"),
                (variable, value),
            ])
        };
        for (variable, too_low, lowest, highest, too_high) in [
            (
                "CREDIT_DECISIONS_CACHE_TTL_SECS",
                "0",
                "1",
                "31536000",
                "31536001",
            ),
            (
                "CREDIT_DECISIONS_CACHE_TIMEOUT_MS",
                "0",
                "1",
                "10000",
                "10001",
            ),
            (
                "CREDIT_DECISIONS_CACHE_NEAR_ENTRIES",
                "-1",
                "0",
                "1000000",
                "1000001",
            ),
            (
                "CREDIT_DECISIONS_LOG_RETENTION_MONTHS",
                "0",
                "1",
                "1200",
                "1201",
            ),
            (
                "CREDIT_DECISIONS_LOG_TIMEOUT_MS",
                "0",
                "1",
                "60000",
                "60001",
            ),
            (
                "CREDIT_DECISIONS_BODY_TIMEOUT_MS",
                "0",
                "1",
                "60000",
                "60001",
            ),
        ] {
            let spaced = format!(" {lowest}");
            let signed = format!("+{lowest}");
            for bad in [
                too_low,
                too_high,
                "18446744073709551615",
                "18446744073709551616",
                "-1",
                "1.5",
                "ten",
                &spaced,
                &signed,
                "5 ",
                "0x10",
            ] {
                let error = with_redis_and_postgres(variable, bad).unwrap_err();
                assert_eq!(error.variable, variable, "{variable}={bad}");
                assert!(error.problem.contains(&format!("'{bad}'")), "{error}");
            }
            for good in [lowest, highest] {
                assert!(
                    with_redis_and_postgres(variable, good).is_ok(),
                    "{variable}={good}"
                );
            }
        }
    }

    #[test]
    fn a_url_of_the_wrong_kind_is_refused_without_its_password() {
        for (variable, url) in [
            ("CREDIT_DECISIONS_DATABASE_URL", "mysql://app:s3cret@db/log"),
            ("CREDIT_DECISIONS_DATABASE_URL", "app:s3cret@db:5432"),
            ("CREDIT_DECISIONS_REDIS_URL", "http://:s3cret@cache:6379"),
        ] {
            let error = config(&[
                ("CREDIT_DECISIONS_CACHE", "redis"),
                ("CREDIT_DECISIONS_REDIS_URL", "redis://127.0.0.1"),
                ("CREDIT_DECISIONS_STORE", "postgres"),
                ("CREDIT_DECISIONS_DATABASE_URL", "postgres://db/log"),
                (variable, url),
            ])
            .unwrap_err();
            assert_eq!(error.variable, variable);
            assert!(!error.to_string().contains("s3cret"), "{error}");
        }
    }

    #[test]
    fn the_start_up_line_names_the_adapters_without_a_password() {
        let config = config(&[
            ("CREDIT_DECISIONS_CACHE", "redis"),
            (
                "CREDIT_DECISIONS_REDIS_URL",
                "redis://:r3dis-pw@cache:6379/2",
            ),
            ("CREDIT_DECISIONS_CACHE_SIGNING_KEY", "signing-s3cret"),
            ("CREDIT_DECISIONS_STORE", "postgres"),
            (
                "CREDIT_DECISIONS_DATABASE_URL",
                "postgres://app:pg-pw@db:5432/log",
            ),
        ])
        .unwrap();
        assert_eq!(
            config.cache.to_string(),
            "redis at redis://:***@cache:6379/2 (entries signed)"
        );
        assert_eq!(
            config.store.to_string(),
            "postgres at postgres://app:***@db:5432/log (the same role owns the schema)"
        );
        assert_eq!(
            StoreConfig::Memory.to_string(),
            "memory (decisions kept as long as the process runs)"
        );
    }

    #[test]
    fn debug_output_holds_no_secret() {
        let config = config(&[
            ("CREDIT_DECISIONS_CACHE", "redis"),
            ("CREDIT_DECISIONS_REDIS_URL", "redis://:r3dis-pw@cache:6379"),
            ("CREDIT_DECISIONS_STORE", "postgres"),
            (
                "CREDIT_DECISIONS_DATABASE_URL",
                "postgres://app:pg-pw@db/log",
            ),
            (
                "CREDIT_DECISIONS_DATABASE_OWNER_URL",
                "postgres://owner:owner-pw@db/log",
            ),
            ("CREDIT_DECISIONS_CACHE_SIGNING_KEY", "signing-s3cret"),
            ("CREDIT_DECISIONS_API_KEYS", "key-alpha"),
        ])
        .unwrap();
        let shown = format!("{config:?}");
        for secret in [
            "r3dis-pw",
            "pg-pw",
            "owner-pw",
            "signing-s3cret",
            "key-alpha",
        ] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }
}
