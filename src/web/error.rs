//! The one place errors become responses. Handlers return [`SiteError`]; it marks the response with
//! what went wrong, and [`with_error_pages`] turns every error status into a helpful HTML page
//! (with navigation and the latest stories), whether it came from a handler, the router or a layer.

use std::future::Future;

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Serialize;

use super::AppState;
use super::around::{Around, Before, Wrap};
use super::site::Chrome;
use crate::domain::ArticleCard;
use crate::store::{ListFilter, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    #[error("page not found")]
    NotFound,
    #[error("this article has been withdrawn")]
    Gone,
    #[error("too many requests")]
    TooManyRequests,
    /// The page lives at another address now (a renamed article).
    #[error("moved to {0}")]
    Moved(String),
    #[error("storage failed: {0}")]
    Store(#[from] StoreError),
    #[error("template failed: {0}")]
    Template(#[from] minijinja::Error),
}

/// Carried on an error response so the error-page layer knows what to say.
#[derive(Debug, Clone, Copy)]
struct ErrorMarker;

/// Carried on a 503 that refused a write because storage is full, so the page says so (rather
/// than blaming the database connection).
#[derive(Debug, Clone, Copy)]
pub struct StorageFullMarker;

/// Seconds a writer is asked to wait when storage is full: long enough for an operator or a
/// clean-up job to act, short enough that a reader's comment is not abandoned.
pub const STORAGE_FULL_RETRY_AFTER: &str = "60";

/// The answer to a write refused for lack of space: 503, `Retry-After`, and a page that says
/// what happened (nothing was stored) and what to do.
pub fn storage_full_response() -> Response {
    let mut response = StatusCode::SERVICE_UNAVAILABLE.into_response();
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static(STORAGE_FULL_RETRY_AFTER));
    response.extensions_mut().insert(StorageFullMarker);
    response.extensions_mut().insert(ErrorMarker);
    response
}

impl IntoResponse for SiteError {
    fn into_response(self) -> Response {
        if let Self::Moved(path) = &self {
            // 301 rather than axum's 308: it is what search engines and link checkers expect for a
            // page that moved, and it is only ever sent for GET requests of pages.
            return (StatusCode::MOVED_PERMANENTLY, [(header::LOCATION, path.clone())]).into_response();
        }
        let status = match &self {
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Gone => StatusCode::GONE,
            Self::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            Self::Moved(_) => StatusCode::MOVED_PERMANENTLY,
            Self::Store(e) if e.is_storage_full() => {
                tracing::error!(error = %e, "a write was refused: storage is full");
                return storage_full_response();
            }
            Self::Store(e) if e.is_unavailable() => {
                tracing::error!(error = %e, "database unavailable while serving a page");
                let mut response = StatusCode::SERVICE_UNAVAILABLE.into_response();
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
                response.extensions_mut().insert(ErrorMarker);
                return response;
            }
            Self::Store(e) => {
                tracing::error!(error = %e, "storage error while serving a page");
                StatusCode::INTERNAL_SERVER_ERROR
            }
            Self::Template(e) => {
                tracing::error!(error = ?e, "template error while serving a page");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        let mut response = status.into_response();
        response.extensions_mut().insert(ErrorMarker);
        response
    }
}

pub async fn not_found() -> SiteError {
    SiteError::NotFound
}

#[derive(Serialize)]
struct ErrorPage {
    chrome: Chrome,
    status: u16,
    heading: &'static str,
    message: &'static str,
    latest: Vec<ArticleCard>,
}

fn wording(status: StatusCode) -> (&'static str, &'static str) {
    match status {
        StatusCode::NOT_FOUND => (
            "We can’t find that page",
            "The address may be mistyped, or the page may have moved. Try a section below or one of our latest stories.",
        ),
        StatusCode::GONE => (
            "This article has been withdrawn",
            "The newsroom has taken this article down. Our latest stories are below.",
        ),
        StatusCode::TOO_MANY_REQUESTS => (
            "Please slow down",
            "You have sent several comments in a short time. Please wait a minute, then try again; what you wrote has not been posted.",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => ("That was too much to send", "The form you sent was larger than we accept."),
        StatusCode::REQUEST_TIMEOUT => {
            ("That took too long", "We could not finish your request in time. Please try again.")
        }
        StatusCode::METHOD_NOT_ALLOWED => ("That action isn’t available here", "This address cannot be used that way."),
        StatusCode::SERVICE_UNAVAILABLE => {
            ("We’ll be right back", "The site cannot reach its database just now. Please try again in a few seconds.")
        }
        s if s.is_client_error() => {
            ("We couldn’t understand that request", "Please check the address or the form and try again.")
        }
        _ => (
            "Something went wrong on our side",
            "The error has been logged and the newsroom’s technical team can see it. Please try again in a moment.",
        ),
    }
}

/// The site's error pages, around the pages' router: writes refused while storage is low
/// ([`super::storage`]), and every error answer turned into a helpful page.
pub fn with_error_pages<S>(state: AppState, pages: S) -> Around<ErrorPages, S> {
    Around::new(ErrorPages(state), pages)
}

#[derive(Clone)]
pub struct ErrorPages(AppState);

impl Wrap for ErrorPages {
    type Carried = ();

    fn before(&self, request: Request) -> Before<()> {
        match super::storage::refusal(&self.0, &request) {
            Some(refused) => Before::Answer(refused, ()),
            None => Before::Pass(request, ()),
        }
    }

    async fn after(self, (): (), answer: impl Future<Output = Response> + Send + 'static) -> Response {
        render_error_page(&self.0, answer.await).await
    }
}

/// Replaces the body of an error response that is not already a page with the site's error page
/// for that status.
async fn render_error_page(state: &AppState, response: Response) -> Response {
    let status = response.status();
    // An answer that already has a body for its reader stays as it is: an HTML page, or JSON for a
    // script (the editor's autosave reads the stable code in a 409 or 422).
    let is_answer = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html") || v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_answer {
        return response;
    }
    // What the answer tells a client to do next stays on the page: when to retry, and on a 405
    // which methods the address takes (HTTP requires `Allow` there).
    let retry_after = response.headers().get(header::RETRY_AFTER).cloned();
    let allow = response.headers().get(header::ALLOW).cloned();
    let storage_full = response.extensions().get::<StorageFullMarker>().is_some();
    let (heading, message) = if storage_full {
        (
            "We can’t save anything just now",
            "The site’s storage is full, so what you sent was not saved. Go back: your text is still in the form. \
             Please try again in a few minutes; reading the site works as usual.",
        )
    } else {
        wording(status)
    };
    // The page is still useful without its lists, so failures here only shrink it. When the
    // database is what failed, do not wait for it a second time.
    let database_down = status == StatusCode::SERVICE_UNAVAILABLE && !storage_full;
    let latest = if database_down {
        Vec::new()
    } else {
        super::site::latest(state, ListFilter::All, 5).await.map(|l| l.as_ref().clone()).unwrap_or_default()
    };
    let chrome =
        if database_down { Chrome::without_store(state, heading) } else { Chrome::build(state, heading, None).await };
    let page = ErrorPage { chrome, status: status.as_u16(), heading, message, latest };
    let mut rendered = match state.templates.render("site/error.html", &page) {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = ?e, "the error page itself failed to render");
            (status, Html(format!("<!doctype html><title>{heading}</title><h1>{heading}</h1><p>{message}</p>")))
                .into_response()
        }
    };
    rendered.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(value) = retry_after {
        rendered.headers_mut().insert(header::RETRY_AFTER, value);
    }
    if let Some(value) = allow {
        rendered.headers_mut().insert(header::ALLOW, value);
    }
    rendered
}
