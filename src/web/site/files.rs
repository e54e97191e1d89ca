//! Static assets under hashed names, and media files from the data directory.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::web::AppState;
use crate::web::error::SiteError;
use crate::web::respond::{RequestHeaders, encoded};

pub async fn asset(
    State(state): State<AppState>,
    Path(file): Path<String>,
    RequestHeaders(headers): RequestHeaders,
) -> Result<Response, SiteError> {
    let asset = state.assets.get(&file).ok_or(SiteError::NotFound)?;
    let (content_type, forever) =
        (HeaderValue::from_static(asset.content_type), HeaderValue::from_static("public, max-age=31536000, immutable"));
    Ok(encoded(&headers, StatusCode::OK, content_type, forever, &asset.etag, asset))
}

fn content_type(path: &str) -> Option<&'static str> {
    let ext = path.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match ext.as_str() {
        "svg" => "image/svg+xml",
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "webp" => "image/webp",
        "gif" => "image/gif",
        "avif" => "image/avif",
        _ => return None,
    })
}

pub async fn media(State(state): State<AppState>, Path(path): Path<String>) -> Result<Response, SiteError> {
    let safe = !path.is_empty()
        && path.split('/').all(|part| {
            !part.is_empty()
                && part != "."
                && part != ".."
                && part.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        });
    let content_type = content_type(&path).filter(|_| safe).ok_or(SiteError::NotFound)?;
    let full = state.settings.media_dir().join(&path);
    let bytes = match tokio::fs::read(&full).await {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(SiteError::NotFound),
        Err(e) => {
            tracing::error!(error = %e, path = %full.display(), "cannot read media file");
            return Err(SiteError::NotFound);
        }
    };
    let mut response = (StatusCode::OK, Body::from(bytes)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=86400"));
    // An SVG opened on its own must not be able to run anything.
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; sandbox"),
    );
    Ok(response)
}
