//! The media library's use cases: taking in an upload (checked by decoding within the shared
//! decode budget, cleaned, stored durably under its content hash, recorded), and describing an
//! image (alt text, caption, credit and the focal point that crops are centred on).

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::articles::{Actor, Newsroom, ServiceError, ValidationErrors, audit_line};
use super::profile::shows_as_typed;
use crate::domain::{Action, MediaId, Ownership, permits};
use crate::media::{self, CancelOnDrop, DecodeBudget, Ingested, Limits, MediaError};
use crate::store::StoreError;
use crate::store::newsroom::{MediaMeta, MediaRecord, NewMedia};

/// What taking in an upload needs besides the newsroom: where originals are kept and the limits
/// and shared decode budget every picture is checked within.
pub struct Intake<'a> {
    pub media_dir: PathBuf,
    pub limits: Limits,
    pub budget: &'a DecodeBudget,
    /// How long an upload may wait for its share of the decode budget before it is told the
    /// server is busy (half the request's time, so the member hears "busy", not a bare timeout).
    pub wait: Duration,
}

/// A file a member sent: the name it had on their computer and its bytes.
pub struct Upload {
    pub file_name: String,
    pub bytes: bytes::Bytes,
}

/// Why an upload was not taken in. Nothing was recorded in any of these cases.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("not allowed")]
    Forbidden,
    /// The file itself was refused (not an image we take, too large, too many pixels, damaged), or
    /// the decode budget stayed full: the message is for the member.
    #[error("{0}")]
    Rejected(#[from] MediaError),
    /// The disk holding the media folder is full: nothing was stored.
    #[error("the media folder's disk is full: {0}")]
    StorageFull(std::io::Error),
    #[error("cannot store the upload: {0}")]
    Io(std::io::Error),
    #[error("storage failed: {0}")]
    Store(#[from] StoreError),
}

/// Takes in an image: anyone with the right to upload may, and the picture is checked, decoded
/// and re-encoded without its metadata off the async threads, within the decode budget. The
/// original is on disk (written aside, synced, renamed) before it is recorded, so a recorded
/// image always has its file; a crash in between leaves only an unrecorded file under its
/// content hash, which the same upload later reuses. The same picture uploaded twice is one
/// record. Its resized variants are made afterwards by the media worker (`media_added`).
pub async fn upload(
    newsroom: Newsroom<'_>,
    actor: &Actor,
    intake: &Intake<'_>,
    upload: Upload,
    now: DateTime<Utc>,
) -> Result<MediaRecord, UploadError> {
    if !permits(actor.role, Action::UploadMedia, Ownership::Newsroom, None) {
        return Err(UploadError::Forbidden);
    }
    // Refused before any decoding while free space is below the watermark (the web layer refuses
    // such writes too; this holds for every caller).
    newsroom.disk.ensure_room()?;
    let Upload { file_name, bytes } = upload;
    let ingested = ingest(intake, bytes).await?;
    let record = NewMedia {
        hash: ingested.hash.clone(),
        format: ingested.format,
        width: ingested.width,
        height: ingested.height,
        bytes: ingested.bytes.len() as u64,
        original_name: file_name.clone(),
        uploaded_by: Some(actor.user_id),
        created_at: now,
    };
    let dir = intake.media_dir.clone();
    let name = media::original_file_name(&ingested.hash, ingested.format);
    tokio::task::spawn_blocking(move || write_durably(&dir, &name, &ingested.bytes))
        .await
        .map_err(|e| UploadError::Io(std::io::Error::other(e.to_string())))?
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded => UploadError::StorageFull(e),
            _ => UploadError::Io(e),
        })?;
    let line = audit_line(actor, "media_uploaded", "media", None, file_name, now);
    let stored = newsroom.store.insert_media(record, &line).await?;
    newsroom.changes.media_added(stored.id);
    Ok(stored)
}

/// Checks, decodes and cleans an upload off the async threads, within the decode budget. Nothing is
/// decoded until the picture's share of the budget is free; a caller that gives up meanwhile
/// (dropping this future, as a request that times out does) cancels the work, which stops at its
/// next stage and frees its share.
async fn ingest(intake: &Intake<'_>, bytes: bytes::Bytes) -> Result<Ingested, MediaError> {
    let limits = intake.limits;
    let header = bytes.clone();
    let probe =
        tokio::task::spawn_blocking(move || media::probe(&header, &limits)).await.map_err(MediaError::panicked)??;
    let permit =
        tokio::time::timeout(intake.wait, intake.budget.acquire(probe.working_bytes(), probe.width, probe.height))
            .await
            .map_err(|_| MediaError::Busy)??;
    let guard = CancelOnDrop::default();
    let cancel = guard.token();
    let limits = intake.limits;
    let result = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        media::ingest_cancellable(&bytes, &limits, &cancel)
    })
    .await
    .map_err(MediaError::panicked)?;
    drop(guard);
    result
}

/// Writes a file so that it is either wholly there or not at all, and on disk before we answer.
/// A file already there under the same content hash is the same picture and is kept.
fn write_durably(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    if dir.join(name).exists() {
        return Ok(());
    }
    media::write_atomic(dir, name, bytes)?;
    media::sync_dir(dir)
}

/// Longest alt text, caption and credit, in characters (the form says the same).
pub const MAX_ALT_CHARS: usize = 500;
pub const MAX_CAPTION_CHARS: usize = 1000;
pub const MAX_CREDIT_CHARS: usize = 200;

/// Saves an image's description. Whoever uploaded it may describe it, and editors any image. A
/// moved focal point also queues the image's crops to be made again. Texts are trimmed and
/// otherwise stored as typed, or refused with the reason beside their field.
pub async fn describe(
    newsroom: Newsroom<'_>,
    actor: &Actor,
    id: MediaId,
    meta: &MediaMeta,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let store = newsroom.store;
    let item = store.media_by_id(id).await?.ok_or(ServiceError::NotFound)?;
    let own = if item.uploaded_by == Some(actor.user_id) { Ownership::Own } else { Ownership::Others };
    if !permits(actor.role, Action::EditMedia, own, None) {
        return Err(ServiceError::Forbidden);
    }
    let mut errors = ValidationErrors::default();
    let meta = MediaMeta {
        alt: checked(&mut errors, "alt", "The alt text", &meta.alt, MAX_ALT_CHARS),
        caption: checked(&mut errors, "caption", "The caption", &meta.caption, MAX_CAPTION_CHARS),
        credit: checked(&mut errors, "credit", "The credit", &meta.credit, MAX_CREDIT_CHARS),
        focal: meta.focal,
    };
    for (field, value) in [("focal_x", meta.focal.x), ("focal_y", meta.focal.y)] {
        if !(0.0..=1.0).contains(&value) {
            errors.add(field, "The focal point must lie within the image (0 to 100%).");
        }
    }
    if !errors.is_empty() {
        return Err(ServiceError::Invalid(errors));
    }
    let focal_moved =
        (meta.focal.x - item.focal.x).abs() > f32::EPSILON || (meta.focal.y - item.focal.y).abs() > f32::EPSILON;
    let line = audit_line(actor, "media_updated", "media", Some(id.0), meta.alt.clone(), now);
    // The social card is cropped around the focal point: when it moved, the variants are made again.
    store.update_media_meta(id, &meta, focal_moved, &line).await?;
    newsroom.changes.media_changed(id, focal_moved);
    Ok(())
}

/// `text` trimmed, with a message under `field` when it is too long or would not show as typed.
fn checked(errors: &mut ValidationErrors, field: &'static str, label: &str, text: &str, max: usize) -> String {
    let text = text.trim();
    let length = text.chars().count();
    if length > max {
        errors.add(field, format!("{label} is {length} characters; it can be at most {max}."));
    }
    if !shows_as_typed(text, false) {
        errors.add(field, format!("{label} is one line, without control characters or hidden direction marks."));
    }
    text.to_owned()
}
