//! `fill-decision-store DATABASE_URL ROWS HOURS`: appends ROWS decisions to the
//! PostgreSQL decision log, spread evenly over the last HOURS hours less ten
//! minutes, ending five minutes ago (so that a window of the last HOURS
//! hours taken within five minutes holds them all), for the monitoring
//! benchmark (`scripts/bench-monitoring`).
//!
//! Each row is one of the 1,000 training applications with the built-in
//! model's verdict and, beside it, the shipped scorecard's in the shadow,
//! logged and tallied exactly as the service does it (through
//! `PostgresDecisionStore::append`); a third are cache hits. Built only
//! with `--features bench`.

use std::sync::Arc;
use std::time::Instant;

use chrono::{TimeDelta, Utc};
use domain::{
    Application, Arm, CanonicalRequest, Decision, DecisionId, DecisionRecord, DecisionStore,
    Scorer, Source, StoreEntry, Verdict,
};
use onnx_scorer::OnnxScorer;
use postgres_store::{PostgresDecisionStore, PostgresStoreSettings};

const CHUNK: usize = 2_000;
/// The challenger every row is shadowed by.
const SCORECARD: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../model/versions/german-credit-scorecard-2026.12.0.onnx"
);
const CONCURRENT_APPENDS: usize = 4;

#[tokio::main]
async fn main() {
    let arguments: Vec<String> = std::env::args().collect();
    let [_, url, rows, hours] = arguments.as_slice() else {
        eprintln!("usage: fill-decision-store DATABASE_URL ROWS HOURS");
        std::process::exit(2);
    };
    let rows: usize = rows.parse().expect("ROWS is a number");
    let hours: i64 = hours.parse().expect("HOURS is a number");

    let scorer = OnnxScorer::built_in().expect("the built-in model loads");
    let model = scorer.model();
    let golden: serde_json::Value =
        serde_json::from_str(include_str!("../../../model/golden-vectors.json"))
            .expect("the golden vectors are JSON");
    let applications: Vec<Application> = golden["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|row| {
            Application::from_json(row["application"].as_object().expect("an object"))
                .expect("a training application is valid")
        })
        .collect();
    let verdicts_of = |scorer: &OnnxScorer| -> Vec<Verdict> {
        let model = scorer.model();
        scorer
            .score(&applications.iter().collect::<Vec<_>>())
            .expect("the model scores")
            .into_iter()
            .map(|probability| Verdict::from_model(probability, model.threshold, &model.version))
            .collect()
    };
    let verdicts = verdicts_of(&scorer);
    let challenger =
        OnnxScorer::from_path(std::path::Path::new(SCORECARD)).expect("the scorecard loads");
    let shadows = verdicts_of(&challenger);

    let mut settings = PostgresStoreSettings::new(url.clone());
    settings.group.max_group_rows = 10_000;
    let log = Arc::new(
        PostgresDecisionStore::connect(&settings)
            .await
            .expect("the log opens"),
    );
    let end = Utc::now() - TimeDelta::minutes(5);
    let step = (TimeDelta::hours(hours) - TimeDelta::minutes(10)) / rows as i32;
    let entry = |i: usize| {
        let application = &applications[i % applications.len()];
        let verdict = verdicts[i % applications.len()].clone();
        let shadow = shadows[i % applications.len()].clone();
        let source = if i.is_multiple_of(3) {
            Source::Cache
        } else {
            Source::Model
        };
        let decision_id = DecisionId::mint();
        StoreEntry {
            cells: model.baseline.cells(
                application,
                verdict.probability_of_default,
                verdict.outcome,
                source,
            ),
            shadow_cells: Some(challenger.model().baseline.shadow_cells(
                application,
                shadow.probability_of_default,
                shadow.outcome,
                source,
                verdict.outcome,
            )),
            record: DecisionRecord {
                decision_id,
                created_at: end - step * (rows - i) as i32,
                source,
                request: CanonicalRequest::of(application),
                response: Decision {
                    decision_id,
                    verdict,
                },
                arm: Arm::Champion,
                shadow: Some(shadow),
            },
        }
    };

    let started = Instant::now();
    let chunks: Vec<(usize, usize)> = (0..rows)
        .step_by(CHUNK)
        .map(|first| (first, (first + CHUNK).min(rows)))
        .collect();
    for wave in chunks.chunks(CONCURRENT_APPENDS) {
        let appends: Vec<_> = wave
            .iter()
            .map(|&(first, last)| {
                let entries: Vec<StoreEntry> = (first..last).map(entry).collect();
                let log = log.clone();
                tokio::spawn(async move { log.append(&entries).await })
            })
            .collect();
        for append in appends {
            append
                .await
                .expect("the append runs")
                .expect("the log takes the rows");
        }
    }
    log.close().await;
    println!(
        "appended {rows} decisions over {hours} hours in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
