//! `credit-decisions`: serves the contract on the configured adapters, or
//! runs one of the other commands (`--help` lists them).
//!
//! With no configuration it serves on in-memory adapters and the built-in
//! model, on 127.0.0.1:8080.

use std::process::ExitCode;

use app::commands;
use app::startup::command_line::{self, Action, CommandLineError};
use app::{Config, Server, telemetry};
use onnx_scorer::OnnxScorer;

// glibc's malloc and free were a tenth of the service's time under load;
// mimalloc serves more requests with the same cores (docs/performance.md).
// Without transparent huge pages: with them, RSS under load went past 64 MiB.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc's `mimalloc.h` (the -sys crate
/// names the options either side of it, 14 and 16, but not it).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// By default mimalloc keeps freed memory for a second, and returns it only
/// when the thread that freed it allocates again: after a flood of large
/// requests an idle worker held on to tens of MiB more. Returned at once,
/// it cost no throughput measured (docs/performance.md).
#[allow(unsafe_code)]
fn return_freed_memory_at_once() {
    // SAFETY: sets a plain integer option, which mimalloc allows at any time.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0) };
}

#[actix_web::main]
async fn main() -> ExitCode {
    return_freed_memory_at_once();
    let built_in = OnnxScorer::built_in_version();
    let (action, config) = match command_line::parse(std::env::args(), &built_in) {
        Ok(parsed) => parsed,
        // --help and --version print and exit 0; a usage error exits 2.
        Err(CommandLineError::Usage(error)) => error.exit(),
        Err(CommandLineError::Setting(error)) => {
            eprintln!("credit-decisions: configuration: {error}");
            return ExitCode::from(2);
        }
        // The backtest's own input, as its unknown version is: exit 1.
        Err(CommandLineError::Window(message)) => {
            eprintln!("credit-decisions backtest: {message}");
            return ExitCode::FAILURE;
        }
    };
    match (action, config) {
        (Action::CheckModel(path), _) => commands::check_model::run(&path),
        (Action::Migrate, Some(config)) => commands::migrate::run(&config).await,
        (Action::Backtest(request), Some(config)) => {
            commands::backtest::run(&config, &request).await
        }
        (Action::Serve, Some(config)) => serve(config).await,
        (_, None) => unreachable!("every command but check-model is configured"),
    }
}

/// Serves until SIGINT or SIGTERM.
async fn serve(config: Config) -> ExitCode {
    telemetry::init(config.log_format);
    let server = match Server::build(&config).await {
        Ok(server) => server,
        Err(error) => {
            tracing::error!(%error, "cannot start");
            eprintln!("credit-decisions: cannot start: {error}");
            return ExitCode::FAILURE;
        }
    };
    let operators = server
        .operator_addr()
        .map_or("the public address".to_owned(), |addr| addr.to_string());
    let model = match &config.model {
        None => format!("{} (built in)", server.model_version()),
        Some(path) => format!("{} ({})", server.model_version(), path.display()),
    };
    tracing::info!(
        addr = %server.addr(),
        metrics_and_dashboard_on = %operators,
        cache = %config.cache,
        log = %config.store,
        model,
        api_keys = if config.api_keys.is_some() { "required" } else { "off: anyone may call" },
        "serving credit decisions"
    );
    match server.run_until_stopped().await {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(error) => {
            tracing::error!(%error, "server failed");
            ExitCode::FAILURE
        }
    }
}
