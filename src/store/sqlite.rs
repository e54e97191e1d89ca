//! The embedded SQLite backend: one file in the data directory, WAL journal, foreign keys on, every
//! acknowledged write synced to disk (`synchronous = FULL`) so it survives a crash or power loss.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous};
use sqlx::{Connection, Row, SqliteConnection, SqlitePool};

use super::shared::{
    ARTICLE_COLUMNS, Cols, article_from_row, author_from_row, author_ref_from_row, card_columns, cards,
    comment_from_row, common_cols, fresh_secret, is_unique_violation, media_join, related_doc_from_row,
    section_from_row, tag_from_row, tag_ref_from_row, to_unix,
};
use super::{
    ListFilter, NewArticle, NewAuthor, NewComment, NewSection, RelatedDoc, Store, StoreError, StoreResult,
    ViewIncrement,
};
use crate::domain::{Article, ArticleCard, ArticleId, ArticleStatus, Author, Comment, CommentStatus, Section, Tag};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

pub struct SqliteStore {
    pub(super) pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) `broadsheet.db` in `data_dir` and runs pending migrations.
    pub async fn open(data_dir: &Path) -> StoreResult<Self> {
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
        Ok(Self { pool })
    }
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

impl Cols for SqliteRow {
    common_cols!();

    fn flag(&self, i: usize) -> StoreResult<bool> {
        Ok(self.try_get(i)?)
    }

    fn real(&self, i: usize) -> StoreResult<f32> {
        Ok(self.try_get::<f64, _>(i)? as f32)
    }
}

// Where a short list (picks, related, popular) drives a query below, it is joined with
// `CROSS JOIN`, which SQLite takes as an instruction to walk that list first.

impl SqliteStore {
    async fn load_article(&self, row: Option<SqliteRow>) -> StoreResult<Option<Article>> {
        let Some(row) = row else { return Ok(None) };
        let id: ArticleId = row.try_get(0)?;
        let authors = sqlx::query(
            "SELECT au.slug, au.name, au.email FROM article_authors aa JOIN authors au ON au.id = aa.author_id \
             WHERE aa.article_id = ? ORDER BY aa.position",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(author_ref_from_row)
        .collect::<StoreResult<Vec<_>>>()?;
        let tags = sqlx::query(
            "SELECT t.slug, t.name FROM article_tags at JOIN tags t ON t.id = at.tag_id \
             WHERE at.article_id = ? ORDER BY at.position",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(tag_ref_from_row)
        .collect::<StoreResult<Vec<_>>>()?;
        Ok(Some(article_from_row(&row, authors, tags)?))
    }
}

async fn insert_article_in(tx: &mut SqliteConnection, article: &NewArticle) -> StoreResult<ArticleId> {
    let image = article.image.as_ref();
    let id: ArticleId = sqlx::query_scalar(
        "INSERT INTO articles (section_id, slug, headline, dek, body_markdown, body_html, image_url, image_alt, \
         image_caption, image_credit, image_width, image_height, status, published_at, updated_at, created_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(article.section_id)
    .bind(&article.slug)
    .bind(&article.headline)
    .bind(&article.dek)
    .bind(&article.body_markdown)
    .bind(&article.body_html)
    .bind(image.map(|i| i.url.as_str()))
    .bind(image.map(|i| i.alt.as_str()))
    .bind(image.and_then(|i| i.caption.as_deref()))
    .bind(image.and_then(|i| i.credit.as_deref()))
    .bind(image.map(|i| i64::from(i.width)))
    .bind(image.map(|i| i64::from(i.height)))
    .bind(article.status.as_str())
    .bind(article.published_at.map(to_unix))
    .bind(to_unix(article.updated_at))
    .bind(to_unix(article.published_at.map_or(article.updated_at, |p| p.min(article.updated_at))))
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| {
        if is_unique_violation(&e) { StoreError::Conflict(format!("article {}", article.slug)) } else { e.into() }
    })?;

    // Author and tag links carry the publication time while the article is published.
    let listed_at = if article.status == ArticleStatus::Published { article.published_at.map(to_unix) } else { None };
    for (position, author_id) in article.author_ids.iter().enumerate() {
        sqlx::query("INSERT INTO article_authors (article_id, author_id, position, published_at) VALUES (?, ?, ?, ?)")
            .bind(id)
            .bind(author_id)
            .bind(position as i64)
            .bind(listed_at)
            .execute(&mut *tx)
            .await?;
    }
    for (position, (slug, name)) in article.tags.iter().enumerate() {
        sqlx::query("INSERT INTO tags (slug, name) VALUES (?, ?) ON CONFLICT (slug) DO NOTHING")
            .bind(slug)
            .bind(name)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO article_tags (article_id, tag_id, position, published_at) \
             SELECT ?, id, ?, ? FROM tags WHERE slug = ?",
        )
        .bind(id)
        .bind(position as i64)
        .bind(listed_at)
        .bind(slug)
        .execute(&mut *tx)
        .await?;
    }
    Ok(id)
}

async fn insert_comment_in(tx: &mut SqliteConnection, comment: &NewComment) -> StoreResult<Comment> {
    let row = sqlx::query(
        "INSERT INTO comments (article_id, author_name, body, status, fingerprint, created_at) \
         VALUES (?, ?, ?, ?, ?, ?) RETURNING id, article_id, author_name, body, status, created_at",
    )
    .bind(comment.article_id)
    .bind(&comment.author_name)
    .bind(&comment.body)
    .bind(comment.status.as_str())
    .bind(&comment.fingerprint)
    .bind(to_unix(comment.created_at))
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| match &e {
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
            StoreError::Missing(format!("article {}", comment.article_id))
        }
        _ => e.into(),
    })?;
    comment_from_row(&row)
}

#[async_trait]
impl Store for SqliteStore {
    async fn secret(&self, name: &str) -> StoreResult<Vec<u8>> {
        let fresh = fresh_secret()?;
        // Insert-if-absent then read, so concurrent first callers agree on one value.
        sqlx::query("INSERT INTO secrets (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING")
            .bind(name)
            .bind(&fresh[..])
            .execute(&self.pool)
            .await?;
        let value: Vec<u8> =
            sqlx::query_scalar("SELECT value FROM secrets WHERE name = ?").bind(name).fetch_one(&self.pool).await?;
        Ok(value)
    }

    async fn has_no_articles(&self) -> StoreResult<bool> {
        let any: Option<i64> = sqlx::query_scalar("SELECT 1 FROM articles LIMIT 1").fetch_optional(&self.pool).await?;
        Ok(any.is_none())
    }

    async fn sections(&self) -> StoreResult<Vec<Section>> {
        let rows =
            sqlx::query("SELECT id, slug, name, position FROM sections WHERE archived = 0 ORDER BY position, name")
                .fetch_all(&self.pool)
                .await?;
        rows.iter().map(section_from_row).collect()
    }

    async fn insert_section(&self, section: NewSection) -> StoreResult<Section> {
        let row = sqlx::query(
            "INSERT INTO sections (slug, name, position) VALUES (?, ?, ?) RETURNING id, slug, name, position",
        )
        .bind(&section.slug)
        .bind(&section.name)
        .bind(section.position)
        .fetch_one(&self.pool)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) { StoreError::Conflict(format!("section {}", section.slug)) } else { e.into() }
        })?;
        section_from_row(&row)
    }

    async fn authors(&self) -> StoreResult<Vec<Author>> {
        let rows = sqlx::query("SELECT id, slug, name, email, bio, photo_url FROM authors ORDER BY name")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(author_from_row).collect()
    }

    async fn author_by_slug(&self, slug: &str) -> StoreResult<Option<Author>> {
        let row = sqlx::query("SELECT id, slug, name, email, bio, photo_url FROM authors WHERE slug = ?")
            .bind(slug)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(author_from_row).transpose()
    }

    async fn insert_author(&self, author: NewAuthor) -> StoreResult<Author> {
        let row = sqlx::query(
            "INSERT INTO authors (slug, name, email, bio, photo_url) VALUES (?, ?, ?, ?, ?) \
             RETURNING id, slug, name, email, bio, photo_url",
        )
        .bind(&author.slug)
        .bind(&author.name)
        .bind(&author.email)
        .bind(&author.bio)
        .bind(&author.photo_url)
        .fetch_one(&self.pool)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) { StoreError::Conflict(format!("author {}", author.slug)) } else { e.into() }
        })?;
        author_from_row(&row)
    }

    async fn tag_by_slug(&self, slug: &str) -> StoreResult<Option<Tag>> {
        let row =
            sqlx::query("SELECT id, slug, name FROM tags WHERE slug = ?").bind(slug).fetch_optional(&self.pool).await?;
        row.as_ref().map(tag_from_row).transpose()
    }

    async fn insert_article(&self, article: NewArticle) -> StoreResult<ArticleId> {
        let mut tx = self.pool.begin().await?;
        let id = insert_article_in(&mut tx, &article).await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn insert_articles(&self, articles: &[NewArticle]) -> StoreResult<Vec<ArticleId>> {
        let mut tx = self.pool.begin().await?;
        let mut ids = Vec::with_capacity(articles.len());
        for article in articles {
            ids.push(insert_article_in(&mut tx, article).await?);
        }
        tx.commit().await?;
        Ok(ids)
    }

    async fn set_article_status(&self, id: ArticleId, status: ArticleStatus, at: DateTime<Utc>) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "UPDATE articles SET status = ?, updated_at = ?, \
             published_at = CASE WHEN ? = 'published' THEN COALESCE(published_at, ?) ELSE published_at END \
             WHERE id = ?",
        )
        .bind(status.as_str())
        .bind(to_unix(at))
        .bind(status.as_str())
        .bind(to_unix(at))
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Missing(format!("article {id}")));
        }
        for sql in [
            "UPDATE article_authors SET published_at = (SELECT CASE WHEN status = 'published' THEN published_at END \
             FROM articles WHERE id = ?1) WHERE article_id = ?1",
            "UPDATE article_tags SET published_at = (SELECT CASE WHEN status = 'published' THEN published_at END \
             FROM articles WHERE id = ?1) WHERE article_id = ?1",
        ] {
            sqlx::query(sql).bind(id).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn article_by_slug(&self, slug: &str) -> StoreResult<Option<Article>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("{ARTICLE_COLUMNS} WHERE a.slug = ?")))
            .bind(slug)
            .fetch_optional(&self.pool)
            .await?;
        self.load_article(row).await
    }

    async fn article_by_id(&self, id: ArticleId) -> StoreResult<Option<Article>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("{ARTICLE_COLUMNS} WHERE a.id = ?")))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        self.load_article(row).await
    }

    async fn list_articles(&self, filter: ListFilter, limit: i64, offset: i64) -> StoreResult<Vec<ArticleCard>> {
        let (items_sql, key) = match filter {
            ListFilter::All => (
                concat!(
                    "SELECT ",
                    card_columns!(),
                    " FROM articles a JOIN sections s ON s.id = a.section_id",
                    media_join!(),
                    "WHERE a.status = 'published' AND ?1 = ?1 ORDER BY a.published_at DESC, a.id DESC LIMIT ?2 OFFSET ?3"
                ),
                0,
            ),
            ListFilter::Section(id) => (
                concat!(
                    "SELECT ",
                    card_columns!(),
                    " FROM articles a JOIN sections s ON s.id = a.section_id",
                    media_join!(),
                    "WHERE a.status = 'published' AND a.section_id = ?1 \
                     ORDER BY a.published_at DESC, a.id DESC LIMIT ?2 OFFSET ?3"
                ),
                id,
            ),
            ListFilter::Author(id) => (
                concat!(
                    "SELECT ",
                    card_columns!(),
                    " FROM article_authors f JOIN articles a ON a.id = f.article_id \
                     JOIN sections s ON s.id = a.section_id",
                    media_join!(),
                    "WHERE f.author_id = ?1 AND a.status = 'published' \
                     ORDER BY a.published_at DESC, a.id DESC LIMIT ?2 OFFSET ?3"
                ),
                id,
            ),
            ListFilter::Tag(id) => (
                concat!(
                    "SELECT ",
                    card_columns!(),
                    " FROM article_tags f JOIN articles a ON a.id = f.article_id \
                     JOIN sections s ON s.id = a.section_id",
                    media_join!(),
                    "WHERE f.tag_id = ?1 AND a.status = 'published' \
                     ORDER BY a.published_at DESC, a.id DESC LIMIT ?2 OFFSET ?3"
                ),
                id,
            ),
        };
        let rows = sqlx::query(items_sql).bind(key).bind(limit).bind(offset).fetch_all(&self.pool).await?;
        cards(&rows)
    }

    async fn count_articles(&self, filter: ListFilter) -> StoreResult<i64> {
        let (sql, key) = match filter {
            ListFilter::All => ("SELECT COUNT(*) FROM articles WHERE status = 'published' AND ?1 = ?1", 0),
            ListFilter::Section(id) => {
                ("SELECT COUNT(*) FROM articles WHERE status = 'published' AND section_id = ?1", id)
            }
            ListFilter::Author(id) => {
                ("SELECT COUNT(*) FROM article_authors WHERE author_id = ?1 AND published_at IS NOT NULL", id)
            }
            ListFilter::Tag(id) => {
                ("SELECT COUNT(*) FROM article_tags WHERE tag_id = ?1 AND published_at IS NOT NULL", id)
            }
        };
        Ok(sqlx::query_scalar(sql).bind(key).fetch_one(&self.pool).await?)
    }

    async fn popular_articles(&self, since: i64, limit: i64) -> StoreResult<Vec<ArticleCard>> {
        let rows = sqlx::query(concat!(
            "WITH top AS (SELECT article_id, SUM(views) AS views FROM view_buckets WHERE hour >= ?1 \
               GROUP BY article_id ORDER BY views DESC LIMIT ?2 * 2) \
             SELECT ",
            card_columns!(),
            " FROM top CROSS JOIN articles a ON a.id = top.article_id \
             JOIN sections s ON s.id = a.section_id",
            media_join!(),
            "WHERE a.status = 'published' ORDER BY top.views DESC, a.published_at DESC LIMIT ?2"
        ))
        .bind(since)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        cards(&rows)
    }

    async fn must_reads(&self, limit: i64) -> StoreResult<Vec<ArticleCard>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            card_columns!(),
            " FROM must_reads m CROSS JOIN articles a ON a.id = m.article_id \
             JOIN sections s ON s.id = a.section_id",
            media_join!(),
            "WHERE a.status = 'published' AND (m.expires_at IS NULL OR m.expires_at > unixepoch()) \
             ORDER BY m.position LIMIT ?"
        ))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        cards(&rows)
    }

    async fn set_must_reads(&self, ids: &[ArticleId]) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM must_reads").execute(&mut *tx).await?;
        for (position, id) in ids.iter().enumerate() {
            sqlx::query("INSERT INTO must_reads (position, article_id) VALUES (?, ?)")
                .bind(position as i64)
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(|e| {
                    if is_unique_violation(&e) { StoreError::Conflict(format!("must-read {id}")) } else { e.into() }
                })?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn related_articles(&self, id: ArticleId, limit: i64) -> StoreResult<Vec<ArticleCard>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            card_columns!(),
            " FROM related_articles r CROSS JOIN articles a ON a.id = r.related_id \
             JOIN sections s ON s.id = a.section_id",
            media_join!(),
            "WHERE r.article_id = ? AND a.status = 'published' ORDER BY r.rank LIMIT ?"
        ))
        .bind(id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        cards(&rows)
    }

    async fn set_related(&self, lists: &[(ArticleId, Vec<(ArticleId, f32)>)]) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        for (id, related) in lists {
            sqlx::query("DELETE FROM related_articles WHERE article_id = ?").bind(id).execute(&mut *tx).await?;
            if related.is_empty() {
                continue;
            }
            let mut insert = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
                "INSERT INTO related_articles (article_id, rank, related_id, score) ",
            );
            insert.push_values(related.iter().enumerate(), |mut row, (rank, (related_id, score))| {
                row.push_bind(id).push_bind(rank as i64).push_bind(related_id).push_bind(f64::from(*score));
            });
            insert.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn related_corpus(&self) -> StoreResult<Vec<RelatedDoc>> {
        let rows = sqlx::query(
            "SELECT a.id, a.published_at, a.headline, a.body_markdown, \
             (SELECT group_concat(t.name, char(31)) FROM article_tags at JOIN tags t ON t.id = at.tag_id \
               WHERE at.article_id = a.id) \
             FROM articles a WHERE a.status = 'published'",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let tags: Option<String> = r.try_get(4)?;
                related_doc_from_row(
                    r,
                    tags.map(|t| t.split('\u{1f}').map(str::to_owned).collect()).unwrap_or_default(),
                )
            })
            .collect()
    }

    async fn published_comments(&self, article_id: ArticleId, limit: i64, offset: i64) -> StoreResult<Vec<Comment>> {
        let rows = sqlx::query(
            "SELECT id, article_id, author_name, body, status, created_at FROM comments \
             WHERE article_id = ? AND status = 'published' ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
        )
        .bind(article_id)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(comment_from_row).collect()
    }

    async fn insert_comments(&self, comments: &[NewComment]) -> StoreResult<Vec<StoreResult<Comment>>> {
        let mut tx = self.pool.begin().await?;
        let mut results = Vec::with_capacity(comments.len());
        for comment in comments {
            // One missing article must not fail the others in the batch: a savepoint per comment.
            sqlx::query("SAVEPOINT one_comment").execute(&mut *tx).await?;
            match insert_comment_in(&mut tx, comment).await {
                Ok(stored) => {
                    sqlx::query("RELEASE one_comment").execute(&mut *tx).await?;
                    results.push(Ok(stored));
                }
                Err(StoreError::Missing(what)) => {
                    sqlx::query("ROLLBACK TO one_comment").execute(&mut *tx).await?;
                    sqlx::query("RELEASE one_comment").execute(&mut *tx).await?;
                    results.push(Err(StoreError::Missing(what)));
                }
                Err(other) => return Err(other),
            }
        }
        // Running counts, one update per article rather than per comment.
        let mut published: std::collections::BTreeMap<ArticleId, i64> = std::collections::BTreeMap::new();
        for stored in results.iter().flatten() {
            if stored.status == CommentStatus::Published {
                *published.entry(stored.article_id).or_default() += 1;
            }
        }
        for (id, count) in published {
            sqlx::query("UPDATE articles SET comment_count = comment_count + ? WHERE id = ?")
                .bind(count)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(results)
    }

    async fn record_views(&self, batch: &[ViewIncrement]) -> StoreResult<Vec<(ArticleId, i64)>> {
        let mut per_article: std::collections::BTreeMap<ArticleId, i64> = std::collections::BTreeMap::new();
        let mut tx = self.pool.begin().await?;
        for inc in batch {
            let done = sqlx::query(
                "INSERT INTO view_buckets (article_id, hour, views) \
                 SELECT ?1, ?2, ?3 WHERE EXISTS (SELECT 1 FROM articles WHERE id = ?1) \
                 ON CONFLICT (hour, article_id) DO UPDATE SET views = views + excluded.views",
            )
            .bind(inc.article_id)
            .bind(inc.hour)
            .bind(inc.views)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() > 0 {
                *per_article.entry(inc.article_id).or_default() += inc.views;
            }
        }
        let mut totals = Vec::with_capacity(per_article.len());
        for (id, views) in per_article {
            let total: i64 =
                sqlx::query_scalar("UPDATE articles SET view_count = view_count + ? WHERE id = ? RETURNING view_count")
                    .bind(views)
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await?;
            totals.push((id, total));
        }
        tx.commit().await?;
        Ok(totals)
    }

    async fn bucketed_views(&self, id: ArticleId) -> StoreResult<i64> {
        let total: i64 = sqlx::query_scalar("SELECT COALESCE(SUM(views), 0) FROM view_buckets WHERE article_id = ?")
            .bind(id)
            .fetch_one(&self.pool)
            .await?;
        Ok(total)
    }

    fn shared_by_nodes(&self) -> bool {
        false
    }

    async fn note_comment_attempt(&self, key: &str, at: DateTime<Utc>, since: DateTime<Utc>) -> StoreResult<i64> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM comment_attempts WHERE at < ?").bind(to_unix(since)).execute(&mut *tx).await?;
        sqlx::query("INSERT INTO comment_attempts (key, at) VALUES (?, ?)")
            .bind(key)
            .bind(to_unix(at))
            .execute(&mut *tx)
            .await?;
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM comment_attempts WHERE key = ?")
            .bind(key)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(count)
    }

    async fn ready(&self) -> StoreResult<bool> {
        let applied: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success").fetch_one(&self.pool).await?;
        Ok(applied >= MIGRATOR.iter().count() as i64)
    }

    fn pool_stats(&self) -> (u32, u32) {
        (self.pool.size(), self.pool.num_idle() as u32)
    }
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
