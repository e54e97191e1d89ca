//! The reader's site: fronts, article pages, comments, the view beacon and static files.

mod article;
mod beacon;
mod files;
mod fronts;
mod modules;

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::{MethodRouter, get, post};
use chrono::Datelike;
use serde::Serialize;
use tower_http::limit::RequestBodyLimitLayer;
use tracing::Instrument;

use super::AppState;
use super::assets::AssetUrls;
use super::error::SiteError;
use super::respond::{RequestHeaders, encoded};
use crate::cache::{CachedPage, Dependency, Lookup};
use crate::domain::{ArticleCard, Section};
use crate::store::ListFilter;

pub use article::render_preview;

/// The reader's routes. Only the two writes (a view, a comment) take a body, so the body limits sit
/// on their methods alone and a page passes no layer for them.
pub fn router(max_body: usize) -> Router<AppState> {
    let limited = |route: MethodRouter<AppState>| -> MethodRouter<AppState> {
        route
            .layer::<_, Infallible>(DefaultBodyLimit::max(max_body))
            .layer::<_, Infallible>(RequestBodyLimitLayer::new(max_body))
    };
    Router::new()
        .route("/", get(fronts::home))
        .route("/authors/{slug}", get(fronts::author))
        .route("/tags/{slug}", get(fronts::tag))
        .route("/static/{file}", get(files::asset))
        .route("/media/{*path}", get(files::media))
        .route("/views/{id}/{signature}", limited(post(beacon::record)))
        .route("/views/{id}/{signature}/pixel.gif", get(beacon::pixel))
        .route("/{section}", get(fronts::section))
        .route("/{section}/{slug}", get(article::show))
        .route("/{section}/{slug}/comments", get(article::all_comments).merge(limited(post(article::comment))))
}

/// What every page shows around its content: masthead, navigation, footer.
#[derive(Debug, Clone, Serialize)]
pub struct Chrome {
    pub site_name: String,
    pub site_description: String,
    pub language: String,
    pub base_url: String,
    /// Shared with the fragment cache: every page shows the same navigation.
    pub sections: Arc<Vec<Section>>,
    pub assets: AssetUrls,
    pub page_title: String,
    pub meta_description: String,
    pub canonical_url: Option<String>,
    pub current_section: Option<String>,
    pub year: i32,
    pub logo_url: String,
    pub extra_links: Vec<crate::newsroom::profile::NavLink>,
    pub breaking: Option<crate::newsroom::profile::Breaking>,
}

impl Chrome {
    /// The chrome without anything from the store (navigation left out), for pages shown while
    /// the database is unreachable.
    pub fn without_store(state: &AppState, title: &str) -> Self {
        let profile = state.profile();
        Self {
            site_name: profile.name.clone(),
            site_description: profile.description.clone(),
            language: profile.language.clone(),
            logo_url: profile.logo_url.clone(),
            extra_links: profile.navigation.clone(),
            breaking: state.breaking(),
            base_url: state.settings.base_url(),
            sections: Arc::default(),
            assets: state.assets.urls.clone(),
            page_title: if title.is_empty() { profile.name.clone() } else { format!("{title} | {}", profile.name) },
            meta_description: profile.description.clone(),
            canonical_url: None,
            current_section: None,
            year: state.clock.now().year(),
        }
    }

    /// Builds the chrome for a page. Navigation that cannot be loaded is left out rather than
    /// failing the page.
    pub async fn build(state: &AppState, title: &str, canonical_path: Option<&str>) -> Self {
        let sections = match sections(state).await {
            Ok(sections) => sections,
            Err(e) => {
                tracing::error!(error = %e, "cannot load sections for navigation");
                Arc::default()
            }
        };
        Self {
            sections,
            canonical_url: canonical_path.map(|p| format!("{}{p}", state.settings.base_url())),
            ..Self::without_store(state, title)
        }
    }
}

/// Serves a page from the cache, rendering and storing it on a miss. Handlers look up nothing
/// before calling this: a hit must not touch the database.
///
/// When many readers miss the same page at once (a story breaks, or its cached copy expires), one
/// renders and the rest wait for it. A page just past its age is still sent while one background
/// task renders its replacement, so expiry never makes a reader wait.
pub async fn cached_page<F, Fut>(
    state: &AppState,
    headers: &HeaderMap,
    key: String,
    depends_on: Vec<Dependency>,
    render: F,
) -> Result<Response, SiteError>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = Result<String, SiteError>> + Send + 'static,
{
    let lookup = state.cache.lookup(&key);
    state.metrics.record_cache(match &lookup {
        Lookup::Fresh(_) => crate::web::metrics::CacheOutcome::Hit,
        Lookup::Stale(_) => crate::web::metrics::CacheOutcome::Stale,
        Lookup::Missing => crate::web::metrics::CacheOutcome::Miss,
    });
    match lookup {
        Lookup::Fresh(page) => return Ok(send_page(state, headers, &page)),
        Lookup::Stale(page) => {
            if let Ok(guard) = state.cache.gate(&key).try_lock_owned() {
                let cache = Arc::clone(&state.cache);
                tokio::spawn(
                    async move {
                        match render().await {
                            Ok(html) => {
                                let page = CachedPage::new(StatusCode::OK, html)
                                    .with_key(&key)
                                    .with_surrogate_keys(crate::web::changes::keys_for(&depends_on));
                                cache.insert(key.clone(), Arc::new(page), depends_on)
                            }
                            Err(e) => {
                                tracing::warn!(error = %e, page = %key, "background re-render failed; the old page expires")
                            }
                        }
                        drop(guard);
                        cache.release_gate(&key);
                    }
                    .in_current_span(),
                );
            }
            return Ok(send_page(state, headers, &page));
        }
        Lookup::Missing => {}
    }
    let gate = state.cache.gate(&key);
    let _turn = gate.lock().await;
    if let Lookup::Fresh(page) = state.cache.lookup(&key) {
        return Ok(send_page(state, headers, &page));
    }
    let rendered = render().await;
    let result = rendered.map(|html| {
        let keys = crate::web::changes::keys_for(&depends_on);
        let page = Arc::new(CachedPage::new(StatusCode::OK, html).with_key(&key).with_surrogate_keys(keys));
        state.cache.insert(key.clone(), Arc::clone(&page), depends_on);
        send_page(state, headers, &page)
    });
    state.cache.release_gate(&key);
    result
}

/// Sends a cached public page, and tells the door in front of the router which page answered
/// ([`super::door::Served`]), so that it can answer the same address itself next time.
pub fn send_page(state: &AppState, headers: &HeaderMap, page: &CachedPage) -> Response {
    let mut response = page_response(state, headers, page);
    if !page.key.is_empty() {
        response.extensions_mut().insert(super::door::Served(Arc::clone(&page.key)));
    }
    response
}

/// A cached public page as sent: CDN-cacheable, revalidated by browsers, with its surrogate keys.
pub fn page_response(state: &AppState, headers: &HeaderMap, page: &CachedPage) -> Response {
    let html = HeaderValue::from_static("text/html; charset=utf-8");
    let mut response = encoded(headers, page.status, html, state.public_cache_control.clone(), &page.etag, page);
    let out = response.headers_mut();
    out.insert(axum::http::header::LAST_MODIFIED, page.last_modified.clone());
    out.insert(state.surrogate_key_header.clone(), page.surrogate_keys.clone());
    response
}

/// The site's sections, in navigation order.
pub async fn sections(state: &AppState) -> Result<Arc<Vec<Section>>, SiteError> {
    state.cache.fragment("sections", async { Ok(state.store.sections().await?) }).await
}

/// The newest published articles of a list (the whole site, or a section).
pub async fn latest(state: &AppState, filter: ListFilter, want: usize) -> Result<Arc<Vec<ArticleCard>>, SiteError> {
    let key = format!("latest:{filter:?}:{want}");
    state.cache.fragment(&key, async { Ok(state.store.list_articles(filter, want as i64, 0).await?) }).await
}

/// The editors' picks, in their order.
pub async fn must_reads(state: &AppState, want: usize) -> Result<Arc<Vec<ArticleCard>>, SiteError> {
    let key = format!("must-reads:{want}");
    state.cache.fragment(&key, async { Ok(state.store.must_reads(want as i64, state.clock.now()).await?) }).await
}

/// Popular Now, shared by every page that shows it, best first; a page shows as many as it needs.
pub async fn popular_now(state: &AppState) -> Result<Arc<Vec<ArticleCard>>, SiteError> {
    Ok(state.popular.get(&state.store).await?)
}

#[derive(Serialize)]
struct CorrectionsPage {
    chrome: Chrome,
    corrections: Vec<crate::store::newsroom::Correction>,
    page: i64,
    next: Option<String>,
    previous: Option<String>,
}

#[derive(serde::Deserialize)]
pub struct CorrectionsQuery {
    page: Option<u32>,
}

/// The public corrections ledger: every correction, clarification and update, newest first.
pub async fn corrections(
    axum::extract::State(state): axum::extract::State<AppState>,
    axum::extract::Query(query): axum::extract::Query<CorrectionsQuery>,
    RequestHeaders(headers): RequestHeaders,
) -> Result<Response, SiteError> {
    const PER_PAGE: i64 = 50;
    let page = i64::from(query.page.unwrap_or(1).max(1));
    let key = format!("/corrections?page={page}");
    let st = state.clone();
    cached_page(&state, &headers, key, vec![Dependency::Lists], move || async move {
        let state = st;
        let mut corrections = state.store.all_corrections(PER_PAGE + 1, (page - 1) * PER_PAGE).await?;
        if corrections.is_empty() && page > 1 {
            return Err(SiteError::NotFound);
        }
        let more = corrections.len() as i64 > PER_PAGE;
        corrections.truncate(PER_PAGE as usize);
        let link = |p: i64| if p == 1 { "/corrections".to_owned() } else { format!("/corrections?page={p}") };
        let context = CorrectionsPage {
            chrome: Chrome::build(&state, "Corrections and updates", Some(&link(page))).await,
            corrections,
            page,
            next: more.then(|| link(page + 1)),
            previous: (page > 1).then(|| link(page - 1)),
        };
        Ok(state.templates.render("site/corrections.html", &context)?)
    })
    .await
}
