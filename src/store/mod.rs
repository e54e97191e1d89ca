//! Storage. Every query lives behind the [`Store`] trait, so the rest of the code never sees SQL.
//! Handlers hold an `Arc<dyn Store>`. `Store` is made of one repository trait per aggregate, each in
//! its own file with its SQL: articles, editorial (saves, workflow, revisions, corrections), people
//! (accounts, sessions, sign-in limits), media, curation (picks, slots, related lists, settings),
//! taxonomy (sections, authors, tags), comments, views and audit. There is one implementation,
//! [`SqlStore`], whose statements are written once ([`sql`]) and run on SQLite (embedded, one node)
//! or PostgreSQL (several nodes); `sqlite.rs` and `postgres.rs` only open their databases, and
//! `database.rs` holds what concerns the store as a whole.

mod articles;
mod audit;
mod comments;
mod curation;
mod database;
mod editorial;
pub mod inline;
mod media;
pub mod newsroom;
mod people;
pub mod postgres;
pub mod postgres_changes;
mod shared;
pub mod sql;
pub mod sqlite;
mod taxonomy;
mod views;

pub use articles::{ArticleReading, ArticleRepo};
pub use audit::AuditRepo;
pub use comments::{CommentChange, CommentRepo, CommentTarget};
pub use curation::CurationRepo;
pub use editorial::EditorialRepo;
pub use media::MediaRepo;
pub use people::PeopleRepo;
pub use taxonomy::TaxonomyRepo;
pub use views::ViewRepo;

/// Everything needed to call the store through `dyn Store`: the trait and the per-aggregate
/// repositories it is made of.
pub mod prelude {
    pub use super::{
        ArticleRepo, AuditRepo, CommentRepo, CurationRepo, EditorialRepo, MediaRepo, PeopleRepo, Store, TaxonomyRepo,
        ViewRepo,
    };
}

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::{ArticleId, ArticleStatus, CommentStatus, FeaturedImage};

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Built through `From<sqlx::Error>`, which sorts out a full disk first (see [`StoreError::from`]).
    #[error("database error: {0}")]
    Database(sqlx::Error),
    #[error("database migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("{0} already exists")]
    Conflict(String),
    #[error("{0} does not exist")]
    Missing(String),
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
    #[error("the write was not stored: {0}")]
    WriteFailed(String),
    /// The disk (or the database server's disk) is full or failing, or free space is below the
    /// configured watermark: nothing was written, and reads still work. Worth retrying later.
    #[error("storage full: {0}")]
    StorageFull(String),
    /// The database could not be reached; carried by value where the original error cannot be
    /// (one failed batch answers many waiting requests).
    #[error("database unavailable: {0}")]
    Unavailable(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        if is_storage_failure(&error) { Self::StorageFull(error.to_string()) } else { Self::Database(error) }
    }
}

/// SQLite's "database or disk is full" and I/O errors, PostgreSQL's `disk_full` (53100) and
/// out-of-space errors from the file system: the write could not be stored, through no fault of
/// the request.
fn is_storage_failure(error: &sqlx::Error) -> bool {
    const SQLITE_IOERR: i64 = 10;
    const SQLITE_FULL: i64 = 13;
    const ENOSPC: i32 = 28;
    const EDQUOT: i32 = 122;
    match error {
        sqlx::Error::Database(db) => {
            let Some(code) = db.code() else { return false };
            if code == "53100" {
                return true;
            }
            // SQLite reports extended codes; the primary code is the low byte.
            code.parse::<i64>().is_ok_and(|extended| matches!(extended & 0xff, SQLITE_FULL | SQLITE_IOERR))
        }
        sqlx::Error::Io(io) => matches!(io.raw_os_error(), Some(ENOSPC | EDQUOT)),
        _ => false,
    }
}

impl StoreError {
    /// The database could not be reached (or did not answer in time): worth retrying shortly,
    /// unlike a query that failed. A broken conversation with the database counts too: a
    /// connection cut during its opening handshake reaches sqlx as a protocol error ("unexpected
    /// response from SSLRequest", seen when the multi-node check cuts the database off), not as
    /// an I/O error.
    pub fn is_unavailable(&self) -> bool {
        match self {
            Self::Database(e) => {
                matches!(
                    e,
                    sqlx::Error::PoolTimedOut
                        | sqlx::Error::PoolClosed
                        | sqlx::Error::Io(_)
                        | sqlx::Error::Tls(_)
                        | sqlx::Error::Protocol(_)
                ) || matches!(e, sqlx::Error::Database(db) if db.code().as_deref() == Some("57014"))
            }
            Self::Unavailable(_) => true,
            _ => false,
        }
    }

    /// Nothing could be written because storage is full or failing.
    pub fn is_storage_full(&self) -> bool {
        matches!(self, Self::StorageFull(_))
    }

    /// The same kind of error again, for answering several requests that one failure concerned.
    pub fn replicate(&self) -> Self {
        match self {
            Self::StorageFull(message) => Self::StorageFull(message.clone()),
            Self::Unavailable(message) => Self::Unavailable(message.clone()),
            other if other.is_unavailable() => Self::Unavailable(other.to_string()),
            other => Self::WriteFailed(other.to_string()),
        }
    }
}

/// Which articles a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListFilter {
    All,
    Section(crate::domain::SectionId),
    Author(crate::domain::AuthorId),
    Tag(crate::domain::TagId),
}

#[derive(Debug, Clone)]
pub struct NewSection {
    pub slug: String,
    pub name: String,
    pub position: i64,
}

#[derive(Debug, Clone)]
pub struct NewAuthor {
    pub slug: String,
    pub name: String,
    pub email: String,
    pub bio: String,
    pub photo_url: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewArticle {
    pub section_id: crate::domain::SectionId,
    pub slug: String,
    pub headline: String,
    pub dek: String,
    pub body_markdown: String,
    pub body_html: String,
    pub image: Option<FeaturedImage>,
    pub status: ArticleStatus,
    pub published_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    /// In byline order.
    pub author_ids: Vec<crate::domain::AuthorId>,
    /// (slug, display name) pairs; missing tags are created.
    pub tags: Vec<(String, String)>,
}

/// An article arriving with its history (a generated dataset, an import): the readers' comments
/// it already has and its views by hour.
#[derive(Debug, Clone)]
pub struct ArticleWithHistory {
    pub article: NewArticle,
    pub comments: Vec<PastComment>,
    /// (unix time of the start of the hour, views); hours may repeat, their views add up.
    pub views: Vec<(i64, i64)>,
}

/// A comment that arrives with its article ([`ArticleWithHistory`]).
#[derive(Debug, Clone)]
pub struct PastComment {
    pub author_name: String,
    pub body: String,
    pub status: CommentStatus,
    pub fingerprint: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct NewComment {
    pub article_id: ArticleId,
    pub author_name: String,
    pub body: String,
    pub status: CommentStatus,
    /// Keyed hash identifying the commenter without storing their address.
    pub fingerprint: String,
    pub created_at: DateTime<Utc>,
}

/// A batch of counted views for one article in one hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ViewIncrement {
    pub article_id: ArticleId,
    /// Unix time of the start of the hour.
    pub hour: i64,
    pub views: i64,
}

/// The text of a published article, for computing related articles.
#[derive(Debug, Clone)]
pub struct RelatedDoc {
    pub id: ArticleId,
    pub published_at: DateTime<Utc>,
    pub headline: String,
    pub tags: Vec<String>,
    pub body_markdown: String,
}

/// The reader site's storage; every backend also implements [`newsroom::Newsroom`], so one
/// `Arc<dyn Store>` serves both the reader and the newsroom.
#[async_trait]
pub trait Store:
    ArticleRepo
    + EditorialRepo
    + PeopleRepo
    + MediaRepo
    + CurationRepo
    + TaxonomyRepo
    + CommentRepo
    + ViewRepo
    + AuditRepo
    + Send
    + Sync
    + 'static
{
    /// A random secret of 32 bytes stored under `name`, created on first use. Keeps keys stable
    /// across restarts and shared by every node on the same database.
    async fn secret(&self, name: &str) -> StoreResult<Vec<u8>>;

    /// Whether several nodes may share this database. Per-node limits then have to be kept in the
    /// database instead of in memory.
    fn shared_by_nodes(&self) -> bool;

    /// Whether the database answers and every migration this binary knows has been applied.
    async fn ready(&self) -> StoreResult<bool>;

    /// Has the database gather the statistics its planner uses, after a bulk load (a generated
    /// or imported archive) changed the tables' sizes by orders of magnitude.
    async fn refresh_planner_statistics(&self) -> StoreResult<()>;

    /// Connections in the pool: (open, idle), for the metrics page.
    fn pool_stats(&self) -> (u32, u32);

    /// Statements run since the store was opened: what a page cost the database, for the
    /// metrics page and for tests that hold a page to a budget of queries.
    fn statements_run(&self) -> u64;

    /// Tells the other nodes on this database that cached pages changed (`change` is
    /// [`crate::web::changes::Change::encode`]d). SQLite serves one node, so there is no one to tell.
    async fn announce(&self, _change: &str) -> StoreResult<()> {
        Ok(())
    }

    /// Starts listening for changes announced by other nodes, calling `on_heard` for each; `None`
    /// for a backend that serves one node only.
    fn watch_changes(
        &self,
        _on_heard: std::sync::Arc<dyn Fn(postgres_changes::Heard) + Send + Sync>,
    ) -> Option<tokio::task::JoinHandle<()>> {
        None
    }
}

/// The one store: every query written once, run on whichever database [`sql::Db`] holds.
pub struct SqlStore {
    pub(crate) db: sql::Db,
}

impl SqlStore {
    pub fn new(db: sql::Db) -> Self {
        Self { db }
    }
}

/// Opens the store the settings ask for: PostgreSQL when `database.url` is set, otherwise the
/// embedded SQLite database in the data directory.
pub async fn open(settings: &crate::config::Settings) -> StoreResult<std::sync::Arc<dyn Store>> {
    match &settings.database.url {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            Ok(std::sync::Arc::new(SqlStore::new(postgres::connect(url, &settings.database).await?)))
        }
        Some(url) => Err(StoreError::Database(sqlx::Error::Configuration(
            format!("database.url must start with postgres:// (got {url:?}); leave it unset for SQLite").into(),
        ))),
        None => Ok(std::sync::Arc::new(SqlStore::new(sqlite::open(&settings.server.data_dir).await?))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_database_url_that_is_not_postgresql_is_refused() {
        let mut settings = crate::config::Settings::default();
        settings.database.url = Some("mysql://root@localhost/news".into());
        let refused = open(&settings).await.err().expect("refused");
        assert!(
            matches!(&refused, StoreError::Database(sqlx::Error::Configuration(e)) if e.to_string().contains("postgres://")),
            "{refused}"
        );
    }
}
