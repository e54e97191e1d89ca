//! The view beacon: a tiny request the page sends after it loads (or an image in `<noscript>`), so
//! views are counted even when the page itself came from a cache or CDN.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::domain::ArticleId;
use crate::views::ViewOutcome;
use crate::web::AppState;
use crate::web::client::Client;
use crate::web::error::SiteError;

/// The signature that makes a beacon URL valid for one article.
pub fn signature(key: &[u8; 32], id: ArticleId) -> String {
    blake3::keyed_hash(key, &id.to_le_bytes()).to_hex()[..16].to_owned()
}

pub fn beacon_path(key: &[u8; 32], id: ArticleId) -> String {
    format!("/views/{id}/{}", signature(key, id))
}

#[derive(Serialize)]
struct Counted {
    counted: bool,
    /// The article's current total when known, so the page can show a live count.
    views: Option<i64>,
}

fn count(state: &AppState, id: ArticleId, signature_given: &str, client: &Client) -> Result<Counted, SiteError> {
    if signature(&state.beacon_key, id) != signature_given {
        return Err(SiteError::NotFound);
    }
    let outcome = state.views.record(id, client.ip, &client.user_agent, chrono::Utc::now());
    Ok(Counted { counted: outcome == ViewOutcome::Counted, views: state.views.live_total(id) })
}

fn no_store(mut response: Response) -> Response {
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

pub async fn record(
    State(state): State<AppState>,
    Path((id, signature)): Path<(ArticleId, String)>,
    client: Client,
) -> Result<Response, SiteError> {
    let counted = count(&state, id, &signature, &client)?;
    Ok(no_store(Json(counted).into_response()))
}

/// A transparent 1×1 GIF.
const PIXEL: &[u8] = &[
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff,
    0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02,
    0x02, 0x44, 0x01, 0x00, 0x3b,
];

pub async fn pixel(
    State(state): State<AppState>,
    Path((id, signature)): Path<(ArticleId, String)>,
    client: Client,
) -> Result<Response, SiteError> {
    count(&state, id, &signature, &client)?;
    Ok(no_store(([(header::CONTENT_TYPE, "image/gif")], PIXEL).into_response()))
}
