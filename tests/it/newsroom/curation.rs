//! Curation (Must-Reads, the home page's lead, the breaking banner), moderation, site settings,
//! sections and the audit log, seen from the reader's side after each change.

use axum::http::StatusCode;
use broadsheet::domain::{ArticleStatus, Role};
use chrono::{Duration, Utc};

use crate::helpers::{REFERENCE_PATH, TestApp, attrs, texts};

fn must_reads_on(doc: &scraper::Html) -> Vec<String> {
    texts(doc, "#must-reads-heading + ol a, #must-reads-heading + ul a")
}

#[tokio::test]
async fn editors_order_must_reads_and_picks_expire() {
    let app = TestApp::spawn().await;
    let editor = app.add_user("e@news.test", "Edna Editor", Role::Editor).await;
    let e = app.sign_in(&editor).await;
    let first = app.draft_by(&editor, "pick-one").await;
    let second = app.draft_by(&editor, "pick-two").await;
    app.set_status(first, ArticleStatus::Published).await;
    app.set_status(second, ArticleStatus::Published).await;
    // Posting the list with no rows empties it; then add two and move the second up.
    assert!(!app.state.store.must_read_entries().await.expect("picks").is_empty(), "the demo has picks");
    app.admin_post_from(&e, "/admin/curation", "/admin/curation/must-reads", &[]).await;
    assert!(app.state.store.must_read_entries().await.expect("picks").is_empty());
    let (a, b) = (first.to_string(), second.to_string());
    app.admin_post_from(&e, "/admin/curation", "/admin/curation/must-reads", &[("add", &a)]).await;
    app.admin_post_from(
        &e,
        "/admin/curation",
        "/admin/curation/must-reads",
        &[("article", &a), ("expires", ""), ("add", &b)],
    )
    .await;
    app.admin_post_from(
        &e,
        "/admin/curation",
        "/admin/curation/must-reads",
        &[("article", &a), ("expires", ""), ("article", &b), ("expires", ""), ("move_up", "1")],
    )
    .await;
    let order: Vec<broadsheet::domain::ArticleId> =
        app.state.store.must_read_entries().await.expect("picks").iter().map(|p| p.article_id).collect();
    assert_eq!(order, vec![second, first]);
    let home = app.get("/").await;
    assert_eq!(
        must_reads_on(&home.html()),
        vec!["The pick-two story about harbour cranes", "The pick-one story about harbour cranes"]
    );

    // An expired pick leaves the site.
    let past = (Utc::now() - Duration::minutes(5)).format("%Y-%m-%dT%H:%M").to_string();
    let saved = app
        .admin_post_from(
            &e,
            "/admin/curation",
            "/admin/curation/must-reads",
            &[("article", &b), ("expires", &past), ("article", &a), ("expires", "")],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    let home = app.get("/").await;
    assert_eq!(must_reads_on(&home.html()), vec!["The pick-one story about harbour cranes"]);

    // Expiry is read off the site's clock: a pick due to leave in two hours stays until then.
    let zone = app.state.profile().zone();
    let later = (app.state.clock.now() + Duration::hours(2)).with_timezone(&zone).format("%Y-%m-%dT%H:%M").to_string();
    let saved = app
        .admin_post_from(&e, "/admin/curation", "/admin/curation/must-reads", &[("article", &a), ("expires", &later)])
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    assert_eq!(must_reads_on(&app.get("/").await.html()), vec!["The pick-one story about harbour cranes"]);
    app.state.clock.advance(Duration::hours(3));
    // Cached pages and shared lists live for their age (45 s by default); here they go at once.
    app.state.cache.invalidate(&broadsheet::cache::Dependency::Lists);
    assert!(must_reads_on(&app.get("/").await.html()).is_empty(), "the pick left the site when its time came");
}

#[tokio::test]
async fn hostile_curation_forms_are_refused_with_the_reason_and_change_nothing() {
    let app = TestApp::spawn().await;
    let editor = app.add_user("e@news.test", "Edna Editor", Role::Editor).await;
    let e = app.sign_in(&editor).await;
    let reference = app.article_id(REFERENCE_PATH.rsplit('/').next().expect("slug")).await.to_string();
    let many: Vec<String> = (1..=21).map(|n| n.to_string()).collect();
    let too_long: Vec<(&str, &str)> = many.iter().flat_map(|id| [("article", id.as_str()), ("expires", "")]).collect();
    for (form, reason) in [
        (vec![("article", "987654321"), ("expires", "")], "There is no article 987654321."),
        (vec![("article", reference.as_str()), ("expires", ""), ("add", reference.as_str())], ""),
        (
            vec![("article", reference.as_str()), ("expires", ""), ("article", reference.as_str()), ("expires", "")],
            "twice",
        ),
        (too_long, "at most 20"),
        (vec![("article", reference.as_str()), ("expires", "next tuesday")], "Expiry:"),
    ] {
        let response = app.admin_post_from(&e, "/admin/curation", "/admin/curation/must-reads", &form).await;
        if reason.is_empty() {
            // Adding what is already listed is not a second copy: the list is saved as it was.
            assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.text());
            continue;
        }
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{reason}: {}", response.text());
        assert!(response.text().contains(reason), "{reason}: {}", response.text());
    }
    let after: Vec<String> =
        app.state.store.must_read_entries().await.expect("picks").iter().map(|p| p.article_id.to_string()).collect();
    assert_eq!(after, vec![reference.clone()], "only the one valid save changed the list");
    let long_banner = "x".repeat(301);
    let refused = app
        .admin_post_from(&e, "/admin/curation", "/admin/curation/breaking", &[("text", &long_banner), ("link", "")])
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.text().contains("at most 300"), "{}", refused.text());
}

#[tokio::test]
async fn the_home_lead_and_the_breaking_banner_follow_the_editors() {
    let app = TestApp::spawn().await;
    let editor = app.add_user("e@news.test", "Edna Editor", Role::Editor).await;
    let e = app.sign_in(&editor).await;
    let reference = app.article_id(REFERENCE_PATH.rsplit('/').next().expect("slug")).await.to_string();
    app.admin_post_from(&e, "/admin/curation", "/admin/curation/home", &[("add", &reference)]).await;
    let home = app.get("/").await;
    assert!(texts(&home.html(), ".lead h3").concat().contains("Kishida"), "{:?}", texts(&home.html(), ".lead h3"));

    let banner = app
        .admin_post_from(
            &e,
            "/admin/curation",
            "/admin/curation/breaking",
            &[("text", "Polls have closed in the capital"), ("link", REFERENCE_PATH), ("expires", "")],
        )
        .await;
    assert_eq!(banner.status, StatusCode::SEE_OTHER);
    for path in ["/", REFERENCE_PATH, "/asia", "/corrections"] {
        let page = app.get(path).await;
        assert_eq!(texts(&page.html(), ".breaking a"), vec!["Polls have closed in the capital"], "{path}");
    }
    let bad = app
        .admin_post_from(
            &e,
            "/admin/curation",
            "/admin/curation/breaking",
            &[("text", "x"), ("link", "javascript:alert(1)")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    app.admin_post_from(&e, "/admin/curation", "/admin/curation/breaking", &[("text", ""), ("clear", "1")]).await;
    assert!(texts(&app.get("/").await.html(), ".breaking").is_empty());
}

#[tokio::test]
async fn held_comments_are_moderated_and_blocked_commenters_go_to_spam() {
    let app = TestApp::spawn().await;
    let editor = app.add_user("e@news.test", "Edna Editor", Role::Editor).await;
    let e = app.sign_in(&editor).await;
    let reader: std::net::IpAddr = [192, 0, 2, 7].into();
    let post = |body: &'static str| {
        let app = &app;
        async move {
            app.post_form(
                &format!("{REFERENCE_PATH}/comments"),
                &[("name", "Min-jun"), ("body", body), ("website", "")],
                reader,
            )
            .await
        }
    };
    post("Background: https://example.org/report").await;
    let queue = app.admin_get(&e, "/admin/comments").await;
    assert_eq!(queue.status, StatusCode::OK);
    assert!(texts(&queue.html(), ".queue blockquote").concat().contains("https://example.org/report"));
    let id = attrs(&queue.html(), ".queue form", "action").pop().expect("a held comment");
    let approve = app.admin_post(&e, &id, &[("action", "approve")]).await;
    assert_eq!(approve.status, StatusCode::SEE_OTHER);
    assert!(app.get(REFERENCE_PATH).await.text().contains("https://example.org/report"));

    let fingerprint = attrs(&queue.html(), ".queue input[name=fingerprint]", "value").pop().expect("fingerprint");
    let block = app.admin_post(&e, &id, &[("action", "block"), ("fingerprint", &fingerprint)]).await;
    assert_eq!(block.status, StatusCode::SEE_OTHER);
    let response = post("A perfectly polite remark with no links.").await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    let spam = app.admin_get(&e, "/admin/comments?status=spam").await;
    assert!(spam.text().contains("A perfectly polite remark"));
    assert!(!app.get(REFERENCE_PATH).await.text().contains("A perfectly polite remark"));
}

#[tokio::test]
async fn site_settings_change_the_site_and_bad_values_are_refused() {
    let app = TestApp::spawn().await;
    let admin = app.add_user("a@news.test", "Ada Admin", Role::Admin).await;
    let a = app.sign_in(&admin).await;
    let base = [
        ("name", "The Harbour Herald"),
        ("description", "News from the port city"),
        ("logo_url", ""),
        ("language", "en-GB"),
        ("navigation", "About us | /about\nTips | https://tips.example.org"),
        ("hold_all_comments", "1"),
        ("blocked_words", "casino"),
    ];
    let mut bad = base.to_vec();
    bad.push(("time_zone", "Mars/Olympus_Mons"));
    assert_eq!(
        app.admin_post_from(&a, "/admin/settings", "/admin/settings", &bad).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let mut good = base.to_vec();
    good.push(("time_zone", "Asia/Seoul"));
    assert_eq!(
        app.admin_post_from(&a, "/admin/settings", "/admin/settings", &good).await.status,
        StatusCode::SEE_OTHER
    );
    let home = app.get("/").await;
    let doc = home.html();
    assert_eq!(texts(&doc, ".brand"), vec!["The Harbour Herald"]);
    assert_eq!(attrs(&doc, "html", "lang"), vec!["en-GB"]);
    assert!(attrs(&doc, ".sections-nav a", "href").contains(&"https://tips.example.org".to_owned()));
    // Hold-all now applies to new comments.
    app.post_form(
        &format!("{REFERENCE_PATH}/comments"),
        &[("name", "Ji-woo"), ("body", "No links here at all."), ("website", "")],
        [192, 0, 2, 9].into(),
    )
    .await;
    assert_eq!(
        app.state.store.count_comments_by_status(broadsheet::domain::CommentStatus::Held).await.expect("count"),
        1
    );
    // Scheduling now reads times in Seoul (UTC+9).
    assert_eq!(app.state.profile().time_zone, "Asia/Seoul");
}

#[tokio::test]
async fn sections_can_be_added_renamed_and_archived() {
    let app = TestApp::spawn().await;
    let editor = app.add_user("e@news.test", "Edna Editor", Role::Editor).await;
    let e = app.sign_in(&editor).await;
    let added = app.admin_post(&e, "/admin/sections", &[("new_name", "Local Politics")]).await;
    assert_eq!(added.status, StatusCode::SEE_OTHER);
    let nav = texts(&app.get("/").await.html(), ".sections-nav a");
    assert!(nav.contains(&"Local Politics".to_owned()), "{nav:?}");
    let (section, _) = app
        .state
        .store
        .all_sections()
        .await
        .expect("sections")
        .into_iter()
        .find(|(s, _)| s.slug == "local-politics")
        .expect("added");
    let id = section.id.to_string();
    let fields = [
        (format!("name_{id}"), "City Hall".to_owned()),
        (format!("slug_{id}"), "city-hall".to_owned()),
        (format!("position_{id}"), "99".to_owned()),
        (format!("archived_{id}"), "1".to_owned()),
    ];
    let refs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(app.admin_post(&e, "/admin/sections", &refs).await.status, StatusCode::SEE_OTHER);
    let nav = texts(&app.get("/").await.html(), ".sections-nav a");
    assert!(
        !nav.iter().any(|n| n == "City Hall" || n == "Local Politics"),
        "archived sections leave the navigation: {nav:?}"
    );
    let reserved = [(format!("name_{id}"), "Admin".to_owned()), (format!("slug_{id}"), "admin".to_owned())];
    let refs: Vec<(&str, &str)> = reserved.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(app.admin_post(&e, "/admin/sections", &refs).await.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn the_audit_log_records_who_did_what() {
    let app = TestApp::spawn().await;
    let admin = app.add_user("a@news.test", "Ada Admin", Role::Admin).await;
    let editor = app.add_user("e@news.test", "Edna Editor", Role::Editor).await;
    let e = app.sign_in(&editor).await;
    let id = app.draft_by(&editor, "audited-story").await;
    app.admin_post(&e, &format!("/admin/articles/{id}/workflow"), &[("step", "publish")]).await;
    app.admin_post_from(&e, "/admin/curation", "/admin/curation/breaking", &[("text", "Storm warning"), ("link", "")])
        .await;
    assert_eq!(app.admin_get(&e, "/admin/audit").await.status, StatusCode::FORBIDDEN);
    let a = app.sign_in(&admin).await;
    let log = app.admin_get(&a, "/admin/audit").await;
    let rows: Vec<String> = texts(&log.html(), "table.list tbody tr");
    assert!(
        rows.iter().any(|r| r.contains("Edna Editor")
            && r.contains("article publish")
            && r.contains(&format!("article #{id}"))),
        "{rows:?}"
    );
    assert!(
        rows.iter().any(|r| r.contains("Edna Editor") && r.contains("breaking set") && r.contains("Storm warning")),
        "{rows:?}"
    );
    assert!(rows.iter().any(|r| r.contains("Ada Admin") && r.contains("signed in")), "{rows:?}");
}
