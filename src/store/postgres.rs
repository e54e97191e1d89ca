//! The PostgreSQL backend, for running several stateless nodes on one shared database. The same
//! schema as SQLite (migrations kept in step, a test compares them), times as unix seconds.
//!
//! Every connection gets a statement timeout, and the pool gives up waiting for a connection after
//! a few seconds, so when the database is unreachable a page fails fast with 503 instead of
//! hanging; the pool reconnects by itself when the database is back.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Executor, PgPool};

use super::StoreResult;
use crate::config::DatabaseSettings;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

pub struct PgStore {
    pub(super) pool: PgPool,
}

impl PgStore {
    /// Connects to `url` and runs pending migrations (under PostgreSQL's advisory lock, so nodes
    /// starting together do not race).
    pub async fn connect(url: &str, settings: &DatabaseSettings) -> StoreResult<Self> {
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
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(Self { pool })
    }

    /// Whether the database answers and every migration this binary knows has been applied.
    pub async fn ready(&self) -> StoreResult<bool> {
        let applied: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success").fetch_one(&self.pool).await?;
        Ok(applied >= MIGRATOR.iter().count() as i64)
    }
}
