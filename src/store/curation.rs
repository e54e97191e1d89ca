//! Media, curation, sections and tags, and moderation for [`super::newsroom::Newsroom`].

use chrono::{DateTime, Utc};

use super::newsroom::{
    CuratedEntry, Edited, MediaMeta, MediaRecord, ModerationItem, NewMedia, SectionUpdate, VersionedWrite,
};
use super::shared::{
    MEDIA_COLUMNS, card_columns, cards, curated_entry_from_row, image_format_str, is_foreign_key_violation,
    is_unique_violation, media_from_row, media_join, moderation_item_from_row, section_with_archived, tag_from_row,
    to_unix, touched, variants_json,
};
use super::sql::{Db, Tx, sql, sql_built};
use super::{NewSection, StoreError, StoreResult};
use crate::domain::{ArticleCard, ArticleId, CommentStatus, Section, Tag};
use crate::media::Variant;

pub(super) async fn insert_media(db: &Db, media: NewMedia) -> StoreResult<MediaRecord> {
    // The hash names the content: a second upload of the same file is the same record.
    sql("INSERT INTO media (hash, format, width, height, bytes, original_name, uploaded_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (hash) DO NOTHING")
    .bind(&media.hash)
    .bind(image_format_str(media.format))
    .bind(i64::from(media.width))
    .bind(i64::from(media.height))
    .bind(i64::try_from(media.bytes).map_err(|_| StoreError::WriteFailed("the file is too large".into()))?)
    .bind(&media.original_name)
    .bind(media.uploaded_by)
    .bind(to_unix(media.created_at))
    .execute(db)
    .await?;
    let row = sql_built(format!("{MEDIA_COLUMNS} WHERE hash = $1")).bind(&media.hash).fetch_one(db).await?;
    media_from_row(&row)
}

pub(super) async fn media_by_id(db: &Db, id: i64) -> StoreResult<Option<MediaRecord>> {
    let row = sql_built(format!("{MEDIA_COLUMNS} WHERE id = $1")).bind(id).fetch_optional(db).await?;
    row.as_ref().map(media_from_row).transpose()
}

pub(super) async fn media_list(db: &Db, limit: i64, offset: i64) -> StoreResult<Vec<MediaRecord>> {
    let rows = sql_built(format!("{MEDIA_COLUMNS} ORDER BY created_at DESC, id DESC LIMIT $1 OFFSET $2"))
        .bind(limit)
        .bind(offset)
        .fetch_all(db)
        .await?;
    rows.iter().map(media_from_row).collect()
}

pub(super) async fn media_without_variants(db: &Db, limit: i64, now: DateTime<Utc>) -> StoreResult<Vec<MediaRecord>> {
    let rows = sql_built(format!(
        "{MEDIA_COLUMNS} WHERE variants IS NULL AND (variant_retry_at IS NULL OR variant_retry_at <= $1) \
         ORDER BY id LIMIT $2"
    ))
    .bind(to_unix(now))
    .bind(limit)
    .fetch_all(db)
    .await?;
    rows.iter().map(media_from_row).collect()
}

pub(super) async fn update_media_meta(db: &Db, id: i64, meta: &MediaMeta) -> StoreResult<()> {
    let done = sql("UPDATE media SET alt = $1, caption = $2, credit = $3, focal_x = $4, focal_y = $5 WHERE id = $6")
        .bind(&meta.alt)
        .bind(&meta.caption)
        .bind(&meta.credit)
        .bind(meta.focal.x)
        .bind(meta.focal.y)
        .bind(id)
        .execute(db)
        .await?;
    touched(done, || format!("media {id}"))
}

/// Stores the variants, or with `None` clears them so the worker makes them again.
pub(super) async fn set_media_variants(db: &Db, id: i64, variants: Option<&[Variant]>) -> StoreResult<()> {
    let json = variants_json(variants)?;
    let done = sql("UPDATE media SET variants = $1, variant_attempts = 0, variant_retry_at = NULL WHERE id = $2")
        .bind(json)
        .bind(id)
        .execute(db)
        .await?;
    touched(done, || format!("media {id}"))
}

/// Moves a named version counter from `base` to `base + 1` inside the caller's transaction; false
/// (and nothing changed) when it was no longer at `base`. The first save of a thing is based on 0.
/// A concurrent save waits on the row (or the key) and then finds the counter moved.
pub(super) async fn bump_version(tx: &mut Tx, what: Edited<'_>, base: i64) -> StoreResult<bool> {
    let done = if base == 0 {
        sql("INSERT INTO edit_versions (name, version) VALUES ($1, 1) ON CONFLICT (name) DO NOTHING")
            .bind(what.name())
            .execute(&mut *tx)
            .await?
    } else {
        sql("UPDATE edit_versions SET version = version + 1 WHERE name = $1 AND version = $2")
            .bind(what.name())
            .bind(base)
            .execute(&mut *tx)
            .await?
    };
    Ok(done == 1)
}

pub(super) async fn edit_version(db: &Db, what: Edited<'_>) -> StoreResult<i64> {
    let version: Option<i64> =
        sql("SELECT version FROM edit_versions WHERE name = $1").bind(what.name()).scalar_optional(db).await?;
    Ok(version.unwrap_or(0))
}

/// Stores a setting if it is still at `base_version`.
pub(super) async fn set_setting(
    db: &Db,
    key: &str,
    value: &str,
    at: DateTime<Utc>,
    base_version: i64,
) -> StoreResult<VersionedWrite> {
    let mut tx = db.begin().await?;
    if !bump_version(&mut tx, Edited::Setting(key), base_version).await? {
        return Ok(VersionedWrite::Stale);
    }
    sql("INSERT INTO site_settings (key, value, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at")
    .bind(key)
    .bind(value)
    .bind(to_unix(at))
    .execute(&mut tx)
    .await?;
    tx.commit().await?;
    Ok(VersionedWrite::Written)
}

pub(super) async fn defer_media_variants(db: &Db, id: i64, retry_at: DateTime<Utc>) -> StoreResult<()> {
    sql("UPDATE media SET variant_attempts = variant_attempts + 1, variant_retry_at = $1 \
         WHERE id = $2 AND variants IS NULL")
    .bind(to_unix(retry_at))
    .bind(id)
    .execute(db)
    .await?;
    Ok(())
}

/// The two editor-ordered lists of articles.
#[derive(Debug, Clone, Copy)]
pub(super) enum List {
    MustReads,
    HomeSlots,
}

pub(super) async fn curated_entries(db: &Db, list: List) -> StoreResult<Vec<CuratedEntry>> {
    let (table, expires_at) = match list {
        List::MustReads => ("must_reads", "l.expires_at"),
        List::HomeSlots => ("home_slots", "CAST(NULL AS BIGINT)"),
    };
    let rows = sql_built(format!(
        "SELECT l.article_id, a.headline, s.name AS section_name, a.status, {expires_at} AS expires_at FROM {table} l \
         {} articles a ON a.id = l.article_id JOIN sections s ON s.id = a.section_id ORDER BY l.position",
        db.dialect().driving_join()
    ))
    .fetch_all(db)
    .await?;
    rows.iter().map(curated_entry_from_row).collect()
}

/// Replaces a list, in order, in one transaction.
pub(super) async fn set_curated(
    db: &Db,
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
    let mut tx = db.begin().await?;
    // One replacement at a time; readers still read.
    tx.lock_table(table).await?;
    let versioned = match list {
        List::MustReads => Edited::MustReads,
        List::HomeSlots => Edited::HomeSlots,
    };
    if !bump_version(&mut tx, versioned, base_version).await? {
        return Ok(VersionedWrite::Stale);
    }
    sql(clear).execute(&mut tx).await?;
    for (position, &(id, expires_at)) in entries.iter().enumerate() {
        let mut query = sql(insert).bind(position as i64).bind(id);
        if let List::MustReads = list {
            query = query.bind(expires_at.map(to_unix));
        }
        query.execute(&mut tx).await.map_err(|e| match &e {
            _ if is_unique_violation(&e) => StoreError::Conflict(format!("article {id} in the list")),
            _ if is_foreign_key_violation(&e) => StoreError::Missing(format!("article {id}")),
            _ => e.into(),
        })?;
    }
    tx.commit().await?;
    Ok(VersionedWrite::Written)
}

pub(super) async fn home_slots(db: &Db) -> StoreResult<Vec<ArticleCard>> {
    let rows = sql_built(format!(
        "SELECT {} FROM home_slots h {} articles a ON a.id = h.article_id JOIN sections s ON s.id = a.section_id {} \
         WHERE a.status = 'published' ORDER BY h.position",
        card_columns!(),
        db.dialect().driving_join(),
        media_join!(),
    ))
    .fetch_all(db)
    .await?;
    cards(&rows)
}

pub(super) async fn all_sections(db: &Db) -> StoreResult<Vec<(Section, bool)>> {
    let rows =
        sql("SELECT id, slug, name, position, archived FROM sections ORDER BY position, id").fetch_all(db).await?;
    rows.iter().map(section_with_archived).collect()
}

pub(super) async fn update_section(db: &Db, id: i64, update: &SectionUpdate) -> StoreResult<()> {
    let done = sql("UPDATE sections SET name = $1, slug = $2, position = $3, archived = $4 WHERE id = $5")
        .bind(&update.name)
        .bind(&update.slug)
        .bind(update.position)
        .bind(i64::from(update.archived))
        .bind(id)
        .execute(db)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) { StoreError::Conflict(format!("section {}", update.slug)) } else { e.into() }
        })?;
    touched(done, || format!("section {id}"))
}

/// Every row and the new section in one transaction: all or nothing.
pub(super) async fn save_sections(
    db: &Db,
    updates: &[(i64, SectionUpdate)],
    new: Option<&NewSection>,
) -> StoreResult<()> {
    let mut tx = db.begin().await?;
    // Two sections may trade addresses in one save. Each changed row first gets a placeholder that
    // no real slug can be ('~' is not allowed in one), so no step in between breaks uniqueness.
    for (id, _) in updates {
        sql("UPDATE sections SET slug = $1 WHERE id = $2").bind(format!("~{id}")).bind(id).execute(&mut tx).await?;
    }
    for (id, update) in updates {
        let done = sql("UPDATE sections SET name = $1, slug = $2, position = $3, archived = $4 WHERE id = $5")
            .bind(&update.name)
            .bind(&update.slug)
            .bind(update.position)
            .bind(i64::from(update.archived))
            .bind(id)
            .execute(&mut tx)
            .await
            .map_err(|e| {
                if is_unique_violation(&e) {
                    StoreError::Conflict(format!("section {}", update.slug))
                } else {
                    e.into()
                }
            })?;
        touched(done, || format!("section {id}"))?;
    }
    if let Some(section) = new {
        sql("INSERT INTO sections (slug, name, position) VALUES ($1, $2, $3)")
            .bind(&section.slug)
            .bind(&section.name)
            .bind(section.position)
            .execute(&mut tx)
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

pub(super) async fn tags_with_counts(db: &Db) -> StoreResult<Vec<(Tag, i64)>> {
    let rows =
        sql("SELECT t.id, t.slug, t.name, (SELECT COUNT(*) FROM article_tags at WHERE at.tag_id = t.id) AS articles \
         FROM tags t ORDER BY t.name, t.id")
        .fetch_all(db)
        .await?;
    rows.iter().map(|r| Ok((tag_from_row(r)?, r.int("articles")?))).collect()
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
        .bind(status.as_str())
        .bind(limit)
        .bind(offset)
        .fetch_all(db)
        .await?;
    rows.iter().map(moderation_item_from_row).collect()
}

/// Moves a comment to `status`, or deletes it (`None`), keeping the article's count of published
/// comments right. Returns the article's id.
pub(super) async fn change_comment(db: &Db, id: i64, status: Option<CommentStatus>) -> StoreResult<ArticleId> {
    let mut tx = db.begin().await?;
    // Locked, so a concurrent change to the same comment waits and then sees this one's status.
    let row = sql_built(format!("SELECT article_id, status FROM comments WHERE id = $1{}", tx.dialect().for_update()))
        .bind(id)
        .fetch_optional(&mut tx)
        .await?
        .ok_or_else(|| StoreError::Missing(format!("comment {id}")))?;
    let article_id: ArticleId = row.int("article_id")?;
    let was_published = row.text("status")? == CommentStatus::Published.as_str();
    match status {
        Some(status) => {
            sql("UPDATE comments SET status = $1 WHERE id = $2")
                .bind(status.as_str())
                .bind(id)
                .execute(&mut tx)
                .await?;
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
    tx.commit().await?;
    Ok(article_id)
}
