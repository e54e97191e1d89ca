//! The media library's use case for describing an image: alt text, caption, credit and the focal
//! point that crops are centred on.

use chrono::{DateTime, Utc};

use super::articles::{Actor, Newsroom, ServiceError, ValidationErrors, audit_entry};
use crate::domain::text::clean_line;
use crate::domain::{Action, Ownership, permits};
use crate::store::newsroom::MediaMeta;

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
    id: i64,
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
    store.update_media_meta(id, &meta).await?;
    let focal_moved =
        (meta.focal.x - item.focal.x).abs() > f32::EPSILON || (meta.focal.y - item.focal.y).abs() > f32::EPSILON;
    if focal_moved {
        // The social card is cropped around the focal point: make it again.
        store.reset_media_variants(id).await?;
    }
    audit_entry(store, actor, "media_updated", "media", Some(id), meta.alt.clone(), now).await;
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
    if !clean_line(text).is_ok_and(|cleaned| cleaned == text) {
        errors.add(field, format!("{label} is one line, without control characters or hidden direction marks."));
    }
    text.to_owned()
}
