//! Two people (or two tabs) editing the same thing: every save names the version it was based on,
//! and a save based on a version someone else has since replaced is refused with 409, showing both
//! versions and losing neither. Editor, autosave, revision restore, curation and site settings.

use axum::http::StatusCode;
use broadsheet::domain::{ArticleStatus, Role};

use super::{Browser, as_refs, editor_form, encode, fields_of, version_of};
use crate::helpers::{TestApp, attrs, texts};

/// Two editors signed in, and a draft on the byline of the first.
async fn two_editors(slug: &str) -> (TestApp, Browser, Browser, broadsheet::domain::ArticleId) {
    let app = TestApp::spawn().await;
    let ana = app.add_user("ana@news.test", "Ana Editor", Role::Editor).await;
    let ben = app.add_user("ben@news.test", "Ben Editor", Role::Editor).await;
    let id = app.draft_by(&ana, slug).await;
    let a = app.sign_in(&ana).await;
    let b = app.sign_in(&ben).await;
    (app, a, b, id)
}

async fn save_form(
    app: &TestApp,
    browser: &Browser,
    id: broadsheet::domain::ArticleId,
    form: &[(String, String)],
) -> crate::helpers::TestResponse {
    let mut form = form.to_vec();
    form.push(("intent".into(), "save".into()));
    app.admin_post(browser, &format!("/admin/articles/{id}"), &as_refs(&form)).await
}

#[tokio::test]
async fn a_second_save_based_on_the_same_version_is_refused_and_both_texts_survive() {
    let (app, a, b, id) = two_editors("contested-story").await;
    let opened = version_of(&app, id).await;
    let mut theirs = fields_of(&app, id).await;
    theirs.body_markdown = "Their paragraph, saved first.".into();
    let mut yours = fields_of(&app, id).await;
    yours.headline = "Your headline, typed in the other tab".into();
    yours.body_markdown = "Your paragraph, typed in the other tab.".into();

    let first = save_form(&app, &a, id, &editor_form(&theirs, opened)).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.text());
    let second = save_form(&app, &b, id, &editor_form(&yours, opened)).await;

    assert_eq!(second.status, StatusCode::CONFLICT, "a stale save is refused, not applied");
    assert_eq!(fields_of(&app, id).await, theirs, "the first save is intact");
    let doc = second.html();
    assert_eq!(texts(&doc, "#body"), vec!["Your paragraph, typed in the other tab."], "yours stays in the form");
    assert_eq!(attrs(&doc, "#headline", "value"), vec!["Your headline, typed in the other tab"]);
    assert_eq!(texts(&doc, "#their-version .their-body"), vec!["Their paragraph, saved first."]);
    let diff = texts(&doc, "#conflict-versions table.diff");
    assert!(diff.concat().contains("Their paragraph") && diff.concat().contains("Your paragraph"), "{diff:?}");
    assert!(texts(&doc, "#conflict").concat().contains("Ana Editor"), "says who saved meanwhile");

    // The form is now based on the stored version: sending it again replaces theirs knowingly.
    let now = attrs(&doc, "#editor input[name=version]", "value").pop().expect("version field");
    assert_eq!(now, version_of(&app, id).await.to_string());
    let again = save_form(&app, &b, id, &editor_form(&yours, now.parse().expect("number"))).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    assert_eq!(fields_of(&app, id).await, yours);
}

#[tokio::test]
async fn a_save_without_a_version_is_never_taken_as_current() {
    let (app, a, _, id) = two_editors("versionless-story").await;
    let mut fields = fields_of(&app, id).await;
    fields.body_markdown = "Sent by an old page with no version field.".into();
    let form: Vec<(String, String)> = editor_form(&fields, 0).into_iter().filter(|(k, _)| k != "version").collect();
    let refused = save_form(&app, &a, id, &form).await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert_eq!(texts(&refused.html(), "#body"), vec!["Sent by an old page with no version field."]);
    assert_eq!(fields_of(&app, id).await.body_markdown, "Body of versionless-story.");
}

#[tokio::test]
async fn a_refused_form_keeps_the_version_it_was_based_on() {
    // A form sent back for a missing headline must not quietly move to the stored version: the
    // conflict would then go unnoticed when the member fixes the headline and saves again.
    let (app, a, b, id) = two_editors("kept-version").await;
    let opened = version_of(&app, id).await;
    let mut theirs = fields_of(&app, id).await;
    theirs.body_markdown = "Saved by the other editor.".into();
    assert_eq!(save_form(&app, &a, id, &editor_form(&theirs, opened)).await.status, StatusCode::SEE_OTHER);
    let mut yours = fields_of(&app, id).await;
    yours.headline = String::new();
    yours.body_markdown = "Mine, with a missing headline.".into();
    let refused = save_form(&app, &b, id, &editor_form(&yours, opened)).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(attrs(&refused.html(), "#editor input[name=version]", "value"), vec![opened.to_string()]);
}

#[tokio::test]
async fn a_stale_autosave_gets_a_409_with_a_stable_code_and_overwrites_nothing() {
    let (app, a, b, id) = two_editors("autosaved-twice").await;
    let opened = version_of(&app, id).await;
    let path = format!("/admin/articles/{id}/autosave");
    let mut theirs = fields_of(&app, id).await;
    theirs.body_markdown = "Autosaved in the first tab.".into();
    let mut yours = fields_of(&app, id).await;
    yours.body_markdown = "Autosaved in the second tab.".into();

    let send = |browser: &Browser, form: Vec<(String, String)>| {
        let body = encode(&as_refs(&form));
        let (cookie, csrf) = (browser.cookie.clone(), browser.csrf.clone());
        let app = &app;
        let path = path.clone();
        async move { app.admin_post_raw(Some(&cookie), &path, body, &[("x-csrf-token", &csrf)]).await }
    };
    let first = send(&a, editor_form(&theirs, opened)).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text());
    let reply: serde_json::Value = serde_json::from_slice(&first.body).expect("json");
    assert_eq!(reply["version"], opened + 1, "the editor learns the version it is now based on");

    let second = send(&b, editor_form(&yours, opened)).await;
    assert_eq!(second.status, StatusCode::CONFLICT);
    let reply: serde_json::Value = serde_json::from_slice(&second.body).expect("json");
    assert_eq!(reply["code"], "stale_version");
    assert_eq!(reply["version"], opened + 1);
    assert_eq!(fields_of(&app, id).await, theirs, "the first autosave is intact");

    // The tab that autosaved goes on from the version its autosave made: no false conflict.
    let mut later = theirs.clone();
    later.body_markdown = "Finished in the first tab.".into();
    let saved = save_form(&app, &a, id, &editor_form(&later, opened + 1)).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    // And the second tab's Save shows both versions, with its text kept.
    let shown = save_form(&app, &b, id, &editor_form(&yours, opened)).await;
    assert_eq!(shown.status, StatusCode::CONFLICT);
    assert_eq!(texts(&shown.html(), "#body"), vec!["Autosaved in the second tab."]);
}

#[tokio::test]
async fn a_restore_based_on_an_old_version_is_refused_and_offers_the_revision_to_save() {
    let (app, a, b, id) = two_editors("restored-late").await;
    let oldest = app.state.store.revisions(id).await.expect("revisions")[0].id;
    let mut second = fields_of(&app, id).await;
    second.body_markdown = "Second version.".into();
    assert_eq!(
        save_form(&app, &a, id, &editor_form(&second, version_of(&app, id).await)).await.status,
        StatusCode::SEE_OTHER
    );
    // Ben opens the revisions page; Ana saves again before he presses Restore.
    let page = app.admin_get(&b, &format!("/admin/articles/{id}/revisions")).await;
    let action = format!("/admin/articles/{id}/revisions/{oldest}/restore");
    let seen = attrs(&page.html(), &format!("form[action='{action}'] input[name=version]"), "value")
        .pop()
        .expect("the restore form carries the version");
    let mut third = second.clone();
    third.body_markdown = "Ana's third version, saved meanwhile.".into();
    assert_eq!(
        save_form(&app, &a, id, &editor_form(&third, version_of(&app, id).await)).await.status,
        StatusCode::SEE_OTHER
    );
    let refused = app.admin_post(&b, &action, &[("version", &seen)]).await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert_eq!(fields_of(&app, id).await, third, "the newer save is intact");
    let doc = refused.html();
    assert_eq!(texts(&doc, "#body"), vec!["Body of restored-late."], "the revision is in the form");
    assert_eq!(texts(&doc, "#their-version .their-body"), vec!["Ana's third version, saved meanwhile."]);
}

#[tokio::test]
async fn a_stale_must_reads_list_is_refused_with_both_lists_shown() {
    let (app, a, b, _) = two_editors("unused").await;
    let editor = app.add_user("c@news.test", "Cy Editor", Role::Editor).await;
    let ours = app.draft_by(&editor, "picked-by-ana").await;
    let yours = app.draft_by(&editor, "picked-by-ben").await;
    app.set_status(ours, ArticleStatus::Published).await;
    app.set_status(yours, ArticleStatus::Published).await;
    let page = app.admin_get(&b, "/admin/curation").await;
    let seen = attrs(&page.html(), "form[action='/admin/curation/must-reads'] input[name=version]", "value")
        .pop()
        .expect("version");

    let first =
        app.admin_post(&a, "/admin/curation/must-reads", &[("add", &ours.to_string()), ("version", &seen)]).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER);
    let second =
        app.admin_post(&b, "/admin/curation/must-reads", &[("add", &yours.to_string()), ("version", &seen)]).await;
    assert_eq!(second.status, StatusCode::CONFLICT);
    let stored: Vec<broadsheet::domain::ArticleId> =
        app.state.store.must_read_entries().await.expect("picks").iter().map(|e| e.article_id).collect();
    assert_eq!(stored, vec![ours], "the first save is intact");
    let doc = second.html();
    let form_titles = texts(&doc, "form[action='/admin/curation/must-reads'] .pick-title");
    assert!(form_titles.iter().any(|t| t.contains("picked-by-ben")), "yours is in the form: {form_titles:?}");
    assert!(!form_titles.iter().any(|t| t.contains("picked-by-ana")), "{form_titles:?}");
    assert!(texts(&doc, "#conflict .their-version").concat().contains("picked-by-ana"));

    // Sent again from the 409 page, it replaces the list knowingly.
    let now =
        attrs(&doc, "form[action='/admin/curation/must-reads'] input[name=version]", "value").pop().expect("version");
    let mut again: Vec<(&str, String)> = Vec::new();
    for id in attrs(&doc, "form[action='/admin/curation/must-reads'] input[name=article]", "value") {
        again.push(("article", id));
        again.push(("expires", String::new()));
    }
    again.push(("version", now));
    let again: Vec<(&str, &str)> = again.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(app.admin_post(&b, "/admin/curation/must-reads", &again).await.status, StatusCode::SEE_OTHER);
    let stored: Vec<broadsheet::domain::ArticleId> =
        app.state.store.must_read_entries().await.expect("picks").iter().map(|e| e.article_id).collect();
    assert_eq!(stored.last(), Some(&yours));
}

#[tokio::test]
async fn stale_home_slots_and_banner_saves_are_refused() {
    let (app, a, b, _) = two_editors("unused").await;
    let page = app.admin_get(&b, "/admin/curation").await;
    let version_of_form = |doc: &scraper::Html, action: &str| {
        attrs(doc, &format!("form[action='{action}'] input[name=version]"), "value").pop().expect("version")
    };
    let home_seen = version_of_form(&page.html(), "/admin/curation/home");
    let banner_seen = version_of_form(&page.html(), "/admin/curation/breaking");
    let reference = app.article_id(crate::helpers::REFERENCE_PATH.rsplit('/').next().expect("slug")).await;

    let first =
        app.admin_post(&a, "/admin/curation/home", &[("add", &reference.to_string()), ("version", &home_seen)]).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER);
    let second = app.admin_post(&b, "/admin/curation/home", &[("version", &home_seen)]).await;
    assert_eq!(second.status, StatusCode::CONFLICT, "emptying a list someone just changed is refused");
    let home: Vec<broadsheet::domain::ArticleId> =
        app.state.store.home_slot_entries().await.expect("slots").iter().map(|e| e.article_id).collect();
    assert_eq!(home.last(), Some(&reference));

    let banner = [("text", "Polls have closed"), ("link", ""), ("expires", ""), ("version", banner_seen.as_str())];
    assert_eq!(app.admin_post(&a, "/admin/curation/breaking", &banner).await.status, StatusCode::SEE_OTHER);
    let mine =
        [("text", "Storm warning for the coast"), ("link", ""), ("expires", ""), ("version", banner_seen.as_str())];
    let refused = app.admin_post(&b, "/admin/curation/breaking", &mine).await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert_eq!(app.state.breaking().map(|b| b.text).as_deref(), Some("Polls have closed"));
    let doc = refused.html();
    assert_eq!(attrs(&doc, "#breaking-text", "value"), vec!["Storm warning for the coast"]);
    assert!(texts(&doc, "#conflict .their-version").concat().contains("Polls have closed"));
}

#[tokio::test]
async fn a_stale_settings_save_is_refused_with_both_versions_shown() {
    let app = TestApp::spawn().await;
    let ana = app.add_user("ana@news.test", "Ana Admin", Role::Admin).await;
    let ben = app.add_user("ben@news.test", "Ben Admin", Role::Admin).await;
    let (a, b) = (app.sign_in(&ana).await, app.sign_in(&ben).await);
    let page = app.admin_get(&b, "/admin/settings").await;
    let seen =
        attrs(&page.html(), "form[action='/admin/settings'] input[name=version]", "value").pop().expect("version");
    let form = |name: &'static str, version: &str| {
        vec![
            ("name", name.to_owned()),
            ("description", "News from the port city".to_owned()),
            ("logo_url", String::new()),
            ("language", "en".to_owned()),
            ("time_zone", "Asia/Seoul".to_owned()),
            ("navigation", String::new()),
            ("blocked_words", String::new()),
            ("version", version.to_owned()),
        ]
    };
    let post = |browser: &Browser, fields: Vec<(&'static str, String)>| {
        let app = &app;
        let browser = browser.clone();
        async move {
            let refs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.admin_post(&browser, "/admin/settings", &refs).await
        }
    };
    assert_eq!(post(&a, form("The Harbour Herald", &seen)).await.status, StatusCode::SEE_OTHER);
    let refused = post(&b, form("The Harbour Gazette", &seen)).await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert_eq!(app.state.profile().name, "The Harbour Herald", "the first save is intact");
    let doc = refused.html();
    assert_eq!(attrs(&doc, "#name", "value"), vec!["The Harbour Gazette"], "yours stays in the form");
    assert_eq!(texts(&doc, "#their-version .their-name"), vec!["The Harbour Herald"]);
    let now = attrs(&doc, "form[action='/admin/settings'] input[name=version]", "value").pop().expect("version");
    assert_eq!(post(&b, form("The Harbour Gazette", &now)).await.status, StatusCode::SEE_OTHER);
    assert_eq!(app.state.profile().name, "The Harbour Gazette");
}
