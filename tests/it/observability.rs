//! Request ids and spans: every answer, on both listeners, carries `X-Request-Id` (the caller's when
//! it is well-formed, a new one otherwise, never a hostile value echoed back), and what is logged
//! while a request is served or a background job runs is logged inside a span that names it.

use axum::body::Body;
use axum::http::{HeaderValue, Method, StatusCode, header};
use broadsheet::config::Settings;
use tower::ServiceExt;

use crate::helpers::{Logs, REFERENCE_PATH, TestApp, TestResponse};

const X_REQUEST_ID: &str = "x-request-id";

/// A GET carrying `id` as its `X-Request-Id`.
async fn get_with_id(app: &TestApp, path: &str, id: HeaderValue) -> TestResponse {
    let request = TestApp::request(Method::GET, path, [127, 0, 0, 1].into()).header(X_REQUEST_ID, id);
    app.send(request.body(Body::empty()).expect("request")).await
}

/// A GET to the operations listener's router, carrying `id` if given.
async fn ops_get(app: &TestApp, path: &str, id: Option<&str>) -> TestResponse {
    let mut request = axum::http::Request::builder().method(Method::GET).uri(path);
    if let Some(id) = id {
        request = request.header(X_REQUEST_ID, id);
    }
    let response = broadsheet::web::ops::router(app.state.clone())
        .oneshot(request.body(Body::empty()).expect("request"))
        .await
        .expect("ops router answers");
    let status = response.status();
    let headers = response.headers().clone();
    let body = http_body_util::BodyExt::collect(response.into_body()).await.expect("body").to_bytes().to_vec();
    TestResponse { status, headers, body }
}

fn id_of(response: &TestResponse) -> String {
    let values: Vec<_> = response.headers.get_all(X_REQUEST_ID).iter().collect();
    assert_eq!(values.len(), 1, "exactly one X-Request-Id on a {} answer", response.status);
    values[0].to_str().expect("the id is text").to_owned()
}

/// What the site makes when it has no usable id: 128 random bits in lowercase hex.
fn is_generated(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn page_cache_hits(app: &TestApp) -> u64 {
    let text = app.state.metrics.render(&[], &[]);
    let line = text
        .lines()
        .find(|l| l.starts_with("broadsheet_page_cache_lookups_total{outcome=\"hit\"}"))
        .expect("hit counter");
    line.rsplit(' ').next().expect("value").parse().expect("number")
}

#[tokio::test]
async fn every_answer_carries_a_new_request_id() {
    let app = TestApp::spawn().await;

    let first = app.get("/").await;
    let second = app.get("/").await;

    assert_eq!((first.status, second.status), (StatusCode::OK, StatusCode::OK));
    let (first, second) = (id_of(&first), id_of(&second));
    assert!(is_generated(&first), "{first}");
    assert!(is_generated(&second), "{second}");
    assert_ne!(first, second, "each request gets its own id");
}

#[tokio::test]
async fn a_well_formed_incoming_id_is_sent_back() {
    let app = TestApp::spawn().await;
    let longest = "a".repeat(64);
    for id in ["5f0c6f1e-3a4b-4c8d-9e0f-1a2b3c4d5e6f", "01HZX3K9Q2.node_2:7", "7", longest.as_str()] {
        let response = get_with_id(&app, "/", HeaderValue::from_str(id).expect("header")).await;
        assert_eq!(response.status, StatusCode::OK);
        assert_eq!(id_of(&response), id);
    }
}

#[tokio::test]
async fn a_malformed_or_oversized_incoming_id_is_replaced() {
    let app = TestApp::spawn().await;
    let ten_kib = "b".repeat(10 * 1024);
    let one_too_long = "c".repeat(65);
    let hostile: Vec<HeaderValue> = vec![
        HeaderValue::from_str(&ten_kib).expect("header"),
        HeaderValue::from_str(&one_too_long).expect("header"),
        HeaderValue::from_bytes(b"abc\tdef").expect("a tab is allowed in a header"),
        HeaderValue::from_static("abc def"),
        HeaderValue::from_static("x\" request_id=\"forged"),
        HeaderValue::from_static("id=1;route=/admin"),
        HeaderValue::from_static("<script>alert(1)</script>"),
        HeaderValue::from_static(""),
        HeaderValue::from_bytes("запрос-1".as_bytes()).expect("UTF-8 bytes are allowed in a header"),
        HeaderValue::from_bytes(b"abc\xff\xfe").expect("obs-text bytes are allowed in a header"),
    ];
    for value in hostile {
        let response = get_with_id(&app, "/", value.clone()).await;
        assert_eq!(response.status, StatusCode::OK);
        let id = id_of(&response);
        let shown: String = String::from_utf8_lossy(value.as_bytes()).chars().take(40).collect();
        assert!(is_generated(&id), "{shown:?} ({} bytes) was answered with {:.40}", value.len(), id);
        assert_ne!(id.as_bytes(), value.as_bytes());
    }
}

#[tokio::test]
async fn error_pages_and_cached_pages_carry_the_id() {
    let app = TestApp::spawn().await;

    let missing_story = app.get("/no-such-section/no-such-story").await;
    assert_eq!(missing_story.status, StatusCode::NOT_FOUND);
    assert!(is_generated(&id_of(&missing_story)));
    let unrouted = app.get("/a/b/c/d/e").await;
    assert_eq!(unrouted.status, StatusCode::NOT_FOUND);
    assert!(is_generated(&id_of(&unrouted)));
    let delete = TestApp::request(Method::DELETE, REFERENCE_PATH, [127, 0, 0, 1].into())
        .header(X_REQUEST_ID, "method-check")
        .body(Body::empty())
        .expect("request");
    let wrong_method = app.send(delete).await;
    assert_eq!(wrong_method.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(id_of(&wrong_method), "method-check");

    // The first view renders and caches the page; the next ones are cache hits, each with its own id.
    let rendered = app.get(REFERENCE_PATH).await;
    assert_eq!(rendered.status, StatusCode::OK);
    let hits = page_cache_hits(&app);
    let hit = app.get(REFERENCE_PATH).await;
    let named_hit = get_with_id(&app, REFERENCE_PATH, HeaderValue::from_static("reader-42")).await;
    assert_eq!(page_cache_hits(&app), hits + 2, "both were served from the page cache");
    assert_eq!(hit.body, rendered.body);
    assert!(is_generated(&id_of(&hit)));
    assert_ne!(id_of(&hit), id_of(&rendered), "a cached page does not keep the id of the request that rendered it");
    assert_eq!(id_of(&named_hit), "reader-42");

    let etag = rendered.header(header::ETAG).expect("etag");
    let not_modified = app.get_with(REFERENCE_PATH, header::IF_NONE_MATCH, &etag).await;
    assert_eq!(not_modified.status, StatusCode::NOT_MODIFIED);
    assert!(is_generated(&id_of(&not_modified)));
}

#[tokio::test]
async fn a_write_refused_by_the_storage_guard_carries_the_id() {
    let app = TestApp::spawn().await;
    app.state.disk.set_watermark(u64::MAX);

    let request = TestApp::request(Method::POST, "/admin/login", [127, 0, 0, 1].into())
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(X_REQUEST_ID, "full-disk-1");
    let refused = app.send(request.body(Body::from("email=a%40b.test&password=x")).expect("request")).await;

    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(id_of(&refused), "full-disk-1");
}

#[tokio::test]
async fn the_operations_listener_sends_the_id_too() {
    let app = TestApp::spawn().await;

    let metrics = ops_get(&app, "/metrics", None).await;
    let ready = ops_get(&app, "/readyz", Some("probe-9")).await;
    let missing = ops_get(&app, "/nothing-here", Some("x y")).await;

    assert_eq!(metrics.status, StatusCode::OK);
    assert!(is_generated(&id_of(&metrics)));
    assert_eq!((ready.status, id_of(&ready).as_str()), (StatusCode::OK, "probe-9"));
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(is_generated(&id_of(&missing)));
}

/// Renames `table` through a connection of its own, so the site's queries on it fail the way a
/// broken database makes them fail.
async fn rename_table(settings: &Settings, table: &str) {
    use sqlx::{Connection, Executor};
    let rename = format!("ALTER TABLE {table} RENAME TO {table}_moved");
    match &settings.database.url {
        Some(url) => {
            let mut conn = sqlx::PgConnection::connect(url).await.expect("connect to PostgreSQL");
            conn.execute(sqlx::AssertSqlSafe(rename)).await.expect("rename");
            conn.close().await.ok();
        }
        None => {
            let file = settings.server.data_dir.join("broadsheet.db");
            let mut conn =
                sqlx::SqliteConnection::connect(&format!("sqlite:{}", file.display())).await.expect("open SQLite");
            conn.execute(sqlx::AssertSqlSafe(rename)).await.expect("rename");
            conn.close().await.ok();
        }
    }
}

#[tokio::test]
async fn a_handler_error_is_logged_with_the_request_id_and_the_route_pattern() {
    let app = TestApp::spawn().await;
    rename_table(&app.state.settings, "articles").await;
    let (logs, _guard) = Logs::capture();

    let failed = get_with_id(&app, REFERENCE_PATH, HeaderValue::from_static("trace-me-7")).await;
    let hostile = get_with_id(&app, REFERENCE_PATH, HeaderValue::from_static("forged request_id=x")).await;

    assert_eq!(failed.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(id_of(&failed), "trace-me-7");
    let line = logs.line_with("storage error while serving a page").unwrap_or_else(|| panic!("{}", logs.text()));
    assert!(line.contains("request_id=trace-me-7"), "{line}");
    assert!(line.contains("route=/{section}/{slug}"), "the pattern, not the path: {line}");
    assert!(line.contains("method=GET"), "{line}");
    assert!(!line.contains(REFERENCE_PATH), "{line}");
    // The request's own closing line says how it ended and how long it took.
    let closing = logs.line_with("request failed").unwrap_or_else(|| panic!("{}", logs.text()));
    assert!(closing.contains("request_id=trace-me-7") && closing.contains("status=500"), "{closing}");
    assert!(closing.contains("latency_ms="), "{closing}");
    let replaced = id_of(&hostile);
    assert!(is_generated(&replaced));
    let text = logs.text();
    assert!(text.contains(&format!("request_id={replaced}")), "{text}");
    assert!(!text.contains("forged"), "a refused id is never logged: {text}");
}

#[tokio::test]
async fn a_failing_scheduler_pass_is_logged_inside_its_job_span() {
    let app = TestApp::spawn().await;
    rename_table(&app.state.settings, "articles").await;
    let (logs, _guard) = Logs::capture();

    let scheduler = broadsheet::jobs::scheduler::spawn(app.state.clone());
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    let line = loop {
        if let Some(line) = logs.line_with("scheduler pass failed") {
            break line;
        }
        assert!(tokio::time::Instant::now() < deadline, "no scheduler error logged: {}", logs.text());
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    scheduler.abort();

    assert!(line.contains("background{job=scheduler}"), "{line}");
}
