//! Cached pages answered at the door, before the router.
//!
//! A cached page's own cost is a map look-up and a copy of bytes, but on its way through the
//! router it also paid for routing, path and query extraction, the error pages, the timeout's
//! timer, the compression layer and the metrics' route layer: about as much CPU again as the
//! answer itself. The door learns, from the answers the router gives, which address is answered
//! by which cached page (`/asia` by the page cached as `/asia?page=1`, an article's address by its
//! own), and answers those addresses itself while the page is fresh. Everything else (a miss, a
//! stale page, an invalidated one, any other method) goes through the router as before, and the
//! answer is the same either way: the same function builds it ([`page_response`]), and the door
//! adds what the layers around the router add (the site's headers, the request id, HEAD without
//! a body, the metrics and the closing log line). It stands in front of the trace's layer, whose
//! span would be most of a hit's remaining cost; nothing is logged on a door answer's way, so its
//! span is opened only for the closing line, when that is logged (`trace::close_untraced`).
//!
//! An address is only ever learned from the router's own answer for it, and a handler's cache key
//! depends on nothing but the address, so a learned address cannot lead to another page than the
//! router would give. Addresses with a query string are learned only when the query is the key's
//! own (`?page=2`), so made-up query strings cannot fill the book; it is also bounded.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Instant;

use axum::body::Body;
use axum::extract::{MatchedPath, Request};
use axum::http::{Method, header};
use axum::response::Response;

use super::around::{Before, Wrap};
use super::respond::{Encoding, preferred_encoding};
use super::site::page_response;
use super::trace::{RequestIds, X_REQUEST_ID, close_untraced};
use super::{AppState, SiteHeaders};

/// Addresses remembered at most; past this the book starts again (it refills from the router).
const MAX_ADDRESSES: usize = 16_384;

/// Set on an answer by the handler that sent a cached page: the key it is cached under.
#[derive(Clone)]
pub struct Served(pub Arc<str>);

/// Which cached page answers an address, and the route it was answered on (for the log line and
/// the metrics, which count door answers under the same route as the router's).
#[derive(Clone)]
struct Address {
    key: Arc<str>,
    route: MatchedPath,
}

#[derive(Clone)]
pub struct Door(Arc<Inside>);

struct Inside {
    state: AppState,
    book: RwLock<HashMap<Box<str>, Address>>,
    ids: RequestIds,
    site_headers: SiteHeaders,
}

impl Door {
    pub(super) fn new(state: AppState, site_headers: SiteHeaders) -> Self {
        Self(Arc::new(Inside { state, book: RwLock::new(HashMap::new()), ids: RequestIds::new(), site_headers }))
    }

    fn address(&self, target: &str) -> Option<Address> {
        let book = self.0.book.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        book.get(target).cloned()
    }

    fn learn(&self, target: String, address: Address) {
        {
            // Most answers the router gives for a known address (a stale page, a re-render)
            // teach nothing new: a shared look first keeps them off the write lock.
            let book = self.0.book.read().unwrap_or_else(std::sync::PoisonError::into_inner);
            if book
                .get(target.as_str())
                .is_some_and(|known| known.key == address.key && known.route.as_str() == address.route.as_str())
            {
                return;
            }
        }
        let mut book = self.0.book.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        if book.len() >= MAX_ADDRESSES {
            book.clear();
        }
        book.insert(target.into_boxed_str(), address);
    }

    /// The answer the router would give: the page as its handler sends it, without a body for
    /// HEAD, with the site's headers and the request's id, as the layers around the router add them.
    fn answer(&self, request: &Request, address: &Address, page: &crate::cache::CachedPage) -> Response {
        let started = Instant::now();
        let state = &self.0.state;
        let id = self.0.ids.of(request);
        let mut response = page_response(state, request.headers(), page);
        if request.method() == Method::HEAD {
            // The length of the GET answer stays (`page_response` states it).
            *response.body_mut() = Body::empty();
        }
        let mut response = self.0.site_headers.apply(response);
        response.headers_mut().insert(X_REQUEST_ID, id.header_value());
        let status = response.status();
        state.metrics.record_door_answer();
        state.metrics.record_request(address.route.as_str(), status.as_u16(), started.elapsed());
        close_untraced(request.method(), &id, address.route.as_str(), status, started);
        response
    }
}

/// The address as the request names it: path and query string.
fn target(request: &Request) -> &str {
    request.uri().path_and_query().map_or_else(|| request.uri().path(), |p| p.as_str())
}

/// Whether the page handlers alone settle the answer's encoding, as the door does: no
/// `Accept-Encoding` (identity), or one they answer in brotli or gzip. Anything else (`*`,
/// `deflate` alone, `identity;q=0`) is left to the router, where the compression layer has its say.
fn negotiated_by_handlers(request: &Request) -> bool {
    let headers = request.headers();
    !headers.contains_key(header::ACCEPT_ENCODING) || preferred_encoding(headers) != Encoding::Identity
}

/// Whether an answer on `target` from the page cached as `key` may be given at the door next time:
/// the address is the key itself, or the key is the address's first page (`/asia?page=1`).
fn learnable(target: &str, key: &str) -> bool {
    target == key || (!target.contains('?') && key.strip_prefix(target) == Some("?page=1"))
}

impl Wrap for Door {
    /// The address, when the router's answer may teach the door something.
    type Carried = Option<String>;

    fn before(&self, request: Request) -> Before<Option<String>> {
        if (request.method() != Method::GET && request.method() != Method::HEAD) || !negotiated_by_handlers(&request) {
            return Before::Pass(request, None);
        }
        let target = target(&request);
        let hit = self.address(target).and_then(|address| {
            // Expired or invalidated pages go back through the router, which renders them again
            // (or serves one stale while it does).
            self.0.state.cache.get(&address.key).map(|page| (address, page))
        });
        match hit {
            Some((address, page)) => Before::Answer(self.answer(&request, &address, &page), None),
            None => {
                let target = target.to_owned();
                Before::Pass(request, Some(target))
            }
        }
    }

    async fn after(
        self,
        target: Option<String>,
        answer: impl std::future::Future<Output = Response> + Send + 'static,
    ) -> Response {
        let response = answer.await;
        let Some(target) = target else { return response };
        let extensions = response.extensions();
        if let (Some(Served(key)), Some(route)) = (extensions.get::<Served>(), extensions.get::<MatchedPath>()) {
            // A page sent with anything but the public policy (a thank-you notice is `no-store`)
            // is for this reader only and never answered at the door.
            let public = response.headers().get(header::CACHE_CONTROL) == Some(&self.0.state.public_cache_control);
            if public && learnable(&target, key) {
                self.learn(target, Address { key: Arc::clone(key), route: route.clone() });
            }
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::learnable;

    #[test]
    fn an_address_is_learned_only_for_its_own_key_or_the_keys_first_page() {
        assert!(learnable("/asia/a-story", "/asia/a-story"));
        assert!(learnable("/asia", "/asia?page=1"));
        assert!(learnable("/asia?page=2", "/asia?page=2"));
        assert!(learnable("/", "/"));
        // Made-up query strings are answered by the router, however it keys them.
        assert!(!learnable("/asia/a-story?utm_source=x", "/asia/a-story"));
        assert!(!learnable("/asia?page=2&x=1", "/asia?page=2"));
        assert!(!learnable("/asia?x=1", "/asia?page=1"));
        assert!(!learnable("/asi", "/asia?page=1"));
        assert!(!learnable("/asia?page=1", "/asia?page=1?page=1"));
    }
}
