//! Draft → review → scheduled → published → unpublished, the scheduler's exactly-once firing
//! (across a restart too), embargo on every reader surface, slug redirects, revisions, the
//! checklist, preview links, autosave and corrections.

use std::sync::Arc;

use axum::http::{StatusCode, header};
use broadsheet::domain::{ArticleStatus, Role};
use broadsheet::newsroom::scheduler::run_due;
use broadsheet::store::Store;
use broadsheet::store::newsroom::Transition;
use broadsheet::web::AppState;
use chrono::{Duration, Utc};

use super::{as_refs, editor_form, fields_of, version_of};
use crate::helpers::{TestApp, attrs, line, texts};

/// Every reader surface where a story can show up.
async fn visible_anywhere(app: &TestApp, headline: &str, article_path: &str) -> Vec<String> {
    app.state.cache.clear();
    let mut seen = Vec::new();
    let section = article_path.split('/').nth(1).expect("section").to_owned();
    for path in ["/".to_owned(), format!("/{section}"), "/tags/ports".to_owned(), "/corrections".to_owned()] {
        if app.get(&path).await.text().contains(headline) {
            seen.push(path);
        }
    }
    let article = app.get(article_path).await;
    if article.status == StatusCode::OK {
        seen.push(article_path.to_owned());
    }
    seen
}

#[tokio::test]
async fn a_story_goes_from_contributor_to_editor_to_a_scheduled_publication_that_fires_once() {
    let app = TestApp::spawn().await;
    let writer = app.add_user("w@news.test", "Wendy Writer", Role::Contributor).await;
    let editor = app.add_user("e@news.test", "Edna Editor", Role::Editor).await;
    let w = app.sign_in(&writer).await;
    let section = app.first_section().await.to_string();
    let headline = "Harbour cranes return to the old port after twenty years";
    let created = app
        .admin_post(
            &w,
            "/admin/articles",
            &[("headline", headline), ("section", &section), ("tags", "Ports"), ("body", "The cranes are back.")],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER);
    let id = broadsheet::domain::ArticleId(
        created
            .header(header::LOCATION)
            .expect("location")
            .split('/')
            .nth(3)
            .expect("id")
            .split('?')
            .next()
            .expect("id")
            .parse()
            .expect("number"),
    );
    assert_eq!(
        app.admin_post(&w, &format!("/admin/articles/{id}/workflow"), &[("step", "submit")]).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(app.status_of(id).await, ArticleStatus::InReview);

    let e = app.sign_in(&editor).await;
    let at = Utc::now() + Duration::hours(2);
    let local = at.format("%Y-%m-%dT%H:%M").to_string();
    let scheduled = app
        .admin_post(&e, &format!("/admin/articles/{id}/workflow"), &[("step", "schedule"), ("publish_at", &local)])
        .await;
    assert_eq!(scheduled.status, StatusCode::SEE_OTHER);
    assert_eq!(app.status_of(id).await, ArticleStatus::Scheduled);
    let path = format!(
        "/{}/{}",
        app.state.store.editable_article(id).await.expect("store").expect("article").section_slug,
        fields_of(&app, id).await.slug
    );
    assert_eq!(visible_anywhere(&app, headline, &path).await, Vec::<String>::new(), "embargoed everywhere");

    // Nothing fires before its time.
    assert!(run_due(app.state.store.as_ref(), Utc::now()).await.expect("pass").is_empty());

    // A second process on the same database (a restart, or another node) and this one both run
    // the scheduler once the time has come: the article is published exactly once.
    let due = at + Duration::seconds(1);
    let other = app.second_store().await;
    let (a, b) = tokio::join!(run_due(other.as_ref(), due), run_due(app.state.store.as_ref(), due));
    let fired: Vec<broadsheet::domain::ArticleId> =
        a.expect("pass").published.into_iter().chain(b.expect("pass").published).collect();
    assert_eq!(fired, vec![id]);
    assert!(run_due(other.as_ref(), due).await.expect("pass").is_empty());
    let events = app.state.store.workflow_events(id).await.expect("events");
    let publications: Vec<_> = events.iter().filter(|ev| ev.to == ArticleStatus::Published).collect();
    assert_eq!(publications.len(), 1);
    assert!(publications[0].user_name.is_none(), "the scheduler published it");
    assert_eq!(
        visible_anywhere(&app, headline, &path).await,
        vec![
            "/".to_owned(),
            format!("/{}", path.split('/').nth(1).expect("s")),
            "/tags/ports".to_owned(),
            path.clone()
        ]
    );
    let history = texts(&app.admin_get(&e, &format!("/admin/articles/{id}")).await.html(), ".history li");
    assert!(history.iter().any(|h| h.contains("by the scheduler")), "{history:?}");
}

#[tokio::test]
async fn publications_that_fell_due_while_the_site_was_down_fire_at_start() {
    let app = TestApp::spawn().await;
    let writer = app.add_user("w@news.test", "Wendy Writer", Role::Author).await;
    let publish = app.draft_by(&writer, "overdue-publication").await;
    let unpublish = app.draft_by(&writer, "overdue-takedown").await;
    let store = &app.state.store;
    let past = Utc::now() - Duration::hours(1);
    let moved = store
        .transition(
            publish,
            Transition {
                from: &[ArticleStatus::Draft],
                to: ArticleStatus::Scheduled,
                publish_at: Some(past),
                user_id: None,
                at: past,
            },
            &line("article_step"),
        )
        .await
        .expect("schedule");
    assert!(moved);
    app.set_status(unpublish, ArticleStatus::Published).await;
    store.set_unpublish_at(unpublish, Some(past), &line("article_unpublish_scheduled")).await.expect("take-down time");

    // "Restart": a new site on the same database, with its background jobs running.
    let restarted =
        AppState::new(app.state.settings.as_ref().clone(), Arc::clone(store) as Arc<dyn Store>).await.expect("state");
    let jobs = broadsheet::jobs::start(&restarted);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while (app.status_of(publish).await, app.status_of(unpublish).await)
        != (ArticleStatus::Published, ArticleStatus::Unpublished)
    {
        assert!(tokio::time::Instant::now() < deadline, "the scheduler did not catch up");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    jobs.stop();
    let events = store.workflow_events(unpublish).await.expect("events");
    assert_eq!(events.iter().filter(|e| e.to == ArticleStatus::Unpublished).count(), 1);
    app.state.cache.clear();
    let path = format!(
        "/{}/overdue-takedown",
        app.state.store.editable_article(unpublish).await.expect("store").expect("a").section_slug
    );
    assert_eq!(app.get(&path).await.status, StatusCode::GONE);
}

#[tokio::test]
async fn a_renamed_article_redirects_from_its_old_address() {
    let app = TestApp::spawn().await;
    let editor = app.add_user("e@news.test", "Edna Editor", Role::Editor).await;
    let id = app.draft_by(&editor, "first-name-of-the-story").await;
    app.set_status(id, ArticleStatus::Published).await;
    let section = app.state.store.editable_article(id).await.expect("store").expect("article").section_slug;
    let old_path = format!("/{section}/first-name-of-the-story");
    assert_eq!(app.get(&old_path).await.status, StatusCode::OK);
    let e = app.sign_in(&editor).await;
    let mut fields = fields_of(&app, id).await;
    fields.slug = "better-name-of-the-story".into();
    let mut form = editor_form(&fields, version_of(&app, id).await);
    form.push(("intent".into(), "save".into()));
    assert_eq!(
        app.admin_post(&e, &format!("/admin/articles/{id}"), &as_refs(&form)).await.status,
        StatusCode::SEE_OTHER
    );
    let moved = app.get(&old_path).await;
    assert_eq!(moved.status, StatusCode::MOVED_PERMANENTLY);
    assert_eq!(
        moved.header(header::LOCATION).as_deref(),
        Some(format!("/{section}/better-name-of-the-story").as_str())
    );
    assert_eq!(app.get(&format!("/{section}/better-name-of-the-story")).await.status, StatusCode::OK);
}

#[tokio::test]
async fn revisions_show_what_changed_and_an_old_one_can_be_restored() {
    let app = TestApp::spawn().await;
    let editor = app.add_user("e@news.test", "Edna Editor", Role::Editor).await;
    let id = app.draft_by(&editor, "revised-story").await;
    let e = app.sign_in(&editor).await;
    let original = fields_of(&app, id).await;
    let mut fields = original.clone();
    fields.body_markdown = "A completely rewritten second paragraph.".into();
    let mut form = editor_form(&fields, version_of(&app, id).await);
    form.push(("intent".into(), "save".into()));
    app.admin_post(&e, &format!("/admin/articles/{id}"), &as_refs(&form)).await;
    let revisions = app.state.store.revisions(id).await.expect("revisions");
    assert_eq!(revisions.len(), 2);
    let page = app.admin_get(&e, &format!("/admin/articles/{id}/revisions")).await;
    assert_eq!(page.status, StatusCode::OK);
    let added = texts(&page.html(), "table.diff tr.added td:last-child");
    let removed = texts(&page.html(), "table.diff tr.removed td:last-child");
    assert!(added.iter().any(|l| l.contains("A completely rewritten second paragraph.")), "{added:?}");
    assert!(removed.iter().any(|l| l.contains("Body of revised-story.")), "{removed:?}");

    let oldest = revisions.last().expect("first revision").id;
    let version = version_of(&app, id).await.to_string();
    let restored =
        app.admin_post(&e, &format!("/admin/articles/{id}/revisions/{oldest}/restore"), &[("version", &version)]).await;
    assert_eq!(restored.status, StatusCode::SEE_OTHER);
    assert_eq!(fields_of(&app, id).await, original);
    assert_eq!(app.state.store.revisions(id).await.expect("revisions").len(), 3, "restoring is itself a revision");
}

#[tokio::test]
async fn publishing_with_checklist_warnings_asks_once_then_goes_ahead() {
    let app = TestApp::spawn().await;
    let editor = app.add_user("e@news.test", "Edna Editor", Role::Editor).await;
    let id = app.draft_by(&editor, "no-picture-story").await;
    let e = app.sign_in(&editor).await;
    let mut form = editor_form(&fields_of(&app, id).await, version_of(&app, id).await);
    form.push(("intent".into(), "publish".into()));
    let asked = app.admin_post(&e, &format!("/admin/articles/{id}"), &as_refs(&form)).await;
    assert_eq!(asked.status, StatusCode::OK);
    let warnings = attrs(&asked.html(), ".checklist li.warn", "data-code");
    assert!(warnings.contains(&"featured_image".to_owned()), "{warnings:?}");
    assert_eq!(texts(&asked.html(), "button[value=publish]"), vec!["Publish anyway"]);
    assert_eq!(app.status_of(id).await, ArticleStatus::Draft);
    // Scheduling asks the same, and keeps the time that was typed for the confirmation.
    let mut schedule = editor_form(&fields_of(&app, id).await, version_of(&app, id).await);
    schedule.push(("intent".into(), "schedule".into()));
    schedule.push(("publish_at".into(), "2099-05-01T08:30".into()));
    let asked = app.admin_post(&e, &format!("/admin/articles/{id}"), &as_refs(&schedule)).await;
    assert_eq!(asked.status, StatusCode::OK);
    assert_eq!(attrs(&asked.html(), "#publish_at", "value"), vec!["2099-05-01T08:30"]);
    form.push(("confirm".into(), "1".into()));
    let published = app.admin_post(&e, &format!("/admin/articles/{id}"), &as_refs(&form)).await;
    assert_eq!(published.status, StatusCode::SEE_OTHER);
    assert_eq!(app.status_of(id).await, ArticleStatus::Published);
    // The same button again (a double click, a stale tab) says where the article stands.
    let again = app.admin_post(&e, &format!("/admin/articles/{id}/workflow"), &[("step", "publish")]).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.text());
    assert!(again.text().contains("This article is published, so it cannot be published now."), "{}", again.text());
    assert_eq!(app.state.store.workflow_events(id).await.expect("events").len(), 1, "published once");
}

#[tokio::test]
async fn a_preview_link_shows_the_draft_and_nothing_else() {
    let app = TestApp::spawn().await;
    let editor = app.add_user("e@news.test", "Edna Editor", Role::Editor).await;
    let id = app.draft_by(&editor, "secret-draft").await;
    let e = app.sign_in(&editor).await;
    let page = app.admin_post(&e, &format!("/admin/articles/{id}/preview-link"), &[]).await;
    let link = attrs(&page.html(), "input.copy-field", "value").pop().expect("link");
    let path = link.trim_start_matches("http://news.test").to_owned();
    let preview = app.get(&path).await;
    assert_eq!(preview.status, StatusCode::OK);
    assert!(preview.text().contains("The secret-draft story"));
    assert_eq!(preview.header(header::HeaderName::from_static("x-robots-tag")).as_deref(), Some("noindex, nofollow"));
    assert!(attrs(&preview.html(), "article[data-beacon]", "data-beacon").is_empty(), "previews are not counted");
    let tampered = path.replace(&format!("/preview/{id}/"), &format!("/preview/{}/", id.0 + 1));
    assert_eq!(app.get(&tampered).await.status, StatusCode::NOT_FOUND);
    let section = app.state.store.editable_article(id).await.expect("store").expect("a").section_slug;
    assert_eq!(app.get(&format!("/{section}/secret-draft")).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn drafts_autosave_with_the_header_token() {
    let app = TestApp::spawn().await;
    let writer = app.add_user("w@news.test", "Wendy Writer", Role::Contributor).await;
    let id = app.draft_by(&writer, "autosaved-draft").await;
    let w = app.sign_in(&writer).await;
    let mut fields = fields_of(&app, id).await;
    fields.body_markdown = "Typed a moment ago.".into();
    let body = super::encode(&as_refs(&editor_form(&fields, version_of(&app, id).await)));
    let path = format!("/admin/articles/{id}/autosave");
    let refused = app.admin_post_raw(Some(&w.cookie), &path, body.clone(), &[]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let saved = app.admin_post_raw(Some(&w.cookie), &path, body, &[("x-csrf-token", &w.csrf)]).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.text());
    assert!(saved.text().contains("saved_at"));
    assert_eq!(fields_of(&app, id).await.body_markdown, "Typed a moment ago.");
    assert!(app.state.store.revisions(id).await.expect("revisions")[0].autosave);
}

#[tokio::test]
async fn corrections_show_on_the_article_and_in_the_public_ledger() {
    let app = TestApp::spawn().await;
    let editor = app.add_user("e@news.test", "Edna Editor", Role::Editor).await;
    let id = app.draft_by(&editor, "corrected-story").await;
    app.set_status(id, ArticleStatus::Published).await;
    let before = app.state.store.article_by_id(id).await.expect("store").expect("a").updated_at;
    // Later in the day: the correction moves the update time on.
    app.state.clock.advance(chrono::Duration::minutes(5));
    let e = app.sign_in(&editor).await;
    let note = "An earlier version of this article gave the wrong year for the cranes' removal.";
    let added = app
        .admin_post(&e, &format!("/admin/articles/{id}/corrections"), &[("kind", "correction"), ("body", note)])
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER);
    let article = app.state.store.article_by_id(id).await.expect("store").expect("a");
    assert!(article.updated_at > before, "the correction bumps the update time");
    let page = app.get(&article.path()).await;
    assert!(texts(&page.html(), ".corrections li").concat().contains(note));
    let ledger = app.get("/corrections").await;
    assert!(texts(&ledger.html(), ".corrections-ledger li").concat().contains(note));
    assert!(attrs(&ledger.html(), ".corrections-ledger a", "href").contains(&article.path()));
}

#[tokio::test]
async fn a_refused_form_shows_each_message_beside_its_field() {
    let app = TestApp::spawn().await;
    let editor = app.add_user("e@news.test", "Edna Editor", Role::Editor).await;
    let e = app.sign_in(&editor).await;
    let section_id = app.first_section().await.to_string();
    let too_many_tags = (0..25).map(|i| format!("tag{i}")).collect::<Vec<_>>().join(", ");
    let typed =
        [("headline", ""), ("section", section_id.as_str()), ("tags", too_many_tags.as_str()), ("body", "Text.")];

    let refused = app.admin_post(&e, "/admin/articles", &typed).await;

    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let doc = refused.html();
    assert_eq!(texts(&doc, "#headline-error"), vec!["A headline is required."]);
    assert_eq!(attrs(&doc, "#headline", "aria-invalid"), vec!["true"]);
    assert_eq!(attrs(&doc, "#headline", "aria-describedby"), vec!["headline-error"]);
    assert_eq!(texts(&doc, "#tags-error"), vec!["Use at most 20 tags."]);
    assert_eq!(attrs(&doc, "#tags", "aria-describedby"), vec!["tags-error"]);
    // A field without a problem is not marked, and the summary above the form still lists all.
    assert!(attrs(&doc, "#body", "aria-invalid").is_empty());
    assert!(texts(&doc, "#body-error").is_empty());
    assert_eq!(texts(&doc, "#form-errors li").len(), 2);

    // The schedule time of a stored article, too.
    let id = app.draft_by(&editor, "ferry-timetable-changes").await;
    let mut form = editor_form(&fields_of(&app, id).await, version_of(&app, id).await);
    form.push(("intent".into(), "schedule".into()));
    form.push(("publish_at".into(), "next tuesday".into()));
    let refused = app.admin_post(&e, &format!("/admin/articles/{id}"), &as_refs(&form)).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let doc = refused.html();
    assert!(texts(&doc, "#publish_at-error").concat().starts_with("Cannot schedule:"));
    assert_eq!(attrs(&doc, "#publish_at", "aria-describedby"), vec!["publish_at-error"]);
    assert_eq!(attrs(&doc, "#publish_at", "value"), vec!["next tuesday"]);
}
