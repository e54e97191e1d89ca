//! `TestApp::spawn()` gives each test its own data directory, database and router; `TestDb` gives a
//! test a fresh database to open stores on directly.
//!
//! The database is SQLite in the test's temporary directory, or, when `BROADSHEET_TEST_POSTGRES`
//! names a PostgreSQL server (`postgres://postgres@127.0.0.1:5432/postgres`), a new database on that
//! server made for the test and dropped after it.

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use broadsheet::config::Settings;
use broadsheet::store::Store;
use broadsheet::web::{self, AppState, percent_encode};
use http_body_util::BodyExt;
use scraper::{Html, Selector};
use tower::ServiceExt;
use tracing_subscriber::fmt::MakeWriter;

pub const BROWSER: &str =
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36";
pub const REFERENCE_PATH: &str = "/asia/kishidas-aim-for-us-visit-a-summit-with-north-koreas-kim-jong-un";

/// The environment variable naming the PostgreSQL server to run the tests against.
pub const POSTGRES_ENV: &str = "BROADSHEET_TEST_POSTGRES";

/// The PostgreSQL server the tests should use, if any.
pub fn postgres_server() -> Option<String> {
    std::env::var(POSTGRES_ENV).ok().filter(|url| !url.trim().is_empty())
}

/// One test's database: a temporary directory (the data directory, with SQLite's file in it
/// unless PostgreSQL is used) and, under PostgreSQL, a database of its own on the server. Any
/// number of stores can be opened on it, as a restarted process or a second node would.
pub struct TestDb {
    dir: tempfile::TempDir,
    postgres: Option<PgDatabase>,
}

struct PgDatabase {
    server: String,
    name: String,
    url: String,
}

impl TestDb {
    pub async fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let postgres = match postgres_server() {
            Some(server) => Some(PgDatabase::create(server).await),
            None => None,
        };
        Self { dir, postgres }
    }

    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// The database's URL when it is a PostgreSQL one.
    pub fn postgres_url(&self) -> Option<&str> {
        self.postgres.as_ref().map(|pg| pg.url.as_str())
    }

    /// Points `settings` at this database (and its data directory).
    pub fn configure(&self, settings: &mut Settings) {
        settings.server.data_dir = self.dir.path().to_owned();
        settings.database.url = self.postgres.as_ref().map(|pg| pg.url.clone());
    }

    /// Runs `sqlite` or `postgres` (whichever database this is) on a connection of its own, outside
    /// the store: for tests that need the database to misbehave (a trigger that refuses a write).
    pub async fn execute_raw(&self, sqlite: &str, postgres: &str) {
        use sqlx::{Connection, Executor};
        match &self.postgres {
            Some(pg) => {
                let mut conn = sqlx::PgConnection::connect(&pg.url).await.expect("connect");
                conn.execute(sqlx::AssertSqlSafe(postgres.to_owned())).await.expect("raw statement");
                conn.close().await.ok();
            }
            None => {
                let file = self.dir.path().join("broadsheet.db");
                let options = sqlx::sqlite::SqliteConnectOptions::new().filename(file);
                let mut conn = sqlx::SqliteConnection::connect_with(&options).await.expect("connect");
                conn.execute(sqlx::AssertSqlSafe(sqlite.to_owned())).await.expect("raw statement");
                conn.close().await.ok();
            }
        }
    }

    /// Makes the database refuse every new audit line (a trigger that raises "audit refused").
    pub async fn refuse_audit_lines(&self) {
        self.execute_raw(
            "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'audit refused'); END",
            "CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN RAISE EXCEPTION 'audit refused'; END $$; \
             CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION refuse_audit()",
        )
        .await;
    }

    /// Undoes [`TestDb::refuse_audit_lines`].
    pub async fn allow_audit_lines(&self) {
        self.execute_raw(
            "DROP TRIGGER refuse_audit",
            "DROP TRIGGER refuse_audit ON audit_log; DROP FUNCTION refuse_audit()",
        )
        .await;
    }

    /// Opens a store on this database (running the migrations the first time), as the site does.
    pub async fn open(&self) -> Arc<dyn Store> {
        let mut settings = Settings::default();
        self.configure(&mut settings);
        broadsheet::store::open(&settings).await.expect("open store")
    }
}

impl PgDatabase {
    /// A new empty database named `bs_test_<16 random hex digits>`. The random name keeps tests
    /// running in parallel (and in several processes) apart; template0 is never connected to, so
    /// concurrent creations never find their template busy.
    async fn create(server: String) -> Self {
        use sqlx::{Connection, Executor};
        let mut random = [0u8; 8];
        getrandom::fill(&mut random).expect("random bytes");
        let name = format!("bs_test_{}", data_encoding::HEXLOWER.encode(&random));
        let mut conn = sqlx::PgConnection::connect(&server).await.expect("connect to the PostgreSQL test server");
        conn.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8'")))
            .await
            .expect("create the test database");
        conn.close().await.ok();
        let url = with_database(&server, &name);
        Self { server, name, url }
    }

    /// Drops the database, ending any connection still open to it. On a thread of its own with
    /// its own runtime, because `Drop` cannot wait on the test's runtime.
    fn drop_now(&self) {
        let (server, name) = (self.server.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(async move {
                use sqlx::{Connection, Executor};
                let mut conn = sqlx::PgConnection::connect(&server).await?;
                conn.execute(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))).await?;
                conn.close().await?;
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
            })
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("could not drop test database {}: {e}", self.name),
            Err(_) => eprintln!("dropping test database {} panicked", self.name),
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(pg) = &self.postgres {
            pg.drop_now();
        }
    }
}

/// `server` (a PostgreSQL URL) with its database name replaced by `name`, query string kept.
fn with_database(server: &str, name: &str) -> String {
    let (base, query) = match server.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (server, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let root = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{root}/{name}?{query}"),
        None => format!("{root}/{name}"),
    }
}

pub struct TestApp {
    pub state: AppState,
    pub router: Router,
    /// Last, so the database outlives everything that uses it.
    _db: TestDb,
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

/// The audit line a test's direct store write records (no member: as the scheduler would).
pub fn line(action: &str) -> broadsheet::store::newsroom::NewAuditEntry {
    broadsheet::store::newsroom::NewAuditEntry::new(None, action, "article", None, String::new(), chrono::Utc::now())
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
        let db = TestDb::new().await;
        let mut settings = Settings::default();
        db.configure(&mut settings);
        settings.site.base_url = Some("http://news.test".into());
        configure(&mut settings);
        let store = broadsheet::store::open(&settings).await.expect("open store");
        if demo {
            broadsheet::demo::load_if_empty(store.as_ref(), &db.data_dir().join("media")).await.expect("demo loads");
        }
        let state = AppState::new(settings, store).await.expect("state");
        let router = web::router(state.clone());
        Self { state, router, _db: db }
    }

    /// A second store on this site's database, as another process or node would open it.
    pub async fn second_store(&self) -> Arc<dyn Store> {
        broadsheet::store::open(&self.state.settings).await.expect("open a second store")
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

    pub async fn article_id(&self, slug: &str) -> broadsheet::domain::ArticleId {
        self.state.store.article_by_slug(slug).await.expect("store").expect("article exists").id
    }
}

/// The beacon URL the article page at `path` asks readers' browsers to call.
pub async fn beacon_of(app: &TestApp, path: &str) -> String {
    let page = app.get(path).await;
    attrs(&page.html(), "article[data-beacon]", "data-beacon").pop().expect("page has a beacon")
}

/// Everything logged while it is alive, as the text formatter writes it.
#[derive(Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    /// Starts capturing what this thread logs (a `#[tokio::test]` runs its tasks on its own thread).
    pub fn capture() -> (Self, tracing::subscriber::DefaultGuard) {
        Self::capture_at("info,sqlx=warn")
    }

    /// [`Logs::capture`] with the given filter (`RUST_LOG`'s syntax). Only up to `info` in the main
    /// suite: tracing's level hint is process-wide, and other tests' threads set and drop
    /// subscribers of their own meanwhile, so a `debug` capture there may hear nothing.
    pub fn capture_at(filter: &str) -> (Self, tracing::subscriber::DefaultGuard) {
        let logs = Self::default();
        (logs.clone(), tracing::subscriber::set_default(logs.subscriber(filter)))
    }

    /// A text subscriber writing into these logs.
    pub fn subscriber(&self, filter: &str) -> impl tracing::Subscriber + Send + Sync + 'static {
        tracing_subscriber::fmt()
            .with_writer(self.clone())
            .with_ansi(false)
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .finish()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)).into_owned()
    }

    pub fn line_with(&self, message: &str) -> Option<String> {
        self.text().lines().find(|l| l.contains(message)).map(str::to_owned)
    }
}

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Logs {
    type Writer = Logs;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}
