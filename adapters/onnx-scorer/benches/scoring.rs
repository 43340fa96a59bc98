//! How long the model takes to score one application, a batch of 64 and a
//! batch of 1,000 (the golden applications), feature encoding included; and
//! to score and explain declines, one and 1,000.
//!
//!     cargo bench -p onnx-scorer --bench scoring
//!
//! Figures and the machine they were taken on: model/README.md.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use domain::{Application, Scorer};
use onnx_scorer::OnnxScorer;
use serde_json::Value;

fn golden_applications() -> Vec<Application> {
    let file: Value =
        serde_json::from_str(include_str!("../../../model/golden-vectors.json")).unwrap();
    file["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| Application::from_json(row["application"].as_object().unwrap()).unwrap())
        .collect()
}

fn scoring(c: &mut Criterion) {
    let scorer = OnnxScorer::built_in().expect("the built-in model loads");
    let owned = golden_applications();
    let applications: Vec<&Application> = owned.iter().collect();
    let mut group = c.benchmark_group("score");
    for size in [1usize, 64, 1000] {
        let batch = &applications[..size];
        group.throughput(Throughput::Elements(size as u64));
        group.bench_with_input(BenchmarkId::from_parameter(size), batch, |b, batch| {
            b.iter(|| scorer.score(black_box(batch)).unwrap())
        });
    }
    group.finish();
}

/// Scoring plus the reasons of a decline, as the flow does for a miss.
fn reasons(c: &mut Criterion) {
    let scorer = OnnxScorer::built_in().expect("the built-in model loads");
    let threshold = scorer.model().threshold;
    let applications = golden_applications();
    let declines: Vec<Application> = applications
        .into_iter()
        .filter(|application| scorer.score(&[application]).unwrap()[0] >= threshold)
        .cycle()
        .take(1000)
        .collect();
    let declines: Vec<&Application> = declines.iter().collect();
    let mut group = c.benchmark_group("score and explain declines");
    for size in [1usize, 1000] {
        let batch = &declines[..size];
        group.throughput(Throughput::Elements(size as u64));
        group.bench_with_input(BenchmarkId::from_parameter(size), batch, |b, batch| {
            b.iter(|| {
                scorer.score(black_box(batch)).unwrap();
                black_box(scorer.explain(batch).unwrap());
            })
        });
    }
    group.finish();
}

fn loading(c: &mut Criterion) {
    c.bench_function("load built-in model", |b| {
        b.iter(|| OnnxScorer::built_in().unwrap())
    });
}

criterion_group!(benches, scoring, reasons, loading);
criterion_main!(benches);
