//! Health, readiness and metrics endpoints.

use axum::http::{StatusCode, header};

use crate::helpers::{REFERENCE_PATH, TestApp};

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
    let page = app.get("/metrics").await;
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
}
