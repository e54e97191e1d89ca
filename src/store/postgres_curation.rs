//! Media, curation, sections and tags, and moderation for [`super::newsroom::Newsroom`] on
//! PostgreSQL.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool, Row};

use super::newsroom::{
    CuratedEntry, Edited, MediaMeta, MediaRecord, ModerationItem, NewMedia, SectionUpdate, VersionedWrite,
};
use super::shared::{
    MEDIA_COLUMNS, card_columns, cards, curated_entry_from_row, image_format_str, is_foreign_key_violation,
    is_unique_violation, media_from_row, media_join, moderation_item_from_row, section_with_archived, tag_from_row,
    to_unix, touched, variants_json,
};
use super::{NewSection, StoreError, StoreResult};
use crate::domain::{ArticleCard, ArticleId, CommentStatus, Section, Tag};
use crate::media::Variant;

pub(super) async fn insert_media(pool: &PgPool, media: NewMedia) -> StoreResult<MediaRecord> {
    // The hash names the content: a second upload of the same file is the same record.
    sqlx::query(
        "INSERT INTO media (hash, format, width, height, bytes, original_name, uploaded_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (hash) DO NOTHING",
    )
    .bind(&media.hash)
    .bind(image_format_str(media.format))
    .bind(i64::from(media.width))
    .bind(i64::from(media.height))
    .bind(i64::try_from(media.bytes).map_err(|_| StoreError::WriteFailed("the file is too large".into()))?)
    .bind(&media.original_name)
    .bind(media.uploaded_by)
    .bind(to_unix(media.created_at))
    .execute(pool)
    .await?;
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("{MEDIA_COLUMNS} WHERE hash = $1")))
        .bind(&media.hash)
        .fetch_one(pool)
        .await?;
    media_from_row(&row)
}

pub(super) async fn media_by_id(pool: &PgPool, id: i64) -> StoreResult<Option<MediaRecord>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("{MEDIA_COLUMNS} WHERE id = $1")))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(media_from_row).transpose()
}

pub(super) async fn media_list(pool: &PgPool, limit: i64, offset: i64) -> StoreResult<Vec<MediaRecord>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{MEDIA_COLUMNS} ORDER BY created_at DESC, id DESC LIMIT $1 OFFSET $2"
    )))
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await?;
    rows.iter().map(media_from_row).collect()
}

pub(super) async fn media_without_variants(
    pool: &PgPool,
    limit: i64,
    now: DateTime<Utc>,
) -> StoreResult<Vec<MediaRecord>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{MEDIA_COLUMNS} WHERE variants IS NULL AND (variant_retry_at IS NULL OR variant_retry_at <= $1) \
         ORDER BY id LIMIT $2"
    )))
    .bind(to_unix(now))
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter().map(media_from_row).collect()
}

pub(super) async fn update_media_meta(pool: &PgPool, id: i64, meta: &MediaMeta) -> StoreResult<()> {
    let done =
        sqlx::query("UPDATE media SET alt = $1, caption = $2, credit = $3, focal_x = $4, focal_y = $5 WHERE id = $6")
            .bind(&meta.alt)
            .bind(&meta.caption)
            .bind(&meta.credit)
            .bind(meta.focal.x)
            .bind(meta.focal.y)
            .bind(id)
            .execute(pool)
            .await?;
    touched(done.rows_affected(), || format!("media {id}"))
}

/// Stores the variants, or with `None` clears them so the worker makes them again.
pub(super) async fn set_media_variants(pool: &PgPool, id: i64, variants: Option<&[Variant]>) -> StoreResult<()> {
    let json = variants_json(variants)?;
    let done =
        sqlx::query("UPDATE media SET variants = $1, variant_attempts = 0, variant_retry_at = NULL WHERE id = $2")
            .bind(json)
            .bind(id)
            .execute(pool)
            .await?;
    touched(done.rows_affected(), || format!("media {id}"))
}

/// Moves a named version counter from `base` to `base + 1` inside the caller's transaction; false
/// (and nothing changed) when it was no longer at `base`. The first save of a thing is based on 0.
/// A concurrent save waits on the row (or the key) and then finds the counter moved.
pub(super) async fn bump_version(tx: &mut PgConnection, what: Edited<'_>, base: i64) -> StoreResult<bool> {
    let done = if base == 0 {
        sqlx::query("INSERT INTO edit_versions (name, version) VALUES ($1, 1) ON CONFLICT (name) DO NOTHING")
            .bind(what.name())
            .execute(&mut *tx)
            .await?
    } else {
        sqlx::query("UPDATE edit_versions SET version = version + 1 WHERE name = $1 AND version = $2")
            .bind(what.name())
            .bind(base)
            .execute(&mut *tx)
            .await?
    };
    Ok(done.rows_affected() == 1)
}

pub(super) async fn edit_version(pool: &PgPool, what: Edited<'_>) -> StoreResult<i64> {
    let version: Option<i64> = sqlx::query_scalar("SELECT version FROM edit_versions WHERE name = $1")
        .bind(what.name())
        .fetch_optional(pool)
        .await?;
    Ok(version.unwrap_or(0))
}

/// Stores a setting if it is still at `base_version`.
pub(super) async fn set_setting(
    pool: &PgPool,
    key: &str,
    value: &str,
    at: DateTime<Utc>,
    base_version: i64,
) -> StoreResult<VersionedWrite> {
    let mut tx = pool.begin().await?;
    if !bump_version(&mut tx, Edited::Setting(key), base_version).await? {
        return Ok(VersionedWrite::Stale);
    }
    sqlx::query(
        "INSERT INTO site_settings (key, value, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
    )
    .bind(key)
    .bind(value)
    .bind(to_unix(at))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(VersionedWrite::Written)
}

pub(super) async fn defer_media_variants(pool: &PgPool, id: i64, retry_at: DateTime<Utc>) -> StoreResult<()> {
    sqlx::query(
        "UPDATE media SET variant_attempts = variant_attempts + 1, variant_retry_at = $1 \
         WHERE id = $2 AND variants IS NULL",
    )
    .bind(to_unix(retry_at))
    .bind(id)
    .execute(pool)
    .await?;
    Ok(())
}

/// The two editor-ordered lists of articles.
#[derive(Debug, Clone, Copy)]
pub(super) enum List {
    MustReads,
    HomeSlots,
}

pub(super) async fn curated_entries(pool: &PgPool, list: List) -> StoreResult<Vec<CuratedEntry>> {
    let sql = match list {
        List::MustReads => {
            "SELECT l.article_id, a.headline, s.name, a.status, l.expires_at FROM must_reads l \
             JOIN articles a ON a.id = l.article_id JOIN sections s ON s.id = a.section_id ORDER BY l.position"
        }
        List::HomeSlots => {
            "SELECT l.article_id, a.headline, s.name, a.status, NULL::BIGINT FROM home_slots l \
             JOIN articles a ON a.id = l.article_id JOIN sections s ON s.id = a.section_id ORDER BY l.position"
        }
    };
    let rows = sqlx::query(sql).fetch_all(pool).await?;
    rows.iter().map(curated_entry_from_row).collect()
}

/// Replaces a list, in order, in one transaction.
pub(super) async fn set_curated(
    pool: &PgPool,
    list: List,
    entries: &[(ArticleId, Option<DateTime<Utc>>)],
    base_version: i64,
) -> StoreResult<VersionedWrite> {
    let (table, clear, insert) = match list {
        List::MustReads => (
            "must_reads",
            "DELETE FROM must_reads",
            "INSERT INTO must_reads (position, article_id, expires_at) VALUES ($1, $2, $3)",
        ),
        List::HomeSlots => {
            ("home_slots", "DELETE FROM home_slots", "INSERT INTO home_slots (position, article_id) VALUES ($1, $2)")
        }
    };
    let mut tx = pool.begin().await?;
    // One replacement at a time (SQLite's single writer gives that for free); readers still read.
    sqlx::query(sqlx::AssertSqlSafe(format!("LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")))
        .execute(&mut *tx)
        .await?;
    let versioned = match list {
        List::MustReads => Edited::MustReads,
        List::HomeSlots => Edited::HomeSlots,
    };
    if !bump_version(&mut tx, versioned, base_version).await? {
        return Ok(VersionedWrite::Stale);
    }
    sqlx::query(clear).execute(&mut *tx).await?;
    for (position, &(id, expires_at)) in entries.iter().enumerate() {
        let mut query = sqlx::query(insert).bind(position as i64).bind(id);
        if let List::MustReads = list {
            query = query.bind(expires_at.map(to_unix));
        }
        query.execute(&mut *tx).await.map_err(|e| match &e {
            _ if is_unique_violation(&e) => StoreError::Conflict(format!("article {id} in the list")),
            _ if is_foreign_key_violation(&e) => StoreError::Missing(format!("article {id}")),
            _ => e.into(),
        })?;
    }
    tx.commit().await?;
    Ok(VersionedWrite::Written)
}

pub(super) async fn home_slots(pool: &PgPool) -> StoreResult<Vec<ArticleCard>> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        card_columns!(),
        " FROM home_slots h JOIN articles a ON a.id = h.article_id \
         JOIN sections s ON s.id = a.section_id",
        media_join!(),
        "WHERE a.status = 'published' ORDER BY h.position"
    ))
    .fetch_all(pool)
    .await?;
    cards(&rows)
}

pub(super) async fn all_sections(pool: &PgPool) -> StoreResult<Vec<(Section, bool)>> {
    let rows = sqlx::query("SELECT id, slug, name, position, archived FROM sections ORDER BY position, id")
        .fetch_all(pool)
        .await?;
    rows.iter().map(section_with_archived).collect()
}

pub(super) async fn update_section(pool: &PgPool, id: i64, update: &SectionUpdate) -> StoreResult<()> {
    let done = sqlx::query("UPDATE sections SET name = $1, slug = $2, position = $3, archived = $4 WHERE id = $5")
        .bind(&update.name)
        .bind(&update.slug)
        .bind(update.position)
        .bind(i64::from(update.archived))
        .bind(id)
        .execute(pool)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) { StoreError::Conflict(format!("section {}", update.slug)) } else { e.into() }
        })?;
    touched(done.rows_affected(), || format!("section {id}"))
}

/// Every row and the new section in one transaction: all or nothing.
pub(super) async fn save_sections(
    pool: &PgPool,
    updates: &[(i64, SectionUpdate)],
    new: Option<&NewSection>,
) -> StoreResult<()> {
    let mut tx = pool.begin().await?;
    // Two sections may trade addresses in one save. Each changed row first gets a placeholder that
    // no real slug can be ('~' is not allowed in one), so no step in between breaks uniqueness.
    for (id, _) in updates {
        sqlx::query("UPDATE sections SET slug = $1 WHERE id = $2")
            .bind(format!("~{id}"))
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    for (id, update) in updates {
        let done = sqlx::query("UPDATE sections SET name = $1, slug = $2, position = $3, archived = $4 WHERE id = $5")
            .bind(&update.name)
            .bind(&update.slug)
            .bind(update.position)
            .bind(i64::from(update.archived))
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(|e| {
                if is_unique_violation(&e) {
                    StoreError::Conflict(format!("section {}", update.slug))
                } else {
                    e.into()
                }
            })?;
        touched(done.rows_affected(), || format!("section {id}"))?;
    }
    if let Some(section) = new {
        sqlx::query("INSERT INTO sections (slug, name, position) VALUES ($1, $2, $3)")
            .bind(&section.slug)
            .bind(&section.name)
            .bind(section.position)
            .execute(&mut *tx)
            .await
            .map_err(|e| {
                if is_unique_violation(&e) {
                    StoreError::Conflict(format!("section {}", section.slug))
                } else {
                    e.into()
                }
            })?;
    }
    tx.commit().await?;
    Ok(())
}

pub(super) async fn tags_with_counts(pool: &PgPool) -> StoreResult<Vec<(Tag, i64)>> {
    let rows = sqlx::query(
        "SELECT t.id, t.slug, t.name, (SELECT COUNT(*) FROM article_tags at WHERE at.tag_id = t.id) \
         FROM tags t ORDER BY t.name, t.id",
    )
    .fetch_all(pool)
    .await?;
    rows.iter().map(|r| Ok((tag_from_row(r)?, r.try_get(3)?))).collect()
}

pub(super) async fn comments_by_status(
    pool: &PgPool,
    status: CommentStatus,
    limit: i64,
    offset: i64,
) -> StoreResult<Vec<ModerationItem>> {
    let rows = sqlx::query(
        "SELECT c.id, c.article_id, a.headline, s.slug, a.slug, c.author_name, c.body, c.status, c.fingerprint, \
         b.fingerprint IS NOT NULL, c.created_at \
         FROM comments c JOIN articles a ON a.id = c.article_id JOIN sections s ON s.id = a.section_id \
         LEFT JOIN blocked_fingerprints b ON b.fingerprint = c.fingerprint \
         WHERE c.status = $1 ORDER BY c.created_at DESC, c.id DESC LIMIT $2 OFFSET $3",
    )
    .bind(status.as_str())
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await?;
    rows.iter().map(moderation_item_from_row).collect()
}

/// Moves a comment to `status`, or deletes it (`None`), keeping the article's count of published
/// comments right. Returns the article's id.
pub(super) async fn change_comment(pool: &PgPool, id: i64, status: Option<CommentStatus>) -> StoreResult<ArticleId> {
    let mut tx = pool.begin().await?;
    // Locked, so a concurrent change to the same comment waits and then sees this one's status.
    let row = sqlx::query("SELECT article_id, status FROM comments WHERE id = $1 FOR UPDATE")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StoreError::Missing(format!("comment {id}")))?;
    let article_id: ArticleId = row.try_get(0)?;
    let was_published = row.try_get::<&str, _>(1)? == CommentStatus::Published.as_str();
    match status {
        Some(status) => {
            sqlx::query("UPDATE comments SET status = $1 WHERE id = $2")
                .bind(status.as_str())
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        None => {
            sqlx::query("DELETE FROM comments WHERE id = $1").bind(id).execute(&mut *tx).await?;
        }
    }
    let delta = i64::from(status == Some(CommentStatus::Published)) - i64::from(was_published);
    if delta != 0 {
        sqlx::query("UPDATE articles SET comment_count = comment_count + $1 WHERE id = $2")
            .bind(delta)
            .bind(article_id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(article_id)
}
