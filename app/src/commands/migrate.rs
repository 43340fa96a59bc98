//! `credit-decisions migrate`: the decision store's schema created or
//! upgraded, and the partitions made, then exit; so that an operator can
//! migrate before rolling out replicas.

use std::process::ExitCode;

use postgres_store::PostgresDecisionStore;

use crate::startup::config::{Config, StoreConfig};
use crate::startup::wiring::postgres_settings;

pub async fn run(config: &Config) -> ExitCode {
    let StoreConfig::Postgres { url, .. } = &config.store else {
        eprintln!(
            "credit-decisions migrate: the store is in memory; there is no schema to migrate \
             (set CREDIT_DECISIONS_STORE=postgres and CREDIT_DECISIONS_DATABASE_URL)"
        );
        return ExitCode::FAILURE;
    };
    match PostgresDecisionStore::migrate(&postgres_settings(&config.store)).await {
        Ok(()) => {
            println!("the decision store at {url} is up to date");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("credit-decisions migrate: {}", url.scrub(&error));
            ExitCode::FAILURE
        }
    }
}
