//! `TestApp::spawn()` gives each test its own data directory, database and router.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use broadsheet::config::Settings;
use broadsheet::store::Store;
use broadsheet::store::sqlite::SqliteStore;
use broadsheet::web::{self, AppState, percent_encode};
use http_body_util::BodyExt;
use scraper::{Html, Selector};
use tower::ServiceExt;

pub const BROWSER: &str =
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36";
pub const REFERENCE_PATH: &str = "/asia/kishidas-aim-for-us-visit-a-summit-with-north-koreas-kim-jong-un";

pub struct TestApp {
    pub state: AppState,
    pub router: Router,
    _dir: tempfile::TempDir,
}

pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl TestResponse {
    pub fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("response body is UTF-8")
    }

    pub fn html(&self) -> Html {
        Html::parse_document(&self.text())
    }

    pub fn header(&self, name: header::HeaderName) -> Option<String> {
        self.headers.get(name).map(|v| v.to_str().expect("header is text").to_owned())
    }
}

/// Texts of all elements matching `selector`, whitespace collapsed.
pub fn texts(doc: &Html, selector: &str) -> Vec<String> {
    let sel = Selector::parse(selector).expect("valid selector");
    doc.select(&sel)
        .map(|e| e.text().collect::<Vec<_>>().join(" ").split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

/// Values of `attribute` on all elements matching `selector`.
pub fn attrs(doc: &Html, selector: &str, attribute: &str) -> Vec<String> {
    let sel = Selector::parse(selector).expect("valid selector");
    doc.select(&sel).filter_map(|e| e.value().attr(attribute).map(str::to_owned)).collect()
}

impl TestApp {
    /// A site with the demo newsroom loaded.
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}, true).await
    }

    /// A site with no content.
    pub async fn spawn_empty() -> Self {
        Self::spawn_with(|_| {}, false).await
    }

    pub async fn spawn_with(configure: impl FnOnce(&mut Settings), demo: bool) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut settings = Settings::default();
        settings.server.data_dir = dir.path().to_owned();
        settings.site.base_url = Some("http://news.test".into());
        configure(&mut settings);
        let store = SqliteStore::open(dir.path()).await.expect("open store");
        let store: Arc<dyn Store> = Arc::new(store);
        if demo {
            broadsheet::demo::load_if_empty(store.as_ref(), dir.path()).await.expect("demo loads");
        }
        let state = AppState::new(settings, store).await.expect("state");
        let router = web::router(state.clone());
        Self { state, router, _dir: dir }
    }

    pub async fn send(&self, request: Request<Body>) -> TestResponse {
        let response = self.router.clone().oneshot(request).await.expect("router answers");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.expect("body").to_bytes().to_vec();
        TestResponse { status, headers, body }
    }

    pub fn request(method: Method, path: &str, ip: IpAddr) -> axum::http::request::Builder {
        Request::builder()
            .method(method)
            .uri(path)
            .header(header::USER_AGENT, BROWSER)
            .extension(ConnectInfo(SocketAddr::new(ip, 40000)))
    }

    pub async fn get(&self, path: &str) -> TestResponse {
        self.send(Self::request(Method::GET, path, [127, 0, 0, 1].into()).body(Body::empty()).expect("request")).await
    }

    pub async fn get_with(&self, path: &str, name: header::HeaderName, value: &str) -> TestResponse {
        let request = Self::request(Method::GET, path, [127, 0, 0, 1].into()).header(name, value);
        self.send(request.body(Body::empty()).expect("request")).await
    }

    /// Posts a URL-encoded form from the given address.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)], ip: IpAddr) -> TestResponse {
        let body = fields
            .iter()
            .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let request = Self::request(Method::POST, path, ip)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .expect("request");
        self.send(request).await
    }

    pub async fn flush_views(&self) -> i64 {
        self.state.views.flush(self.state.store.as_ref(), chrono::Utc::now()).await.expect("flush")
    }

    pub async fn article_id(&self, slug: &str) -> i64 {
        self.state.store.article_by_slug(slug).await.expect("store").expect("article exists").id
    }
}

/// The beacon URL the article page at `path` asks readers' browsers to call.
pub async fn beacon_of(app: &TestApp, path: &str) -> String {
    let page = app.get(path).await;
    attrs(&page.html(), "article[data-beacon]", "data-beacon").pop().expect("page has a beacon")
}
