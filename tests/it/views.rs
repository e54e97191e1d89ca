//! View counting: bots and repeats are not counted, a flood costs no write per view, and every
//! accepted view is in the totals after a flush.

use std::net::IpAddr;

use axum::body::Body;
use axum::http::{Method, StatusCode, header};

use crate::helpers::{REFERENCE_PATH, TestApp, beacon_of, texts};

const SLUG: &str = "kishidas-aim-for-us-visit-a-summit-with-north-koreas-kim-jong-un";

async fn beacon(app: &TestApp, url: &str, ip: IpAddr, user_agent: &str) -> (StatusCode, serde_json::Value) {
    let request = axum::http::Request::builder()
        .method(Method::POST)
        .uri(url)
        .header(header::USER_AGENT, user_agent)
        .extension(axum::extract::ConnectInfo(std::net::SocketAddr::new(ip, 40000)))
        .body(Body::empty())
        .expect("request");
    let response = app.send(request).await;
    let json = serde_json::from_slice(&response.body).unwrap_or(serde_json::Value::Null);
    (response.status, json)
}

#[tokio::test]
async fn a_bot_is_not_counted_and_a_repeat_within_thirty_minutes_is_not_counted() {
    let app = TestApp::spawn().await;
    let id = app.article_id(SLUG).await;
    let url = beacon_of(&app, REFERENCE_PATH).await;
    let before = app.state.store.bucketed_views(id).await.expect("views");

    let googlebot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";
    let (status, json) = beacon(&app, &url, [203, 0, 113, 1].into(), googlebot).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json["counted"], false);

    let reader: IpAddr = [203, 0, 113, 2].into();
    assert_eq!(beacon(&app, &url, reader, crate::helpers::BROWSER).await.1["counted"], true);
    assert_eq!(beacon(&app, &url, reader, crate::helpers::BROWSER).await.1["counted"], false, "repeat");

    assert_eq!(app.flush_views().await, 1);
    assert_eq!(app.state.store.bucketed_views(id).await.expect("views"), before + 1);
}

#[tokio::test]
async fn a_thousand_concurrent_beacons_are_all_counted_after_a_flush() {
    let app = TestApp::spawn().await;
    let id = app.article_id(SLUG).await;
    let url = beacon_of(&app, REFERENCE_PATH).await;
    let before_total = app.state.store.article_by_id(id).await.expect("store").expect("article").view_count;
    let before_buckets = app.state.store.bucketed_views(id).await.expect("views");

    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..1000u32 {
        let router = app.router.clone();
        let url = url.clone();
        tasks.spawn(async move {
            let ip: IpAddr = std::net::Ipv4Addr::from(0x0a00_0000 + n).into();
            let request = TestApp::request(Method::POST, &url, ip).body(Body::empty()).expect("request");
            tower::ServiceExt::oneshot(router, request).await.expect("answer").status()
        });
    }
    let mut ok = 0;
    while let Some(status) = tasks.join_next().await {
        assert_eq!(status.expect("task"), StatusCode::OK);
        ok += 1;
    }
    assert_eq!(ok, 1000);
    assert_eq!(app.state.views.pending_total(), 1000, "buffered in memory, not yet written");
    assert_eq!(app.state.store.bucketed_views(id).await.expect("views"), before_buckets);

    assert_eq!(app.flush_views().await, 1000);
    assert_eq!(app.state.views.pending_total(), 0);
    assert_eq!(app.state.store.bucketed_views(id).await.expect("views"), before_buckets + 1000);
    let after_total = app.state.store.article_by_id(id).await.expect("store").expect("article").view_count;
    assert_eq!(after_total, before_total + 1000);
    // The beacon now reports the live total.
    let (_, json) = beacon(&app, &url, [198, 51, 100, 7].into(), crate::helpers::BROWSER).await;
    assert_eq!(json["views"], serde_json::json!(after_total + 1));
}

#[tokio::test]
async fn the_page_shows_a_view_count_that_includes_buffered_views_once_the_cache_renews() {
    let app = TestApp::spawn_with(|s| s.cache.max_age_secs = 0, true).await;
    let url = beacon_of(&app, REFERENCE_PATH).await;
    let shown =
        |doc: &scraper::Html| texts(doc, "[data-view-count]")[0].replace(',', "").parse::<i64>().expect("number");
    let before = shown(&app.get(REFERENCE_PATH).await.html());
    for n in 0..3u8 {
        beacon(&app, &url, [192, 0, 2, n].into(), crate::helpers::BROWSER).await;
    }
    assert_eq!(shown(&app.get(REFERENCE_PATH).await.html()), before + 3);
}

#[tokio::test]
async fn a_beacon_with_a_forged_signature_is_refused() {
    let app = TestApp::spawn().await;
    let id = app.article_id(SLUG).await;
    let (status, _) =
        beacon(&app, &format!("/views/{id}/0000000000000000"), [192, 0, 2, 1].into(), crate::helpers::BROWSER).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(app.state.views.pending_total(), 0);
}

#[tokio::test]
async fn the_noscript_pixel_counts_too() {
    let app = TestApp::spawn().await;
    let url = beacon_of(&app, REFERENCE_PATH).await;
    let page = app.get(REFERENCE_PATH).await.text();
    assert!(page.contains(&format!("<noscript><img class=\"beacon-pixel\" src=\"{url}/pixel.gif\"")));
    let response = app.get(&format!("{url}/pixel.gif")).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.header(header::CONTENT_TYPE).as_deref(), Some("image/gif"));
    assert_eq!(app.state.views.pending_total(), 1);
}

#[tokio::test]
async fn asking_whether_the_pixel_is_there_counts_no_view() {
    let app = TestApp::spawn().await;
    let url = beacon_of(&app, REFERENCE_PATH).await;
    let head = |uri: String| {
        axum::http::Request::builder()
            .method(axum::http::Method::HEAD)
            .uri(uri)
            .header(header::USER_AGENT, crate::helpers::BROWSER)
            // The address and browser `app.get` sends from, so the GET below is the same reader.
            .extension(axum::extract::ConnectInfo(std::net::SocketAddr::from(([127, 0, 0, 1], 40000))))
            .body(axum::body::Body::empty())
            .expect("request")
    };
    let response = app.send(head(format!("{url}/pixel.gif"))).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.header(header::CONTENT_TYPE).as_deref(), Some("image/gif"));
    assert_eq!(app.state.views.pending_total(), 0, "a HEAD is not a reader seeing the page");
    let forged = url.rsplit_once('/').map(|(base, _)| format!("{base}/0000000000000000/pixel.gif")).expect("url");
    assert_eq!(app.send(head(forged)).await.status, StatusCode::NOT_FOUND);
    // The same reader's GET still counts.
    let response = app.get(&format!("{url}/pixel.gif")).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(app.state.views.pending_total(), 1);
}

#[tokio::test]
async fn views_do_not_invalidate_cached_pages() {
    let app = TestApp::spawn().await;
    let first = app.get(REFERENCE_PATH).await;
    let url = beacon_of(&app, REFERENCE_PATH).await;
    beacon(&app, &url, [192, 0, 2, 9].into(), crate::helpers::BROWSER).await;
    app.flush_views().await;
    let second = app.get(REFERENCE_PATH).await;
    assert_eq!(first.header(header::ETAG), second.header(header::ETAG));
}
