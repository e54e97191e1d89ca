//! Reads from SQLite on the calling thread, for the reader-facing page that the long tail of
//! uncached requests hits (`ArticleRepo::article_reading`).
//!
//! sqlx runs each SQLite connection on a thread of its own and passes every statement and row
//! through channels to it. For a read that takes SQLite a few dozen microseconds, that hand-off
//! (waking the connection's thread, waking the task again, copying the row across) cost about as
//! much as the read itself: a profile of uncached article pages at 100k articles had a quarter of
//! the server's CPU in futex calls and context switches. These connections run the same statement
//! text (see `sql.rs`) where the request already is. They only read (`query_only` refuses
//! anything else); the site's writes stay with sqlx's pool and its transactions.
//!
//! [`InlineWriter`] is the one exception: the single connection of a database being built in one
//! go (`sqlite::Loading`, behind `broadsheet generate`), which writes on the calling thread too. A
//! load is one long run of large inserts, and sending each one's arguments to sqlx's connection
//! thread and waiting for the answer kept the loader's two halves taking turns instead of working
//! at once.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags};

use super::StoreError;
use super::sql::Arg;

/// Idle connections kept for reuse. Each holds a statement cache and its page cache; more are
/// opened when more threads read at once, and those beyond this many are closed after their read.
const KEEP_IDLE: usize = 4;

/// Read-only SQLite connections to one database file, used by whichever thread needs one.
pub struct InlineReads {
    path: PathBuf,
    /// The `mmap_size` the pool's connections use, so both kinds read the file the same way.
    mmap_bytes: &'static str,
    idle: Mutex<Vec<Connection>>,
}

impl std::fmt::Debug for InlineReads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InlineReads").field("path", &self.path).finish_non_exhaustive()
    }
}

/// One row read by [`InlineReads`] or [`InlineWriter`]: its column names (shared by the rows of
/// one statement) and values, looked up by name.
pub struct InlineRow {
    columns: Arc<[String]>,
    values: Vec<Value>,
}

impl InlineRow {
    pub(super) fn value(&self, column: &str) -> Result<&Value, sqlx::Error> {
        self.columns
            .iter()
            .position(|name| name == column)
            .map(|i| &self.values[i])
            .ok_or_else(|| sqlx::Error::ColumnNotFound(column.to_owned()))
    }

    pub(super) fn value_at(&self, index: usize) -> Result<&Value, sqlx::Error> {
        self.values.get(index).ok_or(sqlx::Error::ColumnIndexOutOfBounds { index, len: self.values.len() })
    }
}

impl InlineReads {
    /// Connections to the database file at `path`, which must already exist (the pool created
    /// and migrated it).
    pub fn new(path: PathBuf, mmap_bytes: &'static str) -> Self {
        Self { path, mmap_bytes, idle: Mutex::new(Vec::new()) }
    }

    fn open(&self) -> rusqlite::Result<Connection> {
        let connection = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        // A reader under WAL waits only while a checkpoint resets the log or another connection
        // recovers it; the pool's connections wait as long.
        connection.busy_timeout(Duration::from_secs(10))?;
        connection.pragma_update(None, "query_only", true)?;
        connection.pragma_update(None, "cache_size", -8192)?;
        connection.pragma_update(None, "mmap_size", self.mmap_bytes)?;
        Ok(connection)
    }

    /// Runs a statement written for `sql.rs` (numbered `$n` placeholders) and returns its first
    /// row, if any.
    pub fn fetch_optional(&self, sql: &str, args: &[Arg]) -> Result<Option<InlineRow>, StoreError> {
        let taken = self.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner).pop();
        let connection = match taken {
            Some(connection) => connection,
            None => self.open().map_err(store_error)?,
        };
        let row = first_row(&connection, sql, args).map_err(store_error)?;
        let mut idle = self.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if idle.len() < KEEP_IDLE {
            idle.push(connection);
        }
        Ok(row)
    }
}

/// The one connection of a database being loaded ([`crate::store::sqlite::Loading`]), which runs
/// every statement of the load on the calling thread: in its transactions ([`InlineTx`]) and
/// outside them. Whoever holds it has the database to itself; another statement waits for it, up
/// to [`WAIT_FOR_CONNECTION`]. So code that holds a transaction must run its statements in it:
/// one run on the database meanwhile, in the same task, fails after that wait (as it did on the
/// one-connection pool this replaced).
pub struct InlineWriter {
    connection: Arc<tokio::sync::Mutex<Option<Connection>>>,
}

/// How long a statement waits for the loading connection: sqlx's default wait for a pool's
/// connection.
const WAIT_FOR_CONNECTION: Duration = Duration::from_secs(30);

/// The loading connection, held; `None` once closed.
type Held = tokio::sync::OwnedMutexGuard<Option<Connection>>;

fn open_connection(held: &Held) -> Result<&Connection, sqlx::Error> {
    held.as_ref().ok_or(sqlx::Error::PoolClosed)
}

impl std::fmt::Debug for InlineWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InlineWriter").finish_non_exhaustive()
    }
}

impl InlineWriter {
    pub fn new(connection: Connection) -> Self {
        Self { connection: Arc::new(tokio::sync::Mutex::new(Some(connection))) }
    }

    async fn hold(&self) -> Result<Held, sqlx::Error> {
        tokio::time::timeout(WAIT_FOR_CONNECTION, Arc::clone(&self.connection).lock_owned())
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)
    }

    /// Runs one statement outside a transaction; the rows it changed.
    pub async fn execute(&self, sql: &str, args: &[Arg]) -> Result<u64, sqlx::Error> {
        let held = self.hold().await?;
        execute(open_connection(&held)?, sql, args)
    }

    /// Runs one statement outside a transaction; every row it returned.
    pub async fn fetch_all(&self, sql: &str, args: &[Arg]) -> Result<Vec<InlineRow>, sqlx::Error> {
        let held = self.hold().await?;
        query(open_connection(&held)?, sql, args, usize::MAX).map_err(database_error)
    }

    /// Opens a transaction that takes the write lock at once (as the pool's `BEGIN IMMEDIATE`).
    pub async fn begin(&self) -> Result<InlineTx, sqlx::Error> {
        let held = self.hold().await?;
        open_connection(&held)?.execute_batch("BEGIN IMMEDIATE").map_err(database_error)?;
        Ok(InlineTx { held, open: true })
    }

    /// Closes the connection once its statements are done; statements after this fail.
    pub async fn close(&self) -> Result<(), sqlx::Error> {
        let taken = self.connection.lock().await.take();
        match taken {
            Some(connection) => connection.close().map_err(|(_, e)| database_error(e)),
            None => Ok(()),
        }
    }
}

/// A transaction on an [`InlineWriter`]'s connection, which it holds until it ends. Dropped
/// without [`InlineTx::commit`], it is rolled back, as far as the connection's journal allows: a
/// load runs without one (`journal_mode = OFF`), so pages already written stay, and a failed load
/// is thrown away whole instead.
pub struct InlineTx {
    held: Held,
    open: bool,
}

impl InlineTx {
    pub fn execute(&mut self, sql: &str, args: &[Arg]) -> Result<u64, sqlx::Error> {
        execute(open_connection(&self.held)?, sql, args)
    }

    pub fn fetch_all(&mut self, sql: &str, args: &[Arg]) -> Result<Vec<InlineRow>, sqlx::Error> {
        query(open_connection(&self.held)?, sql, args, usize::MAX).map_err(database_error)
    }

    pub fn commit(mut self) -> Result<(), sqlx::Error> {
        open_connection(&self.held)?.execute_batch("COMMIT").map_err(database_error)?;
        self.open = false;
        Ok(())
    }
}

impl Drop for InlineTx {
    fn drop(&mut self) {
        if self.open {
            if let Some(connection) = self.held.as_ref() {
                if let Err(e) = connection.execute_batch("ROLLBACK") {
                    tracing::warn!("could not roll back a loading transaction: {e}");
                }
            }
        }
    }
}

fn execute(connection: &Connection, sql: &str, args: &[Arg]) -> Result<u64, sqlx::Error> {
    let mut statement = connection.prepare_cached(sql).map_err(database_error)?;
    bind_all(&mut statement, args).map_err(database_error)?;
    // Stepped to the end whether or not it returns rows (a PRAGMA does), as sqlx's `execute` does.
    let mut rows = statement.raw_query();
    while rows.next().map_err(database_error)?.is_some() {}
    drop(rows);
    Ok(connection.changes())
}

/// The first `most` rows of a statement.
fn query(connection: &Connection, sql: &str, args: &[Arg], most: usize) -> rusqlite::Result<Vec<InlineRow>> {
    let mut statement = connection.prepare_cached(sql)?;
    bind_all(&mut statement, args)?;
    let columns: Arc<[String]> = statement.column_names().into_iter().map(str::to_owned).collect();
    let mut rows = statement.raw_query();
    let mut all = Vec::new();
    while all.len() < most {
        let Some(row) = rows.next()? else { break };
        all.push(row_of(row, &columns)?);
    }
    Ok(all)
}

fn first_row(connection: &Connection, sql: &str, args: &[Arg]) -> rusqlite::Result<Option<InlineRow>> {
    Ok(query(connection, sql, args, 1)?.pop())
}

/// Binds `args` to `statement`'s parameters, found as sqlx's SQLite driver finds them, so a
/// statement binds alike on both paths: `$n` and `?n` are the n-th argument wherever they stand;
/// plain `?`s take the next argument in their own order. Unlike sqlx, an argument that is missing
/// is an error rather than a silent NULL.
fn bind_all(statement: &mut rusqlite::CachedStatement<'_>, args: &[Arg]) -> rusqlite::Result<()> {
    let mut next_plain = 0;
    for index in 1..=statement.parameter_count() {
        let number = match statement.parameter_name(index) {
            None => {
                next_plain += 1;
                Some(next_plain)
            }
            Some(name) => name.strip_prefix(['$', '?']).and_then(|n| n.parse::<usize>().ok()),
        };
        let arg = number
            .and_then(|n| n.checked_sub(1))
            .and_then(|i| args.get(i))
            .ok_or(rusqlite::Error::InvalidParameterCount(index, args.len()))?;
        bind_one(statement, index, arg)?;
    }
    Ok(())
}

/// Binds one argument by reference: text and blobs are not copied on the way (SQLite takes its
/// own copy).
fn bind_one(statement: &mut rusqlite::CachedStatement<'_>, index: usize, arg: &Arg) -> rusqlite::Result<()> {
    use rusqlite::types::Null;
    match arg {
        Arg::Int(Some(v)) => statement.raw_bind_parameter(index, v),
        Arg::Real(Some(v)) => statement.raw_bind_parameter(index, v),
        Arg::Float(Some(v)) => statement.raw_bind_parameter(index, f64::from(*v)),
        Arg::Bool(Some(v)) => statement.raw_bind_parameter(index, i64::from(*v)),
        Arg::Text(Some(v)) => statement.raw_bind_parameter(index, v.as_str()),
        Arg::Bytes(Some(v)) => statement.raw_bind_parameter(index, v.as_slice()),
        Arg::Int(None) | Arg::Real(None) | Arg::Float(None) | Arg::Bool(None) | Arg::Text(None) | Arg::Bytes(None) => {
            statement.raw_bind_parameter(index, Null)
        }
    }
}

fn row_of(row: &rusqlite::Row<'_>, columns: &Arc<[String]>) -> rusqlite::Result<InlineRow> {
    let values = (0..columns.len()).map(|i| row.get::<_, Value>(i)).collect::<rusqlite::Result<Vec<Value>>>()?;
    Ok(InlineRow { columns: Arc::clone(columns), values })
}

/// A statement that failed, as the same failure through sqlx would be ([`database_error`]), so
/// that `StoreError::from` sorts it the same way (a full or failing disk is `StorageFull`,
/// anything else an error of the store) and the site answers alike.
pub(super) fn store_error(error: rusqlite::Error) -> StoreError {
    StoreError::from(database_error(error))
}

/// A failure of SQLite reached through rusqlite, as sqlx's SQLite driver reports it: SQLite's
/// extended result code and message as a database error, with the same kind (a unique or foreign
/// key violation is recognised as one).
fn database_error(error: rusqlite::Error) -> sqlx::Error {
    let code = match &error {
        rusqlite::Error::SqliteFailure(failure, _) => Some(failure.extended_code),
        _ => None,
    };
    sqlx::Error::Database(Box::new(InlineError { code, message: error.to_string() }))
}

#[derive(Debug)]
struct InlineError {
    code: Option<std::ffi::c_int>,
    message: String,
}

impl std::fmt::Display for InlineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for InlineError {}

impl sqlx::error::DatabaseError for InlineError {
    fn message(&self) -> &str {
        &self.message
    }

    fn code(&self) -> Option<std::borrow::Cow<'_, str>> {
        // As sqlx's SQLite driver reports it: the extended result code, in decimal.
        self.code.map(|code| code.to_string().into())
    }

    fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
        self
    }

    fn kind(&self) -> sqlx::error::ErrorKind {
        use rusqlite::ffi;
        use sqlx::error::ErrorKind;
        // As sqlx's SQLite driver sorts the same codes.
        match self.code {
            Some(ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY) => ErrorKind::UniqueViolation,
            Some(ffi::SQLITE_CONSTRAINT_FOREIGNKEY) => ErrorKind::ForeignKeyViolation,
            Some(ffi::SQLITE_CONSTRAINT_NOTNULL) => ErrorKind::NotNullViolation,
            Some(ffi::SQLITE_CONSTRAINT_CHECK) => ErrorKind::CheckViolation,
            _ => ErrorKind::Other,
        }
    }
}

/// A Rust value read from a column of an [`InlineRow`], with SQLite's own types: integers,
/// reals, text and blobs, any of them NULL where the type is an `Option`.
pub trait FromInline: Sized {
    fn from_inline(value: &Value) -> Result<Self, String>;
}

fn mismatch(expected: &str, value: &Value) -> String {
    format!("expected {expected}, found {:?}", value.data_type())
}

impl FromInline for i64 {
    fn from_inline(value: &Value) -> Result<Self, String> {
        match value {
            Value::Integer(v) => Ok(*v),
            other => Err(mismatch("an integer", other)),
        }
    }
}

impl FromInline for i32 {
    fn from_inline(value: &Value) -> Result<Self, String> {
        i64::from_inline(value).and_then(|v| i32::try_from(v).map_err(|e| e.to_string()))
    }
}

impl FromInline for bool {
    fn from_inline(value: &Value) -> Result<Self, String> {
        i64::from_inline(value).map(|v| v != 0)
    }
}

impl FromInline for f64 {
    fn from_inline(value: &Value) -> Result<Self, String> {
        match value {
            Value::Real(v) => Ok(*v),
            // An expression (not a REAL column) can give a whole number as an integer.
            Value::Integer(v) => Ok(*v as f64),
            other => Err(mismatch("a real number", other)),
        }
    }
}

impl FromInline for f32 {
    fn from_inline(value: &Value) -> Result<Self, String> {
        f64::from_inline(value).map(|v| v as f32)
    }
}

impl FromInline for String {
    fn from_inline(value: &Value) -> Result<Self, String> {
        match value {
            Value::Text(v) => Ok(v.clone()),
            other => Err(mismatch("text", other)),
        }
    }
}

impl FromInline for Vec<u8> {
    fn from_inline(value: &Value) -> Result<Self, String> {
        match value {
            Value::Blob(v) => Ok(v.clone()),
            other => Err(mismatch("a blob", other)),
        }
    }
}

impl<T: FromInline> FromInline for Option<T> {
    fn from_inline(value: &Value) -> Result<Self, String> {
        match value {
            Value::Null => Ok(None),
            other => T::from_inline(other).map(Some),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sql::Row;

    fn database() -> (tempfile::TempDir, InlineReads) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("t.db");
        let setup = Connection::open(&path).expect("create");
        setup
            .execute_batch(
                "PRAGMA journal_mode = WAL;
                 CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, score REAL, data BLOB, flag INTEGER);
                 INSERT INTO t VALUES (1, 'one', 1.5, x'0102', 1), (2, NULL, 2, NULL, 0);",
            )
            .expect("schema");
        (dir, InlineReads::new(path, "0"))
    }

    #[test]
    fn numbered_placeholders_take_their_argument_wherever_they_stand() {
        let (_dir, reads) = database();
        // $2 comes first in the text; it must still be the second argument.
        let row = reads
            .fetch_optional(
                "SELECT id, $2 AS second, $1 AS first FROM t WHERE id = $1",
                &[Arg::Int(Some(2)), Arg::Text(Some("b".into()))],
            )
            .expect("read")
            .map(Row::Inline)
            .expect("a row");
        assert_eq!(row.int("id").expect("id"), 2);
        assert_eq!(row.text("second").expect("second"), "b");
        assert_eq!(row.int("first").expect("first"), 2);
        let none = reads.fetch_optional("SELECT id FROM t WHERE id = $1", &[Arg::Int(Some(9))]).expect("read");
        assert!(none.is_none());
    }

    #[test]
    fn plain_placeholders_count_apart_from_numbered_ones_as_sqlx_counts_them() {
        let (_dir, reads) = database();
        let row = reads
            .fetch_optional(
                "SELECT ? AS a, $1 AS b, ? AS c",
                &[Arg::Text(Some("first".into())), Arg::Text(Some("second".into()))],
            )
            .expect("read")
            .map(Row::Inline)
            .expect("a row");
        let read = |column| row.text(column).expect("text");
        assert_eq!((read("a"), read("b"), read("c")), ("first".into(), "first".into(), "second".into()));
    }

    #[test]
    fn columns_decode_by_name_with_nulls_and_mismatches_reported() {
        let (_dir, reads) = database();
        let one = Row::Inline(reads.fetch_optional("SELECT * FROM t WHERE id = 1", &[]).expect("read").expect("row"));
        assert_eq!(one.opt_text("name").expect("name"), Some("one".to_owned()));
        assert_eq!(one.real("score").expect("score"), 1.5);
        assert_eq!(one.opt_bytes("data").expect("data"), Some(vec![1, 2]));
        assert!(one.flag("flag").expect("flag"));
        let two = Row::Inline(reads.fetch_optional("SELECT * FROM t WHERE id = 2", &[]).expect("read").expect("row"));
        assert_eq!(two.opt_text("name").expect("name"), None);
        assert_eq!(two.real("score").expect("a REAL column"), 2.0);
        let expression = Row::Inline(reads.fetch_optional("SELECT 2 AS whole", &[]).expect("read").expect("row"));
        assert_eq!(expression.real("whole").expect("an integer read as a real"), 2.0);
        assert!(!two.flag("flag").expect("flag"));
        assert!(two.text("name").is_err(), "NULL is not text");
        assert!(two.int("score").is_err(), "a real is not an integer");
        assert!(two.text("missing").is_err(), "no such column");
    }

    #[test]
    fn connections_only_read_and_are_reused() {
        let (_dir, reads) = database();
        match reads.fetch_optional("DELETE FROM t RETURNING id", &[]) {
            // SQLITE_READONLY (8), an error of the store like any other failed statement.
            Err(StoreError::Database(sqlx::Error::Database(e))) => assert_eq!(e.code().as_deref(), Some("8"), "{e}"),
            other => panic!("query_only refuses writes: {:?}", other.map(|row| row.is_some())),
        }
        for _ in 0..10 {
            reads.fetch_optional("SELECT id FROM t", &[]).expect("read");
        }
        assert_eq!(reads.idle.lock().expect("lock").len(), 1, "one thread reading needs one connection");
        let missing = reads.fetch_optional("SELECT id FROM t WHERE id = $2", &[Arg::Int(Some(1))]);
        assert!(missing.is_err(), "an argument that was not given is an error, not a NULL");
        let zero = reads.fetch_optional("SELECT id FROM t WHERE id = $0", &[Arg::Int(Some(1))]);
        assert!(zero.is_err(), "there is no argument number 0");
    }

    fn writer() -> (tempfile::TempDir, InlineWriter) {
        let dir = tempfile::tempdir().expect("temp dir");
        let connection = Connection::open(dir.path().join("w.db")).expect("create");
        connection
            .execute_batch(
                "PRAGMA foreign_keys = ON;
                 CREATE TABLE parent (id INTEGER PRIMARY KEY, slug TEXT NOT NULL UNIQUE);
                 CREATE TABLE child (parent_id INTEGER NOT NULL REFERENCES parent (id));",
            )
            .expect("schema");
        (dir, InlineWriter::new(connection))
    }

    fn texts(rows: &[InlineRow], column: &str) -> Vec<String> {
        let mut all: Vec<String> =
            rows.iter().map(|row| String::from_inline(row.value(column).expect("column")).expect("text")).collect();
        all.sort();
        all
    }

    #[tokio::test]
    async fn a_transaction_keeps_its_rows_when_committed_and_none_when_dropped() {
        let (_dir, writer) = writer();
        let mut tx = writer.begin().await.expect("begin");
        let returned = tx
            .fetch_all(
                "INSERT INTO parent (slug) VALUES (?), (?) RETURNING id, slug",
                &[Arg::Text(Some("a".into())), Arg::Text(Some("b".into()))],
            )
            .expect("insert");
        assert_eq!(texts(&returned, "slug"), ["a", "b"]);
        assert_eq!(tx.execute("UPDATE parent SET slug = slug || '!'", &[]).expect("update"), 2, "rows changed");
        tx.commit().expect("commit");

        let mut tx = writer.begin().await.expect("begin");
        tx.execute("INSERT INTO parent (slug) VALUES ($1)", &[Arg::Text(Some("lost".into()))]).expect("insert");
        drop(tx);
        let all = writer.fetch_all("SELECT slug FROM parent", &[]).await.expect("read");
        assert_eq!(texts(&all, "slug"), ["a!", "b!"], "the dropped transaction was rolled back");
        // A statement that returns rows runs to its end through `execute` too.
        writer.execute("PRAGMA user_version = 7", &[]).await.expect("pragma");
        let version = writer.fetch_all("PRAGMA user_version", &[]).await.expect("read");
        assert_eq!(i64::from_inline(version[0].value_at(0).expect("value")), Ok(7));
    }

    #[tokio::test]
    async fn constraint_failures_are_sorted_as_sqlx_sorts_them() {
        let (_dir, writer) = writer();
        writer.execute("INSERT INTO parent (id, slug) VALUES (1, 'a')", &[]).await.expect("insert");
        let duplicate = writer.execute("INSERT INTO parent (slug) VALUES ('a')", &[]).await.expect_err("a duplicate");
        assert!(crate::store::shared::is_unique_violation(&duplicate), "{duplicate}");
        let orphan = writer.execute("INSERT INTO child (parent_id) VALUES (2)", &[]).await.expect_err("an orphan");
        assert!(crate::store::shared::is_foreign_key_violation(&orphan), "{orphan}");
        let missing = writer.execute("INSERT INTO parent (slug) VALUES ($2)", &[Arg::Text(Some("x".into()))]).await;
        assert!(missing.is_err(), "an argument that was not given is an error, not a NULL");
        let unnamed = writer.execute("INSERT INTO parent (slug) VALUES (NULL)", &[]).await.expect_err("NOT NULL");
        assert!(matches!(&unnamed, sqlx::Error::Database(e) if e.kind() == sqlx::error::ErrorKind::NotNullViolation));
    }

    #[tokio::test]
    async fn a_closed_writer_refuses_statements() {
        let (_dir, writer) = writer();
        writer.close().await.expect("close");
        assert!(matches!(writer.execute("SELECT 1", &[]).await, Err(sqlx::Error::PoolClosed)));
        assert!(matches!(writer.begin().await, Err(sqlx::Error::PoolClosed)));
        writer.close().await.expect("closing twice is harmless");
    }
}
