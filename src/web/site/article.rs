//! The article page and its comment form.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};

use super::beacon::beacon_path;
use super::modules::{self, ArticleModules};
use super::{Chrome, cached_page, send_page};
use crate::cache::Dependency;
use crate::domain::{Article, ArticleStatus, Comment, CommentBody, CommentError, CommentStatus, CommenterName};
use crate::moderation::HoldReason;
use crate::ranking::modules::MODULE_SIZE;
use crate::store::{ArticleReading, NewComment};
use crate::web::client::Client;
use crate::web::error::SiteError;
use crate::web::respond::RequestHeaders;
use crate::web::{AppState, percent_encode as urlencode};

/// Related stories read with the article: every card read costs scattered row reads, and in a
/// large archive the other modules (the newest and most-read stories, the editors' picks) seldom
/// hold more than a few of an article's best related stories.
const RELATED_FIRST: u16 = MODULE_SIZE as u16 + 3;
/// Related stories read when the other modules took so many of the first ones that You May Also
/// Like would show fewer than five: a second statement, which on a small site (the demo's sixty
/// stories) about half the article pages need, and in a large archive few do.
const RELATED_CANDIDATES: u16 = 3 * MODULE_SIZE as u16;
/// The newest comments shown on the article page; the rest are on its comments pages, so a story
/// with thousands of comments still renders (and caches) as a page of ordinary size.
const COMMENTS_ON_ARTICLE: u16 = 50;
const COMMENTS_PER_PAGE: i64 = 100;

#[derive(Debug, Clone, Default, Serialize)]
struct CommentForm {
    name: String,
    body: String,
    error: Option<String>,
    notice: Option<&'static str>,
    max_chars: usize,
}

#[derive(Serialize)]
struct ShareLinks {
    url: String,
    x: String,
    facebook: String,
    linkedin: String,
    email: String,
}

impl ShareLinks {
    fn new(url: &str, headline: &str) -> Self {
        let u = urlencode(url);
        let t = urlencode(headline);
        Self {
            url: url.to_owned(),
            x: format!("https://x.com/intent/post?url={u}&text={t}"),
            facebook: format!("https://www.facebook.com/sharer/sharer.php?u={u}"),
            linkedin: format!("https://www.linkedin.com/sharing/share-offsite/?url={u}"),
            email: format!("mailto:?subject={t}&body={u}"),
        }
    }
}

#[derive(Serialize)]
struct ArticlePage {
    chrome: Chrome,
    article: Article,
    path: String,
    view_count: i64,
    beacon: String,
    share: ShareLinks,
    comments: Vec<Comment>,
    /// True when there are more comments than the page shows.
    more_comments: bool,
    form: CommentForm,
    /// The four story modules as HTML (`site/module.html`).
    module_html: ArticleModules,
    corrections: Vec<crate::domain::Correction>,
    /// A shared draft preview: not indexed, no counting, no comment form.
    preview: bool,
}

#[derive(Serialize)]
struct CommentsPage {
    chrome: Chrome,
    article: Article,
    path: String,
    comments: Vec<Comment>,
    page: i64,
    pages: i64,
    previous: Option<String>,
    next: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct CommentsQuery {
    page: Option<u32>,
}

/// Every published comment on an article, newest first, a hundred to a page.
pub async fn all_comments(
    State(state): State<AppState>,
    Path((section, slug)): Path<(String, String)>,
    Query(query): Query<CommentsQuery>,
    RequestHeaders(headers): RequestHeaders,
) -> Result<Response, SiteError> {
    let page = i64::from(query.page.unwrap_or(1));
    if page < 1 {
        return Err(SiteError::NotFound);
    }
    let article = published(&state, &slug).await?;
    if article.section_slug != section {
        return Err(SiteError::NotFound);
    }
    let path = format!("{}/comments", article.path());
    let key = format!("{path}?page={page}");
    let id = article.id;
    let st = state.clone();
    cached_page(&state, &headers, key, vec![Dependency::Article(id)], move || async move {
        let state = st;
        let comments = state.store.published_comments(id, COMMENTS_PER_PAGE, (page - 1) * COMMENTS_PER_PAGE).await?;
        if comments.is_empty() && page > 1 {
            return Err(SiteError::NotFound);
        }
        let pages = ((article.comment_count + COMMENTS_PER_PAGE - 1) / COMMENTS_PER_PAGE).max(1);
        let link = |p: i64| if p == 1 { path.clone() } else { format!("{path}?page={p}") };
        let title = format!("Comments: {}", article.headline);
        let chrome = Chrome::build(&state, &title, Some(&link(page))).await;
        let context = CommentsPage {
            previous: (page > 1).then(|| link(page - 1)),
            next: (page < pages).then(|| link(page + 1)),
            chrome,
            path: article.path(),
            article,
            comments,
            page,
            pages,
        };
        Ok(state.templates.render("site/comments.html", &context)?)
    })
    .await
}

/// The parts of an article page that are the article's own, besides the article itself.
struct OwnParts {
    related: Vec<crate::domain::StoryLink>,
    comments: Vec<Comment>,
}

impl OwnParts {
    /// Read on their own, for the pages outside the readers' miss path (a comment sent back with
    /// its error, a preview); the article page itself gets them with the article in one statement.
    /// As many related stories as that statement reads, so that the page reads deeper alike.
    async fn of(state: &AppState, article: &Article) -> Result<Self, SiteError> {
        Ok(Self {
            related: state.store.related_articles(article.id, i64::from(RELATED_FIRST)).await?,
            comments: state.store.published_comments(article.id, i64::from(COMMENTS_ON_ARTICLE), 0).await?,
        })
    }
}

async fn render(state: &AppState, article: Article, form: CommentForm) -> Result<String, SiteError> {
    let parts = OwnParts::of(state, &article).await?;
    render_page(state, article, parts, form, false).await
}

/// A draft as readers would see it, for a signed preview link.
pub async fn render_preview(state: &AppState, article: Article) -> Result<String, SiteError> {
    let parts = OwnParts::of(state, &article).await?;
    render_page(state, article, parts, CommentForm::default(), true).await
}

async fn render_page(
    state: &AppState,
    mut article: Article,
    parts: OwnParts,
    form: CommentForm,
    preview: bool,
) -> Result<String, SiteError> {
    let shared = modules::shared_for(state, article.id, &article.section_slug, &article.section_name).await?;
    let mut related = shared.related(article.id, &parts.related);
    // A full first read may have more behind it; a shorter one was the whole list.
    let deeper;
    if related.len() < MODULE_SIZE && parts.related.len() == usize::from(RELATED_FIRST) {
        deeper = state.store.related_articles(article.id, i64::from(RELATED_CANDIDATES)).await?;
        related = shared.related(article.id, &deeper);
    }
    let module_html = shared.with_related(state, &related)?;
    let path = article.path();
    let mut chrome = Chrome::build(state, &article.headline, Some(&path)).await;
    chrome.current_section = Some(article.section_slug.clone());
    if !article.dek.is_empty() {
        chrome.meta_description = article.dek.clone();
    }
    let page = ArticlePage {
        share: ShareLinks::new(&format!("{}{}", state.settings.base_url(), path), &article.headline),
        beacon: beacon_path(&state.beacon_key, article.id),
        view_count: article.view_count + state.views.pending_for(article.id),
        comments: parts.comments,
        more_comments: article.comment_count > i64::from(COMMENTS_ON_ARTICLE),
        form: CommentForm { max_chars: CommentBody::MAX_CHARS, ..form },
        corrections: std::mem::take(&mut article.corrections),
        preview,
        chrome,
        path,
        article,
        module_html,
    };
    Ok(state.templates.render("site/article.html", &page)?)
}

/// Finds a published article, or the right refusal: 404 if it never was public, 410 if withdrawn.
async fn published(state: &AppState, slug: &str) -> Result<Article, SiteError> {
    match state.store.article_by_slug(slug).await? {
        Some(article) => readable(article.status).map(|()| article),
        None => Err(missing(state, slug).await),
    }
}

/// Whether readers may see an article in this state: 410 once withdrawn, 404 before publication.
fn readable(status: ArticleStatus) -> Result<(), SiteError> {
    match status {
        ArticleStatus::Published => Ok(()),
        ArticleStatus::Unpublished => Err(SiteError::Gone),
        ArticleStatus::Draft | ArticleStatus::InReview | ArticleStatus::Scheduled => Err(SiteError::NotFound),
    }
}

/// The answer for a slug no article has: a renamed article's old address redirects to its new
/// one; anything else is 404.
async fn missing(state: &AppState, slug: &str) -> SiteError {
    match state.store.slug_redirect(slug).await {
        Ok(Some((section, current))) => SiteError::Moved(crate::domain::article::article_path(&section, &current)),
        Ok(None) => SiteError::NotFound,
        Err(e) => e.into(),
    }
}

#[derive(Debug, Deserialize)]
pub struct ShowQuery {
    comment: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    Path((section, slug)): Path<(String, String)>,
    Query(query): Query<ShowQuery>,
    RequestHeaders(headers): RequestHeaders,
) -> Result<Response, SiteError> {
    let path = format!("/{section}/{slug}");
    // The notice after posting a comment is the same for everyone, so each of the two variants is
    // a cached page of its own; any other query string is the plain page. Unknown parameters
    // therefore neither create cache entries nor miss the cache.
    let (key, notice) = match query.comment.as_deref() {
        Some("published") => (format!("{path}?comment=published"), Some(NOTICE_PUBLISHED)),
        Some("held") => (format!("{path}?comment=held"), Some(NOTICE_HELD)),
        _ => (path, None),
    };
    if let Some(page) = state.cache.get(&key) {
        state.metrics.record_cache(crate::web::metrics::CacheOutcome::Hit);
        return Ok(personal(notice.is_some(), send_page(&state, &headers, &page)));
    }
    let Some(reading) = state.store.article_reading(&slug, RELATED_FIRST, COMMENTS_ON_ARTICLE).await? else {
        return Err(missing(&state, &slug).await);
    };
    let ArticleReading { article, related, comments } = reading;
    readable(article.status)?;
    if article.section_slug != section {
        return Ok(Redirect::permanent(&article.path()).into_response());
    }
    let id = article.id;
    let st = state.clone();
    let response =
        cached_page(&state, &headers, key, vec![Dependency::Lists, Dependency::Article(id)], move || async move {
            let form = CommentForm { notice, ..CommentForm::default() };
            render_page(&st, article, OwnParts { related, comments }, form, false).await
        })
        .await?;
    Ok(personal(notice.is_some(), response))
}

const NOTICE_PUBLISHED: &str = "Thank you. Your comment is published below.";
const NOTICE_HELD: &str = "Thank you. Your comment will appear once a moderator has approved it.";

/// A page with a notice is kept out of shared caches and browsers' history caches: it thanks
/// whoever just posted, and nobody else should be sent it by a CDN.
fn personal(with_notice: bool, mut response: Response) -> Response {
    if with_notice {
        response.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    }
    response
}

#[derive(Debug, Deserialize)]
pub struct CommentInput {
    #[serde(default)]
    name: String,
    #[serde(default)]
    body: String,
    /// The honeypot: hidden from people, filled in by naive bots.
    #[serde(default)]
    website: String,
}

pub async fn comment(
    State(state): State<AppState>,
    Path((section, slug)): Path<(String, String)>,
    client: Client,
    Form(input): Form<CommentInput>,
) -> Result<Response, SiteError> {
    let fingerprint = {
        let mut hasher = blake3::Hasher::new_keyed(&state.fingerprint_key);
        hasher.update(client.ip.to_string().as_bytes()).update(&[0]).update(client.user_agent.as_bytes());
        hasher.finalize().to_hex()[..32].to_owned()
    };
    let Some(target) = state.store.comment_target(&slug, &fingerprint).await? else {
        return Err(missing(&state, &slug).await);
    };
    readable(target.status)?;
    if target.section_slug != section {
        return Err(SiteError::NotFound);
    }
    let path = crate::domain::article::article_path(&target.section_slug, &target.slug);
    if !comment_allowed(&state, &client).await? {
        let mut response = SiteError::TooManyRequests.into_response();
        response.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from_static("60"));
        return Ok(response);
    }
    if !input.website.trim().is_empty() {
        // Looks like success to the bot; nothing is stored.
        tracing::info!(article = %target.article_id, "comment honeypot filled; discarded");
        return Ok(Redirect::to(&format!("{path}?comment=held#comments")).into_response());
    }
    let parsed = CommenterName::parse(&input.name).and_then(|name| Ok((name, CommentBody::parse(&input.body)?)));
    let (name, body) = match parsed {
        Ok(valid) => valid,
        Err(error) => return refuse(&state, &slug, input, error).await,
    };
    let (status, reason) = match state.comment_policy.read() {
        Ok(policy) => policy.decide(name.as_str(), body.as_str()),
        Err(poisoned) => poisoned.into_inner().decide(name.as_str(), body.as_str()),
    };
    // A blocked commenter is told the usual "awaiting moderation"; the comment goes straight to spam.
    let (status, reason) =
        if target.commenter_blocked { (CommentStatus::Spam, Some(HoldReason::Policy)) } else { (status, reason) };
    if let Err(full) = state.disk.ensure_room() {
        return not_stored(&state, &slug, input, full).await;
    }
    let stored = state
        .comment_writer
        .submit(NewComment {
            article_id: target.article_id,
            author_name: name.as_str().to_owned(),
            body: body.as_str().to_owned(),
            status,
            fingerprint,
            created_at: state.clock.now(),
        })
        .await;
    match stored {
        Ok(_) => {}
        Err(e) if e.is_storage_full() || e.is_unavailable() => {
            if e.is_storage_full() {
                state.disk.refresh();
            }
            return not_stored(&state, &slug, input, e).await;
        }
        Err(e) => return Err(e.into()),
    }
    let outcome = match reason {
        None => {
            state.changed(crate::web::changes::Change::Article(target.article_id));
            "published"
        }
        Some(HoldReason::Policy | HoldReason::Link | HoldReason::BlockedWord) => "held",
    };
    tracing::info!(article = %target.article_id, outcome, "comment received");
    Ok(Redirect::to(&format!("{path}?comment={outcome}#comments")).into_response())
}

/// The per-address comment limit: in memory on a single node, in the database when several
/// nodes share it (so a reader cannot multiply the limit by the number of nodes).
async fn comment_allowed(state: &AppState, client: &Client) -> Result<bool, SiteError> {
    if !state.store.shared_by_nodes() {
        return Ok(state.comment_limiter.check_key(&client.ip).is_ok());
    }
    let key = {
        let mut hasher = blake3::Hasher::new_keyed(&state.fingerprint_key);
        hasher.update(b"comment-limit\0").update(client.ip.to_string().as_bytes());
        hasher.finalize().to_hex()[..32].to_owned()
    };
    let now = state.clock.now();
    let attempts = state.store.note_comment_attempt(&key, now, now - chrono::Duration::minutes(1)).await?;
    Ok(attempts <= i64::from(state.settings.comments.per_ip_per_minute))
}

/// The comment could not be stored (storage full, or the database away): 503 with `Retry-After`,
/// and the article again with the reader's text in the form, so nothing they typed is lost. If
/// even the page cannot be rendered, the plain 503 page.
async fn not_stored(
    state: &AppState,
    slug: &str,
    input: CommentInput,
    cause: crate::store::StoreError,
) -> Result<Response, SiteError> {
    let storage_full = cause.is_storage_full();
    tracing::error!(article = slug, error = %cause, "comment not stored");
    let message = if storage_full {
        "We could not save your comment: the site’s storage is full. Your text is below; please try again in a few minutes."
    } else {
        "We could not save your comment: the site cannot reach its database just now. Your text is below; please try again in a minute."
    };
    let form =
        CommentForm { name: input.name, body: input.body, error: Some(message.to_owned()), ..CommentForm::default() };
    let shown = match published(state, slug).await {
        Ok(article) => render(state, article, form).await,
        Err(e) => Err(e),
    };
    let html = match shown {
        Ok(html) => html,
        Err(render_failed) => {
            tracing::warn!(error = %render_failed, "cannot show the comment form again");
            return Err(SiteError::Store(cause));
        }
    };
    let retry_after = if storage_full { crate::web::error::STORAGE_FULL_RETRY_AFTER } else { "5" };
    let mut response = (StatusCode::SERVICE_UNAVAILABLE, Html(html)).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    response.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from_static(retry_after));
    Ok(response)
}

/// Shows the article again with the reader's text kept and the reason it was refused.
async fn refuse(state: &AppState, slug: &str, input: CommentInput, error: CommentError) -> Result<Response, SiteError> {
    tracing::info!(article = slug, code = error.code(), "comment refused");
    let form =
        CommentForm { name: input.name, body: input.body, error: Some(error.to_string()), ..CommentForm::default() };
    let article = published(state, slug).await?;
    let html = render(state, article, form).await?;
    let mut response = (StatusCode::UNPROCESSABLE_ENTITY, Html(html)).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn share_links_encode_url_and_headline() {
        let links = ShareLinks::new("http://x.test/asia/a-b", "Kim & Kishida’s talks");
        assert_eq!(links.facebook, "https://www.facebook.com/sharer/sharer.php?u=http%3A%2F%2Fx.test%2Fasia%2Fa-b");
        assert!(links.x.ends_with("&text=Kim%20%26%20Kishida%E2%80%99s%20talks"));
        assert!(links.email.starts_with("mailto:?subject=Kim%20%26"));
    }
}
