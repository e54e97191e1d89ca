//! The embedded SQLite backend: one file in the data directory, WAL journal, foreign keys on, every
//! acknowledged write synced to disk (`synchronous = FULL`) so it survives a crash or power loss.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::Connection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteLockingMode, SqlitePoolOptions, SqliteSynchronous};

use super::inline::{InlineReads, InlineWriter, store_error};
use super::sql::{Db, Pool, sql, sql_built};
use super::{SqlStore, Store, StoreError, StoreResult};

/// The database's file in the data directory.
pub const DATABASE_FILE: &str = "broadsheet.db";

/// SQLite's default ceiling for `mmap_size` (`SQLITE_MAX_MMAP_SIZE`); a larger file is read
/// beyond it as before.
const MMAP_BYTES: &str = "2147418112";

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// Opens (creating if needed) `broadsheet.db` in `data_dir` and runs pending migrations.
pub async fn open(data_dir: &Path) -> StoreResult<Db> {
    std::fs::create_dir_all(data_dir).map_err(|e| {
        StoreError::Database(sqlx::Error::Configuration(
            format!("cannot create data directory {}: {e}", data_dir.display()).into(),
        ))
    })?;
    let options = SqliteConnectOptions::from_str("sqlite:")?
        .filename(data_dir.join(DATABASE_FILE))
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10))
        // 8 MiB of page cache per connection (SQLite's default is 2 MiB): a page render reads
        // a few dozen scattered rows, and each page found here saves a system call.
        .pragma("cache_size", "-8192")
        // Reads go through a memory map of the file (up to SQLite's 2 GiB ceiling) instead of a
        // read() and a copy per page: an uncached article page reads scattered pages, and this
        // took a third off its CPU time on a 100k-article archive. The mapped pages are the
        // kernel's page cache, shared and reclaimable; they show in the process's RSS once read.
        .pragma("mmap_size", MMAP_BYTES);
    // Two cores serve the site; four connections let reads overlap a write without holding
    // more page caches than the memory budget allows.
    let pool = pool_options().max_connections(4).connect_with(options).await?;
    MIGRATOR.run(&pool).await?;
    let inline = InlineReads::new(data_dir.join(DATABASE_FILE), MMAP_BYTES);
    Ok(Db::new(Pool::Sqlite(pool)).with_inline_reads(inline))
}

/// A new database filled in one go (a generated dataset). It is built in a side file,
/// `broadsheet.db.loading`, with no journal, no syncs, no foreign key checks and the write lock
/// held throughout, on one connection that runs on the loader's thread, and most
/// secondary indexes the migrations define are created after the rows (sorting once is cheaper
/// than updating them row by row). [`Loading::finish`] then syncs the file, switches it to
/// WAL as the site opens it and renames it to `broadsheet.db`. Until then there is no
/// `broadsheet.db`, so a load that is killed leaves nothing that looks like a complete database;
/// its side file is removed by the next load, or when a `Loading` is dropped unfinished.
pub struct Loading {
    db: Db,
    path: PathBuf,
    target: PathBuf,
    data_dir: PathBuf,
    /// The `CREATE INDEX` statements dropped for the load, as the migrations wrote them.
    indexes: Vec<String>,
    finished: bool,
}

impl Loading {
    /// Starts a new database in `data_dir`; `None` when the directory already has one.
    pub async fn start(data_dir: &Path) -> StoreResult<Option<Self>> {
        std::fs::create_dir_all(data_dir).map_err(io_error)?;
        let target = data_dir.join(DATABASE_FILE);
        if target.try_exists().map_err(io_error)? {
            return Ok(None);
        }
        let path = data_dir.join(format!("{DATABASE_FILE}.loading"));
        remove_with_side_files(&path)?;
        let options = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .locking_mode(SqliteLockingMode::Exclusive)
            // Nothing to roll back to and nothing to survive a crash for: a failed load is thrown
            // away whole.
            .journal_mode(SqliteJournalMode::Off)
            .synchronous(SqliteSynchronous::Off)
            .foreign_keys(true)
            // 16 MiB of page cache holds the index pages being added to; most pages are written
            // once, and a larger cache measured slower (every page in it is memory to allocate).
            .pragma("cache_size", "-16384")
            .pragma("temp_store", "MEMORY");
        let pool = SqlitePoolOptions::new().max_connections(1).connect_with(options).await?;
        // Made first, so that a failure from here on removes the side file.
        let mut loading = Self {
            db: Db::new(Pool::Sqlite(pool.clone())),
            path,
            target,
            data_dir: data_dir.to_owned(),
            indexes: Vec::new(),
            finished: false,
        };
        MIGRATOR.run(&pool).await?;
        // Every table is indexed after the load (the unique constraints' own indexes stay, as
        // they must). The articles' rows are narrow, their bodies being in a table of their own,
        // so indexing them afterwards reads little.
        let rows = sql("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name")
            .fetch_all(&loading.db)
            .await?;
        for row in rows {
            let name = row.text("name")?;
            sql_built(format!("DROP INDEX \"{name}\"")).execute(&loading.db).await?;
            loading.indexes.push(row.text("sql")?);
        }
        // The load itself runs on one connection of its own, on the calling thread
        // (`InlineWriter`; its settings in `loading_connection`).
        pool.close().await;
        let writer = loading_connection(&loading.path).map_err(store_error)?;
        loading.db = Db::new(Pool::Sqlite(pool)).with_inline_writer(InlineWriter::new(writer));
        Ok(Some(loading))
    }

    /// The store to fill.
    pub fn store(&self) -> Arc<dyn Store> {
        Arc::new(SqlStore::new(self.db.clone()))
    }

    /// Creates the indexes, syncs the file and moves it into place as `broadsheet.db`.
    pub async fn finish(mut self) -> StoreResult<()> {
        for index in &self.indexes {
            sql_built(index.clone()).execute(&self.db).await?;
        }
        // The site's journal mode, recorded in the file's header. The WAL stays empty: nothing
        // is written after the switch.
        sql("PRAGMA journal_mode = WAL").fetch_all(&self.db).await?;
        if let Some(writer) = self.db.inline_writer() {
            writer.close().await?;
        }
        let wal = side_file(&self.path, "-wal");
        if std::fs::metadata(&wal).is_ok_and(|m| m.len() > 0) {
            return Err(StoreError::WriteFailed(format!("{} was left with pages in it", wal.display())));
        }
        std::fs::File::open(&self.path).and_then(|f| f.sync_all()).map_err(io_error)?;
        // A journal left by a database that was deleted would be replayed into this one.
        remove_with_side_files(&self.target)?;
        std::fs::rename(&self.path, &self.target).map_err(io_error)?;
        std::fs::File::open(&self.data_dir).and_then(|d| d.sync_all()).map_err(io_error)?;
        self.finished = true;
        Ok(())
    }
}

impl Drop for Loading {
    fn drop(&mut self) {
        if !self.finished {
            if let Err(e) = remove_with_side_files(&self.path) {
                tracing::warn!("could not remove the unfinished database {}: {e}", self.path.display());
            }
        }
    }
}

/// The connection that loads a new database, with the settings [`Loading::start`] gives its pool
/// but one: foreign keys are not checked row by row (nor do deletes cascade). Each checked row
/// costs SQLite a look-up in the table it points at (two for a related story), which took a
/// quarter of a 100k-article load. The generator's rows point only at ids the same load returned,
/// and its test runs `PRAGMA foreign_key_check` on what it made; whatever else fills a
/// [`Loading`] store must give the same guarantee.
fn loading_connection(path: &Path) -> rusqlite::Result<rusqlite::Connection> {
    let connection = rusqlite::Connection::open(path)?;
    connection.execute_batch(
        "PRAGMA locking_mode = EXCLUSIVE; PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; \
         PRAGMA foreign_keys = OFF; PRAGMA cache_size = -16384; PRAGMA temp_store = MEMORY;",
    )?;
    // A load's statements: a few sizes of multi-row insert per table (`insert_rows`), kept prepared.
    connection.set_prepared_statement_cache_capacity(128);
    Ok(connection)
}

/// `path` with `suffix` appended (SQLite's `-wal`, `-shm` and `-journal` files).
fn side_file(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Removes a database file and its journals, if they exist.
fn remove_with_side_files(path: &Path) -> StoreResult<()> {
    for file in [path.to_owned(), side_file(path, "-journal"), side_file(path, "-wal"), side_file(path, "-shm")] {
        match std::fs::remove_file(&file) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io_error(e)),
            _ => {}
        }
    }
    Ok(())
}

fn io_error(e: std::io::Error) -> StoreError {
    StoreError::from(sqlx::Error::Io(e))
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

    /// `.cargo/config.toml` compiles SQLite with these; a build without them (the variable
    /// overridden, the file lost) would recompile list statements on every run again.
    #[tokio::test]
    async fn sqlite_is_built_with_the_options_we_rely_on() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = open(dir.path()).await.expect("open");
        let options: Vec<String> = sql("PRAGMA compile_options")
            .fetch_all(&db)
            .await
            .expect("compile options")
            .iter()
            .map(|row| row.text("compile_options").expect("text"))
            .collect();
        for wanted in ["ENABLE_QPSG", "DEFAULT_MEMSTATUS=0"] {
            assert!(options.iter().any(|o| o == wanted), "SQLite lacks {wanted}: {options:?}");
        }
        let mapped: i64 = sql("PRAGMA mmap_size").scalar_one(&db).await.expect("mmap_size");
        assert_eq!(mapped.to_string(), MMAP_BYTES);
    }

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
