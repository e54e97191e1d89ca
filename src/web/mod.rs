//! HTTP: the shared state, the router and the layers every response passes through. Nothing here
//! runs in the background: the loops beside the listeners are in [`crate::jobs`].

pub mod admin;
pub mod around;
pub mod assets;
pub mod changes;
pub mod client;
pub mod door;
pub mod error;
pub mod metrics;
pub mod ops;
pub mod preview;
pub mod render;
pub mod respond;
pub mod site;
pub mod storage;
pub mod trace;

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tower::ServiceBuilder;
use tower::util::MapResponseLayer;
use tower_http::compression::CompressionLayer;
use tower_http::timeout::TimeoutLayer;

use crate::cache::PageCache;
use crate::config::Settings;
use crate::disk::DiskGuard;
use crate::group_commit::CommentWriter;
use crate::moderation::CommentPolicy;
use crate::newsroom::profile::{BREAKING_KEY, Breaking, PROFILE_KEY, SiteProfile};
use crate::store::{Store, StoreResult};
use crate::views::ViewCounter;
use crate::views::popular::PopularNow;
use assets::Assets;
use render::Templates;

/// Everything a handler may need. Cloning it (axum does, for every request and every middleware
/// that takes state) costs one reference-count increment, whatever it holds.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What [`AppState`] shares.
pub struct Shared {
    pub settings: Arc<Settings>,
    /// Where requests and jobs read the time; tests move it.
    pub clock: crate::clock::Clock,
    pub store: Arc<dyn Store>,
    pub views: Arc<ViewCounter>,
    pub popular: Arc<PopularNow>,
    pub cache: Arc<PageCache>,
    pub templates: Arc<Templates>,
    pub assets: Arc<Assets>,
    pub comment_policy: Arc<RwLock<CommentPolicy>>,
    pub comment_limiter: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    /// Writes comments in group commits.
    pub comment_writer: CommentWriter,
    /// Signs view-beacon URLs so counts can only be sent for articles we rendered.
    pub beacon_key: [u8; 32],
    /// Keys the commenter fingerprint (a hash of address and browser) used for moderation.
    pub fingerprint_key: [u8; 32],
    /// Signs shared draft-preview links.
    pub preview_key: [u8; 32],
    /// Where password checks run, a few at a time.
    pub passwords: Arc<crate::auth::PasswordHashing>,
    /// Site settings and the breaking banner as last saved in the store.
    newsroom_profile: Arc<RwLock<Arc<SiteProfile>>>,
    breaking_banner: Arc<RwLock<Option<Breaking>>>,
    /// Wakes the media worker when an upload arrives.
    pub media_work: Arc<tokio::sync::Notify>,
    /// Bounds the memory and cores that decoding images takes, uploads and the worker together.
    pub decode_budget: crate::media::DecodeBudget,
    /// Sends CDN purges, when a purge URL is configured.
    pub purger: Option<changes::Purger>,
    /// `Cache-Control` of public pages, from the CDN settings.
    pub public_cache_control: HeaderValue,
    pub metrics: Arc<metrics::Metrics>,
    /// The response header that lists a page's surrogate keys, from the CDN settings.
    pub surrogate_key_header: HeaderName,
    /// Free space where the site writes; below the watermark, writes are refused.
    pub disk: Arc<DiskGuard>,
}

fn public_cache_control(cdn: &crate::config::CdnSettings) -> HeaderValue {
    let value = format!(
        "public, max-age=0, s-maxage={}, stale-while-revalidate={}, stale-if-error={}",
        cdn.s_maxage_secs, cdn.stale_while_revalidate_secs, cdn.stale_if_error_secs
    );
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("public, max-age=0"))
}

fn key_from(bytes: Vec<u8>) -> [u8; 32] {
    let mut key = [0u8; 32];
    key.copy_from_slice(blake3::hash(&bytes).as_bytes());
    key
}

impl AppState {
    pub async fn new(settings: Settings, store: Arc<dyn Store>) -> StoreResult<Self> {
        let per_minute = NonZeroU32::new(settings.comments.per_ip_per_minute).unwrap_or(NonZeroU32::MIN);
        let clock = crate::clock::Clock::system();
        Self(Arc::new(Shared {
            clock: clock.clone(),
            views: Arc::new(ViewCounter::new(&settings.views)),
            popular: Arc::new(PopularNow::new(Duration::from_secs(settings.cache.max_age_secs), clock)),
            cache: Arc::new(PageCache::new(
                Duration::from_secs(settings.cache.max_age_secs),
                settings.cache.max_mib.saturating_mul(1 << 20),
            )),
            templates: Arc::new(Templates::new(settings.theme_dir.clone())),
            assets: Arc::new(Assets::load()),
            comment_policy: Arc::new(RwLock::new(CommentPolicy {
                hold_all: settings.comments.hold_all,
                blocked_words: settings.comments.blocked_words.clone(),
            })),
            comment_limiter: Arc::new(RateLimiter::keyed(Quota::per_minute(per_minute))),
            comment_writer: CommentWriter::spawn(Arc::clone(&store), 256),
            beacon_key: key_from(store.secret("view-beacon").await?),
            fingerprint_key: key_from(store.secret("commenter-fingerprint").await?),
            preview_key: key_from(store.secret("preview-links").await?),
            passwords: Arc::new(crate::auth::PasswordHashing::new(
                settings.newsroom.password_hashing_memory_mib,
                Duration::from_millis(settings.newsroom.password_hashing_wait_ms),
            )),
            newsroom_profile: Arc::new(RwLock::new(Arc::new(SiteProfile::from_settings(&settings)))),
            breaking_banner: Arc::new(RwLock::new(None)),
            media_work: Arc::new(tokio::sync::Notify::new()),
            decode_budget: settings.newsroom.decode_budget(),
            purger: changes::Purger::spawn(settings.cdn.clone()),
            public_cache_control: public_cache_control(&settings.cdn),
            metrics: Arc::new(metrics::Metrics::default()),
            surrogate_key_header: HeaderName::from_bytes(settings.cdn.surrogate_key_header.as_bytes())
                .unwrap_or_else(|_| HeaderName::from_static("surrogate-key")),
            disk: Arc::new(DiskGuard::new(
                vec![settings.server.data_dir.clone(), settings.media_dir()],
                settings.storage.min_free_mib.saturating_mul(1 << 20),
            )),
            settings: Arc::new(settings),
            store,
        }))
        .with_loaded_profile()
        .await
    }

    async fn with_loaded_profile(self) -> StoreResult<Self> {
        self.reload_profile().await?;
        Ok(self)
    }

    /// The site settings the newsroom saved (or the config file's, until it saves any).
    pub fn profile(&self) -> Arc<SiteProfile> {
        match self.newsroom_profile.read() {
            Ok(profile) => Arc::clone(&profile),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// The breaking-news banner, if one is set and has not expired.
    pub fn breaking(&self) -> Option<Breaking> {
        let banner = match self.breaking_banner.read() {
            Ok(banner) => banner.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        banner.filter(|b| b.is_live(self.clock.now()))
    }

    /// Uses `profile` (and its comment policy) from now on (a save on this node; other nodes read
    /// it from the store).
    pub fn set_profile(&self, profile: SiteProfile) {
        let policy =
            CommentPolicy { hold_all: profile.hold_all_comments, blocked_words: profile.blocked_words.clone() };
        match self.comment_policy.write() {
            Ok(mut current) => *current = policy,
            Err(poisoned) => *poisoned.into_inner() = policy,
        }
        match self.newsroom_profile.write() {
            Ok(mut current) => *current = Arc::new(profile),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(profile),
        }
    }

    /// Shows `banner` from now on (a save on this node; other nodes read it from the store).
    pub fn set_breaking(&self, banner: Option<Breaking>) {
        match self.breaking_banner.write() {
            Ok(mut current) => *current = banner,
            Err(poisoned) => *poisoned.into_inner() = banner,
        }
    }

    /// Reads the site settings and banner from the store again, after a change.
    pub async fn reload_profile(&self) -> StoreResult<()> {
        let mut profile = SiteProfile::from_settings(&self.settings);
        if let Some(json) = self.store.setting(PROFILE_KEY).await? {
            match serde_json::from_str::<SiteProfile>(&json) {
                Ok(saved) => profile = saved,
                Err(e) => tracing::error!(error = %e, "stored site settings are unreadable; using the config file's"),
            }
        }
        let breaking = match self.store.setting(BREAKING_KEY).await? {
            Some(json) => serde_json::from_str::<Option<Breaking>>(&json).unwrap_or_else(|e| {
                tracing::error!(error = %e, "stored breaking banner is unreadable; showing none");
                None
            }),
            None => None,
        };
        self.set_profile(profile);
        self.set_breaking(breaking);
        Ok(())
    }
}

impl AppState {
    /// Called after a write that changes what lists show (publishing, unpublishing, editing,
    /// curation): drops every cached page and list that may show the old state, here, on the other
    /// nodes and at the CDN.
    pub fn lists_changed(&self) {
        self.changed(changes::Change::Lists);
    }
}

/// Percent-encodes everything but unreserved characters (RFC 3986), for links and form bodies.
pub fn percent_encode(text: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0xF)]));
        }
    }
    out
}

/// Largest CMS form (an article with a long body), in bytes. Uploads have their own limit.
const ADMIN_MAX_BODY: usize = 2 * 1024 * 1024;

const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
     connect-src 'self'; form-action 'self'; base-uri 'self'; object-src 'none'; frame-ancestors 'none'";

/// The whole site, as served on the public port (the operations listener is [`ops::router`]).
///
/// Layers that every request passes are put around the finished router, once, rather than with
/// `Router::layer`: that wraps each route in a boxed service of its own which is cloned, layer by
/// layer, on every request (one allocation and one boxed future per layer, about a third of the
/// CPU of a cached page in a profile of the warm article page). Only what depends on the route
/// stays inside the router: the body limits and the metrics' route layer. Cached pages the router
/// has answered before are answered by the door (`door`), in front of all of it.
pub fn router(state: AppState) -> Router {
    let timeout = Duration::from_secs(state.settings.server.request_timeout_secs.max(1));
    let max_body = state.settings.server.max_body_bytes;
    // Reader forms are tiny and get the small limit; the CMS sets its own (articles, uploads).
    let reader = site::router(max_body);
    let pages = admin::router(&state)
        .layer(DefaultBodyLimit::max(ADMIN_MAX_BODY))
        .merge(reader)
        .route("/preview/{id}/{expires}/{signature}", axum::routing::get(preview::show))
        .route("/corrections", axum::routing::get(site::corrections))
        .route_layer(ops::tracking(&state))
        .fallback(error::not_found)
        .with_state(state.clone());
    let pages = error::with_error_pages(state.clone(), pages);
    // The probes answer outside the reader's error pages, so a failing `/readyz` stays JSON.
    let site = ops::public_router(&state).with_state(state.clone()).fallback_service(pages);
    // Outermost but for the trace (and the door, which adds them itself), so every answer carries
    // them, the timeout's 408 included. One layer for all of them: it runs on every answer, so it
    // should cost one pass.
    let site_headers = SiteHeaders::new(&state.settings);
    let door = door::Door::new(state.clone(), site_headers.clone());
    let edge = ServiceBuilder::new()
        .layer(around::AroundLayer::new(HeadAsGet))
        .layer(MapResponseLayer::new(move |response: axum::response::Response| site_headers.apply(response)))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, timeout))
        .map_response(|response: axum::http::Response<_>| response.map(axum::body::Body::new))
        .layer(CompressionLayer::new())
        .service(site);
    Router::new().fallback_service(around::Around::new(door, trace::tracing(edge)))
}

/// HEAD is answered as GET without the body, here at the edge, so that the layers inside
/// (compression, the error pages) give it exactly GET's headers. Left to axum, a HEAD answer loses
/// its body where the handler's route ends, inside those layers: compression then sees an empty
/// body and a HEAD would say neither `Content-Encoding` nor `Vary` where the GET does.
#[derive(Clone)]
struct HeadAsGet;

/// Marks a request that came as HEAD and reaches the handlers as GET ([`HeadAsGet`]), for a
/// handler whose GET does something a HEAD must not (the view pixel counts a view).
#[derive(Clone, Copy, Debug)]
pub struct AskedWithHead;

impl around::Wrap for HeadAsGet {
    type Carried = bool;

    fn before(&self, mut request: axum::extract::Request) -> around::Before<bool> {
        let head = request.method() == axum::http::Method::HEAD;
        if head {
            *request.method_mut() = axum::http::Method::GET;
            request.extensions_mut().insert(AskedWithHead);
        }
        around::Before::Pass(request, head)
    }

    async fn after(
        self,
        head: bool,
        answer: impl std::future::Future<Output = axum::response::Response> + Send + 'static,
    ) -> axum::response::Response {
        let response = answer.await;
        if !head {
            return response;
        }
        use axum::body::HttpBody as _;
        let (mut parts, body) = response.into_parts();
        if let (false, Some(length)) = (parts.headers.contains_key(header::CONTENT_LENGTH), body.size_hint().exact()) {
            parts.headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
        }
        axum::response::Response::from_parts(parts, axum::body::Body::empty())
    }
}

/// The headers every answer carries: the security policy (a page may set a stricter one of its
/// own), and HSTS when the site is served over https.
#[derive(Clone)]
struct SiteHeaders(Arc<Vec<(HeaderName, HeaderValue, Overriding)>>);

#[derive(Clone, Copy, PartialEq, Eq)]
enum Overriding {
    Always,
    IfAbsent,
}

impl SiteHeaders {
    fn new(settings: &Settings) -> Self {
        let mut fixed = vec![
            (header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY), Overriding::IfAbsent),
            (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"), Overriding::Always),
            (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"), Overriding::Always),
            (header::REFERRER_POLICY, HeaderValue::from_static("strict-origin-when-cross-origin"), Overriding::Always),
            (
                HeaderName::from_static("permissions-policy"),
                HeaderValue::from_static("camera=(), microphone=(), geolocation=(), interest-cohort=()"),
                Overriding::Always,
            ),
        ];
        // Built from a number and a fixed word, so always a valid header value.
        if let Some(hsts) = settings.strict_transport_security().and_then(|v| HeaderValue::from_str(&v).ok()) {
            fixed.push((header::STRICT_TRANSPORT_SECURITY, hsts, Overriding::Always));
        }
        Self(Arc::new(fixed))
    }

    fn apply<B>(&self, mut response: axum::http::Response<B>) -> axum::http::Response<B> {
        let headers = response.headers_mut();
        for (name, value, overriding) in self.0.iter() {
            if *overriding == Overriding::Always || !headers.contains_key(name) {
                headers.insert(name.clone(), value.clone());
            }
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::percent_encode;

    #[test]
    fn percent_encoding_keeps_only_unreserved_characters() {
        assert_eq!(percent_encode("Az09-._~"), "Az09-._~");
        assert_eq!(percent_encode("a b&c=d/e?f#g"), "a%20b%26c%3Dd%2Fe%3Ff%23g");
        assert_eq!(percent_encode("서울’s\n%"), "%EC%84%9C%EC%9A%B8%E2%80%99s%0A%25");
        assert_eq!(percent_encode(""), "");
    }
}
