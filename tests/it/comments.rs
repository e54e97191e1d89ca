//! Comments: the 300-character limit in user-perceived characters, moderation, the honeypot, the
//! rate limit, and escaping.

use std::net::IpAddr;

use axum::http::{StatusCode, header};

use crate::helpers::{REFERENCE_PATH, TestApp, texts};

const SLUG: &str = "kishidas-aim-for-us-visit-a-summit-with-north-koreas-kim-jong-un";

fn comments_url() -> String {
    format!("{REFERENCE_PATH}/comments")
}

fn ip(n: u8) -> IpAddr {
    [198, 51, 100, n].into()
}

async fn comment_bodies(app: &TestApp) -> Vec<String> {
    let id = app.article_id(SLUG).await;
    app.state.store.published_comments(id, 10_000, 0).await.expect("comments").into_iter().map(|c| c.body).collect()
}

#[tokio::test]
async fn exactly_300_characters_with_emoji_at_the_boundary_are_accepted() {
    let app = TestApp::spawn().await;
    let thumbs = "👍🏽";
    let family = "👨‍👩‍👧‍👦";
    let body = format!("{}{}{}", "a".repeat(298), thumbs, family);
    let response = app.post_form(&comments_url(), &[("name", "Ana"), ("body", &body)], ip(1)).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert_eq!(response.header(header::LOCATION), Some(format!("{REFERENCE_PATH}?comment=published#comments")));
    assert!(comment_bodies(&app).await.contains(&body));

    // The published comment is on the page at once: posting invalidates the cached article.
    let page = app.get(REFERENCE_PATH).await;
    assert!(texts(&page.html(), ".comment-body").contains(&body));
    let notice = app.get(&format!("{REFERENCE_PATH}?comment=published")).await;
    assert!(texts(&notice.html(), ".notice")[0].contains("published"));
}

#[tokio::test]
async fn three_hundred_and_one_characters_are_refused_with_the_text_kept() {
    let app = TestApp::spawn().await;
    let body = format!("{}👨‍👩‍👧‍👦👍🏽", "b".repeat(299));
    let before = comment_bodies(&app).await.len();
    let response = app.post_form(&comments_url(), &[("name", "Ben"), ("body", &body)], ip(2)).await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    let doc = response.html();
    assert_eq!(texts(&doc, "#comment-error"), vec!["Comments can be at most 300 characters long; yours has 301."]);
    assert_eq!(texts(&doc, "#comment-body"), vec![body]);
    let names = crate::helpers::attrs(&doc, "#comment-name", "value");
    assert_eq!(names, vec!["Ben"]);
    assert_eq!(comment_bodies(&app).await.len(), before);
}

#[tokio::test]
async fn empty_name_or_body_is_refused_clearly() {
    let app = TestApp::spawn().await;
    let response = app.post_form(&comments_url(), &[("name", "  "), ("body", "Hello")], ip(3)).await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(texts(&response.html(), "#comment-error"), vec!["Please enter your name."]);
    let response = app.post_form(&comments_url(), &[("name", "Ana"), ("body", "\n ")], ip(3)).await;
    assert_eq!(texts(&response.html(), "#comment-error"), vec!["Please write a comment before sending it."]);
}

#[tokio::test]
async fn a_comment_with_a_link_is_held_for_moderation_and_the_reader_is_told() {
    let app = TestApp::spawn().await;
    let body = "Great analysis, more at https://example.com/more";
    let response = app.post_form(&comments_url(), &[("name", "Cy"), ("body", body)], ip(4)).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert_eq!(response.header(header::LOCATION), Some(format!("{REFERENCE_PATH}?comment=held#comments")));
    assert!(!comment_bodies(&app).await.contains(&body.to_owned()), "held comments are not published");
    let page = app.get(&format!("{REFERENCE_PATH}?comment=held")).await;
    assert!(texts(&page.html(), ".notice")[0].contains("moderator"));
}

#[tokio::test]
async fn a_blocked_word_is_held() {
    let app = TestApp::spawn().await;
    let response = app.post_form(&comments_url(), &[("name", "Di"), ("body", "Visit my CASINO tonight")], ip(5)).await;
    assert_eq!(response.header(header::LOCATION), Some(format!("{REFERENCE_PATH}?comment=held#comments")));
}

#[tokio::test]
async fn the_honeypot_discards_bot_comments() {
    let app = TestApp::spawn().await;
    let before = comment_bodies(&app).await.len();
    let fields = [("name", "Bot"), ("body", "Nice post"), ("website", "http://spam.example")];
    let response = app.post_form(&comments_url(), &fields, ip(6)).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert_eq!(comment_bodies(&app).await.len(), before);
    let id = app.article_id(SLUG).await;
    let count = app.state.store.article_by_id(id).await.expect("store").expect("article").comment_count;
    assert_eq!(count as usize, before);
}

#[tokio::test]
async fn the_sixth_comment_in_a_minute_from_one_address_gets_429() {
    let app = TestApp::spawn().await;
    for n in 0..5 {
        let body = format!("Comment number {n}");
        let response = app.post_form(&comments_url(), &[("name", "Eve"), ("body", &body)], ip(7)).await;
        assert_eq!(response.status, StatusCode::SEE_OTHER, "comment {n}");
    }
    let response = app.post_form(&comments_url(), &[("name", "Eve"), ("body", "One more")], ip(7)).await;
    assert_eq!(response.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.header(header::RETRY_AFTER).as_deref(), Some("60"));
    assert_eq!(texts(&response.html(), "h1"), vec!["Please slow down"]);
    // Another reader is not affected.
    let other = app.post_form(&comments_url(), &[("name", "Fay"), ("body", "Hello")], ip(8)).await;
    assert_eq!(other.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn an_xss_payload_is_rendered_inert_with_line_breaks_kept() {
    let app = TestApp::spawn().await;
    let body = "<script>alert('x')</script>\n<img src=x onerror=alert(1)>";
    let name = "<b onmouseover=alert(1)>Mallory</b>";
    let response = app.post_form(&comments_url(), &[("name", name), ("body", body)], ip(9)).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    let page = app.get(REFERENCE_PATH).await;
    let html = page.text();
    assert!(!html.contains("<script>alert"), "script tag escaped");
    assert!(!html.contains("<img src=x"), "img tag escaped");
    assert!(html.contains("&lt;script&gt;alert("));
    let doc = page.html();
    assert!(texts(&doc, ".comment-meta strong").contains(&name.to_owned()), "shown as text");
    let stored = comment_bodies(&app).await;
    assert!(stored.contains(&body.to_owned()), "stored as typed, line break kept");
}

#[tokio::test]
async fn comments_on_a_missing_article_are_refused() {
    let app = TestApp::spawn().await;
    let response = app.post_form("/asia/no-such-story/comments", &[("name", "Ana"), ("body", "Hi")], ip(10)).await;
    assert_eq!(response.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn concurrent_comments_are_all_acknowledged_and_stored() {
    let app = TestApp::spawn().await;
    let before = comment_bodies(&app).await.len();
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..200u32 {
        let router = app.router.clone();
        tasks.spawn(async move {
            let ip: IpAddr = std::net::Ipv4Addr::from(0x0b00_0000 + n).into();
            let body = format!("name=Reader+{n}&body=Concurrent+comment+{n}");
            let request = TestApp::request(axum::http::Method::POST, &comments_url(), ip)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(axum::body::Body::from(body))
                .expect("request");
            tower::ServiceExt::oneshot(router, request).await.expect("answer").status()
        });
    }
    while let Some(status) = tasks.join_next().await {
        assert_eq!(status.expect("task"), StatusCode::SEE_OTHER);
    }
    let stored = comment_bodies(&app).await;
    assert_eq!(stored.len(), before + 200);
    for n in 0..200 {
        assert!(stored.contains(&format!("Concurrent comment {n}")));
    }
    let id = app.article_id(SLUG).await;
    let count = app.state.store.article_by_id(id).await.expect("store").expect("article").comment_count;
    assert_eq!(count as usize, before + 200, "the running count matches the rows");
}

#[tokio::test]
async fn a_batch_with_a_comment_on_a_missing_article_stores_the_others() {
    let app = TestApp::spawn().await;
    let id = app.article_id(SLUG).await;
    let comment = |article_id: broadsheet::domain::ArticleId, body: &str| broadsheet::store::NewComment {
        article_id,
        author_name: "Ana".into(),
        body: body.into(),
        status: broadsheet::domain::CommentStatus::Published,
        fingerprint: "test".into(),
        created_at: chrono::Utc::now(),
    };
    let results = app
        .state
        .store
        .insert_comments(&[
            comment(id, "first"),
            comment(broadsheet::domain::ArticleId(999_999), "orphan"),
            comment(id, "third"),
        ])
        .await
        .expect("batch");
    assert!(results[0].is_ok());
    assert!(matches!(results[1], Err(broadsheet::store::StoreError::Missing(_))));
    assert!(results[2].is_ok());
    let bodies = comment_bodies(&app).await;
    assert!(bodies.contains(&"first".to_owned()) && bodies.contains(&"third".to_owned()));
}

/// Comments sent in the same instant (the group commit stores a batch with one time) keep the
/// order in which they were stored, newest first, on the article page as on its comments pages.
#[tokio::test]
async fn comments_of_one_instant_are_shown_newest_first_by_their_order_of_arrival() {
    let app = TestApp::spawn().await;
    let id = app.article_id(SLUG).await;
    let instant = chrono::Utc::now() - chrono::Duration::minutes(5);
    let comments: Vec<_> = ["first", "second", "third"]
        .iter()
        .map(|body| broadsheet::store::NewComment {
            article_id: id,
            author_name: "Reader".into(),
            body: format!("Same-instant comment {body}"),
            status: broadsheet::domain::CommentStatus::Published,
            fingerprint: "test".into(),
            created_at: instant,
        })
        .collect();
    app.state.store.insert_comments(&comments).await.expect("batch");
    app.state.cache.invalidate(&broadsheet::cache::Dependency::Article(id));

    let same_instant = |shown: Vec<String>| -> Vec<String> {
        shown.into_iter().filter(|body| body.starts_with("Same-instant")).collect()
    };
    let expected = ["Same-instant comment third", "Same-instant comment second", "Same-instant comment first"];
    let page = app.get(REFERENCE_PATH).await.html();
    assert_eq!(same_instant(texts(&page, ".comment-list .comment-body")), expected);
    let all = app.get(&format!("{REFERENCE_PATH}/comments")).await.html();
    assert_eq!(same_instant(texts(&all, ".comment-body")), expected);
}

#[tokio::test]
async fn a_story_with_many_comments_shows_the_newest_fifty_and_pages_the_rest() {
    let app = TestApp::spawn().await;
    let id = app.article_id(SLUG).await;
    let start = chrono::Utc::now() - chrono::Duration::hours(1);
    let comments: Vec<_> = (0..150)
        .map(|n| broadsheet::store::NewComment {
            article_id: id,
            author_name: "Reader".into(),
            body: format!("Numbered comment {n}"),
            status: broadsheet::domain::CommentStatus::Published,
            fingerprint: "test".into(),
            created_at: start + chrono::Duration::seconds(n),
        })
        .collect();
    app.state.store.insert_comments(&comments).await.expect("batch");
    app.state.cache.invalidate(&broadsheet::cache::Dependency::Article(id));

    let doc = app.get(REFERENCE_PATH).await.html();
    let shown = texts(&doc, ".comment-list .comment-body");
    assert_eq!(shown.len(), 50);
    assert_eq!(shown[0], "Numbered comment 149", "newest first");
    let total = app.state.store.article_by_id(id).await.expect("store").expect("article").comment_count;
    let more = crate::helpers::attrs(&doc, ".more-comments a", "href");
    assert_eq!(more, vec![format!("{REFERENCE_PATH}/comments")]);
    assert_eq!(texts(&doc, ".more-comments a"), vec![format!("Read all {total} comments")]);

    let first = app.get(&format!("{REFERENCE_PATH}/comments")).await;
    assert_eq!(first.status, StatusCode::OK);
    let first = first.html();
    assert_eq!(texts(&first, ".comment-body").len(), 100);
    assert_eq!(
        crate::helpers::attrs(&first, ".pagination a[rel=next]", "href"),
        vec![format!("{REFERENCE_PATH}/comments?page=2")]
    );
    let second = app.get(&format!("{REFERENCE_PATH}/comments?page=2")).await.html();
    assert_eq!(texts(&second, ".comment-body").len() as i64, total - 100);
    assert_eq!(app.get(&format!("{REFERENCE_PATH}/comments?page=9")).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
#[ignore = "needs BROADSHEET_TEST_POSTGRES: only PostgreSQL is shared by nodes (one SQLite node's limit is tested above)"]
async fn postgres_nodes_share_the_comment_limit() {
    let app = TestApp::spawn().await;
    assert!(app.state.store.shared_by_nodes(), "BROADSHEET_TEST_POSTGRES is not set: there is only one node");
    // A second node: its own state and router, on the same database.
    let second = broadsheet::web::AppState::new(app.state.settings.as_ref().clone(), app.second_store().await)
        .await
        .expect("second node");
    let second = broadsheet::web::router(second);
    let reader: std::net::IpAddr = [198, 51, 100, 23].into();
    let path = format!("{REFERENCE_PATH}/comments");
    let post = |router: axum::Router, n: usize| {
        let path = path.clone();
        async move {
            let body = format!("name=Reader&body=Comment+number+{n}&website=");
            let request = TestApp::request(axum::http::Method::POST, &path, reader)
                .header(axum::http::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(axum::body::Body::from(body))
                .expect("request");
            tower::ServiceExt::oneshot(router, request).await.expect("answer").status()
        }
    };
    let mut statuses = Vec::new();
    for n in 0..5 {
        let router = if n % 2 == 0 { app.router.clone() } else { second.clone() };
        statuses.push(post(router, n).await);
    }
    assert!(statuses.iter().all(|s| *s == axum::http::StatusCode::SEE_OTHER), "{statuses:?}");
    // The sixth in the minute is refused whichever node it reaches.
    assert_eq!(post(second.clone(), 5).await, axum::http::StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(post(app.router.clone(), 6).await, axum::http::StatusCode::TOO_MANY_REQUESTS);
}
