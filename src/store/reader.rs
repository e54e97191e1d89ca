//! The reader site's storage ([`Store`]): sections, authors, tags, articles and their lists,
//! comments, views and the related-article lists, written once for both databases.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::shared::{
    article_from_row, article_select, author_from_row, card_columns, cards, comment_from_row, fresh_secret,
    is_foreign_key_violation, is_unique_violation, media_join, related_doc_from_row, section_from_row, tag_from_row,
    to_unix,
};
use super::sql::{Dialect, Pool, ToArg, Tx, UNIT_SEPARATOR, sql, sql_built};
use super::{
    ListFilter, NewArticle, NewAuthor, NewComment, NewSection, RelatedDoc, SqlStore, Store, StoreError, StoreResult,
    ViewIncrement,
};
use crate::domain::{Article, ArticleCard, ArticleId, ArticleStatus, Author, Comment, CommentStatus, Section, Tag};

impl SqlStore {
    /// One article with everything its page shows from the store but comments and related
    /// stories, in one statement ([`article_select`]).
    async fn article_where(&self, condition: &str, key: impl ToArg) -> StoreResult<Option<Article>> {
        let row = sql_built(format!("{} WHERE {condition}", article_select(self.db.dialect())))
            .bind(key)
            .fetch_optional(&self.db)
            .await?;
        row.as_ref().map(article_from_row).transpose()
    }
}

async fn insert_article_in(tx: &mut Tx, article: &NewArticle) -> StoreResult<ArticleId> {
    let image = article.image.as_ref();
    let id: ArticleId =
        sql("INSERT INTO articles (section_id, slug, headline, dek, body_markdown, body_html, image_url, image_alt, \
         image_caption, image_credit, image_width, image_height, status, published_at, updated_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING id")
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
        .scalar_one(&mut *tx)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) { StoreError::Conflict(format!("article {}", article.slug)) } else { e.into() }
        })?;

    // Author and tag links carry the publication time while the article is published.
    let listed_at = if article.status == ArticleStatus::Published { article.published_at.map(to_unix) } else { None };
    for (position, author_id) in article.author_ids.iter().enumerate() {
        sql("INSERT INTO article_authors (article_id, author_id, position, published_at) VALUES ($1, $2, $3, $4)")
            .bind(id)
            .bind(author_id)
            .bind(position as i64)
            .bind(listed_at)
            .execute(&mut *tx)
            .await?;
    }
    for (position, (slug, name)) in article.tags.iter().enumerate() {
        sql("INSERT INTO tags (slug, name) VALUES ($1, $2) ON CONFLICT (slug) DO NOTHING")
            .bind(slug)
            .bind(name)
            .execute(&mut *tx)
            .await?;
        sql("INSERT INTO article_tags (article_id, tag_id, position, published_at) \
             SELECT $1, id, $2, $3 FROM tags WHERE slug = $4")
        .bind(id)
        .bind(position as i64)
        .bind(listed_at)
        .bind(slug)
        .execute(&mut *tx)
        .await?;
    }
    Ok(id)
}

async fn insert_comment_in(tx: &mut Tx, comment: &NewComment) -> StoreResult<Comment> {
    let row = sql("INSERT INTO comments (article_id, author_name, body, status, fingerprint, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id, article_id, author_name, body, status, created_at")
    .bind(comment.article_id)
    .bind(&comment.author_name)
    .bind(&comment.body)
    .bind(comment.status.as_str())
    .bind(&comment.fingerprint)
    .bind(to_unix(comment.created_at))
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| {
        if is_foreign_key_violation(&e) {
            StoreError::Missing(format!("article {}", comment.article_id))
        } else {
            e.into()
        }
    })?;
    comment_from_row(&row)
}

/// Author and tag links carry the publication time exactly while the article is published.
pub(super) async fn sync_links(tx: &mut Tx, id: ArticleId) -> StoreResult<()> {
    for text in [
        "UPDATE article_authors SET published_at = (SELECT CASE WHEN status = 'published' THEN published_at END \
         FROM articles WHERE id = $1) WHERE article_id = $1",
        "UPDATE article_tags SET published_at = (SELECT CASE WHEN status = 'published' THEN published_at END \
         FROM articles WHERE id = $1) WHERE article_id = $1",
    ] {
        sql(text).bind(id).execute(&mut *tx).await?;
    }
    Ok(())
}

#[async_trait]
impl Store for SqlStore {
    async fn secret(&self, name: &str) -> StoreResult<Vec<u8>> {
        let fresh = fresh_secret()?;
        // Insert-if-absent then read, so concurrent first callers agree on one value.
        sql("INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
            .bind(name)
            .bind(&fresh[..])
            .execute(&self.db)
            .await?;
        let value: Vec<u8> = sql("SELECT value FROM secrets WHERE name = $1").bind(name).scalar_one(&self.db).await?;
        Ok(value)
    }

    async fn has_no_articles(&self) -> StoreResult<bool> {
        let any: Option<i32> = sql("SELECT 1 FROM articles LIMIT 1").scalar_optional(&self.db).await?;
        Ok(any.is_none())
    }

    async fn sections(&self) -> StoreResult<Vec<Section>> {
        let rows = sql("SELECT id, slug, name, position FROM sections WHERE archived = 0 ORDER BY position, name")
            .fetch_all(&self.db)
            .await?;
        rows.iter().map(section_from_row).collect()
    }

    async fn insert_section(&self, section: NewSection) -> StoreResult<Section> {
        let row =
            sql("INSERT INTO sections (slug, name, position) VALUES ($1, $2, $3) RETURNING id, slug, name, position")
                .bind(&section.slug)
                .bind(&section.name)
                .bind(section.position)
                .fetch_one(&self.db)
                .await
                .map_err(|e| {
                    if is_unique_violation(&e) {
                        StoreError::Conflict(format!("section {}", section.slug))
                    } else {
                        e.into()
                    }
                })?;
        section_from_row(&row)
    }

    async fn authors(&self) -> StoreResult<Vec<Author>> {
        let rows =
            sql("SELECT id, slug, name, email, bio, photo_url FROM authors ORDER BY name").fetch_all(&self.db).await?;
        rows.iter().map(author_from_row).collect()
    }

    async fn author_by_slug(&self, slug: &str) -> StoreResult<Option<Author>> {
        let row = sql("SELECT id, slug, name, email, bio, photo_url FROM authors WHERE slug = $1")
            .bind(slug)
            .fetch_optional(&self.db)
            .await?;
        row.as_ref().map(author_from_row).transpose()
    }

    async fn insert_author(&self, author: NewAuthor) -> StoreResult<Author> {
        let row = sql("INSERT INTO authors (slug, name, email, bio, photo_url) VALUES ($1, $2, $3, $4, $5) \
             RETURNING id, slug, name, email, bio, photo_url")
        .bind(&author.slug)
        .bind(&author.name)
        .bind(&author.email)
        .bind(&author.bio)
        .bind(&author.photo_url)
        .fetch_one(&self.db)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) { StoreError::Conflict(format!("author {}", author.slug)) } else { e.into() }
        })?;
        author_from_row(&row)
    }

    async fn tag_by_slug(&self, slug: &str) -> StoreResult<Option<Tag>> {
        let row = sql("SELECT id, slug, name FROM tags WHERE slug = $1").bind(slug).fetch_optional(&self.db).await?;
        row.as_ref().map(tag_from_row).transpose()
    }

    async fn insert_article(&self, article: NewArticle) -> StoreResult<ArticleId> {
        let mut tx = self.db.begin().await?;
        let id = insert_article_in(&mut tx, &article).await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn insert_articles(&self, articles: &[NewArticle]) -> StoreResult<Vec<ArticleId>> {
        let mut tx = self.db.begin().await?;
        let mut ids = Vec::with_capacity(articles.len());
        for article in articles {
            ids.push(insert_article_in(&mut tx, article).await?);
        }
        tx.commit().await?;
        Ok(ids)
    }

    async fn set_article_status(&self, id: ArticleId, status: ArticleStatus, at: DateTime<Utc>) -> StoreResult<()> {
        let mut tx = self.db.begin().await?;
        // The update locks the row, so the links below copy this transaction's publication time.
        let done = sql("UPDATE articles SET status = $1, updated_at = $2, \
             published_at = CASE WHEN $1 = 'published' THEN COALESCE(published_at, $2) ELSE published_at END \
             WHERE id = $3")
        .bind(status.as_str())
        .bind(to_unix(at))
        .bind(id)
        .execute(&mut tx)
        .await?;
        if done == 0 {
            return Err(StoreError::Missing(format!("article {id}")));
        }
        sync_links(&mut tx, id).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn article_by_slug(&self, slug: &str) -> StoreResult<Option<Article>> {
        self.article_where("a.slug = $1", slug).await
    }

    async fn article_by_id(&self, id: ArticleId) -> StoreResult<Option<Article>> {
        self.article_where("a.id = $1", id).await
    }

    async fn list_articles(&self, filter: ListFilter, limit: i64, offset: i64) -> StoreResult<Vec<ArticleCard>> {
        let (items_sql, key) = match filter {
            ListFilter::All => (
                concat!(
                    "SELECT ",
                    card_columns!(),
                    " FROM articles a JOIN sections s ON s.id = a.section_id",
                    media_join!(),
                    "WHERE a.status = 'published' AND $1 = $1 ORDER BY a.published_at DESC, a.id DESC LIMIT $2 OFFSET $3"
                ),
                0,
            ),
            ListFilter::Section(id) => (
                concat!(
                    "SELECT ",
                    card_columns!(),
                    " FROM articles a JOIN sections s ON s.id = a.section_id",
                    media_join!(),
                    "WHERE a.status = 'published' AND a.section_id = $1 \
                     ORDER BY a.published_at DESC, a.id DESC LIMIT $2 OFFSET $3"
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
                    "WHERE f.author_id = $1 AND a.status = 'published' \
                     ORDER BY a.published_at DESC, a.id DESC LIMIT $2 OFFSET $3"
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
                    "WHERE f.tag_id = $1 AND a.status = 'published' \
                     ORDER BY a.published_at DESC, a.id DESC LIMIT $2 OFFSET $3"
                ),
                id,
            ),
        };
        let rows = sql(items_sql).bind(key).bind(limit).bind(offset).fetch_all(&self.db).await?;
        cards(&rows)
    }

    async fn count_articles(&self, filter: ListFilter) -> StoreResult<i64> {
        let (text, key) = match filter {
            ListFilter::All => ("SELECT COUNT(*) FROM articles WHERE status = 'published' AND $1 = $1", 0),
            ListFilter::Section(id) => {
                ("SELECT COUNT(*) FROM articles WHERE status = 'published' AND section_id = $1", id)
            }
            ListFilter::Author(id) => {
                ("SELECT COUNT(*) FROM article_authors WHERE author_id = $1 AND published_at IS NOT NULL", id)
            }
            ListFilter::Tag(id) => {
                ("SELECT COUNT(*) FROM article_tags WHERE tag_id = $1 AND published_at IS NOT NULL", id)
            }
        };
        Ok(sql(text).bind(key).scalar_one(&self.db).await?)
    }

    async fn popular_articles(&self, since: i64, limit: i64) -> StoreResult<Vec<ArticleCard>> {
        let rows = sql_built(format!(
            "WITH top AS (SELECT article_id, SUM(views) AS views FROM view_buckets WHERE hour >= $1 \
               GROUP BY article_id ORDER BY views DESC LIMIT $2 * 2) \
             SELECT {} FROM top {} articles a ON a.id = top.article_id JOIN sections s ON s.id = a.section_id {} \
             WHERE a.status = 'published' ORDER BY top.views DESC, a.published_at DESC LIMIT $2",
            card_columns!(),
            self.db.dialect().driving_join(),
            media_join!(),
        ))
        .bind(since)
        .bind(limit)
        .fetch_all(&self.db)
        .await?;
        cards(&rows)
    }

    async fn must_reads(&self, limit: i64) -> StoreResult<Vec<ArticleCard>> {
        let rows = sql_built(format!(
            "SELECT {} FROM must_reads m {} articles a ON a.id = m.article_id JOIN sections s ON s.id = a.section_id {} \
             WHERE a.status = 'published' AND (m.expires_at IS NULL OR m.expires_at > $2) \
             ORDER BY m.position LIMIT $1",
            card_columns!(),
            self.db.dialect().driving_join(),
            media_join!(),
        ))
        .bind(limit)
        .bind(to_unix(Utc::now()))
        .fetch_all(&self.db)
        .await?;
        cards(&rows)
    }

    async fn set_must_reads(&self, ids: &[ArticleId]) -> StoreResult<()> {
        let mut tx = self.db.begin().await?;
        // One replacement at a time; readers still read.
        tx.lock_table("must_reads").await?;
        sql("DELETE FROM must_reads").execute(&mut tx).await?;
        for (position, id) in ids.iter().enumerate() {
            sql("INSERT INTO must_reads (position, article_id) VALUES ($1, $2)")
                .bind(position as i64)
                .bind(id)
                .execute(&mut tx)
                .await
                .map_err(|e| {
                    if is_unique_violation(&e) { StoreError::Conflict(format!("must-read {id}")) } else { e.into() }
                })?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn related_articles(&self, id: ArticleId, limit: i64) -> StoreResult<Vec<ArticleCard>> {
        let rows = sql_built(format!(
            "SELECT {} FROM related_articles r {} articles a ON a.id = r.related_id \
             JOIN sections s ON s.id = a.section_id {} \
             WHERE r.article_id = $1 AND a.status = 'published' ORDER BY r.rank LIMIT $2",
            card_columns!(),
            self.db.dialect().driving_join(),
            media_join!(),
        ))
        .bind(id)
        .bind(limit)
        .fetch_all(&self.db)
        .await?;
        cards(&rows)
    }

    async fn set_related(&self, lists: &[(ArticleId, Vec<(ArticleId, f32)>)]) -> StoreResult<()> {
        let mut tx = self.db.begin().await?;
        // Nodes recomputing the lists at once replace them one after the other.
        tx.lock_table("related_articles").await?;
        for (id, related) in lists {
            sql("DELETE FROM related_articles WHERE article_id = $1").bind(id).execute(&mut tx).await?;
            if related.is_empty() {
                continue;
            }
            let values = (0..related.len())
                .map(|i| format!("(${}, ${}, ${}, ${})", 4 * i + 1, 4 * i + 2, 4 * i + 3, 4 * i + 4))
                .collect::<Vec<_>>()
                .join(", ");
            let mut insert = sql_built(format!(
                "INSERT INTO related_articles (article_id, rank, related_id, score) VALUES {values}"
            ));
            for (rank, (related_id, score)) in related.iter().enumerate() {
                insert = insert.bind(id).bind(rank as i64).bind(related_id).bind(*score);
            }
            insert.execute(&mut tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn related_corpus(&self) -> StoreResult<Vec<RelatedDoc>> {
        let tags = self.db.dialect().string_agg("t.name", &format!("'{UNIT_SEPARATOR}'"), "at.position");
        let rows = sql_built(format!(
            "SELECT a.id, a.published_at, a.headline, a.body_markdown, \
             (SELECT {tags} FROM article_tags at JOIN tags t ON t.id = at.tag_id WHERE at.article_id = a.id) \
             AS tags FROM articles a WHERE a.status = 'published'"
        ))
        .fetch_all(&self.db)
        .await?;
        rows.iter()
            .map(|r| {
                let tags = r.opt_text("tags")?;
                related_doc_from_row(
                    r,
                    tags.map(|t| t.split(UNIT_SEPARATOR).map(str::to_owned).collect()).unwrap_or_default(),
                )
            })
            .collect()
    }

    async fn published_comments(&self, article_id: ArticleId, limit: i64, offset: i64) -> StoreResult<Vec<Comment>> {
        let rows = sql("SELECT id, article_id, author_name, body, status, created_at FROM comments \
             WHERE article_id = $1 AND status = 'published' ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3")
        .bind(article_id)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.db)
        .await?;
        rows.iter().map(comment_from_row).collect()
    }

    async fn insert_comments(&self, comments: &[NewComment]) -> StoreResult<Vec<StoreResult<Comment>>> {
        let mut tx = self.db.begin().await?;
        let mut results = Vec::with_capacity(comments.len());
        for comment in comments {
            // One missing article must not fail the others in the batch: a savepoint per comment
            // (in PostgreSQL a failed statement otherwise aborts the whole transaction).
            sql("SAVEPOINT one_comment").execute(&mut tx).await?;
            match insert_comment_in(&mut tx, comment).await {
                Ok(stored) => {
                    sql("RELEASE SAVEPOINT one_comment").execute(&mut tx).await?;
                    results.push(Ok(stored));
                }
                Err(StoreError::Missing(what)) => {
                    sql("ROLLBACK TO SAVEPOINT one_comment").execute(&mut tx).await?;
                    sql("RELEASE SAVEPOINT one_comment").execute(&mut tx).await?;
                    results.push(Err(StoreError::Missing(what)));
                }
                Err(other) => return Err(other),
            }
        }
        // Running counts, one update per article rather than per comment, in id order.
        let mut published: BTreeMap<ArticleId, i64> = BTreeMap::new();
        for stored in results.iter().flatten() {
            if stored.status == CommentStatus::Published {
                *published.entry(stored.article_id).or_default() += 1;
            }
        }
        for (id, count) in published {
            sql("UPDATE articles SET comment_count = comment_count + $1 WHERE id = $2")
                .bind(count)
                .bind(id)
                .execute(&mut tx)
                .await?;
        }
        tx.commit().await?;
        Ok(results)
    }

    async fn record_views(&self, batch: &[ViewIncrement]) -> StoreResult<Vec<(ArticleId, i64)>> {
        // Every flush locks the buckets in key order and then the articles in id order, so flushes
        // from several nodes at once queue on the rows they share instead of deadlocking. The
        // upsert and the increment each read the row's latest committed value under its lock, so
        // no view is lost.
        let mut ordered: Vec<&ViewIncrement> = batch.iter().collect();
        ordered.sort_by_key(|inc| (inc.hour, inc.article_id));
        let mut per_article: BTreeMap<ArticleId, i64> = BTreeMap::new();
        let mut tx = self.db.begin().await?;
        for inc in ordered {
            let done = sql("INSERT INTO view_buckets (article_id, hour, views) \
                 SELECT $1, $2, $3 WHERE EXISTS (SELECT 1 FROM articles WHERE id = $1) \
                 ON CONFLICT (hour, article_id) DO UPDATE SET views = view_buckets.views + EXCLUDED.views")
            .bind(inc.article_id)
            .bind(inc.hour)
            .bind(inc.views)
            .execute(&mut tx)
            .await?;
            if done > 0 {
                *per_article.entry(inc.article_id).or_default() += inc.views;
            }
        }
        let mut totals = Vec::with_capacity(per_article.len());
        for (id, views) in per_article {
            let total: i64 = sql("UPDATE articles SET view_count = view_count + $1 WHERE id = $2 RETURNING view_count")
                .bind(views)
                .bind(id)
                .scalar_one(&mut tx)
                .await?;
            totals.push((id, total));
        }
        tx.commit().await?;
        Ok(totals)
    }

    async fn bucketed_views(&self, id: ArticleId) -> StoreResult<i64> {
        let total: i64 = sql("SELECT CAST(COALESCE(SUM(views), 0) AS BIGINT) FROM view_buckets WHERE article_id = $1")
            .bind(id)
            .scalar_one(&self.db)
            .await?;
        Ok(total)
    }

    fn shared_by_nodes(&self) -> bool {
        self.db.dialect() == Dialect::Postgres
    }

    async fn note_comment_attempt(&self, key: &str, at: DateTime<Utc>, since: DateTime<Utc>) -> StoreResult<i64> {
        let mut tx = self.db.begin().await?;
        // One attempt at a time per key, so two nodes cannot both see room for one more.
        tx.serialize_on(&format!("comment-attempt:{key}")).await?;
        sql("DELETE FROM comment_attempts WHERE at < $1").bind(to_unix(since)).execute(&mut tx).await?;
        sql("INSERT INTO comment_attempts (key, at) VALUES ($1, $2)")
            .bind(key)
            .bind(to_unix(at))
            .execute(&mut tx)
            .await?;
        let count: i64 =
            sql("SELECT COUNT(*) FROM comment_attempts WHERE key = $1").bind(key).scalar_one(&mut tx).await?;
        tx.commit().await?;
        Ok(count)
    }

    async fn ready(&self) -> StoreResult<bool> {
        let applied: i64 = sql("SELECT COUNT(*) FROM _sqlx_migrations WHERE success").scalar_one(&self.db).await?;
        let known = match self.db.dialect() {
            Dialect::Sqlite => super::sqlite::migrations(),
            Dialect::Postgres => super::postgres::migrations(),
        };
        Ok(applied >= known as i64)
    }

    fn pool_stats(&self) -> (u32, u32) {
        self.db.pool_stats()
    }

    fn statements_run(&self) -> u64 {
        self.db.statements_run()
    }

    async fn announce(&self, change: &str) -> StoreResult<()> {
        match &self.db.pool {
            Pool::Postgres(pool) => super::postgres_changes::announce(pool, change).await,
            // One node: nobody else to tell.
            Pool::Sqlite(_) => Ok(()),
        }
    }

    fn watch_changes(
        &self,
        on_heard: std::sync::Arc<dyn Fn(super::postgres_changes::Heard) + Send + Sync>,
    ) -> Option<tokio::task::JoinHandle<()>> {
        match &self.db.pool {
            Pool::Postgres(pool) => Some(super::postgres_changes::watch(pool.clone(), on_heard)),
            Pool::Sqlite(_) => None,
        }
    }
}
