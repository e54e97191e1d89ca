//! The media library: upload (checked by decoding, metadata stripped, stored under a content hash),
//! alt text, caption, credit and focal point. Resized variants are made by a background worker so
//! an upload answers as soon as the original is safely on disk.

use std::path::{Path as FsPath, PathBuf};
use std::time::Duration;

use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use serde::{Deserialize, Serialize};

use super::session::{Member, Submitted, check_origin, same_secret};
use super::{AdminChrome, AdminError, audit, notice_text, page, page_with_status, see_other};
use crate::domain::{Action, Ownership, permits};
use crate::media::{self, FocalPoint, Ingested, Limits};
use crate::store::newsroom::{MediaMeta, MediaRecord, NewMedia};
use crate::web::AppState;

pub fn media_dir(state: &AppState) -> PathBuf {
    state.settings.media_dir()
}

#[derive(Serialize)]
struct LibraryPage {
    chrome: AdminChrome,
    media: Vec<MediaRecord>,
    message: Option<String>,
    notice: Option<&'static str>,
    max_upload_mib: usize,
}

#[derive(Deserialize)]
pub struct LibraryQuery {
    notice: Option<String>,
}

async fn library_page(
    state: &AppState,
    member: &Member,
    message: Option<String>,
    notice: Option<&'static str>,
) -> Result<LibraryPage, AdminError> {
    Ok(LibraryPage {
        chrome: AdminChrome::new(state, Some(member), "Media"),
        media: state.store.media_list(200, 0).await?,
        message,
        notice,
        max_upload_mib: state.settings.newsroom.max_upload_mib,
    })
}

pub async fn library(
    State(state): State<AppState>,
    member: Member,
    Query(query): Query<LibraryQuery>,
) -> Result<Response, AdminError> {
    let context = library_page(&state, &member, None, notice_text(query.notice.as_deref())).await?;
    page(&state, "admin/media.html", &context)
}

/// Writes a file so that it is either wholly there or not at all, and on disk before we answer.
fn write_durably(dir: &FsPath, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    std::fs::create_dir_all(dir)?;
    let target = dir.join(name);
    if target.exists() {
        return Ok(());
    }
    let temp = dir.join(format!(".{name}.part"));
    let mut file = std::fs::File::create(&temp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&temp, &target)?;
    std::fs::File::open(dir)?.sync_all()
}

pub async fn upload(
    State(state): State<AppState>,
    member: Member,
    headers: axum::http::HeaderMap,
    mut multipart: Multipart,
) -> Result<Response, AdminError> {
    check_origin(&headers)?;
    if !permits(member.user.role, Action::UploadMedia, Ownership::Newsroom, None) {
        return Err(AdminError::Forbidden);
    }
    let mut csrf = String::new();
    let mut file: Option<(String, Vec<u8>)> = None;
    let limits = Limits {
        max_bytes: state.settings.newsroom.max_upload_mib.saturating_mul(1 << 20),
        max_pixels: state.settings.newsroom.max_image_megapixels.saturating_mul(1_000_000),
        ..Limits::default()
    };
    let too_large = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AdminError::TooLarge(format!("Uploads can be at most {} MiB.", state.settings.newsroom.max_upload_mib))
        } else {
            AdminError::BadRequest("The upload could not be read; please try again.".into())
        }
    };
    while let Some(field) = multipart.next_field().await.map_err(too_large)? {
        match field.name() {
            Some("_csrf") => csrf = field.text().await.unwrap_or_default(),
            Some("file") => {
                let name = field.file_name().unwrap_or("upload").chars().take(200).collect::<String>();
                let bytes = field.bytes().await.map_err(|_| {
                    AdminError::BadRequest(format!(
                        "The file is larger than {} MiB.",
                        state.settings.newsroom.max_upload_mib
                    ))
                })?;
                file = Some((name, bytes.to_vec()));
            }
            _ => {}
        }
    }
    if !same_secret(&csrf, member.csrf()) {
        return Err(AdminError::CsrfFailed);
    }
    let Some((name, bytes)) = file.filter(|(_, b)| !b.is_empty()) else {
        let context = library_page(&state, &member, Some("Choose an image file to upload.".into()), None).await?;
        return page_with_status(&state, StatusCode::UNPROCESSABLE_ENTITY, "admin/media.html", &context);
    };
    let ingested = match tokio::task::spawn_blocking(move || media::ingest(&bytes, &limits))
        .await
        .map_err(|e| AdminError::Internal(e.to_string()))?
    {
        Ok(ingested) => ingested,
        Err(e) => {
            tracing::info!(code = e.code(), file = %name, "upload refused");
            let context = library_page(&state, &member, Some(format!("“{name}” was not uploaded: {e}")), None).await?;
            return page_with_status(&state, StatusCode::UNPROCESSABLE_ENTITY, "admin/media.html", &context);
        }
    };
    let dir = media_dir(&state);
    let file_name = media::original_file_name(&ingested.hash, ingested.format);
    let record = NewMedia {
        hash: ingested.hash.clone(),
        format: ingested.format,
        width: ingested.width,
        height: ingested.height,
        bytes: ingested.bytes.len() as u64,
        original_name: name.clone(),
        uploaded_by: Some(member.user.id),
        created_at: Utc::now(),
    };
    tokio::task::spawn_blocking(move || write_durably(&dir, &file_name, &ingested.bytes))
        .await
        .map_err(|e| AdminError::Internal(e.to_string()))?
        .map_err(|e| AdminError::Internal(format!("cannot store the upload: {e}")))?;
    let stored = state.store.insert_media(record).await?;
    audit(&state, Some(&member), "media_uploaded", "media", Some(stored.id), name).await;
    state.media_work.notify_one();
    Ok(see_other(&format!("/admin/media/{}", stored.id), "uploaded"))
}

#[derive(Serialize)]
struct EditPage {
    chrome: AdminChrome,
    item: MediaRecord,
    url: String,
    may_edit: bool,
    notice: Option<&'static str>,
}

fn ownership(member: &Member, item: &MediaRecord) -> Ownership {
    if item.uploaded_by == Some(member.user.id) { Ownership::Own } else { Ownership::Others }
}

pub async fn edit(
    State(state): State<AppState>,
    member: Member,
    Path(id): Path<i64>,
    Query(query): Query<LibraryQuery>,
) -> Result<Response, AdminError> {
    let item = state.store.media_by_id(id).await?.ok_or(AdminError::NotFound)?;
    let context = EditPage {
        chrome: AdminChrome::new(&state, Some(&member), "Image"),
        url: format!("/media/{}", media::original_file_name(&item.hash, item.format)),
        may_edit: permits(member.user.role, Action::EditMedia, ownership(&member, &item), None),
        item,
        notice: notice_text(query.notice.as_deref()),
    };
    page(&state, "admin/media_edit.html", &context)
}

fn fraction(value: &str) -> f32 {
    value.trim().parse::<f32>().ok().filter(|v| v.is_finite()).map_or(0.5, |v| (v / 100.0).clamp(0.0, 1.0))
}

pub async fn save(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Submitted { member, form }: Submitted,
) -> Result<Response, AdminError> {
    let item = state.store.media_by_id(id).await?.ok_or(AdminError::NotFound)?;
    if !permits(member.user.role, Action::EditMedia, ownership(&member, &item), None) {
        return Err(AdminError::Forbidden);
    }
    let focal = FocalPoint { x: fraction(&form.text("focal_x")), y: fraction(&form.text("focal_y")) };
    let meta = MediaMeta {
        alt: form.text("alt").trim().chars().take(500).collect(),
        caption: form.text("caption").trim().chars().take(1000).collect(),
        credit: form.text("credit").trim().chars().take(200).collect(),
        focal,
    };
    state.store.update_media_meta(id, &meta).await?;
    if (focal.x - item.focal.x).abs() > f32::EPSILON || (focal.y - item.focal.y).abs() > f32::EPSILON {
        // The social card is cropped around the focal point: make it again.
        state.store.reset_media_variants(id).await?;
        state.media_work.notify_one();
    }
    audit(&state, Some(&member), "media_updated", "media", Some(id), meta.alt.clone()).await;
    state.lists_changed();
    Ok(see_other(&format!("/admin/media/{id}"), "saved"))
}

/// Makes the resized variants of new uploads, one at a time, off the request path.
pub fn spawn_worker(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match make_pending_variants(&state).await {
                Ok(0) => {
                    let _ = tokio::time::timeout(Duration::from_secs(30), state.media_work.notified()).await;
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(error = %e, "making image variants failed; will retry");
                    tokio::time::sleep(Duration::from_secs(10)).await;
                }
            }
        }
    })
}

/// Processes a few pending uploads; returns how many it finished.
pub async fn make_pending_variants(state: &AppState) -> Result<usize, AdminError> {
    let pending = state.store.media_without_variants(4).await?;
    let dir = media_dir(state);
    let mut done = 0;
    for item in pending {
        let dir = dir.clone();
        let hash = item.hash.clone();
        let (format, width, height, focal) = (item.format, item.width, item.height, item.focal);
        let result = tokio::task::spawn_blocking(move || {
            let bytes = std::fs::read(dir.join(media::original_file_name(&hash, format)))?;
            let original = Ingested { hash, format, width, height, bytes };
            media::render_variants(&original, focal, &dir)
        })
        .await
        .map_err(|e| AdminError::Internal(e.to_string()))?;
        match result {
            Ok(variants) => {
                state.store.set_media_variants(item.id, &variants).await?;
                state.lists_changed();
                done += 1;
            }
            Err(e) => {
                // A file that cannot be processed would otherwise be retried forever.
                tracing::error!(error = %e, media = item.id, "cannot make variants; keeping the original only");
                state.store.set_media_variants(item.id, &[]).await?;
            }
        }
    }
    Ok(done)
}
