//! Reads from SQLite on the calling thread, for the reader-facing page that the long tail of
//! uncached requests hits (`ArticleRepo::article_reading`).
//!
//! sqlx runs each SQLite connection on a thread of its own and passes every statement and row
//! through channels to it. For a read that takes SQLite a few dozen microseconds, that hand-off
//! (waking the connection's thread, waking the task again, copying the row across) cost about as
//! much as the read itself: a profile of uncached article pages at 100k articles had a quarter of
//! the server's CPU in futex calls and context switches. These connections run the same statement
//! text (see `sql.rs`) where the request already is. They only read (`query_only` refuses
//! anything else); the database's writes stay with sqlx's pool and its transactions.

use std::path::PathBuf;
use std::sync::Mutex;
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

/// One row read by [`InlineReads`]: its column names and values, looked up by name.
pub struct InlineRow {
    columns: Vec<String>,
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
            None => self.open().map_err(read_error)?,
        };
        let row = first_row(&connection, sql, args).map_err(read_error)?;
        let mut idle = self.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if idle.len() < KEEP_IDLE {
            idle.push(connection);
        }
        Ok(row)
    }
}

fn first_row(connection: &Connection, sql: &str, args: &[Arg]) -> rusqlite::Result<Option<InlineRow>> {
    let mut statement = connection.prepare_cached(sql)?;
    // Arguments are found as sqlx's SQLite driver finds them, so a statement binds alike on both
    // paths: `$n` and `?n` are the n-th argument wherever they stand; plain `?`s take the next
    // argument in their own order. Unlike sqlx, an argument that is missing is an error rather
    // than a silent NULL.
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
        statement.raw_bind_parameter(index, value_of(arg))?;
    }
    let columns: Vec<String> = statement.column_names().into_iter().map(str::to_owned).collect();
    let mut rows = statement.raw_query();
    let Some(row) = rows.next()? else {
        return Ok(None);
    };
    let values = (0..columns.len()).map(|i| row.get::<_, Value>(i)).collect::<rusqlite::Result<Vec<Value>>>()?;
    Ok(Some(InlineRow { columns, values }))
}

fn value_of(arg: &Arg) -> Value {
    match arg {
        Arg::Int(v) => v.map_or(Value::Null, Value::Integer),
        Arg::Real(v) => v.map_or(Value::Null, Value::Real),
        Arg::Float(v) => v.map_or(Value::Null, |v| Value::Real(f64::from(v))),
        Arg::Bool(v) => v.map_or(Value::Null, |v| Value::Integer(i64::from(v))),
        Arg::Text(v) => v.clone().map_or(Value::Null, Value::Text),
        Arg::Bytes(v) => v.clone().map_or(Value::Null, Value::Blob),
    }
}

/// A read that failed, as the same failure through sqlx would be: SQLite's extended result code
/// and message as a database error, so that `StoreError::from` sorts it the same way (a full or
/// failing disk is `StorageFull`, anything else an error of the store) and the site answers alike.
fn read_error(error: rusqlite::Error) -> StoreError {
    let code = match &error {
        rusqlite::Error::SqliteFailure(failure, _) => Some(failure.extended_code),
        _ => None,
    };
    StoreError::from(sqlx::Error::Database(Box::new(InlineError { code, message: error.to_string() })))
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
        sqlx::error::ErrorKind::Other
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
}
