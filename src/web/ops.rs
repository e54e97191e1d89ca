//! Operations endpoints: `/healthz` (the process answers), `/readyz` (the database answers and is
//! migrated; load balancers send traffic only then) and `/metrics` (Prometheus text format:
//! requests by route and status, latency, page-cache hits, buffered views, database pool).
//!
//! The public port answers `/healthz` and a `/readyz` without detail; `/metrics` and the
//! database's error text are served only by the operations listener (`server.ops_addr`), which
//! is meant for the monitoring network.

use std::future::Future;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use super::AppState;
use super::around::{AroundLayer, Before, Wrap};

/// Counts every request by route (the pattern, not the path, so labels stay few) and status, and
/// times it. Also records the route in the request's span. A route layer, since only the router
/// knows the route: `.route_layer(tracking(&state))`.
pub fn tracking(state: &AppState) -> AroundLayer<Tracking> {
    AroundLayer::new(Tracking(state.clone()))
}

#[derive(Clone)]
pub struct Tracking(AppState);

impl Wrap for Tracking {
    type Carried = (Option<MatchedPath>, Instant);

    fn before(&self, request: Request) -> Before<Self::Carried> {
        super::trace::note_route(&request);
        let route = request.extensions().get::<MatchedPath>().cloned();
        Before::Pass(request, (route, Instant::now()))
    }

    async fn after(
        self,
        (route, started): Self::Carried,
        answer: impl Future<Output = Response> + Send + 'static,
    ) -> Response {
        let mut response = answer.await;
        let name = route.as_ref().map_or("unmatched", MatchedPath::as_str);
        self.0.metrics.record_request(name, response.status().as_u16(), started.elapsed());
        // The door in front of the router learns which route answered a cached page from here.
        if let Some(route) = route.filter(|_| response.extensions().get::<super::door::Served>().is_some()) {
            response.extensions_mut().insert(route);
        }
        response
    }
}

pub async fn healthz() -> &'static str {
    "ok\n"
}

#[derive(Serialize)]
struct Readiness {
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<&'static str>,
    /// The database's own error text: only on the operations listener.
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
    storage: StorageReport,
}

/// Free space where the site writes. While it is below the watermark the node still answers 200
/// ("degraded"): readers are served as usual, and a load balancer that took every node with a
/// full shared disk out of rotation would leave readers with nothing.
#[derive(Serialize)]
struct StorageReport {
    free_mib: u64,
    min_free_mib: u64,
    writes_refused: bool,
}

/// Asks the store whether it answers and is migrated, and reports free space. A failure is
/// logged here, so the public answer can leave its text out and still be traceable.
async fn readiness(state: &AppState) -> (StatusCode, Readiness) {
    let disk = state.disk.status();
    let storage = StorageReport {
        free_mib: disk.free_bytes >> 20,
        min_free_mib: disk.min_free_bytes >> 20,
        writes_refused: disk.writes_refused,
    };
    match state.store.ready().await {
        Ok(true) if disk.writes_refused => {
            (StatusCode::OK, Readiness { status: "degraded", code: Some("storage_full"), detail: None, storage })
        }
        Ok(true) => (StatusCode::OK, Readiness { status: "ready", code: None, detail: None, storage }),
        Ok(false) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Readiness { status: "unavailable", code: Some("migrations_pending"), detail: None, storage },
        ),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Readiness {
                    status: "unavailable",
                    code: Some("database_unreachable"),
                    detail: Some(e.to_string()),
                    storage,
                },
            )
        }
    }
}

fn readiness_response(status: StatusCode, body: Readiness) -> Response {
    let mut response = (status, Json(body)).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `/readyz` on the public port: a status and a stable code, never the database's error text
/// (it can name hosts, users and tables).
pub async fn readyz(State(state): State<AppState>) -> Response {
    let (status, body) = readiness(&state).await;
    readiness_response(status, Readiness { detail: None, ..body })
}

/// `/readyz` on the operations listener: with the database's error text.
pub async fn readyz_detailed(State(state): State<AppState>) -> Response {
    let (status, body) = readiness(&state).await;
    readiness_response(status, body)
}

/// The probes served on the public port: load balancers check the port they send readers to.
/// Merged outside the reader's error pages, so a failing `/readyz` still answers in JSON.
pub fn public_router(state: &AppState) -> Router<AppState> {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz)).route_layer(tracking(state))
}

/// The operations listener (`server.ops_addr`): metrics and the detailed readiness, for the
/// monitoring network only.
pub fn router(state: AppState) -> Router {
    let router = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz_detailed))
        .route("/metrics", get(metrics_page))
        .route_layer(axum::middleware::from_fn(super::trace::record_route));
    super::trace::traced(router.with_state(state))
}

pub async fn metrics_page(State(state): State<AppState>) -> Response {
    // Levels are read at scrape time rather than updated on every change.
    let (open, idle) = state.store.pool_stats();
    let gauges = [
        ("broadsheet_db_pool_connections", "Open database connections.", f64::from(open)),
        ("broadsheet_db_pool_idle_connections", "Idle database connections.", f64::from(idle)),
        ("broadsheet_views_buffered", "Views counted but not yet written.", state.views.pending_total() as f64),
        ("broadsheet_page_cache_entries", "Pages in the page cache.", state.cache.len() as f64),
        ("broadsheet_page_cache_bytes", "Bytes held by the page cache.", state.cache.bytes() as f64),
    ];
    let counters = [(
        "broadsheet_db_statements_total",
        "SQL statements the store has run (transaction control not included).",
        state.store.statements_run() as f64,
    )];
    let mut response = state.metrics.render(&counters, &gauges).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
