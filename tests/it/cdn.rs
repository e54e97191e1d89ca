//! CDN-ready HTTP caching: public pages are cacheable by shared caches and carry surrogate keys;
//! personal and CMS pages are not; a change sends one purge naming exactly the keys it affects.

use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode, header};
use broadsheet::domain::{ArticleStatus, Role};

use crate::helpers::{REFERENCE_PATH, TestApp};

#[tokio::test]
async fn public_pages_are_cacheable_by_a_cdn_and_name_what_they_show() {
    let app = TestApp::spawn().await;
    let id = app.article_id(REFERENCE_PATH.rsplit('/').next().expect("slug")).await;
    let page = app.get(REFERENCE_PATH).await;
    let cache_control = page.header(header::CACHE_CONTROL).expect("cache-control");
    assert_eq!(cache_control, "public, max-age=0, s-maxage=60, stale-while-revalidate=30, stale-if-error=86400");
    let keys = page.header(header::HeaderName::from_static("surrogate-key")).expect("surrogate keys");
    let keys: Vec<&str> = keys.split(' ').collect();
    assert!(
        keys.contains(&"site") && keys.contains(&"lists") && keys.contains(&format!("article-{id}").as_str()),
        "{keys:?}"
    );
    assert!(page.header(header::LAST_MODIFIED).expect("last-modified").ends_with(" GMT"));
    let etag = page.header(header::ETAG).expect("etag");
    let again = app.get_with(REFERENCE_PATH, header::IF_NONE_MATCH, &etag).await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);

    let home = app.get("/").await;
    assert_eq!(home.header(header::HeaderName::from_static("surrogate-key")).as_deref(), Some("site lists"));

    // Personal answers are never stored by anyone.
    let notice = app.get(&format!("{REFERENCE_PATH}?comment=published")).await;
    assert_eq!(notice.header(header::CACHE_CONTROL).as_deref(), Some("no-store"));
    let login = app.get("/admin/login").await;
    assert_eq!(login.header(header::CACHE_CONTROL).as_deref(), Some("private, no-store"));
    let missing = app.get("/no-such-page").await;
    assert_eq!(missing.header(header::CACHE_CONTROL).as_deref(), Some("no-store"));
}

/// A stand-in for the CDN's purge API that records what it is asked to purge.
async fn purge_recorder() -> (String, Arc<Mutex<Vec<HeaderMap>>>) {
    let seen: Arc<Mutex<Vec<HeaderMap>>> = Arc::default();
    let record = Arc::clone(&seen);
    let app = axum::Router::new().fallback(move |headers: HeaderMap| {
        let record = Arc::clone(&record);
        async move {
            record.lock().expect("lock").push(headers);
            StatusCode::OK
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    (format!("http://{addr}/service/test/purge"), seen)
}

async fn purged_keys(seen: &Arc<Mutex<Vec<HeaderMap>>>, want: &[String]) -> Vec<String> {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let keys: Vec<String> = seen
            .lock()
            .expect("lock")
            .iter()
            .filter_map(|h| h.get("surrogate-key").and_then(|v| v.to_str().ok()).map(str::to_owned))
            .flat_map(|v| v.split(' ').map(str::to_owned).collect::<Vec<_>>())
            .collect();
        if want.iter().all(|k| keys.contains(k)) || tokio::time::Instant::now() > deadline {
            return keys;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn publishing_purges_exactly_the_affected_keys_at_the_cdn() {
    let (url, seen) = purge_recorder().await;
    let app = TestApp::spawn_with(
        |s| {
            s.cdn.purge_url = Some(url);
            s.cdn.purge_headers = vec!["Fastly-Key: test-token".into()];
        },
        true,
    )
    .await;
    let editor = app.add_user("e@news.test", "Edna Editor", Role::Editor).await;
    let id = app.draft_by(&editor, "purged-story").await;
    let e = app.sign_in(&editor).await;
    let published = app.admin_post(&e, &format!("/admin/articles/{id}/workflow"), &[("step", "publish")]).await;
    assert_eq!(published.status, StatusCode::SEE_OTHER);
    assert_eq!(app.status_of(id).await, ArticleStatus::Published);
    let want = vec![format!("article-{id}"), "lists".to_owned()];
    let keys = purged_keys(&seen, &want).await;
    assert!(want.iter().all(|k| keys.contains(k)), "{keys:?}");
    assert!(!keys.contains(&"site".to_owned()), "publishing one story does not purge the whole site: {keys:?}");
    let first = seen.lock().expect("lock")[0].clone();
    assert_eq!(first.get("fastly-key").and_then(|v| v.to_str().ok()), Some("test-token"));

    // A comment purges only its article's page.
    seen.lock().expect("lock").clear();
    app.post_form(
        &format!("{REFERENCE_PATH}/comments"),
        &[("name", "Min"), ("body", "Thanks for this."), ("website", "")],
        [192, 0, 2, 44].into(),
    )
    .await;
    let reference = app.article_id(REFERENCE_PATH.rsplit('/').next().expect("slug")).await;
    let keys = purged_keys(&seen, &[format!("article-{reference}")]).await;
    assert!(keys.contains(&format!("article-{reference}")), "{keys:?}");
    // Publishing also refreshes related stories in the background and then purges the published
    // story's page once more; that purge may arrive now, or be sent together with this one.
    let late = format!("article-{id}");
    assert!(
        keys.iter().all(|k| *k == format!("article-{reference}") || *k == late),
        "a comment purges its article's page and nothing else: {keys:?}"
    );
}
