//! Every request's span and id. [`traced`] wraps both listeners in one layer that takes the
//! caller's `X-Request-Id` when it is well-formed or makes a new one, opens the `request` span
//! that everything logged while serving the request is written in (method, matched route, request
//! id; then status and latency), and sends the id back on whatever answers: a page, a cached page,
//! an error page, a layer's refusal, a timeout.
//!
//! The route is the router's pattern (`/{section}/{slug}`), not the path, so log indexes see few
//! distinct values. Only the router knows it, so a route layer records it ([`note_route`]); a
//! request that no route matched, or that a layer answered before routing, is `unmatched`.
//!
//! The line that closes a request is logged at `debug` (an access log on demand, e.g.
//! `RUST_LOG=info,broadsheet::web::trace=debug`), and at `warn` for a server error, whose cause the
//! code that turned it into a response has already logged in the same span.
//!
//! A cached page answered at the door (`web::door`), in front of this layer, takes its id the same
//! way and writes the same closing line ([`close_untraced`]); it logs nothing else, so its span
//! is opened only for that line.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use tower::Service;
use tracing::Instrument;
use tracing::field::Empty;

use super::around::{Around, Before, Wrap};

/// The header that carries the id, in both directions.
pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Longest incoming id kept: room for a UUID (36), a W3C trace id (32) or a ULID (26) with a
/// prefix. Longer ones are replaced rather than cut, since a cut id matches nothing upstream.
pub const MAX_REQUEST_ID_LEN: usize = 64;

/// The route of requests the router did not match to one of its routes.
const UNMATCHED: &str = "unmatched";

/// A request id that is safe to log and send back: 1 to [`MAX_REQUEST_ID_LEN`] letters, digits,
/// `-`, `_`, `.` or `:`. No spaces, quotes, `=` or control characters, so an id cannot forge or
/// break a log line in either log format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(HeaderValue);

impl RequestId {
    /// The caller's id, if it is well-formed.
    pub fn parse(value: &HeaderValue) -> Option<Self> {
        let bytes = value.as_bytes();
        let well_formed = !bytes.is_empty()
            && bytes.len() <= MAX_REQUEST_ID_LEN
            && bytes.iter().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(b));
        well_formed.then(|| Self(value.clone()))
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII is ever let in or made.
        self.0.to_str().unwrap_or_default()
    }

    pub fn header_value(&self) -> HeaderValue {
        self.0.clone()
    }
}

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Makes new request ids: a keyed hash of a counter, as 32 hex digits (128 bits). The counter
/// keeps ids apart within a process, the key (random at each start) across processes and
/// restarts, and no request pays for a system call.
pub struct RequestIds {
    key: [u8; 32],
    next: AtomicU64,
}

impl RequestIds {
    pub fn new() -> Self {
        let mut key = [0u8; 32];
        if let Err(e) = getrandom::fill(&mut key) {
            // Ids need to be distinct, not secret: the clock and the process id keep them apart
            // from other processes' well enough.
            tracing::error!(error = %e, "no randomness for request ids; deriving their key from the clock");
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
            let seed = format!("{}:{}", now.as_nanos(), std::process::id());
            key = *blake3::hash(seed.as_bytes()).as_bytes();
        }
        Self { key, next: AtomicU64::new(0) }
    }

    /// The request's own id if it is well-formed, otherwise a new one.
    pub fn of(&self, request: &Request) -> RequestId {
        request.headers().get(X_REQUEST_ID).and_then(RequestId::parse).unwrap_or_else(|| self.make())
    }

    pub fn make(&self) -> RequestId {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let hash = blake3::keyed_hash(&self.key, &n.to_le_bytes());
        let mut hex = [0u8; 32];
        data_encoding::HEXLOWER.encode_mut(&hash.as_bytes()[..16], &mut hex);
        // Hex digits are always a valid header value.
        RequestId(HeaderValue::from_bytes(&hex).unwrap_or_else(|_| HeaderValue::from_static("0")))
    }
}

impl Default for RequestIds {
    fn default() -> Self {
        Self::new()
    }
}

/// Set once the router has recorded the matched route in the span.
#[derive(Clone, Default)]
struct RouteNoted(Arc<AtomicBool>);

/// `service` with every request traced and answered with its id. Apply it last (outermost), so
/// the span covers every other layer and the id reaches every answer. It goes around the finished
/// router as a plain service ([`Around`]), not through `Router::layer`, which would box it into
/// every route.
pub fn traced<S>(service: S) -> Router
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + Sync + 'static,
    S::Future: Send + 'static,
{
    Router::new().fallback_service(tracing(service))
}

/// [`traced`] without the router around it, for a service that goes in front (`web::door`).
pub fn tracing<S>(service: S) -> Around<Tracing, S> {
    Around::new(Tracing(Arc::new(RequestIds::new())), service)
}

#[derive(Clone)]
pub struct Tracing(Arc<RequestIds>);

/// What the trace keeps from the request to its answer.
pub struct Traced {
    id: RequestId,
    noted: RouteNoted,
    span: tracing::Span,
    started: Instant,
}

impl Wrap for Tracing {
    type Carried = Traced;

    fn before(&self, mut request: Request) -> Before<Traced> {
        let id = self.0.of(&request);
        // What runs inside sees only an id that is safe to log or pass on.
        request.headers_mut().insert(X_REQUEST_ID, id.header_value());
        let noted = RouteNoted::default();
        request.extensions_mut().insert(noted.clone());
        let span = tracing::info_span!(
            "request",
            method = %request.method(),
            request_id = %id,
            route = Empty,
            status = Empty,
            latency_ms = Empty,
        );
        Before::Pass(request, Traced { id, noted, span, started: Instant::now() })
    }

    fn after(
        self,
        traced: Traced,
        answer: impl Future<Output = Response> + Send + 'static,
    ) -> impl Future<Output = Response> + Send + 'static {
        let Traced { id, noted, span, started } = traced;
        async move {
            let mut response = answer.instrument(span.clone()).await;
            let status = response.status();
            let failed = status.is_server_error();
            // The closing fields are written only for the line that shows them: formatting them
            // into the span is a good part of a cached page's cost when nothing is logged. (The
            // level hint, not `enabled!`: a call site's cached interest can miss a subscriber set
            // for one thread, as the tests' log captures are.)
            if failed || debug_logging() {
                if !noted.0.load(Ordering::Relaxed) {
                    span.record("route", tracing::field::display(UNMATCHED));
                }
                span.record("status", status.as_u16());
                span.record("latency_ms", started.elapsed().as_secs_f64() * 1000.0);
                span.in_scope(|| {
                    if failed {
                        tracing::warn!("request failed");
                    } else {
                        tracing::debug!("request finished");
                    }
                });
            }
            response.headers_mut().insert(X_REQUEST_ID, id.header_value());
            response
        }
    }
}

/// Records the route the router matched in the request's span. Called from a route layer (inside
/// the router, where the match is known); a second call for the same request changes nothing.
pub fn note_route(request: &Request) {
    let extensions = request.extensions();
    let (Some(route), Some(noted)) = (extensions.get::<MatchedPath>(), extensions.get::<RouteNoted>()) else {
        return;
    };
    if !noted.0.swap(true, Ordering::Relaxed) {
        tracing::Span::current().record("route", tracing::field::display(route.as_str()));
    }
}

/// Whether any subscriber may want `debug` lines (the closing line of a request is one).
fn debug_logging() -> bool {
    tracing::level_filters::LevelFilter::current() >= tracing::level_filters::LevelFilter::DEBUG
}

/// The closing line of a request answered in front of this layer (`web::door`, which logs nothing
/// else on the way): its span, with the same fields as every other request's, is opened only when
/// that line is to be written.
pub fn close_untraced(method: &Method, id: &RequestId, route: &str, status: StatusCode, started: Instant) {
    if debug_logging() {
        let span = tracing::info_span!(
            "request",
            method = %method,
            request_id = %id,
            route = %route,
            status = status.as_u16(),
            latency_ms = started.elapsed().as_secs_f64() * 1000.0,
        );
        span.in_scope(|| tracing::debug!("request finished"));
    }
}

/// [`note_route`] as a route layer, for routers that have no other route layer to call it.
pub async fn record_route(request: Request, next: Next) -> Response {
    note_route(&request);
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(bytes: &[u8]) -> Option<String> {
        let value = HeaderValue::from_bytes(bytes).expect("a header value");
        RequestId::parse(&value).map(|id| id.to_string())
    }

    #[test]
    fn well_formed_ids_are_kept_as_they_are() {
        let longest = "Z".repeat(MAX_REQUEST_ID_LEN);
        for id in ["5f0c6f1e-3a4b-4c8d-9e0f-1a2b3c4d5e6f", "01HZX3K9Q2", "edge_7.node-2:443", "0", longest.as_str()] {
            assert_eq!(parsed(id.as_bytes()).as_deref(), Some(id));
        }
    }

    #[test]
    fn ids_that_could_break_a_log_line_or_are_too_long_are_refused() {
        let too_long = "a".repeat(MAX_REQUEST_ID_LEN + 1);
        let ten_kib = "a".repeat(10 * 1024);
        for bad in [
            "".as_bytes(),
            too_long.as_bytes(),
            ten_kib.as_bytes(),
            b"a b",
            b"a\tb",
            b"a=b",
            b"a\"b",
            b"a}b{",
            b"a/b",
            "id-\u{e9}".as_bytes(),
            b"id-\xff",
        ] {
            assert_eq!(parsed(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn made_ids_are_128_bit_hex_and_never_repeat() {
        let ids = RequestIds::new();
        let made: Vec<String> = (0..1000).map(|_| ids.make().to_string()).collect();
        assert!(made.iter().all(|id| id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())));
        let distinct: std::collections::HashSet<_> = made.iter().collect();
        assert_eq!(distinct.len(), made.len());
        assert!(made.iter().all(|id| parsed(id.as_bytes()).as_deref() == Some(id.as_str())), "made ids parse");
        let elsewhere = RequestIds::new().make().to_string();
        assert_ne!(elsewhere, made[0], "another process starts from another key");
    }
}
