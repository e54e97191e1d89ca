//! Articles as readers see them: reads by address and lists, the bulk inserts of the generator and
//! the demo, and status changes.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::shared::{
    article_from_row, article_page_select, article_select, card_columns, cards, comments_from_row, is_unique_violation,
    media_join, related_from_row, to_unix,
};
use super::sql::{ToArg, Tx, sql, sql_built};
use super::{ListFilter, NewArticle, SqlStore, StoreError, StoreResult};
use crate::domain::{Article, ArticleCard, ArticleId, ArticleStatus, Comment};

pub(super) async fn insert_article_in(tx: &mut Tx, article: &NewArticle) -> StoreResult<ArticleId> {
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

/// An article with the parts of its page that are its own: related stories and newest comments.
#[derive(Debug, Clone)]
pub struct ArticleReading {
    pub article: Article,
    pub related: Vec<ArticleCard>,
    pub comments: Vec<Comment>,
}

#[async_trait]
pub trait ArticleRepo: Send + Sync {
    /// True when no article has ever been stored (the demo newsroom loads only then).
    async fn has_no_articles(&self) -> StoreResult<bool>;

    async fn insert_article(&self, article: NewArticle) -> StoreResult<ArticleId>;

    /// Inserts many articles in one transaction (imports, generated datasets).
    async fn insert_articles(&self, articles: &[NewArticle]) -> StoreResult<Vec<ArticleId>>;

    async fn set_article_status(&self, id: ArticleId, status: ArticleStatus, at: DateTime<Utc>) -> StoreResult<()>;

    async fn article_by_slug(&self, slug: &str) -> StoreResult<Option<Article>>;

    async fn article_by_id(&self, id: ArticleId) -> StoreResult<Option<Article>>;

    /// What an article page shows from the store, in one statement: the article with `slug`, the
    /// published stories of its related list (`related` at most, best first) and its newest
    /// published comments (`comments` at most). The page's other modules are shared lists, cached.
    async fn article_reading(&self, slug: &str, related: i64, comments: i64) -> StoreResult<Option<ArticleReading>>;

    /// Published articles, newest first.
    async fn list_articles(&self, filter: ListFilter, limit: i64, offset: i64) -> StoreResult<Vec<ArticleCard>>;

    /// How many published articles a list holds, for pagination.
    async fn count_articles(&self, filter: ListFilter) -> StoreResult<i64>;

    /// The current (section slug, slug) of the published article that once had `old_slug`.
    async fn slug_redirect(&self, old_slug: &str) -> StoreResult<Option<(String, String)>>;
}

#[async_trait]
impl ArticleRepo for SqlStore {
    async fn has_no_articles(&self) -> StoreResult<bool> {
        let any: Option<i32> = sql("SELECT 1 FROM articles LIMIT 1").scalar_optional(&self.db).await?;
        Ok(any.is_none())
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

    async fn article_reading(&self, slug: &str, related: i64, comments: i64) -> StoreResult<Option<ArticleReading>> {
        let Some(row) = sql_built(article_page_select(self.db.dialect(), "a.slug = $1"))
            .bind(slug)
            .bind(related)
            .bind(comments)
            .fetch_optional(&self.db)
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(ArticleReading {
            article: article_from_row(&row)?,
            related: related_from_row(&row)?,
            comments: comments_from_row(&row)?,
        }))
    }

    async fn list_articles(&self, filter: ListFilter, limit: i64, offset: i64) -> StoreResult<Vec<ArticleCard>> {
        // The author and tag lists walk their link table, which carries the publication time
        // while the article is published (an index on (author or tag, published_at)).
        let (from, condition, key) = match filter {
            ListFilter::All => ("articles a", "$1 = $1", 0),
            ListFilter::Section(id) => ("articles a", "a.section_id = $1", id),
            ListFilter::Author(id) => {
                ("article_authors f JOIN articles a ON a.id = f.article_id", "f.author_id = $1", id)
            }
            ListFilter::Tag(id) => ("article_tags f JOIN articles a ON a.id = f.article_id", "f.tag_id = $1", id),
        };
        let rows = sql_built(format!(
            "SELECT {} FROM {from} JOIN sections s ON s.id = a.section_id {} \
             WHERE {condition} AND a.status = 'published' ORDER BY a.published_at DESC, a.id DESC LIMIT $2 OFFSET $3",
            card_columns!(),
            media_join!(),
        ))
        .bind(key)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.db)
        .await?;
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

    async fn slug_redirect(&self, old_slug: &str) -> StoreResult<Option<(String, String)>> {
        let row =
            sql("SELECT s.slug AS section_slug, a.slug FROM slug_redirects r JOIN articles a ON a.id = r.article_id \
             JOIN sections s ON s.id = a.section_id \
             WHERE r.old_slug = $1 AND a.status = 'published'")
            .bind(old_slug)
            .fetch_optional(&self.db)
            .await?;
        row.map(|r| Ok((r.text("section_slug")?, r.text("slug")?))).transpose()
    }
}
