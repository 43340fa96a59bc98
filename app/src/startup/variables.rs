//! Every setting of the service, once: its environment variable, the flag
//! that mirrors it, what it means and its default. `--help` is drawn from
//! this table, the command line reads it, and a test holds the README's
//! configuration table to it; [`crate::startup::config`] checks the values.

use super::config::{
    BODY_TIMEOUT_MS, CACHE_NEAR_ENTRIES, CACHE_TIMEOUT_MS, CACHE_TTL_SECS, DATABASE_POOL_SIZE,
    LOG_GROUP_ROWS, LOG_QUEUE_ROWS, LOG_RETENTION_MONTHS, LOG_TIMEOUT_MS, LOG_WRITERS, Setting,
};

/// One setting.
pub struct Variable {
    /// The environment variable, `CREDIT_DECISIONS_…`.
    pub name: &'static str,
    pub help: &'static str,
    /// As the README's table states it (`unset` when there is none).
    pub default: &'static str,
    /// A number's range and unit, checked by the configuration.
    pub number: Option<&'static Setting>,
    /// A secret: its value is never shown, not even by `--help`.
    pub secret: bool,
    /// The flag, when not the variable's name (see [`Variable::flag`]).
    pub flag: Option<&'static str>,
}

impl Variable {
    /// The flag that mirrors it: `CREDIT_DECISIONS_CACHE_TTL_SECS` is
    /// `--cache-ttl-secs`.
    pub fn flag(&self) -> String {
        match self.flag {
            Some(flag) => flag.to_owned(),
            None => self
                .name
                .trim_start_matches("CREDIT_DECISIONS_")
                .to_ascii_lowercase()
                .replace('_', "-"),
        }
    }
}

const fn text(name: &'static str, help: &'static str, default: &'static str) -> Variable {
    Variable {
        name,
        help,
        default,
        number: None,
        secret: false,
        flag: None,
    }
}

const fn secret(name: &'static str, help: &'static str) -> Variable {
    Variable {
        name,
        help,
        default: "unset",
        number: None,
        secret: true,
        flag: None,
    }
}

const fn number(setting: &'static Setting, help: &'static str, default: &'static str) -> Variable {
    Variable {
        name: setting.variable,
        help,
        default,
        number: Some(setting),
        secret: false,
        flag: None,
    }
}

/// Every setting, in the README's order.
pub const VARIABLES: &[Variable] = &[
    text(
        "CREDIT_DECISIONS_ADDR",
        "listen address (port 0: any free port; the address is logged)",
        "127.0.0.1:8080",
    ),
    text(
        "CREDIT_DECISIONS_OPERATOR_ADDR",
        "when set, /metrics and /monitoring are served here only, without a key",
        "unset",
    ),
    secret(
        "CREDIT_DECISIONS_API_KEYS",
        "comma-separated bearer keys, for /v1 and the dashboard",
    ),
    secret(
        "CREDIT_DECISIONS_ADMIN_KEYS",
        "comma-separated bearer keys for the admin operations (routing, reloading models); an admin key is an API key too",
    ),
    // `--model-path`: `backtest --model` names a version.
    Variable {
        flag: Some("model-path"),
        ..text(
            "CREDIT_DECISIONS_MODEL",
            "an ONNX model with its card beside it (x.onnx, x.card.json): the champion until the routing names another",
            "the built-in model",
        )
    },
    text(
        "CREDIT_DECISIONS_MODELS_DIR",
        "a directory of model versions (NAME.onnx + NAME.card.json) the routing may choose from",
        "unset",
    ),
    text("CREDIT_DECISIONS_CACHE", "memory, redis or none", "memory"),
    number(&CACHE_TTL_SECS, "cache entry lifetime", "86400"),
    text(
        "CREDIT_DECISIONS_REDIS_URL",
        "with cache redis: redis://host:port/db (or rediss://), or redis-cluster://host:port,host:port",
        "unset",
    ),
    text(
        "CREDIT_DECISIONS_REDIS_NAMESPACE",
        "prefix of every Redis key",
        "credit-decisions",
    ),
    number(
        &CACHE_TIMEOUT_MS,
        "the longest one Redis call may hold a request; past it, a miss",
        "50",
    ),
    number(
        &CACHE_NEAR_ENTRIES,
        "verdicts each worker thread keeps in memory in front of Redis (0: off)",
        "4096",
    ),
    secret(
        "CREDIT_DECISIONS_CACHE_SIGNING_KEY",
        "a secret: every Redis entry carries an HMAC-SHA256 of its key and verdict",
    ),
    text("CREDIT_DECISIONS_STORE", "memory or postgres", "memory"),
    secret(
        "CREDIT_DECISIONS_DATABASE_URL",
        "with store postgres: the role the service serves with",
    ),
    secret(
        "CREDIT_DECISIONS_DATABASE_OWNER_URL",
        "the role that owns the store's schema; the serving role then only inserts and reads",
    ),
    text(
        "CREDIT_DECISIONS_DATABASE_POOL_MODE",
        "session, or transaction behind PgBouncer in transaction pooling",
        "session",
    ),
    number(
        &DATABASE_POOL_SIZE,
        "connections to PostgreSQL: the commit writers', the rest for reads",
        "16",
    ),
    number(&LOG_RETENTION_MONTHS, "months a decision is kept", "25"),
    number(
        &LOG_TIMEOUT_MS,
        "the longest a request waits for its row to be committed, or for a read; past it, 503",
        "5000",
    ),
    number(
        &LOG_WRITERS,
        "commits in flight at once (fewer than the pool)",
        "1",
    ),
    number(&LOG_GROUP_ROWS, "the most rows one commit takes", "2000"),
    number(
        &LOG_QUEUE_ROWS,
        "rows that may wait for a commit; past it, 503 at once",
        "10000",
    ),
    number(
        &BODY_TIMEOUT_MS,
        "the longest a request body may take to arrive; past it, 408",
        "10000",
    ),
    text(
        "CREDIT_DECISIONS_LOG_FORMAT",
        "text, or json (one object a line)",
        "text",
    ),
];

/// A number's range as the README writes it: `1 – 31,536,000`.
pub fn range_text(setting: &Setting) -> String {
    format!(
        "{} – {}",
        grouped(*setting.range.start()),
        grouped(*setting.range.end())
    )
}

fn grouped(number: u64) -> String {
    let digits = number.to_string();
    let mut out = String::new();
    for (k, digit) in digits.chars().enumerate() {
        if k > 0 && (digits.len() - k).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::startup::config::Config;

    #[test]
    fn every_variable_the_configuration_reads_is_in_the_table_and_no_other() {
        let read = std::cell::RefCell::new(BTreeSet::new());
        // Every adapter selected, so that every variable is asked for.
        let _ = Config::from_lookup(|name| {
            read.borrow_mut().insert(name.to_owned());
            match name {
                "CREDIT_DECISIONS_CACHE" => Some("redis".to_owned()),
                "CREDIT_DECISIONS_STORE" => Some("postgres".to_owned()),
                "CREDIT_DECISIONS_REDIS_URL" => Some("redis://127.0.0.1:6379".to_owned()),
                "CREDIT_DECISIONS_DATABASE_URL" => Some("postgres://db/log".to_owned()),
                _ => None,
            }
        });
        let table: BTreeSet<String> = VARIABLES.iter().map(|v| v.name.to_owned()).collect();
        assert_eq!(*read.borrow(), table);
    }

    #[test]
    fn numbers_state_the_defaults_the_configuration_uses() {
        for variable in VARIABLES {
            if let Some(setting) = variable.number {
                assert_eq!(
                    variable.default,
                    setting.default.to_string(),
                    "{}",
                    variable.name
                );
            }
        }
        assert_eq!(range_text(&CACHE_TTL_SECS), "1 – 31,536,000");
        assert_eq!(grouped(100), "100");
        assert_eq!(grouped(1000), "1,000");
    }

    /// The README's configuration table: one row per variable, in this
    /// order, with this default, and a number's range in its meaning.
    #[test]
    fn the_readmes_table_is_this_table() {
        let readme = include_str!("../../../README.md");
        // A row: | `VARIABLE` | meaning | default |, or | `VARIABLE` (`--flag`) | …
        // when the flag is not the variable's name.
        let rows: Vec<(String, Option<String>, String, String)> = readme
            .lines()
            .filter(|line| line.starts_with("| `CREDIT_DECISIONS_"))
            .map(|line| {
                let cells: Vec<&str> = line.trim_matches('|').split(" | ").collect();
                let (name, flag) = match cells[0].trim().split_once(" (") {
                    Some((name, flag)) => (name, Some(flag.trim_end_matches(')'))),
                    None => (cells[0].trim(), None),
                };
                (
                    name.trim_matches('`').to_owned(),
                    flag.map(|flag| flag.trim_matches('`').trim_start_matches("--").to_owned()),
                    cells[1].to_owned(),
                    cells[2].trim().to_owned(),
                )
            })
            .collect();
        let names: Vec<&str> = rows.iter().map(|(name, ..)| name.as_str()).collect();
        let table: Vec<&str> = VARIABLES.iter().map(|v| v.name).collect();
        assert_eq!(names, table);
        for ((name, flag, meaning, default), variable) in rows.iter().zip(VARIABLES) {
            assert_eq!(flag.as_deref(), variable.flag, "{name}'s flag");
            let shown = default.split(": ").next().unwrap().trim_matches('`');
            assert_eq!(shown, variable.default, "{name}'s default");
            if let Some(setting) = variable.number {
                assert!(meaning.contains(&range_text(setting)), "{name}: {meaning}");
            }
        }
    }
}
