//! The media library: upload (checked by decoding, metadata stripped, stored under a content hash),
//! alt text, caption, credit and focal point. Resized variants are made by a background job
//! ([`crate::jobs::media_variants`]) so an upload answers as soon as the original is safely on disk.

use std::path::PathBuf;
use std::time::Duration;

use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::articles::{actor, newsroom};
use super::session::{Member, Submitted, check_origin, same_secret};
use super::{AdminChrome, AdminError, notice_text, page, page_with_status, see_other};
use crate::domain::{Action, Ownership, permits};
use crate::media::{self, FocalPoint};
use crate::newsroom::media::{self as media_desk, Intake, Upload, UploadError};
use crate::store::newsroom::{MediaMeta, MediaRecord};
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

/// What the upload form sent, or why it could not be read.
struct UploadForm {
    csrf: String,
    file: Option<(String, bytes::Bytes)>,
}

enum Unreadable {
    /// Over the body limit: the file is larger than uploads may be.
    TooLarge {
        file_name: Option<String>,
    },
    Broken,
}

impl Unreadable {
    fn from(e: &axum::extract::multipart::MultipartError, file_name: Option<String>) -> Self {
        // The body limit can be hit while any part is read: in the first `next_field` when the whole
        // body arrived at once, or deep inside the file when it streams in over the network.
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE { Self::TooLarge { file_name } } else { Self::Broken }
    }
}

async fn read_upload(multipart: &mut Multipart) -> Result<UploadForm, Unreadable> {
    let mut form = UploadForm { csrf: String::new(), file: None };
    while let Some(field) = multipart.next_field().await.map_err(|e| Unreadable::from(&e, None))? {
        match field.name() {
            Some("_csrf") => form.csrf = field.text().await.map_err(|e| Unreadable::from(&e, None))?,
            Some("file") => {
                let name = field.file_name().unwrap_or("upload").chars().take(200).collect::<String>();
                let bytes = field.bytes().await.map_err(|e| Unreadable::from(&e, Some(name.clone())))?;
                form.file = Some((name, bytes));
            }
            _ => {}
        }
    }
    Ok(form)
}

/// The status an upload refused for `e` gets.
fn refusal_status(e: &media::MediaError) -> StatusCode {
    match e {
        media::MediaError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        media::MediaError::Busy => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

/// The library page again, saying why the upload was refused, so the person can pick another file.
async fn refused(
    state: &AppState,
    member: &Member,
    status: StatusCode,
    message: String,
) -> Result<Response, AdminError> {
    let context = library_page(state, member, Some(message), None).await?;
    let mut response = page_with_status(state, status, "admin/media.html", &context)?;
    if status == StatusCode::SERVICE_UNAVAILABLE {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
    }
    Ok(response)
}

pub async fn upload(
    State(state): State<AppState>,
    member: Member,
    headers: axum::http::HeaderMap,
    mut multipart: Multipart,
) -> Result<Response, AdminError> {
    check_origin(&headers)?;
    // Checked again by the use case; checked here first so that nobody without the right has
    // their upload read at all.
    if !permits(member.user.role, Action::UploadMedia, Ownership::Newsroom, None) {
        return Err(AdminError::Forbidden);
    }
    let max_mib = state.settings.newsroom.max_upload_mib;
    let form = match read_upload(&mut multipart).await {
        Ok(form) => form,
        Err(Unreadable::TooLarge { file_name }) => {
            // Nothing is changed by showing the form again, so this needs no form token: the token
            // may be in the part of the body that was never read.
            let what = file_name.map_or_else(|| "The file".to_owned(), |name| format!("“{name}”"));
            let message =
                format!("{what} was not uploaded: it is larger than {max_mib} MiB, the most an image may be.");
            return refused(&state, &member, StatusCode::PAYLOAD_TOO_LARGE, message).await;
        }
        Err(Unreadable::Broken) => {
            return Err(AdminError::BadRequest("The upload could not be read; please try again.".into()));
        }
    };
    if !same_secret(&form.csrf, member.csrf()) {
        return Err(AdminError::CsrfFailed);
    }
    let Some((name, bytes)) = form.file.filter(|(_, b)| !b.is_empty()) else {
        return refused(&state, &member, StatusCode::UNPROCESSABLE_ENTITY, "Choose an image file to upload.".into())
            .await;
    };
    let intake = Intake {
        media_dir: media_dir(&state),
        limits: state.settings.newsroom.upload_limits(),
        budget: &state.decode_budget,
        wait: Duration::from_secs((state.settings.server.request_timeout_secs / 2).clamp(1, 10)),
    };
    let upload = Upload { file_name: name.clone(), bytes };
    match media_desk::upload(newsroom(&state), &actor(&member), &intake, upload, state.clock.now()).await {
        Ok(stored) => Ok(see_other(&format!("/admin/media/{}", stored.id), "uploaded")),
        Err(UploadError::Forbidden) => Err(AdminError::Forbidden),
        Err(UploadError::Rejected(e)) => {
            tracing::info!(code = e.code(), file = %name, "upload refused");
            refused(&state, &member, refusal_status(&e), format!("“{name}” was not uploaded: {e}")).await
        }
        Err(UploadError::StorageFull(e)) => {
            tracing::warn!(error = %e, file = %name, "upload refused: the media folder is full");
            let message = format!(
                "“{name}” was not uploaded: the server’s storage is full. Nothing was stored; please try again later."
            );
            refused(&state, &member, StatusCode::SERVICE_UNAVAILABLE, message).await
        }
        Err(UploadError::Io(e)) => Err(AdminError::Internal(format!("cannot store the upload: {e}"))),
        Err(UploadError::Store(e)) => Err(AdminError::Store(e)),
    }
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
    Path(id): Path<crate::domain::MediaId>,
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
    Path(id): Path<crate::domain::MediaId>,
    Submitted { member, form }: Submitted,
) -> Result<Response, AdminError> {
    let meta = MediaMeta {
        alt: form.text("alt"),
        caption: form.text("caption"),
        credit: form.text("credit"),
        focal: FocalPoint { x: fraction(&form.text("focal_x")), y: fraction(&form.text("focal_y")) },
    };
    media_desk::describe(newsroom(&state), &actor(&member), id, &meta, state.clock.now()).await?;
    Ok(see_other(&format!("/admin/media/{id}"), "saved"))
}
