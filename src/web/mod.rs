//! HTTP: the shared state, the router and the layers every response passes through.

pub mod assets;
pub mod client;
pub mod error;
pub mod render;
pub mod respond;
pub mod site;

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;

use crate::cache::PageCache;
use crate::config::Settings;
use crate::group_commit::CommentWriter;
use crate::moderation::CommentPolicy;
use crate::store::{Store, StoreResult};
use crate::views::ViewCounter;
use crate::views::popular::PopularNow;
use assets::Assets;
use render::Templates;

/// Everything a handler may need, cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub store: Arc<dyn Store>,
    pub views: Arc<ViewCounter>,
    pub popular: Arc<PopularNow>,
    pub cache: Arc<PageCache>,
    pub templates: Arc<Templates>,
    pub assets: Arc<Assets>,
    pub comment_policy: Arc<CommentPolicy>,
    pub comment_limiter: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    /// Writes comments in group commits.
    pub comment_writer: CommentWriter,
    /// Signs view-beacon URLs so counts can only be sent for articles we rendered.
    pub beacon_key: [u8; 32],
    /// Keys the commenter fingerprint (a hash of address and browser) used for moderation.
    pub fingerprint_key: [u8; 32],
}

fn key_from(bytes: Vec<u8>) -> [u8; 32] {
    let mut key = [0u8; 32];
    key.copy_from_slice(blake3::hash(&bytes).as_bytes());
    key
}

impl AppState {
    pub async fn new(settings: Settings, store: Arc<dyn Store>) -> StoreResult<Self> {
        let per_minute = NonZeroU32::new(settings.comments.per_ip_per_minute).unwrap_or(NonZeroU32::MIN);
        Ok(Self {
            views: Arc::new(ViewCounter::new(settings.views.dedupe_window_secs)),
            popular: Arc::new(PopularNow::new(Duration::from_secs(settings.cache.max_age_secs))),
            cache: Arc::new(PageCache::new(
                Duration::from_secs(settings.cache.max_age_secs),
                settings.cache.max_mib.saturating_mul(1 << 20),
            )),
            templates: Arc::new(Templates::new(settings.theme_dir.clone())),
            assets: Arc::new(Assets::load()),
            comment_policy: Arc::new(CommentPolicy {
                hold_all: settings.comments.hold_all,
                blocked_words: settings.comments.blocked_words.clone(),
            }),
            comment_limiter: Arc::new(RateLimiter::keyed(Quota::per_minute(per_minute))),
            comment_writer: CommentWriter::spawn(Arc::clone(&store), 256),
            beacon_key: key_from(store.secret("view-beacon").await?),
            fingerprint_key: key_from(store.secret("commenter-fingerprint").await?),
            settings: Arc::new(settings),
            store,
        })
    }
}

impl AppState {
    /// Called after a write that changes what lists show (publishing, unpublishing, editing,
    /// curation): drops every cached page and list that may show the old state.
    pub fn lists_changed(&self) {
        self.cache.invalidate(&crate::cache::Dependency::Lists);
        self.popular.forget();
    }
}

/// Writes buffered views every `flush_interval_secs`, and forgets idle rate-limit entries.
pub fn spawn_view_flusher(state: AppState) -> tokio::task::JoinHandle<()> {
    let every = Duration::from_secs(state.settings.views.flush_interval_secs.max(1));
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            if let Err(e) = state.views.flush(state.store.as_ref(), chrono::Utc::now()).await {
                tracing::error!(error = %e, pending = state.views.pending_total(), "view flush failed; will retry");
            }
            state.comment_limiter.retain_recent();
        }
    })
}

/// Percent-encodes everything but unreserved characters (RFC 3986), for links and form bodies.
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
     connect-src 'self'; form-action 'self'; base-uri 'self'; object-src 'none'; frame-ancestors 'none'";

/// The whole site.
pub fn router(state: AppState) -> Router {
    let timeout = Duration::from_secs(state.settings.server.request_timeout_secs.max(1));
    let max_body = state.settings.server.max_body_bytes;
    site::router()
        .fallback(error::not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), error::render_error_pages))
        .layer(CompressionLayer::new())
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::overriding(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("strict-origin-when-cross-origin"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("permissions-policy"),
            HeaderValue::from_static("camera=(), microphone=(), geolocation=(), interest-cohort=()"),
        ))
        .layer(DefaultBodyLimit::max(max_body))
        .layer(RequestBodyLimitLayer::new(max_body))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, timeout))
        .with_state(state)
}
