//! The media library: uploaded images by content hash, their metadata and the resized variants the
//! worker makes.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::audit::commit_with;
use super::newsroom::{MediaMeta, MediaRecord, NewAuditEntry, NewMedia};
use super::shared::{MEDIA_COLUMNS, image_format_str, media_from_row, to_unix, touched, variants_json};
use super::sql::{Db, sql, sql_built};
use super::{SqlStore, StoreError, StoreResult};
use crate::domain::MediaId;
use crate::media::Variant;

pub(super) async fn insert_media(db: &Db, media: NewMedia, audit: &NewAuditEntry) -> StoreResult<MediaRecord> {
    let mut tx = db.begin().await?;
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
    .execute(&mut tx)
    .await?;
    let row = sql_built(format!("{MEDIA_COLUMNS} WHERE hash = $1")).bind(&media.hash).fetch_one(&mut tx).await?;
    let record = media_from_row(&row)?;
    commit_with(tx, &audit.about(record.id.0)).await?;
    Ok(record)
}

pub(super) async fn media_by_id(db: &Db, id: MediaId) -> StoreResult<Option<MediaRecord>> {
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

/// Stores the description, and with `remake_variants` clears the variants so the worker makes them
/// again (after the focal point moved), with `audit`, in one transaction.
pub(super) async fn update_media_meta(
    db: &Db,
    id: MediaId,
    meta: &MediaMeta,
    remake_variants: bool,
    audit: &NewAuditEntry,
) -> StoreResult<()> {
    let mut tx = db.begin().await?;
    let done = sql("UPDATE media SET alt = $1, caption = $2, credit = $3, focal_x = $4, focal_y = $5 WHERE id = $6")
        .bind(&meta.alt)
        .bind(&meta.caption)
        .bind(&meta.credit)
        .bind(meta.focal.x)
        .bind(meta.focal.y)
        .bind(id)
        .execute(&mut tx)
        .await?;
    touched(done, || format!("media {id}"))?;
    if remake_variants {
        sql("UPDATE media SET variants = NULL, variant_attempts = 0, variant_retry_at = NULL WHERE id = $1")
            .bind(id)
            .execute(&mut tx)
            .await?;
    }
    commit_with(tx, audit).await?;
    Ok(())
}

/// Stores the variants and clears any retry schedule.
pub(super) async fn set_media_variants(db: &Db, id: MediaId, variants: &[Variant]) -> StoreResult<()> {
    let json = variants_json(variants)?;
    let done = sql("UPDATE media SET variants = $1, variant_attempts = 0, variant_retry_at = NULL WHERE id = $2")
        .bind(json)
        .bind(id)
        .execute(db)
        .await?;
    touched(done, || format!("media {id}"))
}

pub(super) async fn defer_media_variants(db: &Db, id: MediaId, retry_at: DateTime<Utc>) -> StoreResult<()> {
    sql("UPDATE media SET variant_attempts = variant_attempts + 1, variant_retry_at = $1 \
         WHERE id = $2 AND variants IS NULL")
    .bind(to_unix(retry_at))
    .bind(id)
    .execute(db)
    .await?;
    Ok(())
}

#[async_trait]
pub trait MediaRepo: Send + Sync {
    // Media.
    /// Inserts, or returns the existing record when the same content was uploaded before; records
    /// `audit` (about the record's id) in the same transaction.
    async fn insert_media(&self, media: NewMedia, audit: &NewAuditEntry) -> StoreResult<MediaRecord>;

    async fn media_by_id(&self, id: MediaId) -> StoreResult<Option<MediaRecord>>;

    /// Newest first.
    async fn media_list(&self, limit: i64, offset: i64) -> StoreResult<Vec<MediaRecord>>;

    /// Stores the description; with `remake_variants` (the focal point moved) also clears the
    /// variants so the worker makes them again; records `audit`; all in one transaction.
    async fn update_media_meta(
        &self,
        id: MediaId,
        meta: &MediaMeta,
        remake_variants: bool,
        audit: &NewAuditEntry,
    ) -> StoreResult<()>;

    /// Uploads still without variants whose retry time (if any) is not after `now`, oldest first.
    async fn media_without_variants(&self, limit: i64, now: DateTime<Utc>) -> StoreResult<Vec<MediaRecord>>;

    /// Stores the variants; clears any retry schedule.
    async fn set_media_variants(&self, id: MediaId, variants: &[Variant]) -> StoreResult<()>;

    /// Leaves the variants pending, counts a failed attempt, and keeps the worker away until
    /// `retry_at`. Does nothing if the variants were made meanwhile (by another node).
    async fn defer_media_variants(&self, id: MediaId, retry_at: DateTime<Utc>) -> StoreResult<()>;
}

#[async_trait]
impl MediaRepo for SqlStore {
    async fn insert_media(&self, media: NewMedia, audit: &NewAuditEntry) -> StoreResult<MediaRecord> {
        insert_media(&self.db, media, audit).await
    }

    async fn media_by_id(&self, id: MediaId) -> StoreResult<Option<MediaRecord>> {
        media_by_id(&self.db, id).await
    }

    async fn media_list(&self, limit: i64, offset: i64) -> StoreResult<Vec<MediaRecord>> {
        media_list(&self.db, limit, offset).await
    }

    async fn update_media_meta(
        &self,
        id: MediaId,
        meta: &MediaMeta,
        remake_variants: bool,
        audit: &NewAuditEntry,
    ) -> StoreResult<()> {
        update_media_meta(&self.db, id, meta, remake_variants, audit).await
    }

    async fn media_without_variants(&self, limit: i64, now: DateTime<Utc>) -> StoreResult<Vec<MediaRecord>> {
        media_without_variants(&self.db, limit, now).await
    }

    async fn set_media_variants(&self, id: MediaId, variants: &[Variant]) -> StoreResult<()> {
        set_media_variants(&self.db, id, variants).await
    }

    async fn defer_media_variants(&self, id: MediaId, retry_at: DateTime<Utc>) -> StoreResult<()> {
        defer_media_variants(&self.db, id, retry_at).await
    }
}
