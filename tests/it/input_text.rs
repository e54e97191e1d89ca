//! Text and links people type, through the real forms: invisible-only text is empty, direction
//! overrides and control characters are dropped, towers of combining marks are refused with the
//! text kept, and link fields refuse what a browser would take to another host. Also: the query
//! string cannot be used to miss the page cache.

use std::net::IpAddr;

use axum::http::{StatusCode, header};
use broadsheet::domain::Role;

use crate::helpers::{REFERENCE_PATH, TestApp, attrs, texts};
use crate::newsroom::{as_refs, editor_form, fields_of, version_of};

const SLUG: &str = "kishidas-aim-for-us-visit-a-summit-with-north-koreas-kim-jong-un";

fn ip(n: u8) -> IpAddr {
    [198, 51, 100, n].into()
}

#[tokio::test]
async fn the_comment_notice_and_unknown_query_parameters_do_not_miss_the_page_cache() {
    let app = TestApp::spawn().await;
    app.get(REFERENCE_PATH).await;
    let entries = app.state.cache.len();

    let held_key = format!("{REFERENCE_PATH}?comment=held");
    let first = app.get(&held_key).await;
    assert!(texts(&first.html(), ".notice")[0].contains("approved"));
    assert_eq!(first.header(header::CACHE_CONTROL).as_deref(), Some("no-store"), "not kept by CDNs or browsers");
    assert!(app.state.cache.get(&held_key).is_some(), "the notice page is rendered once and then served from memory");
    assert_eq!(app.state.cache.len(), entries + 1);

    for query in ["?comment=bogus", "?utm_source=x&fbclid=1", "?comment=held2&x=1", "?page=7"] {
        let response = app.get(&format!("{REFERENCE_PATH}{query}")).await;
        assert_eq!(response.status, StatusCode::OK, "{query}");
        assert!(texts(&response.html(), ".notice").is_empty(), "{query}");
    }
    assert_eq!(app.state.cache.len(), entries + 1, "unknown parameters make no cache entries");
}

async fn published_bodies(app: &TestApp) -> Vec<String> {
    let id = app.article_id(SLUG).await;
    app.state.store.published_comments(id, 10_000, 0).await.expect("comments").into_iter().map(|c| c.body).collect()
}

#[tokio::test]
async fn comments_of_invisible_characters_are_refused_and_bidi_overrides_dropped() {
    let app = TestApp::spawn().await;
    let url = format!("{REFERENCE_PATH}/comments");
    let before = published_bodies(&app).await.len();

    let invisible = "\u{200B}\u{200C}\u{200D}\u{FEFF}\u{2060}";
    let response = app.post_form(&url, &[("name", "Ana"), ("body", invisible)], ip(1)).await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(texts(&response.html(), "#comment-error"), vec!["Please write a comment before sending it."]);

    let response = app.post_form(&url, &[("name", "\u{FEFF}"), ("body", "Fine words")], ip(2)).await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(texts(&response.html(), "#comment-body"), vec!["Fine words"], "what was typed is kept");
    assert_eq!(published_bodies(&app).await.len(), before);

    let response = app
        .post_form(&url, &[("name", "Ben\u{202E}"), ("body", "Read \u{202E}this\u{202C} \u{7}straight")], ip(3))
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert!(published_bodies(&app).await.contains(&"Read this straight".to_owned()));
}

#[tokio::test]
async fn a_comment_with_ten_kilobytes_of_combining_marks_is_refused_with_the_text_kept() {
    let app = TestApp::spawn().await;
    let url = format!("{REFERENCE_PATH}/comments");
    let zalgo = format!("Hello a{}", "\u{0301}".repeat(5000));
    let response = app.post_form(&url, &[("name", "Cy"), ("body", &zalgo)], ip(4)).await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    let doc = response.html();
    let error = texts(&doc, "#comment-error").pop().expect("an error");
    assert!(error.starts_with("Your comment has a character with 5000 accents or marks stacked on it"), "{error}");
    assert_eq!(texts(&doc, "#comment-body"), vec![zalgo]);
}

#[tokio::test]
async fn headlines_are_cleaned_and_invisible_or_stacked_ones_refused_in_the_editor() {
    let app = TestApp::spawn().await;
    let editor = app.add_user("e@news.test", "Edna Editor", Role::Editor).await;
    let id = app.draft_by(&editor, "clean-headline").await;
    let e = app.sign_in(&editor).await;
    let form = editor_save(&app, id, "\u{200B}\u{FEFF}\u{2060}", "").await;
    let refused = app.admin_post(&e, &format!("/admin/articles/{id}"), &as_refs(&form)).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().contains("A headline is required."));

    let zalgo = format!("Storm{}", "\u{0334}".repeat(30));
    let form = editor_save(&app, id, &zalgo, "").await;
    let refused = app.admin_post(&e, &format!("/admin/articles/{id}"), &as_refs(&form)).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().contains("The headline has a character with 30 accents or marks stacked on it"));
    assert_eq!(attrs(&refused.html(), "input[name=headline]", "value"), vec![zalgo], "what was typed is kept");

    let form = editor_save(&app, id, "Mayor\u{202E} resigns\u{0000}", "A dek\u{2066} with an isolate").await;
    let saved = app.admin_post(&e, &format!("/admin/articles/{id}"), &as_refs(&form)).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text());
    let stored = fields_of(&app, id).await;
    assert_eq!(stored.headline, "Mayor resigns");
    assert_eq!(stored.dek, "A dek with an isolate");
}

/// The editor form of article `id` with a new headline and dek, as the browser sends it.
async fn editor_save(
    app: &TestApp,
    id: broadsheet::domain::ArticleId,
    headline: &str,
    dek: &str,
) -> Vec<(String, String)> {
    let mut fields = fields_of(app, id).await;
    fields.headline = headline.to_owned();
    fields.dek = dek.to_owned();
    let mut form = editor_form(&fields, version_of(app, id).await);
    form.push(("intent".into(), "save".into()));
    form
}

#[tokio::test]
async fn link_fields_refuse_addresses_a_browser_takes_to_another_host() {
    let app = TestApp::spawn().await;
    let admin = app.add_user("a@news.test", "Ada Admin", Role::Admin).await;
    let a = app.sign_in(&admin).await;
    let settings = |navigation: &'static str, logo: &'static str| {
        vec![
            ("name", "The Harbour Herald"),
            ("description", "News from the port city"),
            ("logo_url", logo),
            ("language", "en"),
            ("time_zone", "UTC"),
            ("navigation", navigation),
            ("blocked_words", ""),
        ]
    };
    for navigation in ["Evil | /\\evil.example", "Evil | //evil.example", "Evil | \\\\evil.example", "Evil | /\\/x"] {
        let response = app.admin_post(&a, "/admin/settings", &settings(navigation, "")).await;
        assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY, "{navigation}");
        assert!(response.text().contains("needs an address starting with / or https://"), "{navigation}");
    }
    let response = app.admin_post(&a, "/admin/settings", &settings("", "/\\evil.example/logo.png")).await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    let response = app.admin_post_from(&a, "/admin/settings", "/admin/settings", &settings("About | /about", "")).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.text());

    let editor = app.add_user("e@news.test", "Edna Editor", Role::Editor).await;
    let e = app.sign_in(&editor).await;
    for link in ["/\\evil.example", "//evil.example", "https:///evil.example", "/\u{9}/evil.example"] {
        let response = app.admin_post(&e, "/admin/curation/breaking", &[("text", "Polls close"), ("link", link)]).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{link:?}");
    }
    let fine = app
        .admin_post_from(
            &e,
            "/admin/curation",
            "/admin/curation/breaking",
            &[("text", "Polls close"), ("link", "/asia")],
        )
        .await;
    assert_eq!(fine.status, StatusCode::SEE_OTHER, "{}", fine.text());
}
