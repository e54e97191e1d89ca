//! Readers' comments: posting (in batches, one durable write each), the per-address attempt limit,
//! and moderation.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::audit::commit_with;
use super::newsroom::{ModerationItem, NewAuditEntry};
use super::shared::{comment_from_row, comment_status, moderation_item_from_row, parse_status, to_unix};
use super::sql::{Db, Tx, sql, sql_built};
use super::{NewComment, SqlStore, StoreError, StoreResult};
use crate::domain::{ArticleId, ArticleStatus, Comment, CommentId, CommentStatus, UserId};

/// What posting a comment needs to know about its article and its author, read in one statement
/// (a comment post is a hot path: a story that breaks draws them by the thousand).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentTarget {
    pub article_id: ArticleId,
    pub slug: String,
    pub section_slug: String,
    pub status: ArticleStatus,
    /// The commenter's fingerprint is on the block list.
    pub commenter_blocked: bool,
}

/// Inserts a comment unless its article does not exist (`None` then). The check is part of the
/// statement, so a batch of comments needs no savepoint per comment: articles are never deleted,
/// so the article cannot vanish between the check and the foreign key's.
async fn insert_comment_in(tx: &mut Tx, comment: &NewComment) -> StoreResult<Option<Comment>> {
    let row = sql("INSERT INTO comments (article_id, author_name, body, status, fingerprint, created_at) \
         SELECT $1, $2, $3, $4, $5, $6 WHERE EXISTS (SELECT 1 FROM articles WHERE id = $1) \
         RETURNING id, article_id, author_name, body, status, created_at")
    .bind(comment.article_id)
    .bind(&comment.author_name)
    .bind(&comment.body)
    .bind(comment.status)
    .bind(&comment.fingerprint)
    .bind(to_unix(comment.created_at))
    .fetch_optional(&mut *tx)
    .await?;
    row.as_ref().map(comment_from_row).transpose()
}

pub(super) async fn comments_by_status(
    db: &Db,
    status: CommentStatus,
    limit: i64,
    offset: i64,
) -> StoreResult<Vec<ModerationItem>> {
    let rows =
        sql("SELECT c.id, c.article_id, a.headline, s.slug AS section_slug, a.slug, c.author_name, c.body, c.status, \
         c.fingerprint, b.fingerprint IS NOT NULL AS fingerprint_blocked, c.created_at \
         FROM comments c JOIN articles a ON a.id = c.article_id JOIN sections s ON s.id = a.section_id \
         LEFT JOIN blocked_fingerprints b ON b.fingerprint = c.fingerprint \
         WHERE c.status = $1 ORDER BY c.created_at DESC, c.id DESC LIMIT $2 OFFSET $3")
        .bind(status)
        .bind(limit)
        .bind(offset)
        .fetch_all(db)
        .await?;
    rows.iter().map(moderation_item_from_row).collect()
}

/// What a moderator does to one comment, as the store applies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommentChange<'a> {
    /// Moves the comment to this status.
    Status(CommentStatus),
    Delete,
    /// Marks the comment as spam and puts its commenter's fingerprint on the block list.
    Block {
        fingerprint: &'a str,
        by: Option<UserId>,
        at: DateTime<Utc>,
    },
}

/// Applies `change` to a comment, keeping the article's count of published comments right, and
/// records `audit` (its detail: the comment's article, `article N`), in one transaction. Returns the
/// article's id.
pub(super) async fn change_comment(
    db: &Db,
    id: CommentId,
    change: CommentChange<'_>,
    audit: &NewAuditEntry,
) -> StoreResult<ArticleId> {
    let mut tx = db.begin().await?;
    // Locked, so a concurrent change to the same comment waits and then sees this one's status.
    let row = sql_built(format!("SELECT article_id, status FROM comments WHERE id = $1{}", tx.dialect().for_update()))
        .bind(id)
        .fetch_optional(&mut tx)
        .await?
        .ok_or_else(|| StoreError::Missing(format!("comment {id}")))?;
    let article_id: ArticleId = ArticleId(row.int("article_id")?);
    let was_published = row.text("status")? == CommentStatus::Published.as_str();
    let status = match change {
        CommentChange::Status(status) => Some(status),
        CommentChange::Delete => None,
        CommentChange::Block { fingerprint, by, at } => {
            sql("INSERT INTO blocked_fingerprints (fingerprint, user_id, created_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (fingerprint) DO NOTHING")
            .bind(fingerprint)
            .bind(by)
            .bind(to_unix(at))
            .execute(&mut tx)
            .await?;
            Some(CommentStatus::Spam)
        }
    };
    match status {
        Some(status) => {
            sql("UPDATE comments SET status = $1 WHERE id = $2").bind(status).bind(id).execute(&mut tx).await?;
        }
        None => {
            sql("DELETE FROM comments WHERE id = $1").bind(id).execute(&mut tx).await?;
        }
    }
    let delta = i64::from(status == Some(CommentStatus::Published)) - i64::from(was_published);
    if delta != 0 {
        sql("UPDATE articles SET comment_count = comment_count + $1 WHERE id = $2")
            .bind(delta)
            .bind(article_id)
            .execute(&mut tx)
            .await?;
    }
    // The line names the comment's article, which only this transaction has read.
    commit_with(tx, &NewAuditEntry { detail: format!("article {article_id}"), ..audit.clone() }).await?;
    Ok(article_id)
}

#[async_trait]
pub trait CommentRepo: Send + Sync {
    /// Published comments on an article, newest first.
    async fn published_comments(&self, article_id: ArticleId, limit: i64, offset: i64) -> StoreResult<Vec<Comment>>;

    /// Inserts comments in one transaction (one durable write for the whole batch). Each comment
    /// gets its own result: a comment on a missing article fails alone.
    async fn insert_comments(&self, comments: &[NewComment]) -> StoreResult<Vec<StoreResult<Comment>>>;

    /// Records a comment attempt under `key` and returns how many were recorded since `since`
    /// (this one included). Attempts older than `since` are deleted on the way, so the table only
    /// ever holds the last window.
    async fn note_comment_attempt(&self, key: &str, at: DateTime<Utc>, since: DateTime<Utc>) -> StoreResult<i64>;

    // Moderation.
    /// Newest first.
    async fn comments_by_status(
        &self,
        status: CommentStatus,
        limit: i64,
        offset: i64,
    ) -> StoreResult<Vec<ModerationItem>>;

    async fn count_comments_by_status(&self, status: CommentStatus) -> StoreResult<i64>;

    /// Applies a moderator's `change` to a comment, keeps the article's published-comment count
    /// right and records `audit` (its detail: `article N`, the comment's article), in one transaction. Returns the article id; a missing comment is
    /// `Missing`, and nothing is written.
    async fn moderate_comment(
        &self,
        id: CommentId,
        change: CommentChange<'_>,
        audit: &NewAuditEntry,
    ) -> StoreResult<ArticleId>;

    /// The article with `slug` that a comment is posted to, and whether `fingerprint` is blocked.
    async fn comment_target(&self, slug: &str, fingerprint: &str) -> StoreResult<Option<CommentTarget>>;
}

#[async_trait]
impl CommentRepo for SqlStore {
    async fn published_comments(&self, article_id: ArticleId, limit: i64, offset: i64) -> StoreResult<Vec<Comment>> {
        let rows = sql(concat!(
            "SELECT id, article_id, author_name, body, status, created_at FROM comments \
             WHERE article_id = $1 AND status = ",
            comment_status!(published),
            " ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3"
        ))
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
            // A comment on a missing article fails alone; the others in the batch are stored.
            results.push(
                insert_comment_in(&mut tx, comment)
                    .await?
                    .ok_or_else(|| StoreError::Missing(format!("article {}", comment.article_id))),
            );
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

    async fn comments_by_status(
        &self,
        status: CommentStatus,
        limit: i64,
        offset: i64,
    ) -> StoreResult<Vec<ModerationItem>> {
        comments_by_status(&self.db, status, limit, offset).await
    }

    async fn count_comments_by_status(&self, status: CommentStatus) -> StoreResult<i64> {
        Ok(sql("SELECT COUNT(*) FROM comments WHERE status = $1").bind(status).scalar_one(&self.db).await?)
    }

    async fn moderate_comment(
        &self,
        id: CommentId,
        change: CommentChange<'_>,
        audit: &NewAuditEntry,
    ) -> StoreResult<ArticleId> {
        change_comment(&self.db, id, change, audit).await
    }

    async fn comment_target(&self, slug: &str, fingerprint: &str) -> StoreResult<Option<CommentTarget>> {
        let row = sql("SELECT a.id, a.slug, s.slug AS section_slug, a.status, \
             EXISTS (SELECT 1 FROM blocked_fingerprints WHERE fingerprint = $2) AS blocked \
             FROM articles a JOIN sections s ON s.id = a.section_id WHERE a.slug = $1")
        .bind(slug)
        .bind(fingerprint)
        .fetch_optional(&self.db)
        .await?;
        row.map(|row| {
            Ok(CommentTarget {
                article_id: ArticleId(row.int("id")?),
                slug: row.text("slug")?,
                section_slug: row.text("section_slug")?,
                status: parse_status(&row.text("status")?)?,
                commenter_blocked: row.flag("blocked")?,
            })
        })
        .transpose()
    }
}
