//! How the store's statements reach PostgreSQL: straight (or through a pooler
//! in session mode), or through a pooler in transaction mode, such as
//! PgBouncer with `pool_mode = transaction`.
//!
//! A transaction pooler hands the server connection to another client after
//! every transaction, so nothing may outlive one:
//! - no statement split over two exchanges outside a transaction: sqlx
//!   parses in one exchange and binds in the next, so each statement runs
//!   inside a transaction of its own;
//! - no prepared statement kept for later: the statement cache is off. sqlx
//!   still names each statement it prepares (`sqlx_s_1`, …, counted per
//!   client connection) and leaves it on the server connection, where the
//!   next client would collide with it; so each transaction first clears
//!   what an earlier one left (`DEALLOCATE ALL`);
//! - no setting of the session: the statement bound is set per transaction.

use std::time::Duration;

use futures::FutureExt;
use sea_orm::sqlx::postgres::PgConnectOptions;
use sea_orm::sqlx::{self, ConnectOptions as _};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbErr,
    QueryResult, RuntimeErr, Statement, TransactionTrait,
};

/// Whether a pooler between the service and PostgreSQL reassigns server
/// connections after each transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PoolMode {
    /// Each connection of the service is one server session: PostgreSQL
    /// itself, or a pooler in session mode.
    #[default]
    Session,
    /// A pooler in transaction mode (PgBouncer's `pool_mode = transaction`).
    Transaction,
}

/// The connection pool of the store, and how to run a statement on it.
#[derive(Clone)]
pub(crate) struct Connection {
    pub(crate) db: DatabaseConnection,
    mode: PoolMode,
    /// What each transaction runs first behind a transaction pooler.
    clean_start: String,
    /// How this pool was opened, for another like it.
    options: ConnectOptions,
    /// How a writer's own connection is opened.
    writer_options: PgConnectOptions,
}

/// An idle connection is checked with a round trip before it is handed out
/// only past this long. sqlx's default checks every time, a round trip more
/// for every statement; a connection that broke sooner fails its statement
/// (503) and is replaced. (The commit writers keep connections of their own:
/// see `writer.rs`.)
const CHECK_IDLE_AFTER: Duration = Duration::from_secs(10);

impl Connection {
    pub(crate) async fn open(
        url: &str,
        mode: PoolMode,
        max_connections: u32,
        acquire_timeout: Duration,
        statement_timeout: Duration,
    ) -> Result<Self, DbErr> {
        let timeout_ms = statement_timeout.as_millis().to_string();
        let mut options = ConnectOptions::new(url.to_owned());
        options
            .max_connections(max_connections)
            .min_connections(1)
            .connect_timeout(acquire_timeout)
            .acquire_timeout(acquire_timeout)
            .test_before_acquire_if_idle_for(CHECK_IDLE_AFTER)
            .sqlx_logging(false);
        // One set of connection options, the pool's and the writers' alike.
        let connection = url
            .parse::<PgConnectOptions>()
            .map_err(|error| DbErr::Conn(sea_orm::RuntimeErr::Internal(error.to_string())))?
            .disable_statement_logging();
        let writer_options = match mode {
            // The server cancels a statement past the bound, so a request
            // that stopped waiting leaves nothing running behind it.
            PoolMode::Session => connection.options([("statement_timeout", timeout_ms.as_str())]),
            PoolMode::Transaction => connection.statement_cache_capacity(0),
        };
        let pool_connection = writer_options.clone();
        options.map_sqlx_postgres_opts(move |_| pool_connection.clone());
        #[cfg(target_os = "linux")]
        if writer_options.get_socket().is_none() {
            let port = writer_options.get_port();
            options.map_sqlx_postgres_pool_opts(move |pool| {
                pool.after_connect(move |_, _| {
                    crate::nodelay::set_on_sockets_towards(port);
                    Box::pin(std::future::ready(Ok(())))
                })
            });
        }
        Ok(Self {
            db: Database::connect(options.clone()).await?,
            mode,
            clean_start: format!("DEALLOCATE ALL; SET LOCAL statement_timeout = {timeout_ms}"),
            options,
            writer_options,
        })
    }

    /// Another pool like this one, of at most `max_connections`, whose
    /// connections are opened when first needed by the tasks that need them,
    /// and so belong to the runtime of the thread that runs those tasks.
    pub(crate) fn another_pool(&self, max_connections: u32) -> Self {
        let mut options = self.options.clone();
        options
            .max_connections(max_connections)
            .min_connections(0)
            .connect_lazy(true);
        // A lazy pool is made without waiting on anything.
        let db = Database::connect(options.clone())
            .now_or_never()
            .expect("a lazy pool is made at once")
            .expect("the URL was accepted for the first pool");
        Self {
            db,
            mode: self.mode,
            clean_start: self.clean_start.clone(),
            options,
            writer_options: self.writer_options.clone(),
        }
    }

    /// How this pool's connections are opened, for a connection of one's
    /// own opened the same way (a group-commit writer's).
    pub(crate) fn options_for_one(&self) -> PgConnectOptions {
        self.writer_options.clone()
    }

    pub(crate) fn mode(&self) -> PoolMode {
        self.mode
    }

    /// What each transaction runs first behind a transaction pooler.
    pub(crate) fn clean_start(&self) -> &str {
        &self.clean_start
    }

    /// Begins a transaction; behind a transaction pooler, on a server
    /// connection cleared of what earlier clients left, with the bound set.
    pub(crate) async fn begin(&self) -> Result<DatabaseTransaction, DbErr> {
        let transaction = self.db.begin().await?;
        if self.mode == PoolMode::Transaction {
            transaction.execute_unprepared(&self.clean_start).await?;
        }
        Ok(transaction)
    }

    /// Runs one statement that only reads, as a transaction of its own, on
    /// a connection that is not broken (see [`Self::on_a_live_connection`]).
    pub(crate) async fn query(&self, statement: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.on_a_live_connection(|| async {
            match self.mode {
                PoolMode::Session => self.db.query_all_raw(statement.clone()).await,
                PoolMode::Transaction => {
                    let transaction = self.begin().await?;
                    let rows = transaction.query_all_raw(statement.clone()).await?;
                    transaction.commit().await?;
                    Ok(rows)
                }
            }
        })
        .await
    }

    /// Runs `attempt`, which only reads, again while it fails on a broken
    /// connection: at most once for each connection idle in the pool, and
    /// once more on a new one.
    ///
    /// An outage breaks every idle connection, and the pool finds a broken
    /// one out only by using it (it then drops it). Without the retries each
    /// of them would fail a read, or a readiness check, after the server is
    /// back. A broken connection fails at once; a server that is still away
    /// costs one connection attempt, as without the retries.
    async fn on_a_live_connection<T, F, Fut>(&self, attempt: F) -> Result<T, DbErr>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, DbErr>>,
    {
        let idle = self.db.get_postgres_connection_pool().num_idle();
        retried_while_broken(idle, attempt).await
    }
}

/// Runs `attempt` until it succeeds or fails for another reason than a
/// broken connection, at most `retries` times more.
async fn retried_while_broken<T, F, Fut>(mut retries: usize, attempt: F) -> Result<T, DbErr>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T, DbErr>>,
{
    loop {
        match attempt().await {
            Err(error) if retries > 0 && is_broken_connection(&error) => retries -= 1,
            outcome => return outcome,
        }
    }
}

/// Whether `error` says the connection it ran on is gone (closed or reset),
/// rather than anything about the statement.
fn is_broken_connection(error: &DbErr) -> bool {
    match error {
        DbErr::Conn(RuntimeErr::SqlxError(error))
        | DbErr::Exec(RuntimeErr::SqlxError(error))
        | DbErr::Query(RuntimeErr::SqlxError(error)) => matches!(**error, sqlx::Error::Io(_)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn io_error() -> Arc<sqlx::Error> {
        Arc::new(sqlx::Error::Io(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "connection reset by peer",
        )))
    }

    /// An attempt that fails `failures` times with `error`, then succeeds;
    /// and how many attempts were made.
    fn failing(
        failures: usize,
        error: fn() -> DbErr,
    ) -> (
        impl Fn() -> std::future::Ready<Result<(), DbErr>>,
        Arc<std::sync::atomic::AtomicUsize>,
    ) {
        let attempts = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = attempts.clone();
        let attempt = move || {
            let made = counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            std::future::ready(if made < failures {
                Err(error())
            } else {
                Ok(())
            })
        };
        (attempt, attempts)
    }

    fn broken() -> DbErr {
        DbErr::Query(RuntimeErr::SqlxError(io_error()))
    }

    fn made(attempts: &std::sync::atomic::AtomicUsize) -> usize {
        attempts.load(std::sync::atomic::Ordering::SeqCst)
    }

    #[tokio::test]
    async fn a_read_is_retried_once_for_each_broken_connection_it_may_meet() {
        let (attempt, attempts) = failing(3, broken);
        assert!(retried_while_broken(3, attempt).await.is_ok());
        assert_eq!(made(&attempts), 4);

        // One broken connection more than the retries: the read fails.
        let (attempt, attempts) = failing(3, broken);
        let outcome = retried_while_broken(2, attempt).await;
        assert!(matches!(outcome, Err(DbErr::Query(_))), "{outcome:?}");
        assert_eq!(made(&attempts), 3);

        let (attempt, attempts) = failing(0, broken);
        assert!(retried_while_broken(0, attempt).await.is_ok());
        assert_eq!(made(&attempts), 1);
    }

    #[tokio::test]
    async fn a_read_that_fails_for_its_own_reason_is_not_retried() {
        let (attempt, attempts) = failing(1, || DbErr::Custom("no such table".to_owned()));
        let outcome = retried_while_broken(5, attempt).await;
        assert!(matches!(outcome, Err(DbErr::Custom(_))), "{outcome:?}");
        assert_eq!(made(&attempts), 1);
    }

    /// A read is retried only where the connection broke under it, never
    /// for what the statement itself did wrong.
    #[test]
    fn only_an_io_error_says_the_connection_broke() {
        for broken in [
            DbErr::Conn(RuntimeErr::SqlxError(io_error())),
            DbErr::Exec(RuntimeErr::SqlxError(io_error())),
            DbErr::Query(RuntimeErr::SqlxError(io_error())),
        ] {
            assert!(is_broken_connection(&broken), "{broken:?}");
        }
        for statement in [
            DbErr::Query(RuntimeErr::SqlxError(Arc::new(sqlx::Error::RowNotFound))),
            DbErr::Exec(RuntimeErr::Internal("a constraint".to_owned())),
            DbErr::Custom("anything else".to_owned()),
        ] {
            assert!(!is_broken_connection(&statement), "{statement:?}");
        }
    }
}
