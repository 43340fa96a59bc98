//! What `credit-decisions` does besides serving: one module a subcommand,
//! each printing what it found and returning the process's exit code.

pub mod backtest;
pub mod check_model;
pub mod migrate;
