//! Sending cached bytes: the encoding the client prefers, and 304 when it already has the page.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use crate::cache::Encodings;

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

fn etag_matches(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|tag| tag.trim() == etag || tag.trim() == "*"))
}

/// Builds a response from a body available in several encodings.
pub fn encoded(
    request_headers: &HeaderMap,
    status: StatusCode,
    content_type: &'static str,
    cache_control: &'static str,
    etag: &str,
    body: &dyn Encodings,
) -> Response {
    let etag_value = HeaderValue::from_str(etag).unwrap_or_else(|_| HeaderValue::from_static("\"0\""));
    let mut builder = Response::builder()
        .header(header::ETAG, etag_value)
        .header(header::CACHE_CONTROL, cache_control)
        .header(header::VARY, "Accept-Encoding");
    if status == StatusCode::OK && etag_matches(request_headers, etag) {
        return built(builder.status(StatusCode::NOT_MODIFIED).body(Body::empty()));
    }
    let (bytes, encoding) = match preferred_encoding(request_headers) {
        Encoding::Brotli => (body.brotli(), "br"),
        Encoding::Gzip => (body.gzip(), "gzip"),
        Encoding::Identity => (Bytes::new(), ""),
    };
    let (bytes, encoding) = if bytes.is_empty() { (body.identity(), None) } else { (bytes, Some(encoding)) };
    builder = builder.status(status).header(header::CONTENT_TYPE, content_type);
    if let Some(encoding) = encoding {
        builder = builder.header(header::CONTENT_ENCODING, encoding);
    }
    built(builder.body(Body::from(bytes)))
}

/// A response that could not be built (a header value we made is invalid) is a bug on our side:
/// it is logged and answered with 500, never with an empty 200 that a cache would keep.
fn built(response: Result<Response, axum::http::Error>) -> Response {
    response.unwrap_or_else(|e| {
        tracing::error!(error = %e, "cannot build a response");
        StatusCode::INTERNAL_SERVER_ERROR.into_response()
    })
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

    #[test]
    fn a_response_that_cannot_be_built_is_a_500_not_an_empty_200() {
        let good = encoded(&HeaderMap::new(), StatusCode::OK, "text/html", "no-store", "\"1\"", &Page);
        assert_eq!(good.status(), StatusCode::OK);
        let broken = encoded(&HeaderMap::new(), StatusCode::OK, "text/html", "no-store\nx", "\"1\"", &Page);
        assert_eq!(broken.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
