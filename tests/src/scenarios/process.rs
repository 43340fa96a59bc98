//! The `credit-decisions` binary as a process: configured by its environment,
//! one JSON log line per request, and a graceful stop on SIGTERM that lets
//! requests in flight finish and commit their log rows.
//!
//! The binary must be built first (`cargo build --bin credit-decisions`;
//! `scripts/test` does).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pretty_assertions::assert_eq;
use sea_orm::{ConnectionTrait, Database, TransactionTrait};
use serde_json::{Value, json};

use crate::harness::data::example_with;
use crate::harness::real_backends::{TestDatabase, admin_database_url};

fn binary() -> PathBuf {
    // The test executable is target/<profile>/deps/<name>; the binary is
    // target/<profile>/credit-decisions.
    let path = std::env::current_exe()
        .unwrap()
        .parent()
        .and_then(|deps| deps.parent())
        .unwrap()
        .join("credit-decisions");
    assert!(
        path.exists(),
        "{} is missing: build it first with `cargo build --bin credit-decisions` (scripts/test does)",
        path.display()
    );
    path
}

/// The binary, running on port 0, with its stdout collected as it comes.
struct Running {
    child: Child,
    base: String,
    stdout: Arc<Mutex<String>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Running {
    async fn start(env: &[(&str, String)]) -> Self {
        let mut command = Command::new(binary());
        command
            .env_clear()
            .env("CREDIT_DECISIONS_ADDR", "127.0.0.1:0")
            .env("CREDIT_DECISIONS_LOG_FORMAT", "json")
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().unwrap();
        let stdout = Arc::new(Mutex::new(String::new()));
        let reader = {
            let pipe = BufReader::new(child.stdout.take().unwrap());
            let stdout = stdout.clone();
            std::thread::spawn(move || {
                for line in pipe.lines().map_while(Result::ok) {
                    let mut all = stdout.lock().unwrap();
                    all.push_str(&line);
                    all.push('\n');
                }
            })
        };
        let mut running = Self {
            child,
            base: String::new(),
            stdout,
            reader: Some(reader),
        };
        // The address is the one the binary reports once it listens.
        let deadline = Instant::now() + Duration::from_secs(20);
        let addr = loop {
            if let Some(addr) = running.reported_address() {
                break addr;
            }
            assert!(
                Instant::now() < deadline,
                "the service reported no address: {}",
                running.stdout.lock().unwrap()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        running.base = format!("http://{addr}");
        loop {
            if let Ok(response) = reqwest::get(format!("{}/health/ready", running.base)).await
                && response.status() == 200
            {
                return running;
            }
            assert!(
                Instant::now() < deadline,
                "the service did not become ready"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The `addr` of the "serving credit decisions" line, once it is logged.
    fn reported_address(&self) -> Option<String> {
        let stdout = self.stdout.lock().unwrap();
        stdout
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .find(|line| line["message"] == "serving credit decisions")
            .and_then(|line| line["addr"].as_str().map(str::to_owned))
    }

    fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the process to exit; returns its exit code and its stdout.
    async fn wait(mut self) -> (Option<i32>, String) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // The pipe closes with the process: the reader has all of it.
                self.reader.take().unwrap().join().unwrap();
                let stdout = self.stdout.lock().unwrap().clone();
                return (status.code(), stdout);
            }
            assert!(Instant::now() < deadline, "the service did not exit");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

/// Requests waiting on a lock in the test database.
async fn waiting_on_locks(database: &TestDatabase) -> i64 {
    let rows = TestDatabase::query_json_at(
        &admin_database_url(),
        &format!(
            "SELECT count(*) AS waiting FROM pg_stat_activity \
             WHERE datname = '{}' AND wait_event_type = 'Lock'",
            database.name
        ),
    )
    .await;
    rows[0]["waiting"].as_i64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_requests_in_flight_finish_and_be_logged() {
    let database = TestDatabase::create().await;
    let service = Running::start(&[
        ("CREDIT_DECISIONS_STORE", "postgres".to_owned()),
        ("CREDIT_DECISIONS_DATABASE_URL", database.url.clone()),
        ("CREDIT_DECISIONS_CACHE", "none".to_owned()),
    ])
    .await;

    // Hold the log table so that the decisions below are in flight, waiting
    // to be written, when SIGTERM arrives.
    let holder = Database::connect(&database.url).await.unwrap();
    let lock = holder.begin().await.unwrap();
    lock.execute_unprepared("LOCK TABLE decisions IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();

    let client = reqwest::Client::new();
    let in_flight: Vec<_> = (0..3)
        .map(|i| {
            let request = client
                .post(format!("{}/v1/decisions", service.base))
                .header("X-Request-Id", format!("in-flight-{i}"))
                .json(&example_with("age_years", json!(40 + i)));
            tokio::spawn(async move { request.send().await })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(10);
    while waiting_on_locks(&database).await < 3 {
        assert!(
            Instant::now() < deadline,
            "the requests did not reach the log"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    service.terminate();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let refused = reqwest::get(format!("{}/health/live", service.base)).await;
    assert!(
        refused.is_err(),
        "a stopping service accepts no new connection"
    );

    lock.commit().await.unwrap();
    let mut answered = Vec::new();
    for request in in_flight {
        let response = request
            .await
            .unwrap()
            .expect("an in-flight request is answered");
        assert_eq!(response.status(), 200);
        answered.push(response.json::<Value>().await.unwrap()["decision_id"].clone());
    }

    let (code, logs) = service.wait().await;
    assert_eq!(code, Some(0), "a graceful stop exits 0");

    let rows = database
        .query_json("SELECT decision_id FROM decisions ORDER BY decision_id")
        .await;
    let mut logged: Vec<Value> = rows
        .into_iter()
        .map(|row| row["decision_id"].clone())
        .collect();
    answered.sort_by_key(|id| id.to_string());
    logged.sort_by_key(|id| id.to_string());
    assert_eq!(logged, answered, "every answered decision is in the log");

    // One line per request, with its id, decision and latency; never the
    // application's content.
    let lines: Vec<Value> = logs
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    for i in 0..3 {
        let id = format!("in-flight-{i}");
        let line = lines
            .iter()
            .find(|line| line["request_id"] == id.as_str() && line["message"] == "request")
            .unwrap_or_else(|| panic!("no request line for {id} in {logs}"));
        assert_eq!(line["route"], "/v1/decisions");
        assert_eq!(line["status"], 200);
        assert_eq!(line["source"], "model");
        assert!(answered.contains(&line["decision_id"]));
        assert!(line["latency_ms"].as_f64().unwrap() > 0.0);
    }
    for value in [
        "critical_account",
        "radio_television",
        "7_years_or_more",
        "skilled",
    ] {
        assert!(
            !logs.contains(value),
            "the logs hold application content ({value})"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_configuration_stops_the_service_naming_the_variable() {
    let output = Command::new(binary())
        .env_clear()
        .env("CREDIT_DECISIONS_CACHE", "memcached")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("CREDIT_DECISIONS_CACHE: 'memcached' is not one of memory, redis, none"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_model_stops_the_service_naming_the_file() {
    let output = Command::new(binary())
        .env_clear()
        .env("CREDIT_DECISIONS_ADDR", "127.0.0.1:0")
        .env("CREDIT_DECISIONS_MODEL", "/nonexistent/model.onnx")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("cannot read the model /nonexistent/model.onnx"),
        "{stderr}"
    );
}
