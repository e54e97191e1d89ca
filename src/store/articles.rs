//! Articles as readers see them: reads by address and lists, the bulk inserts of the generator and
//! the demo, and status changes.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::shared::{
    article_from_row, article_page_statement, article_select, article_status, card_columns, cards, comments_from_row,
    is_unique_violation, media_join, related_from_row, to_unix,
};
use super::sql::{ToArg, Tx, in_lists, insert_rows, sql, sql_built};
use super::{ArticleWithHistory, ListFilter, NewArticle, PastComment, SqlStore, StoreError, StoreResult};
use crate::domain::{Article, ArticleCard, ArticleId, ArticleStatus, Comment, CommentStatus};

pub(super) async fn insert_article_in(tx: &mut Tx, article: &NewArticle) -> StoreResult<ArticleId> {
    let image = article.image.as_ref();
    let id: ArticleId =
        sql("INSERT INTO articles (section_id, slug, headline, dek, image_url, image_alt, image_caption, \
         image_credit, image_width, image_height, status, published_at, updated_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id")
        .bind(article.section_id)
        .bind(&article.slug)
        .bind(&article.headline)
        .bind(&article.dek)
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
    sql("INSERT INTO article_bodies (article_id, html, markdown) VALUES ($1, $2, $3)")
        .bind(id)
        .bind(&article.body_html)
        .bind(&article.body_markdown)
        .execute(&mut *tx)
        .await?;

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

/// What [`insert_batch`] keeps of an article once its row's text has moved into the statement.
struct Inserted {
    slug: String,
    /// Author and tag links carry the publication time while the article is published.
    listed_at: Option<i64>,
    author_ids: Vec<crate::domain::AuthorId>,
    tags: Vec<(String, String)>,
    comments: Vec<PastComment>,
    /// Views per hour, repeated hours added up as `record_views` would.
    views: BTreeMap<i64, i64>,
}

/// Inserts articles with their links, comments and view buckets, many rows per statement, and
/// the running totals (published comments, views) with each article row, so no row is written
/// twice. Stores what [`insert_article_in`], `insert_comments` and `record_views` would.
async fn insert_batch(tx: &mut Tx, batch: Vec<ArticleWithHistory>) -> StoreResult<Vec<ArticleId>> {
    let Some(first_slug) = batch.first().map(|a| a.article.slug.clone()) else { return Ok(Vec::new()) };
    let mut kept = Vec::with_capacity(batch.len());
    let mut rows = Vec::with_capacity(batch.len());
    let mut bodies = Vec::with_capacity(batch.len());
    for ArticleWithHistory { mut article, comments, views } in batch {
        let mut hours = BTreeMap::new();
        for (hour, count) in views {
            *hours.entry(hour).or_insert(0) += count;
        }
        let totals =
            (hours.values().sum::<i64>(), comments.iter().filter(|c| c.status == CommentStatus::Published).count());
        kept.push(Inserted {
            slug: article.slug.clone(),
            listed_at: if article.status == ArticleStatus::Published {
                article.published_at.map(to_unix)
            } else {
                None
            },
            author_ids: std::mem::take(&mut article.author_ids),
            tags: std::mem::take(&mut article.tags),
            comments,
            views: hours,
        });
        bodies.push((std::mem::take(&mut article.body_html), std::mem::take(&mut article.body_markdown)));
        rows.push((article, totals));
    }

    let returned = insert_rows(
        tx,
        "INSERT INTO articles (section_id, slug, headline, dek, image_url, image_alt, image_caption, image_credit, \
         image_width, image_height, status, published_at, updated_at, created_at, view_count, comment_count)",
        16,
        "RETURNING id, slug",
        rows,
        |statement, (article, (views, comments))| {
            let created_at = to_unix(article.published_at.map_or(article.updated_at, |p| p.min(article.updated_at)));
            let (url, alt, caption, credit, width, height) = match article.image {
                Some(i) => (Some(i.url), Some(i.alt), i.caption, i.credit, Some(i.width), Some(i.height)),
                None => (None, None, None, None, None, None),
            };
            statement
                .bind(article.section_id)
                .bind(article.slug)
                .bind(article.headline)
                .bind(article.dek)
                .bind(url)
                .bind(alt)
                .bind(caption)
                .bind(credit)
                .bind(width)
                .bind(height)
                .bind(article.status)
                .bind(article.published_at.map(to_unix))
                .bind(to_unix(article.updated_at))
                .bind(created_at)
                .bind(views)
                .bind(comments)
        },
    )
    .await
    .map_err(|e| {
        if is_unique_violation(&e) {
            StoreError::Conflict(format!("an article slug of the batch from {first_slug}"))
        } else {
            e.into()
        }
    })?;
    // Matched by slug: neither database promises that RETURNING keeps the order of VALUES.
    let mut by_slug: HashMap<String, ArticleId> = HashMap::with_capacity(returned.len());
    for row in &returned {
        by_slug.insert(row.text("slug")?, ArticleId(row.int("id")?));
    }
    let ids = kept
        .iter()
        .map(|a| {
            by_slug
                .get(&a.slug)
                .copied()
                .ok_or_else(|| StoreError::Corrupt(format!("article {} was inserted without an id back", a.slug)))
        })
        .collect::<StoreResult<Vec<ArticleId>>>()?;

    insert_rows(
        tx,
        "INSERT INTO article_bodies (article_id, html, markdown)",
        3,
        "",
        ids.iter().copied().zip(bodies).collect(),
        |statement, (id, (html, markdown))| statement.bind(id).bind(html).bind(markdown),
    )
    .await?;

    let mut authors = Vec::new();
    for (a, &id) in kept.iter().zip(&ids) {
        authors.extend(a.author_ids.iter().enumerate().map(|(position, &author)| (id, author, position, a.listed_at)));
    }
    insert_rows(
        tx,
        "INSERT INTO article_authors (article_id, author_id, position, published_at)",
        4,
        "",
        authors,
        |statement, (id, author, position, listed_at)| statement.bind(id).bind(author).bind(position).bind(listed_at),
    )
    .await?;

    let tag_ids = ensure_tags(tx, kept.iter().flat_map(|a| a.tags.iter())).await?;
    let mut tags = Vec::new();
    for (a, &id) in kept.iter().zip(&ids) {
        for (position, (slug, _)) in a.tags.iter().enumerate() {
            let tag = tag_ids.get(slug.as_str()).copied().ok_or_else(|| StoreError::Missing(format!("tag {slug}")))?;
            tags.push((id, tag, position, a.listed_at));
        }
    }
    insert_rows(
        tx,
        "INSERT INTO article_tags (article_id, tag_id, position, published_at)",
        4,
        "",
        tags,
        |statement, (id, tag, position, listed_at)| statement.bind(id).bind(tag).bind(position).bind(listed_at),
    )
    .await?;

    let mut comments = Vec::new();
    let mut views = Vec::new();
    for (a, &id) in kept.into_iter().zip(&ids) {
        comments.extend(a.comments.into_iter().map(|c| (id, c)));
        views.extend(a.views.into_iter().map(|(hour, count)| (id, hour, count)));
    }
    insert_rows(
        tx,
        "INSERT INTO comments (article_id, author_name, body, status, fingerprint, created_at)",
        6,
        "",
        comments,
        |statement, (id, comment)| {
            statement
                .bind(id)
                .bind(comment.author_name)
                .bind(comment.body)
                .bind(comment.status)
                .bind(comment.fingerprint)
                .bind(to_unix(comment.created_at))
        },
    )
    .await?;
    insert_rows(
        tx,
        "INSERT INTO view_buckets (article_id, hour, views)",
        3,
        "",
        views,
        |statement, (id, hour, views)| statement.bind(id).bind(hour).bind(views),
    )
    .await?;
    Ok(ids)
}

/// Creates the tags that do not exist yet (the first name given for a slug wins, as in
/// [`insert_article_in`]) and returns every given slug's id.
async fn ensure_tags<'a>(
    tx: &mut Tx,
    tags: impl Iterator<Item = &'a (String, String)>,
) -> StoreResult<HashMap<&'a str, i64>> {
    let mut wanted: Vec<&(String, String)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for tag in tags {
        if seen.insert(tag.0.as_str()) {
            wanted.push(tag);
        }
    }
    insert_rows(
        tx,
        "INSERT INTO tags (slug, name)",
        2,
        "ON CONFLICT (slug) DO NOTHING",
        wanted.clone(),
        |statement, tag| statement.bind(&tag.0).bind(&tag.1),
    )
    .await?;
    let mut ids = HashMap::with_capacity(wanted.len());
    let dialect = tx.dialect();
    for chunk in in_lists(&wanted) {
        let mut lookup =
            sql_built(format!("SELECT id, slug FROM tags WHERE slug IN ({})", dialect.placeholders(chunk.len(), 1)));
        for tag in chunk {
            lookup = lookup.bind(&tag.0);
        }
        let found: HashMap<String, i64> = lookup
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|row| Ok((row.text("slug")?, row.int("id")?)))
            .collect::<StoreResult<_>>()?;
        for tag in chunk {
            if let Some(&id) = found.get(&tag.0) {
                ids.insert(tag.0.as_str(), id);
            }
        }
    }
    Ok(ids)
}

/// Author and tag links carry the publication time exactly while the article is published.
pub(super) async fn sync_links(tx: &mut Tx, id: ArticleId) -> StoreResult<()> {
    for text in [
        concat!(
            "UPDATE article_authors SET published_at = (SELECT CASE WHEN status = ",
            article_status!(published),
            " THEN published_at END \
         FROM articles WHERE id = $1) WHERE article_id = $1"
        ),
        concat!(
            "UPDATE article_tags SET published_at = (SELECT CASE WHEN status = ",
            article_status!(published),
            " THEN published_at END \
         FROM articles WHERE id = $1) WHERE article_id = $1"
        ),
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
    pub related: Vec<crate::domain::StoryLink>,
    pub comments: Vec<Comment>,
}

#[async_trait]
pub trait ArticleRepo: Send + Sync {
    /// True when no article has ever been stored (the demo newsroom loads only then).
    async fn has_no_articles(&self) -> StoreResult<bool>;

    async fn insert_article(&self, article: NewArticle) -> StoreResult<ArticleId>;

    /// Inserts many articles in one transaction, many rows per statement (imports, tests).
    async fn insert_articles(&self, articles: &[NewArticle]) -> StoreResult<Vec<ArticleId>>;

    /// Inserts articles with their comments and view buckets in one transaction, many rows per
    /// statement; each article's running totals (published comments, views) are written with its
    /// row. Stores what inserting the article, its comments and its views one by one would.
    /// Returns the ids in order.
    async fn insert_articles_with_history(&self, articles: Vec<ArticleWithHistory>) -> StoreResult<Vec<ArticleId>>;

    async fn set_article_status(&self, id: ArticleId, status: ArticleStatus, at: DateTime<Utc>) -> StoreResult<()>;

    async fn article_by_slug(&self, slug: &str) -> StoreResult<Option<Article>>;

    async fn article_by_id(&self, id: ArticleId) -> StoreResult<Option<Article>>;

    /// What an article page shows from the store, in one statement: the article with `slug`, the
    /// published stories of its related list (`related` at most, best first) and its newest
    /// published comments (`comments` at most). The page's other modules are shared lists, cached.
    async fn article_reading(&self, slug: &str, related: u16, comments: u16) -> StoreResult<Option<ArticleReading>>;

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
        let batch = articles
            .iter()
            .map(|article| ArticleWithHistory { article: article.clone(), comments: Vec::new(), views: Vec::new() })
            .collect();
        self.insert_articles_with_history(batch).await
    }

    async fn insert_articles_with_history(&self, articles: Vec<ArticleWithHistory>) -> StoreResult<Vec<ArticleId>> {
        let mut tx = self.db.begin().await?;
        let ids = insert_batch(&mut tx, articles).await?;
        tx.commit().await?;
        Ok(ids)
    }

    async fn set_article_status(&self, id: ArticleId, status: ArticleStatus, at: DateTime<Utc>) -> StoreResult<()> {
        let mut tx = self.db.begin().await?;
        // The update locks the row, so the links below copy this transaction's publication time.
        let done = sql(concat!(
            "UPDATE articles SET status = $1, updated_at = $2, \
             published_at = CASE WHEN $1 = ",
            article_status!(published),
            " THEN COALESCE(published_at, $2) ELSE published_at END \
             WHERE id = $3"
        ))
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

    async fn article_reading(&self, slug: &str, related: u16, comments: u16) -> StoreResult<Option<ArticleReading>> {
        // The one read of an uncached article page, the long tail's hot path: on SQLite it runs on
        // this thread (`store::inline`).
        let Some(row) = sql(article_page_statement(self.db.dialect()))
            .bind(slug)
            .bind(i64::from(related))
            .bind(i64::from(comments))
            .fetch_optional_inline(&self.db)
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
            ListFilter::Section(id) => ("articles a", "a.section_id = $1", id.0),
            ListFilter::Author(id) => {
                ("article_authors f JOIN articles a ON a.id = f.article_id", "f.author_id = $1", id.0)
            }
            ListFilter::Tag(id) => ("article_tags f JOIN articles a ON a.id = f.article_id", "f.tag_id = $1", id.0),
        };
        let rows = sql_built(format!(
            concat!(
                "SELECT {} FROM {from} JOIN sections s ON s.id = a.section_id {} \
             WHERE {condition} AND a.status = ",
                article_status!(published),
                " ORDER BY a.published_at DESC, a.id DESC LIMIT $2 OFFSET $3"
            ),
            card_columns!(),
            media_join!(),
            from = from,
            condition = condition,
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
            ListFilter::All => (
                concat!("SELECT COUNT(*) FROM articles WHERE status = ", article_status!(published), " AND $1 = $1"),
                0,
            ),
            ListFilter::Section(id) => (
                concat!(
                    "SELECT COUNT(*) FROM articles WHERE status = ",
                    article_status!(published),
                    " AND section_id = $1"
                ),
                id.0,
            ),
            ListFilter::Author(id) => {
                ("SELECT COUNT(*) FROM article_authors WHERE author_id = $1 AND published_at IS NOT NULL", id.0)
            }
            ListFilter::Tag(id) => {
                ("SELECT COUNT(*) FROM article_tags WHERE tag_id = $1 AND published_at IS NOT NULL", id.0)
            }
        };
        Ok(sql(text).bind(key).scalar_one(&self.db).await?)
    }

    async fn slug_redirect(&self, old_slug: &str) -> StoreResult<Option<(String, String)>> {
        let row = sql(concat!(
            "SELECT s.slug AS section_slug, a.slug FROM slug_redirects r JOIN articles a ON a.id = r.article_id \
             JOIN sections s ON s.id = a.section_id \
             WHERE r.old_slug = $1 AND a.status = ",
            article_status!(published)
        ))
        .bind(old_slug)
        .fetch_optional(&self.db)
        .await?;
        row.map(|r| Ok((r.text("section_slug")?, r.text("slug")?))).transpose()
    }
}
