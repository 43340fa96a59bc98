//! The service's Prometheus metrics, served at `GET /metrics`.
//!
//! Requests by route and status with latency histograms (the `observe`
//! middleware), decisions by outcome and source and cache hits and misses
//! (the decision handlers), decisions per model version and routing arm,
//! the routing's generation, cache and log errors and model time (the
//! instrumented ports), batch sizes.

use prometheus::{
    Encoder, GaugeVec, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    Opts, Registry, TextEncoder,
};

pub struct Metrics {
    registry: Registry,
    pub http_requests: IntCounterVec,
    pub http_duration: HistogramVec,
    pub decisions: IntCounterVec,
    pub decisions_by_version: IntCounterVec,
    pub routing_generation: IntGauge,
    pub cache_lookups: IntCounterVec,
    pub cache_errors: IntCounterVec,
    pub cache_skipped: IntCounterVec,
    pub cache_refused: IntCounter,
    pub store_errors: IntCounterVec,
    pub scoring_duration: Histogram,
    pub batch_size: Histogram,
    /// PSI of the last 24 hours per quantity, set when scraped.
    pub psi: GaugeVec,
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new_custom(Some("credit_decisions".to_owned()), None)
            .expect("a valid metric prefix");
        let counter = |name: &str, help: &str, labels: &[&str]| {
            let counter = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric");
            registry
                .register(Box::new(counter.clone()))
                .expect("unique metric");
            counter
        };
        let http_requests = counter(
            "http_requests_total",
            "HTTP requests by route pattern, method and status.",
            &["route", "method", "status"],
        );
        let decisions = counter(
            "decisions_total",
            "Decisions served, by outcome and by where the verdict came from.",
            &["outcome", "source"],
        );
        let decisions_by_version = counter(
            "decisions_by_version_total",
            "Decisions served, by the model version that decided and its routing arm.",
            &["model_version", "arm"],
        );
        let routing_generation = IntGauge::new(
            "routing_generation",
            "The generation of the routing this replica serves under (0: the built-in one).",
        )
        .expect("valid metric");
        registry
            .register(Box::new(routing_generation.clone()))
            .expect("unique metric");
        let cache_lookups = counter(
            "cache_lookups_total",
            "Cache lookups by result (hit or miss); hit ratio = hit / (hit + miss).",
            &["result"],
        );
        let cache_errors = counter(
            "cache_errors_total",
            "Cache calls that failed or timed out (each degraded to the model).",
            &["operation"],
        );
        let cache_skipped = counter(
            "cache_skipped_total",
            "Cache calls not made: the circuit breaker is open after a failure.",
            &["operation"],
        );
        let cache_refused = IntCounter::new(
            "cache_refused_total",
            "Cache entries found but not served: not a verdict the model could have given the \
             application, unreadable, or without a valid signature. Each is scored again and \
             overwritten, and counts as a miss in cache_lookups_total.",
        )
        .expect("valid metric");
        registry
            .register(Box::new(cache_refused.clone()))
            .expect("unique metric");
        let store_errors = counter(
            "store_errors_total",
            "Decision log calls that failed.",
            &["operation"],
        );
        let http_duration = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "HTTP request latency by route pattern.",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            ]),
            &["route"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(http_duration.clone()))
            .expect("unique metric");
        let scoring_duration = Histogram::with_opts(
            HistogramOpts::new(
                "model_scoring_duration_seconds",
                "Time the model takes per scoring call.",
            )
            .buckets(vec![
                0.000_005, 0.00001, 0.000_025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.005,
            ]),
        )
        .expect("valid metric");
        registry
            .register(Box::new(scoring_duration.clone()))
            .expect("unique metric");
        let batch_size = Histogram::with_opts(
            HistogramOpts::new("batch_size", "Applications per batch request.").buckets(vec![
                1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0,
            ]),
        )
        .expect("valid metric");
        registry
            .register(Box::new(batch_size.clone()))
            .expect("unique metric");
        let psi = GaugeVec::new(
            Opts::new(
                "population_stability_index",
                "PSI of the last 24 hours against training, for the score and each field \
                 (NaN under 100 decisions); stable < 0.10 <= watch < 0.25 <= act.",
            ),
            &["quantity"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(psi.clone()))
            .expect("unique metric");
        Self {
            registry,
            psi,
            http_requests,
            http_duration,
            decisions,
            decisions_by_version,
            routing_generation,
            cache_lookups,
            cache_errors,
            cache_skipped,
            cache_refused,
            store_errors,
            scoring_duration,
            batch_size,
        }
    }

    /// Counts a served decision: its outcome, its source, the cache's part.
    pub fn record_served(&self, served: &domain::Served) {
        self.decisions
            .with_label_values(&[
                served.decision.verdict.outcome.as_str(),
                served.source.as_str(),
            ])
            .inc();
        self.decisions_by_version
            .with_label_values(&[
                served.decision.verdict.model_version.as_str(),
                served.arm.as_str(),
            ])
            .inc();
        match served.cache {
            domain::CacheStatus::Hit => self.cache_lookups.with_label_values(&["hit"]).inc(),
            domain::CacheStatus::Miss => self.cache_lookups.with_label_values(&["miss"]).inc(),
            domain::CacheStatus::Refused => {
                self.cache_lookups.with_label_values(&["miss"]).inc();
                self.cache_refused.inc();
            }
            domain::CacheStatus::Off => {}
        }
    }

    /// Sets the PSI gauges from a report.
    pub fn record_drift(&self, report: &domain::MonitoringReport) {
        let quantities = std::iter::once(("score", &report.score))
            .chain(report.features.iter().map(|(name, drift)| (*name, drift)));
        for (quantity, drift) in quantities {
            self.psi
                .with_label_values(&[quantity])
                .set(drift.psi.unwrap_or(f64::NAN));
        }
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut buffer)
            .expect("metrics encode");
        String::from_utf8(buffer).expect("the text format is UTF-8")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
