//! The PostgreSQL backend, for running several stateless nodes on one shared database. The same
//! schema as SQLite (migrations kept in step, a test compares them), times as unix seconds.
//!
//! Every connection gets a statement timeout, and the pool gives up waiting for a connection after
//! a few seconds, so when the database is unreachable a page fails fast with 503 instead of
//! hanging; the pool reconnects by itself when the database is back.
//!
//! Only connecting lives here; the queries are shared with SQLite (`sql.rs`). Where SQLite's
//! single writer made a read-then-write transaction safe, the shared code asks the dialect for a
//! row lock (`SELECT … FOR UPDATE`) or a table lock, and where one transaction updates many rows
//! (view counts) it touches them in a fixed order, so concurrent writers from several nodes wait
//! for each other instead of deadlocking.

use std::str::FromStr;
use std::time::Duration;

use sqlx::Executor;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use super::StoreResult;
use super::sql::{Db, Pool};
use crate::config::DatabaseSettings;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Connects to `url` and runs pending migrations (under PostgreSQL's advisory lock, so nodes
/// starting together do not race).
pub async fn connect(url: &str, settings: &DatabaseSettings) -> StoreResult<Db> {
    let options = PgConnectOptions::from_str(url)?.application_name("broadsheet");
    let statement_timeout = format!("SET statement_timeout = {}", settings.statement_timeout_ms);
    let pool = PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .min_connections(0)
        .acquire_timeout(Duration::from_millis(settings.acquire_timeout_ms))
        .after_connect(move |conn, _meta| {
            let statement_timeout = statement_timeout.clone();
            Box::pin(async move {
                conn.execute(sqlx::AssertSqlSafe(statement_timeout)).await?;
                Ok(())
            })
        })
        .connect_with(options)
        .await
        .map_err(name_tls_failure)?;
    MIGRATOR.run(&pool).await?;
    Ok(Db::new(Pool::Postgres(pool)))
}

/// rustls reports a refused server certificate as an I/O error, which reads as "error
/// communicating with database: invalid peer certificate: UnknownIssuer". Naming it a TLS failure
/// tells whoever starts the node to look at `sslmode`, `sslrootcert` and the server's certificate.
fn name_tls_failure(e: sqlx::Error) -> sqlx::Error {
    match e {
        sqlx::Error::Io(io) if io.get_ref().is_some_and(|inner| inner.is::<rustls::Error>()) => {
            sqlx::Error::Tls(Box::new(io))
        }
        other => other,
    }
}

/// Migrations this binary knows, to tell whether the database is up to date.
pub(super) fn migrations() -> usize {
    MIGRATOR.iter().count()
}
