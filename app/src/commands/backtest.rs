//! `credit-decisions backtest --model V [--against C] --since T --until T`:
//! the applications logged in the window scored again by V and by the
//! champion (or C), compared as a shadow is ([`domain::backtest`]). It
//! reads the PostgreSQL log a page at a time and writes nothing; a progress
//! bar on a terminal; Ctrl-C stops it at once.

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use domain::backtest::{Backtest, BacktestError, backtest};
use domain::{LoggedRequests, MinuteWindow, Scorer, Window};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use onnx_scorer::OnnxScorer;
use postgres_store::PostgresLogReader;

use crate::models::{Origin, Version, Versions};
use crate::startup::command_line::BacktestRequest;
use crate::startup::config::{Config, StoreConfig};
use crate::startup::wiring::postgres_settings;

/// The exit code of a backtest stopped by Ctrl-C (128 + SIGINT).
const INTERRUPTED: u8 = 130;

pub async fn run(config: &Config, request: &BacktestRequest) -> ExitCode {
    let fail = |message: String| {
        eprintln!("credit-decisions backtest: {message}");
        ExitCode::FAILURE
    };
    let StoreConfig::Postgres { url, .. } = &config.store else {
        return fail(
            "a backtest reads the PostgreSQL log: set CREDIT_DECISIONS_STORE=postgres and \
             CREDIT_DECISIONS_DATABASE_URL"
                .to_owned(),
        );
    };
    let versions = match versions(config) {
        Ok(versions) => versions,
        Err(error) => return fail(error),
    };
    let reader = match PostgresLogReader::open(&postgres_settings(&config.store)).await {
        Ok(reader) => reader,
        Err(error) => return fail(url.scrub(&error)),
    };
    let against = match &request.against {
        Some(version) => version.clone(),
        None => match reader.champion().await {
            Ok(Some(champion)) => champion,
            Ok(None) => versions.configured.clone(),
            Err(error) => return fail(url.scrub(&error.to_string())),
        },
    };
    let scorer_of = |id: &str| {
        versions
            .all
            .get(id)
            .map(|version| version.scorer.clone())
            .ok_or_else(|| {
                let known: Vec<&str> = versions.all.iter().map(|(id, _)| id.as_str()).collect();
                format!(
                    "no model version {id}; the versions here are {}",
                    known.join(", ")
                )
            })
    };
    let (challenger, champion) = match (scorer_of(&request.model), scorer_of(&against)) {
        (Ok(challenger), Ok(champion)) => (challenger, champion),
        (Err(error), _) | (_, Err(error)) => return fail(error),
    };
    let window = MinuteWindow::covering(Window {
        since: request.since,
        until: request.until,
    });
    let outcome = scored(&reader, window, champion.as_ref(), challenger.as_ref()).await;
    reader.close().await;
    match outcome {
        Ok(done) if request.json => {
            println!(
                "{}",
                serde_json::to_string_pretty(&done).expect("a backtest serializes")
            );
            ExitCode::SUCCESS
        }
        Ok(done) => {
            print!("{}", summary(&done));
            ExitCode::SUCCESS
        }
        Err(BacktestError::Interrupted(read)) => {
            eprintln!(
                "credit-decisions backtest: interrupted after {read} applications; nothing was written"
            );
            ExitCode::from(INTERRUPTED)
        }
        Err(error) => fail(url.scrub(&error.to_string())),
    }
}

/// The backtest, with a progress bar on a terminal and Ctrl-C watched.
async fn scored(
    log: &dyn LoggedRequests,
    window: MinuteWindow,
    champion: &dyn Scorer,
    challenger: &dyn Scorer,
) -> Result<Backtest, BacktestError> {
    let total = log.count(window).await?;
    let bar = if std::io::stderr().is_terminal() {
        ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr())
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:40} {human_pos}/{human_len} applications, {elapsed} so far, {eta} left",
        )
        .expect("a valid template"),
    );
    let stop = Arc::new(AtomicBool::new(false));
    let watching = {
        let stop = stop.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                stop.store(true, Ordering::Relaxed);
            }
        })
    };
    let outcome = backtest(
        log,
        window,
        champion,
        challenger,
        &mut |read| bar.set_position(read),
        &|| stop.load(Ordering::Relaxed),
    )
    .await;
    watching.abort();
    bar.finish_and_clear();
    outcome
}

/// The configured model and the models directory's, by id.
struct Known {
    configured: String,
    all: Versions,
}

fn versions(config: &Config) -> Result<Known, String> {
    let (scorer, origin) = match &config.model {
        None => (OnnxScorer::built_in(), Origin::BuiltIn),
        Some(path) => (OnnxScorer::from_path(path), Origin::File),
    };
    let scorer: Arc<dyn Scorer> = Arc::new(scorer.map_err(|error| error.to_string())?);
    let configured = Version { scorer, origin };
    let id = configured.model().version.clone();
    let all = match &config.models_dir {
        None => Versions::configured(configured),
        Some(dir) => scan(configured, dir),
    };
    Ok(Known {
        configured: id,
        all,
    })
}

fn scan(configured: Version, dir: &Path) -> Versions {
    let versions = Versions::scan(configured, dir, &|scorer| scorer);
    for refused in versions.refused() {
        eprintln!("model refused: {}: {}", refused.file, refused.error);
    }
    versions
}

/// The comparison, for a person.
fn summary(done: &Backtest) -> String {
    let comparison = &done.comparison;
    let percent =
        |share: Option<f64>| share.map_or("—".to_owned(), |s| format!("{:.1}%", s * 100.0));
    let mean = |mean: Option<f64>| mean.map_or("—".to_owned(), |m| format!("{m:.4}"));
    let window = comparison.window;
    let mut out = format!(
        "backtest, {} to {}: {} applications scored ({} logged under other rules, not scored)\n",
        window.since.to_rfc3339(),
        window.until.to_rfc3339(),
        done.scored,
        done.unreadable
    );
    let champion = &comparison.champion;
    out.push_str(&format!(
        "  champion    {:<40} approves {:>7}  mean probability of default {}\n",
        champion.version,
        percent(champion.approval_rate),
        mean(champion.mean_probability_of_default)
    ));
    if let Some(challenger) = &comparison.challenger {
        out.push_str(&format!(
            "  backtested  {:<40} approves {:>7}  mean probability of default {}\n",
            challenger.version,
            percent(challenger.approval_rate),
            mean(challenger.mean_probability_of_default)
        ));
    }
    if let Some(set) = &comparison.swap_set {
        out.push_str(&format!(
            "  swap set: both approve {}, swap in {} (the champion declined, it would approve), \
             swap out {} (the reverse), both decline {}; agreement {}\n",
            set.both_approve,
            set.swap_in,
            set.swap_out,
            set.both_decline,
            percent(comparison.agreement)
        ));
    }
    out
}
