//! The scenarios. Each module writes its checks once as functions over a
//! `TestApp`; [`on_both_backends!`] runs a list of them on the in-memory
//! adapters and on the real servers, and the few that apply to one set only
//! are tests of their own.

/// Runs each listed scenario (an `async fn(&TestApp)` of the calling module)
/// twice: as `on_memory::<name>` on fresh in-memory adapters, and as
/// `on_real_servers::<name>` on Redis and PostgreSQL, on fresh state of its own.
/// With `prepare = f;` first, the backends go through `f` (a
/// `fn(TestBackends) -> TestBackends` of the calling module, named
/// `super::f`) before the app starts on them.
macro_rules! on_both_backends {
    (prepare = $prepare:path; $($scenario:ident),+ $(,)?) => {
        mod on_memory {
            $(
                #[tokio::test]
                async fn $scenario() {
                    let backends = $prepare(crate::harness::TestBackends::memory());
                    super::$scenario(&crate::harness::TestApp::spawn(backends).await).await;
                }
            )+
        }

        mod on_real_servers {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    let backends = $prepare(crate::harness::TestBackends::real().await);
                    super::$scenario(&crate::harness::TestApp::spawn(backends).await).await;
                }
            )+
        }
    };
    ($($scenario:ident),+ $(,)?) => {
        on_both_backends!(prepare = std::convert::identity; $($scenario),+);
    };
}

mod auth;
mod batch;
mod bounds;
mod cache_trust;
mod command_line;
mod decision_flow;
mod degradation;
mod health;
mod metrics;
mod migrations;
mod model;
mod models;
mod monitoring;
mod negative_paths;
mod openapi;
mod port_contracts;
mod process;
mod properties;
mod reading_the_store;
mod request_ids;
mod scaling;
mod store_in_postgres;
mod workers;
