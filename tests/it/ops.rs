//! Health, readiness and metrics endpoints: the public port answers `/healthz` and a `/readyz`
//! without detail; `/metrics` and the database's error text are on the operations listener only.
//! Also the HSTS header of an https site.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use broadsheet::config::Settings;
use http_body_util::BodyExt;
use tower::ServiceExt;

use crate::helpers::{REFERENCE_PATH, TestApp, TestResponse};

/// A GET to the operations listener's router (`server.ops_addr`) of `app`.
async fn ops_get(app: &TestApp, path: &str) -> TestResponse {
    let request = Request::builder().method(Method::GET).uri(path).body(Body::empty()).expect("request");
    let response = broadsheet::web::ops::router(app.state.clone()).oneshot(request).await.expect("ops router answers");
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.expect("body").to_bytes().to_vec();
    TestResponse { status, headers, body }
}

/// Makes the store's readiness query fail the way a broken database does (with an error naming a
/// table), by renaming the table it reads, through a connection of its own.
async fn break_readiness_query(settings: &Settings) {
    use sqlx::{Connection, Executor};
    const RENAME: &str = "ALTER TABLE _sqlx_migrations RENAME TO _sqlx_migrations_moved";
    match &settings.database.url {
        Some(url) => {
            let mut conn = sqlx::PgConnection::connect(url).await.expect("connect to PostgreSQL");
            conn.execute(RENAME).await.expect("rename");
            conn.close().await.ok();
        }
        None => {
            let file = settings.server.data_dir.join("broadsheet.db");
            let mut conn =
                sqlx::SqliteConnection::connect(&format!("sqlite:{}", file.display())).await.expect("open SQLite");
            conn.execute(RENAME).await.expect("rename");
            conn.close().await.ok();
        }
    }
}

#[tokio::test]
async fn health_and_readiness_answer() {
    let app = TestApp::spawn().await;
    let health = app.get("/healthz").await;
    assert_eq!((health.status, health.text().as_str()), (StatusCode::OK, "ok\n"));
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status, StatusCode::OK);
    let report: serde_json::Value = serde_json::from_str(&ready.text()).expect("JSON");
    assert_eq!(report["status"], "ready");
    assert_eq!(report["storage"]["writes_refused"], false);
    assert_eq!(ready.header(header::CACHE_CONTROL).as_deref(), Some("no-store"));
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_report_levels() {
    let app = TestApp::spawn().await;
    app.get(REFERENCE_PATH).await;
    app.get(REFERENCE_PATH).await;
    app.get("/no-such-section/no-such-story").await;
    let page = ops_get(&app, "/metrics").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.header(header::CONTENT_TYPE).expect("type").starts_with("text/plain; version=0.0.4"));
    let text = page.text();
    let line = |prefix: &str| text.lines().find(|l| l.starts_with(prefix)).map(str::to_owned);
    // Routes are labelled by pattern, so labels stay few however many articles there are.
    let article =
        line("broadsheet_http_requests_total{route=\"/{section}/{slug}\",status=\"200\"}").expect("article requests");
    let count: f64 = article.rsplit(' ').next().expect("value").parse().expect("number");
    assert!(count >= 2.0, "{article}");
    assert!(line("broadsheet_http_requests_total{route=\"/{section}/{slug}\",status=\"404\"}").is_some(), "{text}");
    assert!(line("broadsheet_http_request_duration_seconds_bucket{route=\"/{section}/{slug}\"").is_some());
    assert!(line("broadsheet_page_cache_lookups_total{outcome=\"hit\"}").is_some(), "{text}");
    for gauge in ["broadsheet_views_buffered", "broadsheet_db_pool_connections", "broadsheet_page_cache_entries"] {
        assert!(line(gauge).is_some(), "{gauge} missing:\n{text}");
    }
    // The store's statement count is a counter that moves with the queries a miss runs.
    assert!(text.contains("# TYPE broadsheet_db_statements_total counter"), "{text}");
    let statements = |text: &str| -> f64 {
        let found = text.lines().find(|l| l.starts_with("broadsheet_db_statements_total ")).expect("statements");
        found.rsplit(' ').next().expect("value").parse().expect("number")
    };
    let before = statements(&text);
    app.state.cache.clear();
    app.get(REFERENCE_PATH).await;
    let after = statements(&ops_get(&app, "/metrics").await.text());
    assert!(after > before, "an uncached page runs statements: {before} -> {after}");
}

#[tokio::test]
async fn the_public_port_does_not_serve_metrics() {
    let app = TestApp::spawn().await;
    let page = app.get("/metrics").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(!page.text().contains("broadsheet_http_requests_total"));
    let health = ops_get(&app, "/healthz").await;
    assert_eq!((health.status, health.text().as_str()), (StatusCode::OK, "ok\n"));
}

#[tokio::test]
async fn a_failing_readiness_check_gives_a_code_in_public_and_the_error_on_the_ops_listener() {
    let app = TestApp::spawn().await;
    break_readiness_query(&app.state.settings).await;

    let public = app.get("/readyz").await;
    assert_eq!(public.status, StatusCode::SERVICE_UNAVAILABLE);
    let report: serde_json::Value = serde_json::from_slice(&public.body).expect("JSON");
    assert_eq!(
        (report["status"].as_str(), report["code"].as_str()),
        (Some("unavailable"), Some("database_unreachable"))
    );
    assert!(report.get("detail").is_none(), "no error text in public: {report}");
    assert_eq!(public.header(header::CACHE_CONTROL).as_deref(), Some("no-store"));

    let ops = ops_get(&app, "/readyz").await;
    assert_eq!(ops.status, StatusCode::SERVICE_UNAVAILABLE);
    let body: serde_json::Value = serde_json::from_slice(&ops.body).expect("JSON");
    assert_eq!(body["code"], "database_unreachable");
    let detail = body["detail"].as_str().expect("detail");
    assert!(detail.contains("_sqlx_migrations"), "the ops answer names what failed: {detail}");
}

#[tokio::test]
async fn an_https_site_sends_hsts_on_every_response() {
    let app = TestApp::spawn_with(|s| s.site.base_url = Some("https://news.test".into()), true).await;
    let want = Some("max-age=31536000; includeSubDomains");
    for path in [REFERENCE_PATH, "/", "/admin/login", "/admin", "/no-such-section/no-such-story", "/healthz", "/readyz"]
    {
        let response = app.get(path).await;
        assert_eq!(response.header(header::STRICT_TRANSPORT_SECURITY).as_deref(), want, "{path} ({})", response.status);
    }
}

#[tokio::test]
async fn an_http_site_sends_no_hsts() {
    let app = TestApp::spawn().await;
    for path in [REFERENCE_PATH, "/admin/login", "/no-such-section/no-such-story"] {
        let response = app.get(path).await;
        assert_eq!(response.header(header::STRICT_TRANSPORT_SECURITY), None, "{path}");
    }
}
