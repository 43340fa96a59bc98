//! The `credit-decisions` binary as a process of the test's: configured by
//! its environment, on port 0, its stdout collected as it comes.
//!
//! The binary must be built first (`cargo build --bin credit-decisions`;
//! `scripts/test` does).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use super::waiting::eventually;

pub fn binary() -> PathBuf {
    // The test executable is target/<profile>/deps/<name>; the binary is
    // target/<profile>/credit-decisions.
    let path = std::env::current_exe()
        .unwrap()
        .parent()
        .and_then(|deps| deps.parent())
        .unwrap()
        .join("credit-decisions");
    if std::env::var_os(BUILD_BINARY).is_some() {
        build_binary();
    }
    assert!(
        path.exists(),
        "{} is missing: build it first with `cargo build --bin credit-decisions` (scripts/test does)",
        path.display()
    );
    path
}

/// Set, each test that runs the binary builds it first. Mutation testing
/// (scripts/mutants) sets it: cargo builds a package's binary for its own
/// tests only, so without it these tests would run the unmutated binary.
const BUILD_BINARY: &str = "CREDIT_DECISIONS_TEST_BUILD_BINARY";

/// `cargo build --bin credit-decisions` in the workspace: quick when it is
/// up to date, and cargo's own lock makes concurrent tests wait for one build.
fn build_binary() {
    let workspace = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .args(["build", "--quiet", "--bin", "credit-decisions"])
        .current_dir(workspace);
    // What cargo set for this test, not for the build: some build scripts
    // (ring's) read CARGO_MANIFEST_DIR, and a value they did not see before
    // would rebuild half the dependencies.
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if name.starts_with("CARGO_PKG_")
            || [
                "CARGO_MANIFEST_DIR",
                "CARGO_MANIFEST_PATH",
                "CARGO_CRATE_NAME",
                "CARGO_PRIMARY_PACKAGE",
                "CARGO_TARGET_TMPDIR",
                "OUT_DIR",
            ]
            .contains(&name.as_ref())
        {
            command.env_remove(name.as_ref());
        }
    }
    let status = command.status().expect("cargo runs");
    assert!(
        status.success(),
        "cargo build --bin credit-decisions failed"
    );
}

/// The binary, running on port 0, with its stdout collected as it comes.
pub struct Running {
    pub child: Child,
    pub base: String,
    pub stdout: Arc<Mutex<String>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Running {
    pub async fn start(env: &[(&str, String)]) -> Self {
        Self::start_command(Command::new(binary()), env).await
    }

    /// The binary, allowed at most `descriptors` open files (util-linux's
    /// `prlimit` sets the limit, soft and hard, then runs it).
    pub async fn start_with_descriptors(env: &[(&str, String)], descriptors: u32) -> Self {
        let mut command = Command::new("prlimit");
        command
            .arg(format!("--nofile={descriptors}:{descriptors}"))
            .arg("--")
            .arg(binary());
        Self::start_command(command, env).await
    }

    async fn start_command(mut command: Command, env: &[(&str, String)]) -> Self {
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
        eventually(
            "the service reports its address",
            Duration::from_secs(20),
            || std::future::ready(running.reported_address().is_some()),
        )
        .await;
        running.base = format!("http://{}", running.reported_address().unwrap());
        let ready = format!("{}/health/ready", running.base);
        eventually("the service is ready", Duration::from_secs(20), || async {
            reqwest::get(&ready)
                .await
                .is_ok_and(|response| response.status() == 200)
        })
        .await;
        running
    }

    /// The `addr` of the "serving credit decisions" line, once it is logged.
    pub fn reported_address(&self) -> Option<String> {
        self.start_up_line()
            .and_then(|line| line["addr"].as_str().map(str::to_owned))
    }

    /// The "serving credit decisions" line, once it is logged.
    pub fn start_up_line(&self) -> Option<Value> {
        let stdout = self.stdout.lock().unwrap();
        stdout
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .find(|line| line["message"] == "serving credit decisions")
    }

    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the process to exit; returns its exit code and its stdout.
    pub async fn wait(mut self) -> (Option<i32>, String) {
        let mut status = None;
        eventually("the service exits", Duration::from_secs(20), || {
            status = self.child.try_wait().unwrap();
            std::future::ready(status.is_some())
        })
        .await;
        // The pipe closes with the process: the reader has all of it.
        self.reader.take().unwrap().join().unwrap();
        let stdout = self.stdout.lock().unwrap().clone();
        (status.and_then(|status| status.code()), stdout)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}
