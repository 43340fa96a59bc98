//! The integration and end-to-end suites, as one test binary
//! (`cargo test -p tests`).
//!
//! `harness` starts the whole app on the adapters a test asks for, wrapped
//! in spies; `scenarios` are the tests, written once against `TestApp`.
#![cfg(test)]

mod harness;
mod scenarios;
