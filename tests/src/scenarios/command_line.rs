//! The binary's other commands, run as an operator runs them: `--help` and
//! `--version`, `migrate`, `check-model` (on every bad file the models
//! directory refuses), and `backtest` against a live shadow's comparison of
//! the same applications. The binary must be built (`scripts/test` does).

use std::path::Path;
use std::process::{Command, Output};

use chrono::{TimeDelta, Utc};
use pretty_assertions::assert_eq;
use serde_json::Value;

use crate::harness::real_backends::{RealBackends, TestDatabase};
use crate::harness::service_process::binary;
use crate::harness::test_app::{SCORECARD, shipped_models_dir};
use crate::harness::{TestApp, TestBackends};
use crate::scenarios::models::{BUILT_IN, challenged, route};

/// The binary with `arguments`, in an environment of `env` alone.
fn run(arguments: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(binary())
        .args(arguments)
        .env_clear()
        .envs(env.iter().copied())
        .output()
        .expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn help_lists_every_setting_and_version_names_the_built_in_model() {
    let help = run(&["--help"], &[]);
    assert_eq!(help.status.code(), Some(0));
    let help = text(&help.stdout);
    let readme = include_str!("../../../README.md");
    let variables: Vec<&str> = readme
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|line| line.split('`').next())
        .filter(|name| name.starts_with("CREDIT_DECISIONS_"))
        .collect();
    assert!(variables.len() >= 25, "{variables:?}");
    for variable in variables {
        assert!(help.contains(variable), "--help names {variable}");
    }
    for command in ["serve", "migrate", "check-model", "backtest"] {
        assert!(help.contains(command), "--help names {command}");
    }
    let version = run(&["--version"], &[]);
    assert_eq!(version.status.code(), Some(0));
    assert!(text(&version.stdout).contains(&format!("built-in model {BUILT_IN}")));
    // A misspelt flag is an error with a hint, never a server started.
    let misspelt = run(&["--cache-tll-secs", "5"], &[]);
    assert_eq!(misspelt.status.code(), Some(2));
    assert!(
        text(&misspelt.stderr).contains("--cache-ttl-secs"),
        "{}",
        text(&misspelt.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_makes_the_schema_and_exits() {
    let database = TestDatabase::create().await;
    let env = [
        ("CREDIT_DECISIONS_STORE", "postgres"),
        ("CREDIT_DECISIONS_DATABASE_URL", database.url.as_str()),
    ];
    let migrated = run(&["migrate"], &env);
    assert_eq!(
        migrated.status.code(),
        Some(0),
        "{}",
        text(&migrated.stderr)
    );
    let tables = database
        .query_json(
            "SELECT tablename FROM pg_tables WHERE tablename IN ('decisions', 'routing_changes', 'decision_tally') \
             ORDER BY tablename",
        )
        .await;
    assert_eq!(tables.len(), 3, "{tables:?}");
    // Again: nothing to do, still 0.
    assert_eq!(run(&["migrate"], &env).status.code(), Some(0));
    let in_memory = run(&["migrate"], &[]);
    assert_eq!(in_memory.status.code(), Some(1));
    assert!(text(&in_memory.stderr).contains("in memory"));
    let unreachable = run(
        &[
            "migrate",
            "--store",
            "postgres",
            "--database-url",
            "postgres://postgres@127.0.0.1:1/none",
        ],
        &[],
    );
    assert_eq!(unreachable.status.code(), Some(1));
}

#[test]
fn check_model_prints_each_check_and_refuses_every_bad_file() {
    let shipped = shipped_models_dir().join(format!("{SCORECARD}.onnx"));
    let good = run(&["check-model", shipped.to_str().unwrap()], &[]);
    assert_eq!(good.status.code(), Some(0), "{}", text(&good.stdout));
    let lines = text(&good.stdout);
    assert_eq!(
        lines.lines().filter(|line| line.starts_with("ok ")).count(),
        onnx_scorer::CHECKS.len()
    );

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    std::os::unix::fs::symlink("b.onnx", path.join("a.onnx")).unwrap();
    std::os::unix::fs::symlink("a.onnx", path.join("b.onnx")).unwrap();
    std::fs::create_dir(path.join("directory.onnx")).unwrap();
    std::fs::File::create(path.join("huge.onnx"))
        .unwrap()
        .set_len(2 << 30)
        .unwrap();
    // A card that lies: another model's digest.
    std::fs::copy(
        shipped_models_dir().join(format!("{BUILT_IN}.onnx")),
        path.join("liar.onnx"),
    )
    .unwrap();
    std::fs::copy(
        shipped.with_extension("card.json"),
        path.join("liar.card.json"),
    )
    .unwrap();
    // Each file, the check it fails (the ones before it pass, the ones
    // after it are not run) and what the failure says.
    for (file, failing, says) in [
        ("/dev/zero", 0, "not a regular file"),
        ("directory.onnx", 0, "not a regular file"),
        ("a.onnx", 0, "symbolic links"),
        ("huge.onnx", 0, "2147483648 bytes"),
        ("liar.onnx", 4, "SHA-256"),
    ] {
        let target = if file.starts_with('/') {
            Path::new(file).to_owned()
        } else {
            path.join(file)
        };
        let refused = run(&["check-model", target.to_str().unwrap()], &[]);
        assert_eq!(refused.status.code(), Some(1), "{file}");
        let out = text(&refused.stdout);
        let count = |start: &str| out.lines().filter(|line| line.starts_with(start)).count();
        assert_eq!(count("ok "), failing, "{file}: {out}");
        assert_eq!(
            count("-       "),
            onnx_scorer::CHECKS.len() - failing - 1,
            "{file}: {out}"
        );
        let failed = out
            .lines()
            .find(|line| line.starts_with("FAILED"))
            .unwrap_or_default();
        let check = onnx_scorer::CHECKS[failing];
        assert!(
            failed.starts_with(&format!("FAILED  {check}: ")),
            "{file}: {out}"
        );
        assert!(failed.contains(says), "{file}: {out}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backtest_gives_what_a_live_shadow_gave_and_writes_nothing() {
    let app = TestApp::spawn(TestBackends::real().await.with_shipped_models()).await;
    route(&app, challenged("shadow", 1.0)).await;
    let applications: Vec<Value> = crate::harness::data::golden_rows()
        .iter()
        .take(300)
        .map(|row| row.application.clone())
        .collect();
    assert_eq!(app.post_batch(&applications).await.status(), 200);
    let since = (Utc::now() - TimeDelta::hours(1)).to_rfc3339();
    let until = (Utc::now() + TimeDelta::minutes(2)).to_rfc3339();
    let live: Value = app
        .get(&format!(
            "/v1/models/comparison?since={}&until={}",
            urlencode(&since),
            urlencode(&until)
        ))
        .await
        .json()
        .await
        .unwrap();
    let real: &RealBackends = app.real();
    let url = real.database().url.clone();
    let models = shipped_models_dir();
    let env = [
        ("CREDIT_DECISIONS_STORE", "postgres"),
        ("CREDIT_DECISIONS_DATABASE_URL", url.as_str()),
        ("CREDIT_DECISIONS_MODELS_DIR", models.to_str().unwrap()),
    ];
    let rows_before = real
        .database()
        .query_json("SELECT count(*) AS n FROM decisions")
        .await;
    let backtested = run(
        &[
            "backtest", "--model", SCORECARD, "--since", &since, "--until", &until, "--json",
        ],
        &env,
    );
    assert_eq!(
        backtested.status.code(),
        Some(0),
        "{}",
        text(&backtested.stderr)
    );
    let report: Value = serde_json::from_slice(&backtested.stdout).unwrap();
    assert_eq!(
        (report["scored"].as_u64(), report["unreadable"].as_u64()),
        (Some(300), Some(0))
    );
    // The champion defaults to the routing's; the numbers are the shadow's.
    assert_eq!(report["champion"]["version"], BUILT_IN);
    for member in ["swap_set", "agreement"] {
        assert_eq!(report[member], live[member], "{member}");
    }
    for arm in ["champion", "challenger"] {
        assert_eq!(report[arm]["decisions"], live[arm]["decisions"], "{arm}");
        assert_eq!(
            report[arm]["approval_rate"], live[arm]["approval_rate"],
            "{arm}"
        );
    }
    let rows_after = real
        .database()
        .query_json("SELECT count(*) AS n FROM decisions")
        .await;
    assert_eq!(rows_after, rows_before, "a backtest writes nothing");

    // The summary a person reads names both versions.
    let summary = run(
        &[
            "backtest", "--model", SCORECARD, "--since", &since, "--until", &until,
        ],
        &env,
    );
    let summary = text(&summary.stdout);
    assert!(
        summary.contains(SCORECARD) && summary.contains("swap set"),
        "{summary}"
    );
    // An unknown version, a bad window, a database that is down.
    let unknown = run(&["backtest", "--model", "no-such", "--since", &since], &env);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(text(&unknown.stderr).contains("no model version no-such"));
    let malformed = run(
        &["backtest", "--model", SCORECARD, "--since", "yesterday"],
        &env,
    );
    assert_eq!(malformed.status.code(), Some(1));
    assert!(text(&malformed.stderr).contains("not an RFC 3339 time"));
    let inverted = run(
        &[
            "backtest", "--model", SCORECARD, "--since", &until, "--until", &since,
        ],
        &env,
    );
    assert_eq!(inverted.status.code(), Some(1));
    assert!(text(&inverted.stderr).contains("is after --until"));
    let down = run(
        &["backtest", "--model", SCORECARD, "--since", &since],
        &[
            ("CREDIT_DECISIONS_STORE", "postgres"),
            (
                "CREDIT_DECISIONS_DATABASE_URL",
                "postgres://postgres@127.0.0.1:1/none",
            ),
            ("CREDIT_DECISIONS_MODELS_DIR", models.to_str().unwrap()),
        ],
    );
    assert_eq!(down.status.code(), Some(1));
    assert!(
        text(&down.stderr).contains("cannot connect"),
        "{}",
        text(&down.stderr)
    );
}

fn urlencode(text: &str) -> String {
    text.replace('+', "%2B").replace(':', "%3A")
}
