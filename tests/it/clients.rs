//! Who a client is, and what one client can do to the counts: forwarded addresses are believed only
//! from our own proxies and read from the right; one address is one reader whatever its user agent;
//! caps bound what one address adds; only browsers count; the `<noscript>` pixel has the same rules.

use std::net::IpAddr;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use broadsheet::config::Settings;

use crate::helpers::{BROWSER, REFERENCE_PATH, TestApp, attrs, beacon_of};
use crate::newsroom::encode;

const SLUG: &str = "kishidas-aim-for-us-visit-a-summit-with-north-koreas-kim-jong-un";
const LOOPBACK: [u8; 4] = [127, 0, 0, 1];

fn behind_one_proxy(settings: &mut Settings) {
    // The deprecated alias the multi-node test and older settings files use: one hop.
    settings.server.trust_forwarded_for = true;
}

/// A beacon (POST, or the GET pixel) from `peer` with the given headers.
async fn send_beacon(app: &TestApp, url: &str, pixel: bool, peer: IpAddr, headers: &[(&str, &str)]) {
    let (method, uri) = if pixel { (Method::GET, format!("{url}/pixel.gif")) } else { (Method::POST, url.to_owned()) };
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .extension(axum::extract::ConnectInfo(std::net::SocketAddr::new(peer, 40000)));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = app.send(request.body(Body::empty()).expect("request")).await;
    assert_eq!(response.status, StatusCode::OK);
}

/// How many views the article gained once the buffer is flushed.
async fn gained(app: &TestApp, id: broadsheet::domain::ArticleId, before: i64) -> i64 {
    app.flush_views().await;
    app.state.store.bucketed_views(id).await.expect("views") - before
}

#[tokio::test]
async fn fifty_views_with_rotating_spoofed_forwarded_addresses_count_as_one_reader() {
    let app = TestApp::spawn_with(behind_one_proxy, true).await;
    let id = app.article_id(SLUG).await;
    let url = beacon_of(&app, REFERENCE_PATH).await;
    let before = app.state.store.bucketed_views(id).await.expect("views");
    for n in 0..50u8 {
        // The client writes the left part; our proxy appends the address it saw.
        let forwarded = format!("198.18.{n}.{n}, 203.0.113.7");
        send_beacon(&app, &url, false, LOOPBACK.into(), &[("user-agent", BROWSER), ("x-forwarded-for", &forwarded)])
            .await;
    }
    assert_eq!(gained(&app, id, before).await, 1);
}

#[tokio::test]
async fn forty_failed_sign_ins_with_a_rotating_spoofed_forwarded_address_are_still_limited() {
    let app = TestApp::spawn_with(behind_one_proxy, true).await;
    let mut refused = 0;
    for n in 0..40u8 {
        let form = app.get("/admin/login").await;
        let cookie = crate::newsroom::set_cookie(&form, "bs_login").expect("login cookie");
        let cookie = cookie.split(';').next().expect("pair").to_owned();
        let token = attrs(&form.html(), "input[name=_csrf]", "value").pop().expect("form token");
        // A different (unknown) account each time, so only the per-address limit can apply.
        let email = format!("ghost{n}@news.test");
        let body = encode(&[("_csrf", &token), ("email", &email), ("password", "wrong"), ("next", "/admin")]);
        let request = TestApp::request(Method::POST, "/admin/login", LOOPBACK.into())
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, cookie)
            .header("x-forwarded-for", format!("198.18.{n}.1, 203.0.113.9"))
            .body(Body::from(body))
            .expect("request");
        if app.send(request).await.status == StatusCode::TOO_MANY_REQUESTS {
            refused += 1;
        }
    }
    let per_ip = app.state.settings.newsroom.login_failures_per_ip;
    assert_eq!(refused, 40 - per_ip, "the limit of {per_ip} failures per address held");
}

#[tokio::test]
async fn a_new_user_agent_does_not_make_a_new_reader_on_either_beacon() {
    let app = TestApp::spawn().await;
    let id = app.article_id(SLUG).await;
    let url = beacon_of(&app, REFERENCE_PATH).await;
    let before = app.state.store.bucketed_views(id).await.expect("views");
    let reader: IpAddr = [203, 0, 113, 50].into();
    for n in 0..500 {
        let agent = format!("{BROWSER} Edition/{n}");
        send_beacon(&app, &url, n % 2 == 0, reader, &[("user-agent", &agent)]).await;
    }
    assert_eq!(gained(&app, id, before).await, 1);
}

#[tokio::test]
async fn clients_that_are_not_browsers_are_not_counted_by_either_beacon() {
    let app = TestApp::spawn().await;
    let id = app.article_id(SLUG).await;
    let url = beacon_of(&app, REFERENCE_PATH).await;
    let before = app.state.store.bucketed_views(id).await.expect("views");
    let long = format!("Mozilla/5.0 {}", "x".repeat(600));
    for (n, agent) in ["x", "curl/8.5.0", "Mozilla/5.0", "python-requests/2.32.3", &long].iter().enumerate() {
        for pixel in [false, true] {
            let reader: IpAddr = [203, 0, 113, 60 + n as u8 * 2 + u8::from(pixel)].into();
            send_beacon(&app, &url, pixel, reader, &[("user-agent", agent)]).await;
        }
    }
    // A browser's user agent on a request the browser marks as coming from another site.
    for (n, site) in ["cross-site", "none"].iter().enumerate() {
        for pixel in [false, true] {
            let reader: IpAddr = [203, 0, 113, 90 + n as u8 * 2 + u8::from(pixel)].into();
            send_beacon(&app, &url, pixel, reader, &[("user-agent", BROWSER), ("sec-fetch-site", site)]).await;
        }
    }
    assert_eq!(gained(&app, id, before).await, 0);
    // The same browser from our own page counts.
    let reader: IpAddr = [203, 0, 113, 99].into();
    send_beacon(&app, &url, true, reader, &[("user-agent", BROWSER), ("sec-fetch-site", "same-origin")]).await;
    assert_eq!(gained(&app, id, before).await, 1);
}

#[tokio::test]
async fn forwarded_for_from_a_peer_outside_the_trusted_proxies_is_ignored() {
    let app =
        TestApp::spawn_with(|s| s.server.trusted_proxies = vec!["10.0.0.0/8".parse().expect("network")], true).await;
    let id = app.article_id(SLUG).await;
    let url = beacon_of(&app, REFERENCE_PATH).await;
    let before = app.state.store.bucketed_views(id).await.expect("views");
    let stranger: IpAddr = [198, 51, 100, 4].into();
    for n in 0..20u8 {
        let forwarded = format!("203.0.113.{n}");
        send_beacon(&app, &url, false, stranger, &[("user-agent", BROWSER), ("x-forwarded-for", &forwarded)]).await;
    }
    // From our proxy, the right-most untrusted entry is the reader.
    let proxy: IpAddr = [10, 1, 2, 3].into();
    for n in 0..20u8 {
        let forwarded = format!("198.18.0.{n}, 203.0.113.200, 10.9.9.9");
        send_beacon(&app, &url, false, proxy, &[("user-agent", BROWSER), ("x-forwarded-for", &forwarded)]).await;
    }
    assert_eq!(gained(&app, id, before).await, 2, "the stranger once, the proxied reader once");
}

/// Beacon URLs of `count` articles linked from the home page, other than `except`.
async fn beacons_of_articles(app: &TestApp, count: usize, except: &str) -> Vec<String> {
    let home = app.get("/").await;
    let mut paths = attrs(&home.html(), "a[href]", "href");
    paths.retain(|p| p.starts_with('/') && p.matches('/').count() == 2 && !p.starts_with("/authors/"));
    let mut beacons = Vec::new();
    for path in paths {
        let page = app.get(&path).await;
        if let Some(beacon) = attrs(&page.html(), "article[data-beacon]", "data-beacon").pop()
            && !beacons.contains(&beacon)
            && beacon != except
        {
            beacons.push(beacon);
        }
        if beacons.len() == count {
            break;
        }
    }
    assert_eq!(beacons.len(), count, "the demo home page links enough articles");
    beacons
}

#[tokio::test]
async fn one_address_is_capped_per_article_and_per_hour_so_popular_now_cannot_be_rigged() {
    let app = TestApp::spawn_with(
        |s| {
            // No dedupe window: only the caps stand between one address and the counts.
            s.views.dedupe_window_secs = 0;
            s.views.per_address_per_article_per_day = 3;
            s.views.per_address_per_hour = 5;
        },
        true,
    )
    .await;
    let id = app.article_id(SLUG).await;
    let url = beacon_of(&app, REFERENCE_PATH).await;
    let before = app.state.store.bucketed_views(id).await.expect("views");
    let rigger: IpAddr = [203, 0, 113, 66].into();
    for n in 0..1000 {
        send_beacon(&app, &url, n % 3 == 0, rigger, &[("user-agent", BROWSER)]).await;
    }
    assert_eq!(gained(&app, id, before).await, 3, "three views per article per day from one address");

    let others = beacons_of_articles(&app, 4, &url).await;
    for other in &others {
        send_beacon(&app, other, false, rigger, &[("user-agent", BROWSER)]).await;
    }
    assert_eq!(app.state.views.pending_total(), 2, "five per hour in all: three were used above");

    // Readers at other addresses are not held back by one address's caps.
    for n in 0..4u8 {
        send_beacon(&app, &url, false, [198, 51, 100, n].into(), &[("user-agent", BROWSER)]).await;
    }
    assert_eq!(app.state.views.pending_total(), 6);
}
