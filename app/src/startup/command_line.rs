//! The command line: what `credit-decisions` is asked to do, and the
//! settings to do it with. Every setting of [`VARIABLES`] is a flag and its
//! environment variable at once (the flag wins); [`Config`] then checks the
//! values, whichever way they came.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::{Arg, ArgAction, ArgMatches, Command};

use super::config::{Config, ConfigError};
use super::variables::{VARIABLES, range_text};

/// What the process is to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Serve the contract (the default).
    Serve,
    /// Create or upgrade the decision store's schema, and exit.
    Migrate,
    /// Every check the service makes when it loads a model, one a line.
    CheckModel(PathBuf),
    /// What a model version would have decided on the applications logged
    /// in a window, against the champion.
    Backtest(BacktestRequest),
}

#[derive(Debug, Clone, PartialEq)]
pub struct BacktestRequest {
    pub model: String,
    /// `None`: the routing's champion.
    pub against: Option<String>,
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub json: bool,
}

/// The command line, with `--version` saying the built-in model's version.
pub fn command(built_in_model: &str) -> Command {
    let mut settings: Vec<Arg> = VARIABLES
        .iter()
        .map(|variable| {
            let mut help = variable.help.to_owned();
            if let Some(setting) = variable.number {
                help.push_str(&format!(", {} {}", range_text(setting), setting.unit));
            }
            help.push_str(&format!(" [default: {}]", variable.default));
            Arg::new(variable.name)
                .long(variable.flag())
                .env(variable.name)
                .value_name("VALUE")
                .help(help)
                .hide_env_values(variable.secret)
                .global(true)
                .help_heading("Settings (each flag or its environment variable)")
        })
        .collect();
    settings.sort_by_key(|arg| arg.get_long().map(str::to_owned));
    Command::new("credit-decisions")
        .about(
            "Loan applications in, approve/decline decisions out, every decision logged. \
             With no command, serves the HTTP API.",
        )
        .version(format!(
            "{} (built-in model {built_in_model})",
            env!("CARGO_PKG_VERSION")
        ))
        .args(settings)
        .subcommand(Command::new("serve").about("Serve the HTTP API (the default)"))
        .subcommand(Command::new("migrate").about(
            "Create or upgrade the PostgreSQL decision store's schema and partitions, and exit \
             (serve does it too at start-up)",
        ))
        .subcommand(
            Command::new("check-model")
                .about("Every check the service makes when it loads a model, one a line; exit 1 if one fails")
                .arg(
                    Arg::new("path")
                        .value_name("PATH.onnx")
                        .required(true)
                        .help("The ONNX model, its card beside it (PATH.card.json)"),
                ),
        )
        .subcommand(
            Command::new("backtest")
                .about(
                    "What a model version would have decided on the applications logged in a \
                     window, against the champion: the comparison of a shadow, from the \
                     PostgreSQL log. Nothing is written.",
                )
                .arg(
                    Arg::new("model")
                        .long("model")
                        .value_name("VERSION")
                        .required(true)
                        .help("The version to backtest (the configured model or one of the models directory)"),
                )
                .arg(
                    Arg::new("against")
                        .long("against")
                        .value_name("VERSION")
                        .help("The version to compare it with [default: the routing's champion]"),
                )
                .arg(
                    Arg::new("since")
                        .long("since")
                        .value_name("TIME")
                        .required(true)
                        .help("Start of the window, RFC 3339"),
                )
                .arg(
                    Arg::new("until")
                        .long("until")
                        .value_name("TIME")
                        .help("End of the window, RFC 3339, excluded [default: now]"),
                )
                .arg(
                    Arg::new("json")
                        .long("json")
                        .action(ArgAction::SetTrue)
                        .help("Print the comparison as JSON (as GET /v1/models/comparison)"),
                ),
        )
}

/// An error of the command line: clap's own (usage, `--help`,
/// `--version`), a setting's value, or a backtest's window (malformed, or
/// ending before it starts).
#[derive(Debug)]
pub enum CommandLineError {
    Usage(clap::Error),
    Setting(ConfigError),
    Window(String),
}

/// What to do, and the configuration to do it with (`None` for
/// `check-model`, which needs none).
pub fn parse(
    arguments: impl IntoIterator<Item = String>,
    built_in_model: &str,
) -> Result<(Action, Option<Config>), CommandLineError> {
    let matches = command(built_in_model)
        .try_get_matches_from(arguments)
        .map_err(CommandLineError::Usage)?;
    let action = match matches.subcommand() {
        None | Some(("serve", _)) => Action::Serve,
        Some(("migrate", _)) => Action::Migrate,
        Some(("check-model", sub)) => {
            let path = sub.get_one::<String>("path").expect("required");
            return Ok((Action::CheckModel(PathBuf::from(path)), None));
        }
        Some(("backtest", sub)) => Action::Backtest(backtest_request(sub)?),
        Some((other, _)) => unreachable!("clap knows no subcommand {other}"),
    };
    let config =
        Config::from_lookup(|name| setting(&matches, name)).map_err(CommandLineError::Setting)?;
    Ok((action, Some(config)))
}

/// A setting's value, wherever the command line was given it (the root or
/// a subcommand: the flags are global).
fn setting(matches: &ArgMatches, name: &str) -> Option<String> {
    let given = matches.get_one::<String>(name).cloned();
    given.or_else(|| {
        matches
            .subcommand()
            .and_then(|(_, sub)| sub.get_one::<String>(name).cloned())
    })
}

fn backtest_request(matches: &ArgMatches) -> Result<BacktestRequest, CommandLineError> {
    let time = |name: &'static str| -> Result<Option<DateTime<Utc>>, CommandLineError> {
        matches
            .get_one::<String>(name)
            .map(|text| {
                DateTime::parse_from_rfc3339(text)
                    .map(|at| at.with_timezone(&Utc))
                    .map_err(|_| {
                        CommandLineError::Window(format!(
                            "--{name} '{text}' is not an RFC 3339 time like 2026-12-01T00:00:00Z"
                        ))
                    })
            })
            .transpose()
    };
    let since = time("since")?.expect("required");
    let until = time("until")?.unwrap_or_else(Utc::now);
    if since > until {
        return Err(CommandLineError::Window(format!(
            "--since {} is after --until {}",
            since.to_rfc3339(),
            until.to_rfc3339()
        )));
    }
    Ok(BacktestRequest {
        model: matches
            .get_one::<String>("model")
            .expect("required")
            .clone(),
        against: matches.get_one::<String>("against").cloned(),
        since,
        until,
        json: matches.get_flag("json"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(arguments: &[&str]) -> Result<(Action, Option<Config>), CommandLineError> {
        let arguments = std::iter::once("credit-decisions")
            .chain(arguments.iter().copied())
            .map(str::to_owned);
        parse(arguments, "test-model-1")
    }

    #[test]
    fn no_command_serves_and_a_flag_sets_its_setting() {
        let (action, config) = run(&["--addr", "127.0.0.1:9999"]).unwrap();
        assert_eq!(action, Action::Serve);
        assert_eq!(config.unwrap().addr.port(), 9999);
        let (action, config) = run(&["serve", "--cache", "none"]).unwrap();
        assert_eq!(action, Action::Serve);
        assert_eq!(
            config.unwrap().cache,
            crate::startup::config::CacheConfig::None
        );
    }

    #[test]
    fn help_lists_every_setting_with_its_variable_range_and_default() {
        let help = command("test-model-1").render_long_help().to_string();
        for variable in VARIABLES {
            assert!(
                help.contains(&format!("--{}", variable.flag())),
                "{}",
                variable.name
            );
            assert!(help.contains(variable.name), "{}", variable.name);
            assert!(
                help.contains(&format!("[default: {}]", variable.default)),
                "{}",
                variable.name
            );
        }
        assert!(help.contains("1 – 31,536,000 seconds"));
    }

    #[test]
    fn a_misspelt_flag_or_a_bad_value_is_an_error_naming_it() {
        let Err(CommandLineError::Usage(error)) = run(&["--cache-tll-secs", "5"]) else {
            panic!("a misspelt flag is refused");
        };
        assert_eq!(error.kind(), clap::error::ErrorKind::UnknownArgument);
        assert!(error.to_string().contains("--cache-ttl-secs"), "{error}");
        let Err(CommandLineError::Setting(error)) = run(&["--cache-ttl-secs", "+5"]) else {
            panic!("a signed number is refused");
        };
        assert_eq!(error.variable, "CREDIT_DECISIONS_CACHE_TTL_SECS");
        let version = run(&["--version"]).unwrap_err();
        let CommandLineError::Usage(version) = version else {
            panic!("--version is clap's");
        };
        assert!(version.to_string().contains("built-in model test-model-1"));
    }

    #[test]
    fn the_subcommands_take_their_arguments() {
        let (action, config) = run(&["check-model", "model/credit-model.onnx"]).unwrap();
        assert_eq!(
            action,
            Action::CheckModel(PathBuf::from("model/credit-model.onnx"))
        );
        assert!(config.is_none());
        let (action, _) = run(&[
            "backtest",
            "--model",
            "v2",
            "--since",
            "2026-12-01T00:00:00Z",
            "--until",
            "2026-12-02T00:00:00+01:00",
            "--json",
        ])
        .unwrap();
        let Action::Backtest(request) = action else {
            panic!("a backtest");
        };
        assert_eq!(
            (request.model.as_str(), request.against, request.json),
            ("v2", None, true)
        );
        assert_eq!(request.until.to_rfc3339(), "2026-12-01T23:00:00+00:00");
        let Err(CommandLineError::Window(malformed)) =
            run(&["backtest", "--model", "v2", "--since", "yesterday"])
        else {
            panic!("a malformed time is the window's error");
        };
        assert!(malformed.contains("'yesterday' is not an RFC 3339 time"));
        let Err(CommandLineError::Window(inverted)) = run(&[
            "backtest",
            "--model",
            "v2",
            "--since",
            "2026-12-02T00:00:00Z",
            "--until",
            "2026-12-01T00:00:00Z",
        ]) else {
            panic!("a window ending before it starts is refused");
        };
        assert!(inverted.contains("is after --until"), "{inverted}");
        // An empty window is a window: it scores nothing.
        assert!(
            run(&[
                "backtest",
                "--model",
                "v2",
                "--since",
                "2026-12-01T00:00:00Z",
                "--until",
                "2026-12-01T00:00:00Z",
            ])
            .is_ok()
        );
        assert!(
            run(&[
                "migrate",
                "--store",
                "postgres",
                "--database-url",
                "postgres://db/log"
            ])
            .is_ok()
        );
    }
}
