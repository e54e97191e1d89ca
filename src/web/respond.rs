//! Sending cached bytes: the encoding the client prefers, and 304 when it already has the page.

use axum::body::Body;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;

use crate::cache::Encodings;

/// The request's headers, moved out of it. Axum's `HeaderMap` extractor copies the map, and pages
/// served from the cache need the headers only to pick an encoding and check the ETag; as a
/// whole-request extractor this one must come last among a handler's arguments.
pub struct RequestHeaders(pub HeaderMap);

impl<S: Send + Sync> FromRequest<S> for RequestHeaders {
    type Rejection = std::convert::Infallible;

    async fn from_request(request: Request, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(request.into_parts().0.headers))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Brotli,
    Gzip,
    Identity,
}

/// Picks brotli, then gzip, then identity, honouring `q=0` refusals.
pub fn preferred_encoding(headers: &HeaderMap) -> Encoding {
    let Some(accept) = headers.get(header::ACCEPT_ENCODING).and_then(|v| v.to_str().ok()) else {
        return Encoding::Identity;
    };
    let accepts = |wanted: &str| {
        accept.split(',').any(|item| {
            let mut parts = item.split(';');
            let name = parts.next().unwrap_or("").trim();
            let refused = parts.any(|p| {
                p.trim().strip_prefix("q=").and_then(|q| q.trim().parse::<f32>().ok()).is_some_and(|q| q <= 0.0)
            });
            name.eq_ignore_ascii_case(wanted) && !refused
        })
    };
    if accepts("br") {
        Encoding::Brotli
    } else if accepts("gzip") {
        Encoding::Gzip
    } else {
        Encoding::Identity
    }
}

fn etag_matches(headers: &HeaderMap, etag: &HeaderValue) -> bool {
    let etag = etag.as_bytes();
    headers.get_all(header::IF_NONE_MATCH).iter().any(|value| {
        value.as_bytes().split(|&b| b == b',').any(|tag| {
            let tag = tag.trim_ascii();
            tag == etag || tag == b"*"
        })
    })
}

/// Builds a response from a body available in several encodings. Every header value is passed
/// ready-made (static or kept with the body), so answering from the cache copies no header text.
pub fn encoded(
    request_headers: &HeaderMap,
    status: StatusCode,
    content_type: HeaderValue,
    cache_control: HeaderValue,
    etag: &HeaderValue,
    body: &dyn Encodings,
) -> Response {
    let mut response = Response::new(Body::empty());
    let headers = response.headers_mut();
    // Room for these and for what the outer layers add (security headers, request id), so the
    // map is allocated once.
    headers.reserve(16);
    headers.insert(header::ETAG, etag.clone());
    headers.insert(header::CACHE_CONTROL, cache_control);
    headers.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    if status == StatusCode::OK && etag_matches(request_headers, etag) {
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        return response;
    }
    let (bytes, encoding) = match preferred_encoding(request_headers) {
        Encoding::Brotli => (body.brotli(), "br"),
        Encoding::Gzip => (body.gzip(), "gzip"),
        Encoding::Identity => (Bytes::new(), ""),
    };
    let (bytes, encoding) = if bytes.is_empty() { (body.identity(), None) } else { (bytes, Some(encoding)) };
    headers.insert(header::CONTENT_TYPE, content_type);
    // Said outright, so that the answer goes out with its length whichever layers wrap the body
    // (the compression layer's wrapper hides it, and hyper would then send the page chunked).
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
    if let Some(encoding) = encoding {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
    }
    *response.status_mut() = status;
    *response.body_mut() = Body::from(bytes);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(accept: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(accept).expect("header"));
        h
    }

    #[test]
    fn picks_the_best_accepted_encoding() {
        assert_eq!(preferred_encoding(&headers("gzip, deflate, br")), Encoding::Brotli);
        assert_eq!(preferred_encoding(&headers("gzip")), Encoding::Gzip);
        assert_eq!(preferred_encoding(&headers("br;q=0, gzip;q=0.5")), Encoding::Gzip);
        assert_eq!(preferred_encoding(&headers("identity")), Encoding::Identity);
        assert_eq!(preferred_encoding(&HeaderMap::new()), Encoding::Identity);
    }

    struct Page;

    impl Encodings for Page {
        fn identity(&self) -> Bytes {
            Bytes::from_static(b"<p>page</p>")
        }
        fn gzip(&self) -> Bytes {
            Bytes::new()
        }
        fn brotli(&self) -> Bytes {
            Bytes::new()
        }
    }

    fn answer(request: &HeaderMap) -> Response {
        let etag = HeaderValue::from_static("\"abc\"");
        let html = HeaderValue::from_static("text/html");
        encoded(request, StatusCode::OK, html, HeaderValue::from_static("public"), &etag, &Page)
    }

    #[test]
    fn a_matching_etag_gets_304_and_any_other_gets_the_page() {
        let mut matching = HeaderMap::new();
        matching.append(header::IF_NONE_MATCH, HeaderValue::from_static("\"old\""));
        matching.append(header::IF_NONE_MATCH, HeaderValue::from_static("\"older\", \"abc\""));
        let response = answer(&matching);
        assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(response.headers()[header::ETAG], "\"abc\"");
        assert!(response.headers().get(header::CONTENT_TYPE).is_none());

        let mut star = HeaderMap::new();
        star.insert(header::IF_NONE_MATCH, HeaderValue::from_static("*"));
        assert_eq!(answer(&star).status(), StatusCode::NOT_MODIFIED);

        let mut other = HeaderMap::new();
        other.insert(header::IF_NONE_MATCH, HeaderValue::from_static("\"abcd\", abc"));
        let response = answer(&other);
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "text/html");
        assert_eq!(response.headers()[header::VARY], "Accept-Encoding");
        assert!(response.headers().get(header::CONTENT_ENCODING).is_none(), "no compressed form: identity");
    }
}
