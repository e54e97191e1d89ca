//! Cached pages answered at the door, before the router.
//!
//! A cached page's own cost is a map look-up and a copy of bytes, but on its way through the
//! router it also paid for routing, path and query extraction, the error pages, the timeout's
//! timer, the compression layer and the metrics' route layer: about as much CPU again as the
//! answer itself. The door learns, from the answers the router gives, which address is answered
//! by which cached page (`/asia` by the page cached as `/asia?page=1`, an article's address by its
//! own), and answers those addresses itself while the page is fresh. Everything else (a miss, a
//! stale page, an invalidated one, any other method) goes through the router as before, and the
//! answer is the same either way: the same function builds it ([`page_response`]) and the layers
//! outside the door (site headers, HEAD as GET, the trace) wrap both.
//!
//! An address is only ever learned from the router's own answer for it, and a handler's cache key
//! depends on nothing but the address, so a learned address cannot lead to another page than the
//! router would give. Addresses with a query string are learned only when the query is the key's
//! own (`?page=2`), so made-up query strings cannot fill the book; it is also bounded.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{Method, header};
use axum::response::Response;

use super::AppState;
use super::around::{Before, Wrap};
use super::site::page_response;
use super::trace::RouteNote;

/// Addresses remembered at most; past this the book starts again (it refills from the router).
const MAX_ADDRESSES: usize = 16_384;

/// Set on an answer by the handler that sent a cached page: the key it is cached under.
#[derive(Clone)]
pub struct Served(pub Arc<str>);

/// Which cached page answers an address, and the route it was answered on (for the trace and the
/// metrics, which count door answers under the same route as the router's).
#[derive(Clone)]
struct Address {
    key: Arc<str>,
    route: MatchedPath,
}

#[derive(Clone)]
pub struct Door {
    state: AppState,
    book: Arc<RwLock<HashMap<Box<str>, Address>>>,
}

impl Door {
    pub fn new(state: AppState) -> Self {
        Self { state, book: Arc::new(RwLock::new(HashMap::new())) }
    }

    fn address(&self, target: &str) -> Option<Address> {
        let book = self.book.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        book.get(target).cloned()
    }

    fn learn(&self, target: String, address: Address) {
        let mut book = self.book.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        if book.len() >= MAX_ADDRESSES {
            book.clear();
        }
        book.insert(target.into_boxed_str(), address);
    }
}

/// What the door carries to the answer.
pub enum Visit {
    /// Answered at the door, with the route to report.
    Answered { route: MatchedPath, note: RouteNote, started: Instant },
    /// Passed to the router; the address, if the answer may teach the door something.
    Passed(Option<String>),
}

/// The address as the request names it: path and query string.
fn target(request: &Request) -> &str {
    request.uri().path_and_query().map_or_else(|| request.uri().path(), |p| p.as_str())
}

/// Whether an answer on `target` from the page cached as `key` may be given at the door next time:
/// the address is the key itself, or the key is the address's first page (`/asia?page=1`).
fn learnable(target: &str, key: &str) -> bool {
    target == key || (!target.contains('?') && key.strip_prefix(target) == Some("?page=1"))
}

impl Wrap for Door {
    type Carried = Visit;

    fn before(&self, request: Request) -> Before<Visit> {
        // HEAD arrives here as GET (`HeadAsGet` is outside the door).
        if request.method() != Method::GET {
            return Before::Pass(request, Visit::Passed(None));
        }
        let target = target(&request);
        let Some(address) = self.address(target) else {
            let target = target.to_owned();
            return Before::Pass(request, Visit::Passed(Some(target)));
        };
        let Some(page) = self.state.cache.get(&address.key) else {
            // Expired or invalidated: the router renders it again (or serves it stale while it does).
            let target = target.to_owned();
            return Before::Pass(request, Visit::Passed(Some(target)));
        };
        let started = Instant::now();
        let response = page_response(&self.state, request.headers(), &page);
        let note = RouteNote::of(&request);
        Before::Answer(response, Visit::Answered { route: address.route, note, started })
    }

    async fn after(
        self,
        visit: Visit,
        answer: impl std::future::Future<Output = Response> + Send + 'static,
    ) -> Response {
        let response = answer.await;
        match visit {
            Visit::Answered { route, note, started } => {
                // Polled inside the request's span, so the route lands in it.
                note.record(route.as_str());
                self.state.metrics.record_door_answer();
                self.state.metrics.record_request(route.as_str(), response.status().as_u16(), started.elapsed());
            }
            Visit::Passed(Some(target)) => {
                let extensions = response.extensions();
                if let (Some(Served(key)), Some(route)) = (extensions.get::<Served>(), extensions.get::<MatchedPath>())
                {
                    // A page sent with anything but the public policy (a thank-you notice is
                    // `no-store`) is for this reader only and never answered at the door.
                    let public =
                        response.headers().get(header::CACHE_CONTROL) == Some(&self.state.public_cache_control);
                    if public && learnable(&target, key) {
                        self.learn(target, Address { key: Arc::clone(key), route: route.clone() });
                    }
                }
            }
            Visit::Passed(None) => {}
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
        assert!(!learnable("/asia/a-story", "/asia/a-story?comment=published"));
    }
}
