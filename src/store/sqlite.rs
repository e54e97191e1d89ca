//! The embedded SQLite backend: one file in the data directory, WAL journal, foreign keys on, every
//! acknowledged write synced to disk (`synchronous = FULL`) so it survives a crash or power loss.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::Connection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use super::sql::{Db, Pool};
use super::{StoreError, StoreResult};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// Opens (creating if needed) `broadsheet.db` in `data_dir` and runs pending migrations.
pub async fn open(data_dir: &Path) -> StoreResult<Db> {
    std::fs::create_dir_all(data_dir).map_err(|e| {
        StoreError::Database(sqlx::Error::Configuration(
            format!("cannot create data directory {}: {e}", data_dir.display()).into(),
        ))
    })?;
    let options = SqliteConnectOptions::from_str("sqlite:")?
        .filename(data_dir.join("broadsheet.db"))
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10))
        // 8 MiB of page cache per connection (SQLite's default is 2 MiB): a page render reads
        // a few dozen scattered rows, and each page found here saves a system call.
        .pragma("cache_size", "-8192");
    // Two cores serve the site; four connections let reads overlap a write without holding
    // more page caches than the memory budget allows.
    let pool = pool_options().max_connections(4).connect_with(options).await?;
    MIGRATOR.run(&pool).await?;
    Ok(Db::new(Pool::Sqlite(pool)))
}

/// Pool settings, with one guard: a connection whose transaction state is in doubt is closed
/// rather than reused.
///
/// When the disk fills up or fails, SQLite may roll a transaction back on its own. sqlx still
/// counts it as open, so the `ROLLBACK` it sends when the `Transaction` is dropped fails and the
/// connection goes back to the pool believing it is inside a transaction. Its next `begin()` then
/// opens a `SAVEPOINT` instead of a transaction, a later rollback there leaves a real transaction
/// open, and from then on every write on that connection is acknowledged but never committed
/// (lost at shutdown) while it holds the write lock (everyone else times out). Closing the
/// connection rolls back whatever SQLite still holds and the pool opens a clean one.
fn pool_options() -> SqlitePoolOptions {
    SqlitePoolOptions::new().after_release(|connection, _| {
        Box::pin(async move {
            if !connection.is_in_transaction() {
                return Ok(true);
            }
            // A dropped `Transaction` queues its rollback; let it run, then look again.
            connection.ping().await?;
            if connection.is_in_transaction() {
                tracing::warn!("closing a database connection left inside a transaction (after a failed write)");
                return Ok(false);
            }
            Ok(true)
        })
    })
}

/// Migrations this binary knows, to tell whether the database is up to date.
pub(super) fn migrations() -> usize {
    MIGRATOR.iter().count()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sequence a full disk produced in a review: SQLite ends a transaction by itself, sqlx
    /// still counts it as open, and later writes on that connection were acknowledged and lost.
    #[tokio::test]
    async fn a_connection_left_inside_a_transaction_is_not_reused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let options = SqliteConnectOptions::new()
            .filename(dir.path().join("guard.db"))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full);
        // One connection, so every step below runs on the same one unless the guard closes it.
        let pool = pool_options().max_connections(1).connect_with(options.clone()).await.expect("pool");
        sqlx::query("CREATE TABLE notes (body TEXT NOT NULL)").execute(&pool).await.expect("table");

        {
            let mut tx = pool.begin().await.expect("begin");
            sqlx::query("INSERT INTO notes VALUES ('never committed')").execute(&mut *tx).await.expect("insert");
            // What SQLite does on its own after SQLITE_FULL or SQLITE_IOERR.
            sqlx::query("ROLLBACK").execute(&mut *tx).await.expect("rollback behind sqlx's back");
        }
        {
            let mut tx = pool.begin().await.expect("begin again");
            sqlx::query("INSERT INTO notes VALUES ('rolled back')").execute(&mut *tx).await.expect("insert");
            tx.rollback().await.expect("rollback");
        }
        sqlx::query("INSERT INTO notes VALUES ('acknowledged')").execute(&pool).await.expect("acknowledged write");
        pool.close().await;

        let reader = SqlitePoolOptions::new().connect_with(options).await.expect("reader");
        let bodies: Vec<String> =
            sqlx::query_scalar("SELECT body FROM notes").fetch_all(&reader).await.expect("read back");
        assert_eq!(bodies, vec!["acknowledged".to_owned()], "an acknowledged write must be on disk");
    }

    /// SQLite's "database or disk is full" becomes `StorageFull` (a 503 for the writer), whether
    /// the disk or a page limit ran out.
    #[tokio::test]
    async fn a_full_database_is_reported_as_storage_full() {
        let dir = tempfile::tempdir().expect("temp dir");
        let options = SqliteConnectOptions::new().filename(dir.path().join("full.db")).create_if_missing(true);
        let pool = pool_options().max_connections(1).connect_with(options).await.expect("pool");
        sqlx::query("CREATE TABLE notes (body BLOB NOT NULL)").execute(&pool).await.expect("table");
        let pages: i64 = sqlx::query_scalar("PRAGMA page_count").fetch_one(&pool).await.expect("page count");
        sqlx::query(sqlx::AssertSqlSafe(format!("PRAGMA max_page_count = {pages}")))
            .execute(&pool)
            .await
            .expect("limit");
        let failed = sqlx::query("INSERT INTO notes VALUES (zeroblob(1000000))")
            .execute(&pool)
            .await
            .expect_err("the database is full");
        let error = StoreError::from(failed);
        assert!(error.is_storage_full(), "{error:?}");
    }
}
