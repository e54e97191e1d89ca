//! Shared draft previews: `/preview/{id}/{expires}/{signature}` shows an unpublished article to
//! whoever has the link until it expires. The signature is a keyed hash of the id and expiry, so a
//! link cannot be altered to show another article or to live longer.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};

use super::AppState;
use super::error::SiteError;
use crate::domain::ArticleId;

fn signature(key: &[u8; 32], id: ArticleId, expires: i64) -> String {
    let mut hasher = blake3::Hasher::new_keyed(key);
    hasher.update(b"preview\0").update(&id.0.to_le_bytes()).update(&expires.to_le_bytes());
    hasher.finalize().to_hex()[..32].to_owned()
}

pub fn link(key: &[u8; 32], id: ArticleId, expires: i64) -> String {
    format!("/preview/{id}/{expires}/{}", signature(key, id, expires))
}

/// Whether a link is genuine and unexpired at `now` (unix seconds).
pub fn verify(key: &[u8; 32], id: ArticleId, expires: i64, given: &str, now: i64) -> bool {
    now < expires && crate::web::admin::session::same_secret(&signature(key, id, expires), given)
}

pub async fn show(
    State(state): State<AppState>,
    Path((id, expires, given)): Path<(ArticleId, i64, String)>,
) -> Result<Response, SiteError> {
    if !verify(&state.preview_key, id, expires, &given, state.clock.now().timestamp()) {
        return Err(SiteError::NotFound);
    }
    let article = state.store.article_by_id(id).await?.ok_or(SiteError::NotFound)?;
    let html = super::site::render_preview(&state, article).await?;
    let mut response = Html(html).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    headers.insert("x-robots-tag", HeaderValue::from_static("noindex, nofollow"));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_expire_and_cannot_be_altered() {
        let key = [7u8; 32];
        let path = link(&key, ArticleId(12), 2_000);
        let given = path.rsplit('/').next().expect("signature");
        assert!(verify(&key, ArticleId(12), 2_000, given, 1_000));
        assert!(!verify(&key, ArticleId(12), 2_000, given, 2_000), "expired");
        assert!(!verify(&key, ArticleId(13), 2_000, given, 1_000), "another article");
        assert!(!verify(&key, ArticleId(12), 9_000, given, 1_000), "a longer life");
        assert!(!verify(&[8u8; 32], ArticleId(12), 2_000, given, 1_000), "another key");
    }
}
