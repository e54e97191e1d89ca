//! Operations endpoints: `/healthz` (the process answers), `/readyz` (the database answers and is
//! migrated; load balancers send traffic only then) and `/metrics` (Prometheus text format:
//! requests by route and status, latency, page-cache hits, buffered views, database pool).

use std::sync::OnceLock;
use std::time::Instant;

use axum::Json;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde::Serialize;

use super::AppState;

/// The process-wide metrics recorder. The `metrics` facade has one global recorder by design;
/// it is installed once, the first time a site starts in this process.
fn recorder() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets(&[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0])
                .ok()?
                .build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            Some(handle)
        })
        .as_ref()
}

/// Makes sure the recorder exists before the first request is counted.
pub fn install_metrics() {
    if recorder().is_none() {
        tracing::warn!("another metrics recorder is installed; /metrics will be empty");
    }
}

/// Counts every request by route (the pattern, not the path, so labels stay few) and status, and
/// times it.
pub async fn track(request: Request, next: Next) -> Response {
    let route =
        request.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("broadsheet_http_requests_total", "route" => route.clone(), "status" => status).increment(1);
    metrics::histogram!("broadsheet_http_request_duration_seconds", "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

pub async fn healthz() -> &'static str {
    "ok\n"
}

#[derive(Serialize)]
struct Readiness {
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
}

pub async fn readyz(State(state): State<AppState>) -> Response {
    let (status, body) = match state.store.ready().await {
        Ok(true) => (StatusCode::OK, Readiness { status: "ready", code: None, detail: None }),
        Ok(false) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Readiness { status: "unavailable", code: Some("migrations_pending"), detail: None },
        ),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Readiness { status: "unavailable", code: Some("database_unreachable"), detail: Some(e.to_string()) },
        ),
    };
    let mut response = (status, Json(body)).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

pub async fn metrics_page(State(state): State<AppState>) -> Response {
    let Some(handle) = recorder() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "metrics recorder unavailable\n").into_response();
    };
    // Levels are read at scrape time rather than updated on every change.
    let (open, idle) = state.store.pool_stats();
    metrics::gauge!("broadsheet_db_pool_connections").set(f64::from(open));
    metrics::gauge!("broadsheet_db_pool_idle_connections").set(f64::from(idle));
    metrics::gauge!("broadsheet_views_buffered").set(state.views.pending_total() as f64);
    metrics::gauge!("broadsheet_page_cache_entries").set(state.cache.len() as f64);
    metrics::gauge!("broadsheet_page_cache_bytes").set(state.cache.bytes() as f64);
    let mut response = handle.render().into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
