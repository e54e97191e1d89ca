//! One SQL text for both databases. A [`Statement`] holds a query written once, with PostgreSQL's
//! numbered placeholders (`$1`, `$2`…, which sqlx's SQLite driver reads the same way), and its
//! arguments in a backend-neutral form; it is turned into the native sqlx query of whichever
//! database it runs on, or, on SQLite, run through rusqlite on the calling thread where the
//! [`Db`] says so (the long tail's page read, a database being loaded: `store::inline`). Rows
//! come back as [`Row`] and are read by column name.
//!
//! The backend is chosen at run time ([`Db`]), so the rest of the store is written once; the few
//! places where the databases really differ ask [`Db::dialect`] / [`Tx::dialect`].

use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::Query;
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{
    ColumnIndex, Database, Decode, Encode, PgConnection, PgPool, Postgres, SqlStr, Sqlite, SqliteConnection,
    SqlitePool, Type,
};
use sqlx::{SqlSafeStr, Transaction};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::StoreResult;
use super::inline::{FromInline, InlineReads, InlineRow, InlineTx, InlineWriter};

/// Which SQL dialect a connection speaks, for the few statements that differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// Row locking for a read that a write in the same transaction depends on. SQLite's single
    /// writer (every read-then-write transaction starts with `BEGIN IMMEDIATE`) gives this for free.
    pub fn for_update(self) -> &'static str {
        match self {
            Self::Sqlite => "",
            Self::Postgres => " FOR UPDATE",
        }
    }

    /// `expr` values of a group joined with `separator` (a SQL string literal), in `order`.
    pub fn string_agg(self, expr: &str, separator: &str, order: &str) -> String {
        match self {
            Self::Sqlite => format!("group_concat({expr}, {separator} ORDER BY {order})"),
            Self::Postgres => format!("string_agg({expr}, {separator} ORDER BY {order})"),
        }
    }

    /// A JSON array of one object per row of the group, as text (for no rows SQLite gives `[]`,
    /// PostgreSQL NULL; both decode as an empty list). `fields` are
    /// (key, SQL expression) pairs. In no particular order: whoever decodes it sorts it by a field
    /// it carries. An order inside the aggregate cost SQLite a temporary B-tree for each list, five
    /// on every uncached article page.
    pub fn json_array_agg(self, fields: &[(&str, &str)]) -> String {
        let pairs = fields.iter().map(|(key, expr)| format!("'{key}', {expr}")).collect::<Vec<_>>().join(", ");
        match self {
            Self::Sqlite => format!("json_group_array(json_object({pairs}))"),
            Self::Postgres => format!("CAST(json_agg(json_build_object({pairs})) AS TEXT)"),
        }
    }

    /// A join that walks the table on its left first. SQLite takes `CROSS JOIN` as that
    /// instruction (a short list of picks or related ids drives the query); PostgreSQL plans joins
    /// itself and does not allow `ON` after `CROSS JOIN`.
    pub fn driving_join(self) -> &'static str {
        match self {
            Self::Sqlite => "CROSS JOIN",
            Self::Postgres => "JOIN",
        }
    }

    /// Makes a read of the table just before it go through `index`. SQLite keeps no statistics
    /// unless told to, so it takes an equality on an indexed column (`status = 'published'`) as
    /// the narrowest way in, even where a small partial index holds the few rows wanted: with a
    /// million published articles that turned the scheduler's once-a-second check into a scan of
    /// the whole table. PostgreSQL keeps statistics and chooses well by itself.
    pub fn indexed_by(self, index: &'static str) -> String {
        match self {
            Self::Sqlite => format!("INDEXED BY {index}"),
            Self::Postgres => String::new(),
        }
    }
}

impl Dialect {
    /// `count` placeholders separated by commas, for an `IN (…)` list or one row of `VALUES`.
    /// SQLite gets plain `?`, bound in order: sqlx's SQLite driver looks each numbered `$n` up
    /// among all the arguments, which is quadratic in their number and dominated statements of
    /// thousands of rows. PostgreSQL numbers them, going on from `$first`.
    pub fn placeholders(self, count: usize, first: usize) -> String {
        let mut text = String::with_capacity(count * 4);
        for n in 0..count {
            if n > 0 {
                text.push_str(", ");
            }
            match self {
                Self::Sqlite => text.push('?'),
                Self::Postgres => {
                    text.push('$');
                    text.push_str(&(first + n).to_string());
                }
            }
        }
        text
    }

    /// `rows` parenthesised groups of `width` placeholders, for a multi-row `VALUES`.
    pub fn values_rows(self, rows: usize, width: usize) -> String {
        (0..rows).map(|row| format!("({})", self.placeholders(width, 1 + row * width))).collect::<Vec<_>>().join(", ")
    }
}

/// The most arguments one statement may bind on both databases (SQLite's limit; PostgreSQL's is
/// 65,535).
pub const MAX_ARGUMENTS: usize = 32_766;

/// The most rows one multi-row statement carries. More rows per statement save little once there
/// are this many, and every distinct row count is a statement to parse and cache.
const MAX_ROWS: usize = 256;

/// How many rows each statement of a multi-row insert carries: full statements of the largest
/// power of two that fits, then the rest by its binary digits (100 rows: 64, 32, 4). A batch of
/// any size is then made of at most a handful of statement texts per table, which both databases
/// parse once and sqlx keeps prepared; a text per row count would be parsed for every batch.
fn statement_sizes(rows: usize, width: usize) -> Vec<usize> {
    let fits = (MAX_ARGUMENTS / width.max(1)).clamp(1, MAX_ROWS);
    let full = 1 << fits.ilog2();
    let mut sizes = vec![full; rows / full];
    let rest = rows % full;
    sizes.extend((0..usize::BITS).rev().map(|bit| 1 << bit).filter(|size| rest & size != 0));
    sizes
}

/// `items` cut as [`statement_sizes`] cuts rows of one column: for `IN (…)` lists.
pub fn in_lists<T>(items: &[T]) -> impl Iterator<Item = &[T]> {
    let mut rest = items;
    statement_sizes(items.len(), 1).into_iter().map(move |size| {
        let (chunk, after) = rest.split_at(size);
        rest = after;
        chunk
    })
}

/// Inserts `rows` many to a statement ([`statement_sizes`]): `{head} VALUES (…), (…) {tail}`,
/// each row's `width` arguments bound by `bind_row` in column order (rows are taken by value, so
/// their text moves into the statement rather than being copied). `tail` (`ON CONFLICT …`,
/// `RETURNING …`) binds nothing. Returns what `RETURNING` gave.
pub async fn insert_rows<T>(
    tx: &mut Tx,
    head: &str,
    width: usize,
    tail: &str,
    rows: Vec<T>,
    mut bind_row: impl FnMut(Statement, T) -> Statement,
) -> Result<Vec<Row>, sqlx::Error> {
    let dialect = tx.dialect();
    let mut returned = Vec::new();
    let sizes = statement_sizes(rows.len(), width);
    let mut rows = rows.into_iter();
    for size in sizes {
        let mut statement = sql_built(format!("{head} VALUES {} {tail}", dialect.values_rows(size, width)));
        statement.args.reserve(size * width);
        for row in rows.by_ref().take(size) {
            statement = bind_row(statement, row);
        }
        debug_assert_eq!(statement.args.len(), size * width, "{head}: each row binds {width} arguments");
        returned.extend(statement.fetch_all(&mut *tx).await?);
    }
    Ok(returned)
}

/// Separates the values that [`Dialect::string_agg`] joins when they are split again in Rust (the
/// ASCII unit separator, which no name contains).
pub const UNIT_SEPARATOR: char = '\u{1f}';

/// A connection pool on one of the two databases.
#[derive(Clone, Debug)]
pub enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// The database the store is written against: a pool on either backend, and a count of the
/// statements run through it (for the metrics page, and for tests that hold a page to a budget of
/// queries).
#[derive(Clone, Debug)]
pub struct Db {
    pub pool: Pool,
    statements: Arc<AtomicU64>,
    /// On SQLite, connections that read on the calling thread ([`Statement::fetch_optional_inline`]).
    inline: Option<Arc<InlineReads>>,
    /// A database being loaded: every statement runs on this one connection, on the calling
    /// thread, instead of the pool (`sqlite::Loading`).
    writer: Option<Arc<InlineWriter>>,
}

impl Db {
    pub fn new(pool: Pool) -> Self {
        Self { pool, statements: Arc::default(), inline: None, writer: None }
    }

    /// Runs every statement, in transactions and outside them, on `writer` instead of the pool
    /// (one connection: a statement run on the `Db` while the same task holds a transaction
    /// waits for it, and fails after [`InlineWriter`]'s wait).
    pub fn with_inline_writer(self, writer: InlineWriter) -> Self {
        Self { writer: Some(Arc::new(writer)), ..self }
    }

    /// The inline writer, if statements run on one.
    pub fn inline_writer(&self) -> Option<&InlineWriter> {
        self.writer.as_deref()
    }

    /// Lets [`Statement::fetch_optional_inline`] read through `reads` instead of the pool.
    pub fn with_inline_reads(self, reads: InlineReads) -> Self {
        Self { inline: Some(Arc::new(reads)), ..self }
    }

    pub fn dialect(&self) -> Dialect {
        match self.pool {
            Pool::Sqlite(_) => Dialect::Sqlite,
            Pool::Postgres(_) => Dialect::Postgres,
        }
    }

    /// Statements run since the store was opened (transaction control not included).
    pub fn statements_run(&self) -> u64 {
        self.statements.load(Ordering::Relaxed)
    }

    /// A transaction that will write. On SQLite it takes the write lock up front: under WAL, a
    /// deferred transaction whose snapshot went stale while it read cannot upgrade to a writer and
    /// fails at once instead of waiting for the lock. PostgreSQL locks rows as it goes
    /// ([`Dialect::for_update`]).
    pub async fn begin(&self) -> StoreResult<Tx> {
        let transaction = match (&self.writer, &self.pool) {
            (Some(writer), _) => Transaction_::Inline(writer.begin().await?),
            (None, Pool::Sqlite(pool)) => Transaction_::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?),
            (None, Pool::Postgres(pool)) => Transaction_::Postgres(pool.begin().await?),
        };
        Ok(Tx { transaction, statements: Arc::clone(&self.statements) })
    }

    /// Connections in the pool: (open, idle).
    pub fn pool_stats(&self) -> (u32, u32) {
        match &self.pool {
            Pool::Sqlite(pool) => (pool.size(), pool.num_idle() as u32),
            Pool::Postgres(pool) => (pool.size(), pool.num_idle() as u32),
        }
    }
}

/// An open transaction on either database; rolled back when dropped without [`Tx::commit`].
pub struct Tx {
    transaction: Transaction_,
    statements: Arc<AtomicU64>,
}

enum Transaction_ {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
    Inline(InlineTx),
}

impl Tx {
    pub fn dialect(&self) -> Dialect {
        match self.transaction {
            Transaction_::Sqlite(_) | Transaction_::Inline(_) => Dialect::Sqlite,
            Transaction_::Postgres(_) => Dialect::Postgres,
        }
    }

    /// Makes other transactions that replace the whole of `table` wait for this one; readers
    /// still read. SQLite's single writer gives this already.
    pub async fn lock_table(&mut self, table: &'static str) -> StoreResult<()> {
        if self.dialect() == Dialect::Postgres {
            sql_built(format!("LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")).execute(self).await?;
        }
        Ok(())
    }

    /// Makes other transactions that call this with the same `key` wait until this one ends, so
    /// a count-then-insert on `key` is not raced by another node. SQLite's single writer gives
    /// this already.
    pub async fn serialize_on(&mut self, key: &str) -> StoreResult<()> {
        if self.dialect() == Dialect::Postgres {
            sql("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))").bind(key).execute(self).await?;
        }
        Ok(())
    }

    pub async fn commit(self) -> StoreResult<()> {
        match self.transaction {
            Transaction_::Sqlite(tx) => tx.commit().await?,
            Transaction_::Postgres(tx) => tx.commit().await?,
            Transaction_::Inline(tx) => tx.commit()?,
        }
        Ok(())
    }
}

/// Where a statement runs: a pool or an open transaction, and the count it adds to.
pub struct On<'a> {
    target: Target<'a>,
    statements: &'a AtomicU64,
}

enum Target<'a> {
    SqlitePool(&'a SqlitePool),
    PgPool(&'a PgPool),
    Sqlite(&'a mut SqliteConnection),
    Postgres(&'a mut PgConnection),
    /// A loading database's connection, outside a transaction.
    Writer(&'a InlineWriter),
    /// A loading database's transaction.
    Inline(&'a mut InlineTx),
}

impl<'a> From<&'a Db> for On<'a> {
    fn from(db: &'a Db) -> Self {
        let target = match (&db.writer, &db.pool) {
            (Some(writer), _) => Target::Writer(writer),
            (None, Pool::Sqlite(pool)) => Target::SqlitePool(pool),
            (None, Pool::Postgres(pool)) => Target::PgPool(pool),
        };
        On { target, statements: &db.statements }
    }
}

impl<'a> From<&'a mut Tx> for On<'a> {
    fn from(tx: &'a mut Tx) -> Self {
        let target = match &mut tx.transaction {
            Transaction_::Sqlite(tx) => Target::Sqlite(tx),
            Transaction_::Postgres(tx) => Target::Postgres(tx),
            Transaction_::Inline(tx) => Target::Inline(tx),
        };
        On { target, statements: &tx.statements }
    }
}

impl<'a> On<'a> {
    /// Where to run, counting the statement.
    fn target(self) -> Target<'a> {
        self.statements.fetch_add(1, Ordering::Relaxed);
        self.target
    }
}

/// A bound argument, kept typed so that a NULL still tells PostgreSQL what it is.
#[derive(Debug, Clone)]
pub enum Arg {
    Int(Option<i64>),
    Real(Option<f64>),
    Float(Option<f32>),
    Bool(Option<bool>),
    Text(Option<String>),
    Bytes(Option<Vec<u8>>),
}

/// A value that can be bound to a statement on either database.
pub trait ToArg {
    fn to_arg(self) -> Arg;
    /// NULL of this value's type.
    fn null() -> Arg;
}

macro_rules! to_arg {
    ($variant:ident: $($t:ty => |$v:ident| $convert:expr),+ $(,)?) => {
        $(impl ToArg for $t {
            fn to_arg(self) -> Arg {
                let $v = self;
                Arg::$variant(Some($convert))
            }
            fn null() -> Arg {
                Arg::$variant(None)
            }
        })+
    };
}

to_arg!(Int: i64 => |v| v, i32 => |v| i64::from(v), u32 => |v| i64::from(v), usize => |v| v as i64);
to_arg!(Real: f64 => |v| v);
to_arg!(Float: f32 => |v| v);
to_arg!(Bool: bool => |v| v);
to_arg!(Text: String => |v| v, &String => |v| v.clone(), &str => |v| v.to_owned(), &&str => |v| (*v).to_owned());
to_arg!(Bytes: Vec<u8> => |v| v, &[u8] => |v| v.to_vec(), &Vec<u8> => |v| v.clone());

impl ToArg for &i64 {
    fn to_arg(self) -> Arg {
        Arg::Int(Some(*self))
    }
    fn null() -> Arg {
        Arg::Int(None)
    }
}

/// Ids ([`crate::domain::ids`]) are bound as the integers they wrap and read from integer columns
/// on both databases and inline.
macro_rules! id_in_sql {
    ($($t:ident),+) => {
        $(impl ToArg for crate::domain::$t {
            fn to_arg(self) -> Arg {
                Arg::Int(Some(self.0))
            }
            fn null() -> Arg {
                Arg::Int(None)
            }
        }
        impl ToArg for &crate::domain::$t {
            fn to_arg(self) -> Arg {
                Arg::Int(Some(self.0))
            }
            fn null() -> Arg {
                Arg::Int(None)
            }
        }
        impl Type<Sqlite> for crate::domain::$t {
            fn type_info() -> <Sqlite as Database>::TypeInfo {
                <i64 as Type<Sqlite>>::type_info()
            }
            fn compatible(ty: &<Sqlite as Database>::TypeInfo) -> bool {
                <i64 as Type<Sqlite>>::compatible(ty)
            }
        }
        impl Type<Postgres> for crate::domain::$t {
            fn type_info() -> <Postgres as Database>::TypeInfo {
                <i64 as Type<Postgres>>::type_info()
            }
            fn compatible(ty: &<Postgres as Database>::TypeInfo) -> bool {
                <i64 as Type<Postgres>>::compatible(ty)
            }
        }
        impl<'r> Decode<'r, Sqlite> for crate::domain::$t {
            fn decode(value: <Sqlite as Database>::ValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
                <i64 as Decode<Sqlite>>::decode(value).map(Self)
            }
        }
        impl<'r> Decode<'r, Postgres> for crate::domain::$t {
            fn decode(value: <Postgres as Database>::ValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
                <i64 as Decode<Postgres>>::decode(value).map(Self)
            }
        }
        impl super::inline::FromInline for crate::domain::$t {
            fn from_inline(value: &rusqlite::types::Value) -> Result<Self, String> {
                i64::from_inline(value).map(Self)
            }
        })+
    };
}

id_in_sql!(ArticleId, UserId, AuthorId, SectionId, TagId, MediaId, CommentId);

/// The enums the schema stores as text, each by its one spelling (`as_str`, read back by `parse`).
macro_rules! text_enum_arg {
    ($($t:ty),+) => {
        $(impl ToArg for $t {
            fn to_arg(self) -> Arg {
                Arg::Text(Some(self.as_str().to_owned()))
            }
            fn null() -> Arg {
                Arg::Text(None)
            }
        })+
    };
}

text_enum_arg!(
    crate::domain::ArticleStatus,
    crate::domain::CommentStatus,
    crate::domain::CorrectionKind,
    crate::domain::Role,
    super::newsroom::FailureScope
);

impl<T: ToArg> ToArg for Option<T> {
    fn to_arg(self) -> Arg {
        match self {
            Some(value) => value.to_arg(),
            None => T::null(),
        }
    }
    fn null() -> Arg {
        T::null()
    }
}

impl<T: ToArg + Clone> ToArg for &Option<T> {
    fn to_arg(self) -> Arg {
        self.clone().to_arg()
    }
    fn null() -> Arg {
        T::null()
    }
}

/// One SQL statement, written once, with its arguments.
#[must_use = "a statement does nothing until it is run"]
pub struct Statement {
    sql: SqlStr,
    args: Vec<Arg>,
}

/// A statement whose text is known at compile time.
pub fn sql(text: &'static str) -> Statement {
    Statement { sql: text.into_sql_str(), args: Vec::new() }
}

/// A statement whose text is put together at run time from trusted pieces (column lists, a
/// dialect's clause); never from input.
pub fn sql_built(text: String) -> Statement {
    Statement { sql: sqlx::AssertSqlSafe(text).into_sql_str(), args: Vec::new() }
}

impl Statement {
    pub fn bind(mut self, value: impl ToArg) -> Self {
        self.args.push(value.to_arg());
        self
    }

    fn sqlite(self) -> Query<'static, Sqlite, SqliteArguments> {
        native(self)
    }

    fn postgres(self) -> Query<'static, Postgres, PgArguments> {
        native(self)
    }

    /// Runs the statement; the number of rows it changed.
    pub async fn execute<'a>(self, on: impl Into<On<'a>>) -> Result<u64, sqlx::Error> {
        Ok(match on.into().target() {
            Target::SqlitePool(pool) => self.sqlite().execute(pool).await?.rows_affected(),
            Target::PgPool(pool) => self.postgres().execute(pool).await?.rows_affected(),
            Target::Sqlite(conn) => self.sqlite().execute(conn).await?.rows_affected(),
            Target::Postgres(conn) => self.postgres().execute(conn).await?.rows_affected(),
            Target::Writer(writer) => writer.execute(self.sql.as_str(), &self.args).await?,
            Target::Inline(tx) => tx.execute(self.sql.as_str(), &self.args)?,
        })
    }

    pub async fn fetch_all<'a>(self, on: impl Into<On<'a>>) -> Result<Vec<Row>, sqlx::Error> {
        Ok(match on.into().target() {
            Target::SqlitePool(pool) => self.sqlite().fetch_all(pool).await?.into_iter().map(Row::Sqlite).collect(),
            Target::PgPool(pool) => self.postgres().fetch_all(pool).await?.into_iter().map(Row::Postgres).collect(),
            Target::Sqlite(conn) => self.sqlite().fetch_all(conn).await?.into_iter().map(Row::Sqlite).collect(),
            Target::Postgres(conn) => self.postgres().fetch_all(conn).await?.into_iter().map(Row::Postgres).collect(),
            Target::Writer(writer) => {
                writer.fetch_all(self.sql.as_str(), &self.args).await?.into_iter().map(Row::Inline).collect()
            }
            Target::Inline(tx) => tx.fetch_all(self.sql.as_str(), &self.args)?.into_iter().map(Row::Inline).collect(),
        })
    }

    pub async fn fetch_optional<'a>(self, on: impl Into<On<'a>>) -> Result<Option<Row>, sqlx::Error> {
        Ok(match on.into().target() {
            Target::SqlitePool(pool) => self.sqlite().fetch_optional(pool).await?.map(Row::Sqlite),
            Target::PgPool(pool) => self.postgres().fetch_optional(pool).await?.map(Row::Postgres),
            Target::Sqlite(conn) => self.sqlite().fetch_optional(conn).await?.map(Row::Sqlite),
            Target::Postgres(conn) => self.postgres().fetch_optional(conn).await?.map(Row::Postgres),
            // A loader's reads are few and small: the first of all its rows.
            Target::Writer(writer) => {
                writer.fetch_all(self.sql.as_str(), &self.args).await?.into_iter().next().map(Row::Inline)
            }
            Target::Inline(tx) => tx.fetch_all(self.sql.as_str(), &self.args)?.into_iter().next().map(Row::Inline),
        })
    }

    /// Like [`Statement::fetch_optional`] on the database, but where the database offers reads on
    /// the calling thread (SQLite, see `store::inline`), read there: for short reads on the hot
    /// path of uncached pages, where handing the statement to a connection's thread costs as much
    /// as running it. It blocks the calling thread for as long as the read takes.
    pub async fn fetch_optional_inline(self, db: &Db) -> StoreResult<Option<Row>> {
        match &db.inline {
            Some(reads) => {
                db.statements.fetch_add(1, Ordering::Relaxed);
                Ok(reads.fetch_optional(self.sql.as_str(), &self.args)?.map(Row::Inline))
            }
            None => Ok(self.fetch_optional(db).await?),
        }
    }

    pub async fn fetch_one<'a>(self, on: impl Into<On<'a>>) -> Result<Row, sqlx::Error> {
        self.fetch_optional(on).await?.ok_or(sqlx::Error::RowNotFound)
    }

    /// The first column of the first row.
    pub async fn scalar_one<'a, T: Column>(self, on: impl Into<On<'a>>) -> Result<T, sqlx::Error> {
        self.fetch_one(on).await?.get_raw(0)
    }

    /// The first column of the first row, if there is a row.
    pub async fn scalar_optional<'a, T: Column>(self, on: impl Into<On<'a>>) -> Result<Option<T>, sqlx::Error> {
        match self.fetch_optional(on).await? {
            Some(row) => Ok(Some(row.get_raw(0)?)),
            None => Ok(None),
        }
    }

    /// The first column of every row.
    pub async fn scalar_all<'a, T: Column>(self, on: impl Into<On<'a>>) -> Result<Vec<T>, sqlx::Error> {
        self.fetch_all(on).await?.iter().map(|row| row.get_raw(0)).collect()
    }
}

/// The statement as the native query of database `DB`, its arguments bound in order.
fn native<DB: Database>(statement: Statement) -> Query<'static, DB, <DB as Database>::Arguments>
where
    Option<i64>: for<'q> Encode<'q, DB> + Type<DB>,
    Option<f64>: for<'q> Encode<'q, DB> + Type<DB>,
    Option<f32>: for<'q> Encode<'q, DB> + Type<DB>,
    Option<bool>: for<'q> Encode<'q, DB> + Type<DB>,
    Option<String>: for<'q> Encode<'q, DB> + Type<DB>,
    Option<Vec<u8>>: for<'q> Encode<'q, DB> + Type<DB>,
{
    let mut query = sqlx::query(statement.sql);
    for arg in statement.args {
        query = match arg {
            Arg::Int(v) => query.bind(v),
            Arg::Real(v) => query.bind(v),
            Arg::Float(v) => query.bind(v),
            Arg::Bool(v) => query.bind(v),
            Arg::Text(v) => query.bind(v),
            Arg::Bytes(v) => query.bind(v),
        };
    }
    query
}

/// A Rust type both databases can decode a column into, through sqlx or an inline read.
pub trait Column:
    for<'r> Decode<'r, Sqlite> + Type<Sqlite> + for<'r> Decode<'r, Postgres> + Type<Postgres> + FromInline
{
}
impl<T> Column for T where
    T: for<'r> Decode<'r, Sqlite> + Type<Sqlite> + for<'r> Decode<'r, Postgres> + Type<Postgres> + FromInline
{
}

/// A column named or numbered on either database's rows.
pub trait Index: ColumnIndex<SqliteRow> + ColumnIndex<PgRow> + InlineIndex + std::fmt::Debug + Copy {}
impl<I> Index for I where I: ColumnIndex<SqliteRow> + ColumnIndex<PgRow> + InlineIndex + std::fmt::Debug + Copy {}

/// A column of an [`InlineRow`], by name or position.
pub trait InlineIndex {
    fn inline_value(self, row: &InlineRow) -> Result<&rusqlite::types::Value, sqlx::Error>;
}

impl InlineIndex for &str {
    fn inline_value(self, row: &InlineRow) -> Result<&rusqlite::types::Value, sqlx::Error> {
        row.value(self)
    }
}

impl InlineIndex for usize {
    fn inline_value(self, row: &InlineRow) -> Result<&rusqlite::types::Value, sqlx::Error> {
        row.value_at(self)
    }
}

/// A result row from either database, read by column name.
pub enum Row {
    Sqlite(SqliteRow),
    Postgres(PgRow),
    /// Read on the calling thread from SQLite ([`Statement::fetch_optional_inline`], or a loading
    /// database's [`InlineWriter`]).
    Inline(InlineRow),
}

impl Row {
    pub fn try_get<T: Column>(&self, column: impl Index) -> StoreResult<T> {
        Ok(self.get_raw(column)?)
    }

    fn get_raw<T: Column>(&self, column: impl Index) -> Result<T, sqlx::Error> {
        use sqlx::Row as _;
        match self {
            Self::Sqlite(row) => row.try_get(column),
            Self::Postgres(row) => row.try_get(column),
            Self::Inline(row) => T::from_inline(column.inline_value(row)?)
                .map_err(|e| sqlx::Error::ColumnDecode { index: format!("{column:?}"), source: e.into() }),
        }
    }

    pub fn int(&self, column: &str) -> StoreResult<i64> {
        self.try_get(column)
    }

    pub fn opt_int(&self, column: &str) -> StoreResult<Option<i64>> {
        self.try_get(column)
    }

    pub fn text(&self, column: &str) -> StoreResult<String> {
        self.try_get(column)
    }

    pub fn opt_text(&self, column: &str) -> StoreResult<Option<String>> {
        self.try_get(column)
    }

    pub fn opt_bytes(&self, column: &str) -> StoreResult<Option<Vec<u8>>> {
        self.try_get(column)
    }

    /// A yes/no column: stored as an integer (0 or 1) in both schemas, but an expression such as
    /// `EXISTS (…)` is a boolean on PostgreSQL.
    pub fn flag(&self, column: &str) -> StoreResult<bool> {
        self.flag_at(column)
    }

    pub fn flag_at(&self, column: impl Index) -> StoreResult<bool> {
        match self {
            Self::Sqlite(row) => {
                use sqlx::Row as _;
                Ok(row.try_get::<i64, _>(column)? != 0)
            }
            Self::Inline(_) => self.try_get::<bool>(column),
            Self::Postgres(row) => {
                use sqlx::{Column as _, Row as _, TypeInfo as _};
                let index = column.index(row)?;
                if row.column(index).type_info().name() == "BOOL" {
                    Ok(row.try_get(index)?)
                } else {
                    Ok(row.try_get::<i64, _>(index)? != 0)
                }
            }
        }
    }

    /// A `REAL` column: single precision on PostgreSQL, stored as a double by SQLite.
    pub fn real(&self, column: &str) -> StoreResult<f32> {
        self.real_at(column)
    }

    pub fn real_at(&self, column: impl Index) -> StoreResult<f32> {
        use sqlx::Row as _;
        match self {
            Self::Sqlite(row) => Ok(row.try_get::<f64, _>(column)? as f32),
            Self::Postgres(row) => Ok(row.try_get(column)?),
            Self::Inline(_) => self.try_get::<f32>(column),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_row_statements_come_in_few_sizes() {
        assert_eq!(statement_sizes(0, 4), Vec::<usize>::new());
        assert_eq!(statement_sizes(100, 4), vec![64, 32, 4]);
        assert_eq!(statement_sizes(600, 4), vec![256, 256, 64, 16, 8]);
        // 18 columns: 1,820 rows would fit SQLite's limit, 256 is the cap.
        assert_eq!(statement_sizes(1000, 18).iter().sum::<usize>(), 1000);
        assert!(statement_sizes(100_000, 20_000).iter().all(|&n| n == 1));
        for rows in 0..2_000 {
            let sizes = statement_sizes(rows, 18);
            assert_eq!(sizes.iter().sum::<usize>(), rows);
            assert!(sizes.iter().all(|&n| n.is_power_of_two() && n * 18 <= MAX_ARGUMENTS));
        }
    }

    #[test]
    fn placeholders_are_plain_on_sqlite_and_numbered_on_postgresql() {
        assert_eq!(Dialect::Sqlite.values_rows(2, 3), "(?, ?, ?), (?, ?, ?)");
        assert_eq!(Dialect::Postgres.values_rows(2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(Dialect::Postgres.placeholders(2, 5), "$5, $6");
    }
}
