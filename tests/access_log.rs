//! The access log: at `debug` level every request closes with a line giving its route, status and
//! latency. A test binary of its own because it needs the process's only log subscriber: tracing's
//! level hint and call-site interest are process-wide, and the main suite's tests set and drop
//! subscribers of their own on other threads at the same time (a `debug` capture there can hear
//! nothing). Shares the main suite's helpers.

#[path = "it/helpers.rs"]
#[allow(dead_code)]
mod helpers;

use axum::body::Body;
use axum::http::{HeaderValue, Method, StatusCode};
use broadsheet::web::trace::X_REQUEST_ID;

use helpers::{Logs, REFERENCE_PATH, TestApp, TestResponse};

async fn get_with_id(app: &TestApp, path: &str, id: HeaderValue) -> TestResponse {
    let request = TestApp::request(Method::GET, path, [127, 0, 0, 1].into()).header(X_REQUEST_ID, id);
    app.send(request.body(Body::empty()).expect("request")).await
}

/// At debug level every request ends with a line giving its route, status and latency, whether the
/// page was rendered, sent from the cache by the router, or answered at the door before it.
#[tokio::test]
async fn every_request_closes_with_its_route_status_and_latency_at_debug_level() {
    let logs = Logs::default();
    tracing::subscriber::set_global_default(logs.subscriber("debug,sqlx=warn,hyper=warn,h2=warn"))
        .expect("the only subscriber of this process");
    let app = TestApp::spawn().await;
    // Rendered; sent from the cache by the router (a query string the door does not learn); and
    // answered at the door, which learned the address from the first answer.
    let tracked = format!("{REFERENCE_PATH}?utm_source=feed");
    let ids = ["rendered-1", "from-cache-2", "at-door-3"];
    for (id, path) in ids.into_iter().zip([REFERENCE_PATH, &tracked, REFERENCE_PATH]) {
        let answer = get_with_id(&app, path, HeaderValue::from_static(id)).await;
        assert_eq!(answer.status, StatusCode::OK);
    }
    let metrics = app.state.metrics.render(&[], &[]);
    let door = metrics.lines().find(|l| l.starts_with("broadsheet_page_cache_door_answers_total "));
    assert_eq!(door, Some("broadsheet_page_cache_door_answers_total 1"), "the third was answered at the door");
    let missing = get_with_id(&app, "/a/b/c/d", HeaderValue::from_static("unrouted-4")).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);

    let text = logs.text();
    for id in ids {
        let line = text
            .lines()
            .find(|l| l.contains("request finished") && l.contains(&format!("request_id={id}")))
            .unwrap_or_else(|| panic!("no closing line for {id}: {text}"));
        assert!(line.contains("route=/{section}/{slug}"), "{line}");
        assert!(line.contains("status=200") && line.contains("latency_ms="), "{line}");
        assert!(line.contains("method=GET"), "{line}");
    }
    let unrouted = text
        .lines()
        .find(|l| l.contains("request finished") && l.contains("request_id=unrouted-4"))
        .unwrap_or_else(|| panic!("no closing line for the unrouted request: {text}"));
    assert!(unrouted.contains("route=unmatched") && unrouted.contains("status=404"), "{unrouted}");
}
