//! The view beacon: a tiny request the page sends after it loads (or an image in `<noscript>`), so
//! views are counted even when the page itself came from a cache or CDN.
//!
//! Both go through the same rules in [`crate::views`]: one reader per address, the caps, browsers
//! only. The `<noscript>` pixel exists for readers without JavaScript; it must not be a cheaper
//! way to count, so it has no rule of its own. Both also refuse what a browser marks as sent from
//! another site or typed in (`Sec-Fetch-Site`): a real beacon always comes from our own page.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Serialize;

use crate::domain::ArticleId;
use crate::views::ViewOutcome;
use crate::web::client::Client;
use crate::web::error::SiteError;
use crate::web::{AppState, AskedWithHead};

/// The signature that makes a beacon URL valid for one article.
pub fn signature(key: &[u8; 32], id: ArticleId) -> String {
    blake3::keyed_hash(key, &id.0.to_le_bytes()).to_hex()[..16].to_owned()
}

fn signature_for(state: &AppState, id: ArticleId) -> String {
    signature(&state.beacon_key, id)
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

/// Whether the browser says the request came from a page of this site. Browsers that predate
/// `Sec-Fetch-Site` do not send it; its absence is no evidence either way.
pub fn sent_by_our_page(headers: &HeaderMap) -> bool {
    match headers.get("sec-fetch-site").map(HeaderValue::as_bytes) {
        None => true,
        Some(site) => site == b"same-origin" || site == b"same-site",
    }
}

fn count(
    state: &AppState,
    id: ArticleId,
    signature_given: &str,
    client: &Client,
    headers: &HeaderMap,
) -> Result<Counted, SiteError> {
    if signature_for(state, id) != signature_given {
        return Err(SiteError::NotFound);
    }
    let counted = sent_by_our_page(headers)
        && state.views.record(id, client.ip, &client.user_agent, state.clock.now()) == ViewOutcome::Counted;
    Ok(Counted { counted, views: state.views.live_total(id) })
}

fn no_store(mut response: Response) -> Response {
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

pub async fn record(
    State(state): State<AppState>,
    Path((id, signature)): Path<(ArticleId, String)>,
    client: Client,
    headers: HeaderMap,
) -> Result<Response, SiteError> {
    let counted = count(&state, id, &signature, &client, &headers)?;
    Ok(no_store(Json(counted).into_response()))
}

/// A transparent 1×1 GIF.
const PIXEL: &[u8] = &[
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff,
    0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02,
    0x02, 0x44, 0x01, 0x00, 0x3b,
];

/// The `<noscript>` pixel. A `HEAD` (which reaches this `GET` handler, see `web::AskedWithHead`)
/// is answered alike but counts nothing: a browser showing the image sends a `GET`, and a `HEAD`
/// comes from link checkers and prefetchers asking whether the image is there.
pub async fn pixel(
    State(state): State<AppState>,
    Path((id, signature)): Path<(ArticleId, String)>,
    head: Option<Extension<AskedWithHead>>,
    client: Client,
    headers: HeaderMap,
) -> Result<Response, SiteError> {
    if head.is_some() {
        if signature_for(&state, id) != signature {
            return Err(SiteError::NotFound);
        }
    } else {
        count(&state, id, &signature, &client, &headers)?;
    }
    Ok(no_store(([(header::CONTENT_TYPE, "image/gif")], PIXEL).into_response()))
}
