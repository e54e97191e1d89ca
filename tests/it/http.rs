//! HTTP behaviour: caching headers, compression, security headers, static assets, body limits.

use axum::body::Body;
use axum::http::{Method, StatusCode, header};

use crate::helpers::{REFERENCE_PATH, TestApp, attrs};

#[tokio::test]
async fn pages_carry_an_etag_and_answer_304_when_unchanged() {
    let app = TestApp::spawn().await;
    let first = app.get(REFERENCE_PATH).await;
    let etag = first.header(header::ETAG).expect("etag");
    let again = app.get_with(REFERENCE_PATH, header::IF_NONE_MATCH, &etag).await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert!(again.body.is_empty());
}

#[tokio::test]
async fn pages_are_served_with_brotli_or_gzip_as_the_client_prefers() {
    let app = TestApp::spawn().await;
    let plain = app.get("/").await;
    let br = app.get_with("/", header::ACCEPT_ENCODING, "gzip, deflate, br").await;
    assert_eq!(br.header(header::CONTENT_ENCODING).as_deref(), Some("br"));
    let mut decoded = Vec::new();
    brotli_decompress(&br.body, &mut decoded);
    assert_eq!(decoded, plain.body);
    let gz = app.get_with("/", header::ACCEPT_ENCODING, "gzip").await;
    assert_eq!(gz.header(header::CONTENT_ENCODING).as_deref(), Some("gzip"));
    assert!(gz.body.len() < plain.body.len() / 2);
    assert_eq!(plain.header(header::VARY).as_deref(), Some("Accept-Encoding"));
}

fn brotli_decompress(input: &[u8], out: &mut Vec<u8>) {
    brotli::BrotliDecompress(&mut &input[..], out).expect("valid brotli");
}

#[tokio::test]
async fn security_headers_are_on_every_response() {
    let app = TestApp::spawn().await;
    for path in ["/", REFERENCE_PATH, "/missing"] {
        let response = app.get(path).await;
        let csp = response.header(header::CONTENT_SECURITY_POLICY).expect("csp");
        assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"));
        assert_eq!(response.header(header::X_CONTENT_TYPE_OPTIONS).as_deref(), Some("nosniff"));
        assert_eq!(response.header(header::REFERRER_POLICY).as_deref(), Some("strict-origin-when-cross-origin"));
    }
    // No inline script anywhere on the page (the CSP would block it).
    let doc = app.get(REFERENCE_PATH).await.html();
    let inline = scraper::Selector::parse("script:not([src])").expect("selector");
    assert_eq!(doc.select(&inline).count(), 0);
}

#[tokio::test]
async fn static_assets_have_hashed_urls_and_long_lifetimes() {
    let app = TestApp::spawn().await;
    let doc = app.get("/").await.html();
    let css = attrs(&doc, "link[rel=stylesheet]", "href").pop().expect("stylesheet");
    assert!(css.starts_with("/static/site.") && css.ends_with(".css") && css.len() > "/static/site..css".len());
    let response = app.get(&css).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.header(header::CACHE_CONTROL).as_deref(), Some("public, max-age=31536000, immutable"));
    assert!(response.header(header::CONTENT_TYPE).is_some_and(|v| v.starts_with("text/css")));
    assert_eq!(app.get("/static/site.css").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn demo_images_are_served_and_paths_cannot_escape_the_media_folder() {
    let app = TestApp::spawn().await;
    let doc = app.get(REFERENCE_PATH).await.html();
    let image = attrs(&doc, ".featured-image img", "src").pop().expect("image");
    let response = app.get(&image).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.header(header::CONTENT_TYPE).as_deref(), Some("image/svg+xml"));
    for path in ["/media/../broadsheet.db", "/media/%2e%2e/broadsheet.db", "/media/demo/../../broadsheet.db"] {
        assert_eq!(app.get(path).await.status, StatusCode::NOT_FOUND, "{path}");
    }
}

#[tokio::test]
async fn oversized_bodies_are_refused_with_413() {
    let app = TestApp::spawn().await;
    let body = format!("name=A&body={}", "x".repeat(100 * 1024));
    let request = TestApp::request(Method::POST, &format!("{REFERENCE_PATH}/comments"), [192, 0, 2, 50].into())
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .expect("request");
    let response = app.send(request).await;
    assert_eq!(response.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(response.header(header::CONTENT_TYPE).is_some_and(|v| v.starts_with("text/html")));
}

#[tokio::test]
async fn oversized_beacons_are_refused_with_413() {
    let app = TestApp::spawn().await;
    let beacon = crate::helpers::beacon_of(&app, REFERENCE_PATH).await;
    // The beacon reads no body: the limit refuses it by its declared length, as a client sends it.
    let request = TestApp::request(Method::POST, &beacon, [192, 0, 2, 51].into())
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::CONTENT_LENGTH, 100 * 1024)
        .body(Body::from("x".repeat(100 * 1024)))
        .expect("request");
    assert_eq!(app.send(request).await.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn head_answers_carry_the_headers_of_get_and_no_body() {
    let app = TestApp::spawn().await;
    let image = attrs(&app.get(REFERENCE_PATH).await.html(), ".featured-image img", "src").pop().expect("image");
    // A cached page (compressed by its handler), an error page and an image that the compression
    // layer compresses, and a page not yet cached.
    for path in [REFERENCE_PATH, "/no-such-section/no-such-story", image.as_str(), "/corrections"] {
        let ask = |method: Method| {
            TestApp::request(method, path, [192, 0, 2, 52].into())
                .header(header::ACCEPT_ENCODING, "gzip")
                .body(Body::empty())
                .expect("request")
        };
        let head = app.send(ask(Method::HEAD)).await;
        let get = app.send(ask(Method::GET)).await;
        assert_eq!(head.status, get.status, "{path}");
        assert!(head.body.is_empty(), "{path}: a HEAD answer has no body");
        assert!(!get.body.is_empty(), "{path}");
        // Compressed by their handlers (pages) or by the compression layer (the image, the error
        // page), which is where HEAD and GET parted before.
        assert_eq!(get.header(header::CONTENT_ENCODING).as_deref(), Some("gzip"), "{path}");
        for name in [
            header::CONTENT_TYPE,
            header::CONTENT_ENCODING,
            header::CONTENT_LENGTH,
            header::VARY,
            header::CACHE_CONTROL,
        ] {
            assert_eq!(head.header(name.clone()), get.header(name.clone()), "{path}: {name}");
        }
    }
}

#[tokio::test]
async fn a_method_an_address_does_not_take_is_405_with_the_ones_it_does() {
    let app = TestApp::spawn().await;
    let request =
        TestApp::request(Method::DELETE, REFERENCE_PATH, [192, 0, 2, 53].into()).body(Body::empty()).expect("request");
    let response = app.send(request).await;
    assert_eq!(response.status, StatusCode::METHOD_NOT_ALLOWED);
    let allow = response.header(header::ALLOW).expect("a 405 says which methods the address takes");
    assert!(allow.split(',').any(|m| m.trim() == "GET"), "{allow}");
    assert!(response.header(header::CONTENT_TYPE).is_some_and(|v| v.starts_with("text/html")), "the error page");
}

#[tokio::test]
async fn concurrent_misses_of_one_page_render_it_once() {
    let app = TestApp::spawn().await;
    let renders = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let state = app.state.clone();
        let renders = std::sync::Arc::clone(&renders);
        tasks.spawn(async move {
            let headers = axum::http::HeaderMap::new();
            broadsheet::web::site::cached_page(&state, &headers, "/slow-page".into(), vec![], move || async move {
                renders.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                // A slow render keeps the other requests waiting on the same page.
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                Ok("<p>rendered</p>".to_owned())
            })
            .await
            .map(|response| response.status())
        });
    }
    while let Some(status) = tasks.join_next().await {
        assert_eq!(status.expect("task").expect("page"), StatusCode::OK);
    }
    assert_eq!(renders.load(std::sync::atomic::Ordering::SeqCst), 1);
}

fn door_answers(app: &TestApp) -> u64 {
    let text = app.state.metrics.render(&[], &[]);
    let line = text.lines().find(|l| l.starts_with("broadsheet_page_cache_door_answers_total ")).expect("door counter");
    line.rsplit(' ').next().expect("value").parse().expect("number")
}

/// Once the router has answered an address with a cached page, the door answers it before the
/// router: with the same status, body and headers (compressed, HEAD, conditional), until the page
/// changes; made-up query strings never get there, so they show what the router sends.
#[tokio::test]
async fn cached_pages_are_answered_at_the_door_as_the_router_answers_them() {
    let app = TestApp::spawn().await;
    let section = format!("/{}", REFERENCE_PATH.split('/').nth(1).expect("section"));
    for path in [REFERENCE_PATH, "/", section.as_str(), "/corrections"] {
        // No `Accept-Encoding` at all (identity), or one the page handlers settle.
        let ask = |method: Method, path: &str, encoding: Option<&str>| {
            let request = TestApp::request(method, path, [192, 0, 2, 60].into());
            let request = match encoding {
                Some(encoding) => request.header(header::ACCEPT_ENCODING, encoding),
                None => request,
            };
            request.body(Body::empty()).expect("request")
        };
        // Rendered and cached by the router; the door learns the address from that answer.
        let rendered = app.send(ask(Method::GET, path, None)).await;
        assert_eq!(rendered.status, StatusCode::OK, "{path}");
        // The same page from the router, asked with a query string the door never learns.
        let via_router = format!("{path}{}via=router", if path.contains('?') { '&' } else { '?' });
        let routed = app.send(ask(Method::GET, &via_router, None)).await;
        let routed_gzip = app.send(ask(Method::GET, &via_router, Some("gzip"))).await;
        let routed_head = app.send(ask(Method::HEAD, &via_router, Some("gzip"))).await;
        let before = door_answers(&app);
        let at_door = app.send(ask(Method::GET, path, None)).await;
        let gzip_at_door = app.send(ask(Method::GET, path, Some("gzip"))).await;
        let head_at_door = app.send(ask(Method::HEAD, path, Some("gzip"))).await;
        let etag = at_door.header(header::ETAG).expect("etag");
        let conditional = TestApp::request(Method::GET, path, [192, 0, 2, 60].into())
            .header(header::IF_NONE_MATCH, etag)
            .body(Body::empty())
            .expect("request");
        let not_modified = app.send(conditional).await;
        assert_eq!(door_answers(&app), before + 4, "{path}: all four answered at the door");

        assert_eq!(at_door.status, StatusCode::OK, "{path}");
        assert_eq!(at_door.body, rendered.body, "{path}");
        assert_eq!(at_door.body, routed.body, "{path}");
        assert_eq!(gzip_at_door.body, routed_gzip.body, "{path}");
        assert!(head_at_door.body.is_empty() && routed_head.body.is_empty(), "{path}");
        assert_eq!(not_modified.status, StatusCode::NOT_MODIFIED, "{path}");
        let surrogate = header::HeaderName::from_static("surrogate-key");
        for name in [
            header::CONTENT_TYPE,
            header::CONTENT_LENGTH,
            header::CONTENT_ENCODING,
            header::ETAG,
            header::LAST_MODIFIED,
            header::CACHE_CONTROL,
            header::VARY,
            header::CONTENT_SECURITY_POLICY,
            header::X_CONTENT_TYPE_OPTIONS,
            header::X_FRAME_OPTIONS,
            header::REFERRER_POLICY,
            surrogate,
        ] {
            assert_eq!(at_door.header(name.clone()), routed.header(name.clone()), "{path}: {name}");
            assert_eq!(gzip_at_door.header(name.clone()), routed_gzip.header(name.clone()), "{path}: gzip {name}");
            assert_eq!(head_at_door.header(name.clone()), routed_head.header(name.clone()), "{path}: HEAD {name}");
        }
        assert!(at_door.header(header::HeaderName::from_static("x-request-id")).is_some(), "{path}");

        // Encodings only the compression layer settles are left to the router: it compresses for
        // `*`, and refuses a request that will take no encoding it has (406).
        let before = door_answers(&app);
        for encoding in ["*", "deflate, *;q=0.5"] {
            let answer = app.send(ask(Method::GET, path, Some(encoding))).await;
            assert_eq!(answer.status, StatusCode::OK, "{path} {encoding}");
            assert!(answer.header(header::CONTENT_ENCODING).is_some(), "{path} {encoding}: compressed by the router");
        }
        let refused = app.send(ask(Method::GET, path, Some("identity;q=0"))).await;
        assert_ne!(refused.status, StatusCode::OK, "{path}: the router's answer, not the door's 200");
        assert_eq!(door_answers(&app), before, "{path}: left to the router");
    }

    // The thank-you page after a comment is for its reader alone: never learned by the door.
    let notice = format!("{REFERENCE_PATH}?comment=published");
    let before = door_answers(&app);
    for _ in 0..3 {
        let answer = app.get(&notice).await;
        assert_eq!(answer.header(header::CACHE_CONTROL).as_deref(), Some("no-store"));
    }
    assert_eq!(door_answers(&app), before, "a page for one reader is not answered at the door");

    // A comment changes the article's page: the door steps aside and the router shows the comment.
    let comment = "Answered by the router, not the door.";
    let comments = format!("{REFERENCE_PATH}/comments");
    let posted = app.post_form(&comments, &[("name", "Ana"), ("body", comment)], [192, 0, 2, 61].into()).await;
    assert_eq!(posted.status, StatusCode::SEE_OTHER);
    let before = door_answers(&app);
    let page = app.get(REFERENCE_PATH).await;
    assert_eq!(door_answers(&app), before, "a changed page is not answered at the door");
    assert!(crate::helpers::texts(&page.html(), ".comment-body").iter().any(|c| c == comment));
    assert_eq!(app.get(REFERENCE_PATH).await.body, page.body);
    assert_eq!(door_answers(&app), before + 1, "the new page is answered at the door again");

    // A query string the page does not take is answered by the router every time.
    let tracked = format!("{REFERENCE_PATH}?utm_source=newsletter");
    for _ in 0..3 {
        assert_eq!(app.get(&tracked).await.status, StatusCode::OK);
    }
    assert_eq!(door_answers(&app), before + 1, "made-up query strings are not learned");
}

/// An article the door has learned is taken down through the newsroom: the change hook clears the
/// page, so the very next request is the router's 410, never the door's copy of the story.
#[tokio::test]
async fn an_unpublished_article_is_not_answered_at_the_door() {
    use broadsheet::domain::Role;
    use broadsheet::newsroom::articles::{self, Actor, Newsroom};
    use broadsheet::newsroom::workflow::Step;

    let app = TestApp::spawn().await;
    for _ in 0..2 {
        assert_eq!(app.get(REFERENCE_PATH).await.status, StatusCode::OK);
    }
    let before = door_answers(&app);
    assert_eq!(app.get(REFERENCE_PATH).await.status, StatusCode::OK);
    assert_eq!(door_answers(&app), before + 1, "the door has learned the story");

    let editor = app.add_user("door-editor@news.test", "Door Editor", Role::Editor).await;
    let actor = Actor { user_id: editor.id, author_id: editor.author_id, role: Role::Editor };
    let newsroom =
        Newsroom { store: app.state.store.as_ref(), changes: &app.state, disk: &app.state.disk, zone: chrono_tz::UTC };
    let id = app.article_id(REFERENCE_PATH.rsplit('/').next().expect("slug")).await;
    let to =
        articles::take_step(newsroom, &actor, id, Step::Unpublish, "", chrono::Utc::now()).await.expect("unpublish");
    assert_eq!(to, broadsheet::domain::ArticleStatus::Unpublished);

    let before = door_answers(&app);
    for _ in 0..2 {
        assert_eq!(app.get(REFERENCE_PATH).await.status, StatusCode::GONE);
    }
    assert_eq!(door_answers(&app), before, "a withdrawn story is never answered at the door");
}
