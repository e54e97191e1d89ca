//! Old addresses and section addresses: only a published story leaves a redirect behind when it is
//! renamed, an old address stays with the story it belonged to, and the sections form is saved
//! whole or not at all.

use axum::http::{StatusCode, header};
use broadsheet::domain::{ArticleStatus, Role};
use chrono::{Duration, Utc};

use super::{Browser, as_refs, editor_form, fields_of, version_of};
use crate::helpers::{TestApp, attrs, line, texts};

async fn rename(app: &TestApp, browser: &Browser, id: broadsheet::domain::ArticleId, slug: &str) -> StatusCode {
    let mut fields = fields_of(app, id).await;
    fields.slug = slug.into();
    let mut form = editor_form(&fields, version_of(app, id).await);
    form.push(("intent".into(), "save".into()));
    app.admin_post(browser, &format!("/admin/articles/{id}"), &as_refs(&form)).await.status
}

async fn section_of(app: &TestApp, id: broadsheet::domain::ArticleId) -> String {
    app.state.store.editable_article(id).await.expect("store").expect("article").section_slug
}

#[tokio::test]
async fn renaming_a_draft_or_a_scheduled_story_leaves_no_redirect_to_its_new_address() {
    let app = TestApp::spawn().await;
    let editor = app.add_user("e@news.test", "Edna Editor", Role::Editor).await;
    let e = app.sign_in(&editor).await;
    let draft = app.draft_by(&editor, "working-title").await;
    let scheduled = app.draft_by(&editor, "scheduled-working-title").await;
    let at = Utc::now() + Duration::hours(3);
    let moved = app
        .state
        .store
        .transition(
            scheduled,
            broadsheet::store::newsroom::Transition {
                from: &[ArticleStatus::Draft],
                to: ArticleStatus::Scheduled,
                publish_at: Some(at),
                user_id: None,
                at: Utc::now(),
            },
            &line("article_step"),
        )
        .await
        .expect("schedule");
    assert!(moved);
    assert_eq!(rename(&app, &e, draft, "minister-resigns-over-port-deal").await, StatusCode::SEE_OTHER);
    assert_eq!(rename(&app, &e, scheduled, "embargoed-merger-announced").await, StatusCode::SEE_OTHER);

    for (id, old) in [(draft, "working-title"), (scheduled, "scheduled-working-title")] {
        let section = section_of(&app, id).await;
        let answer = app.get(&format!("/{section}/{old}")).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{old}: {:?}", answer.header(header::LOCATION));
        assert!(answer.header(header::LOCATION).is_none());
    }
}

#[tokio::test]
async fn an_old_address_cannot_be_taken_or_repointed_by_another_story() {
    let app = TestApp::spawn().await;
    let editor = app.add_user("e@news.test", "Edna Editor", Role::Editor).await;
    let contributor = app.add_user("c@news.test", "Cal Contributor", Role::Contributor).await;
    let story = app.draft_by(&editor, "harbour-cranes-return").await;
    app.set_status(story, ArticleStatus::Published).await;
    let e = app.sign_in(&editor).await;
    assert_eq!(rename(&app, &e, story, "harbour-cranes-return-after-twenty-years").await, StatusCode::SEE_OTHER);
    let section = section_of(&app, story).await;
    let old_path = format!("/{section}/harbour-cranes-return");
    let new_path = format!("/{section}/harbour-cranes-return-after-twenty-years");
    assert_eq!(app.get(&old_path).await.header(header::LOCATION).as_deref(), Some(new_path.as_str()));

    // A contributor types the old address into a new story: refused, with what they typed kept.
    let c = app.sign_in(&contributor).await;
    let section_id = app.first_section().await.to_string();
    let typed = [
        ("headline", "My own story about cranes"),
        ("slug", "harbour-cranes-return"),
        ("section", section_id.as_str()),
        ("body", "Written by the contributor."),
    ];
    let refused = app.admin_post(&c, "/admin/articles", &typed).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(texts(&refused.html(), "#form-errors li").concat().contains("harbour-cranes-return"));
    assert_eq!(attrs(&refused.html(), "#headline", "value"), vec!["My own story about cranes"]);

    // Nor can their own draft be renamed onto it (and then away again, repointing the redirect).
    let own = app.draft_by(&contributor, "contributors-draft").await;
    assert_eq!(rename(&app, &c, own, "harbour-cranes-return").await, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields_of(&app, own).await.slug, "contributors-draft");
    assert_eq!(rename(&app, &c, own, "contributors-draft-renamed").await, StatusCode::SEE_OTHER);

    // A headline that happens to make the old address gets the next free one instead.
    let derived = [("headline", "Harbour cranes return"), ("section", section_id.as_str()), ("body", "More.")];
    assert_eq!(app.admin_post(&c, "/admin/articles", &derived).await.status, StatusCode::SEE_OTHER);

    let answer = app.get(&old_path).await;
    assert_eq!(answer.status, StatusCode::MOVED_PERMANENTLY);
    assert_eq!(answer.header(header::LOCATION).as_deref(), Some(new_path.as_str()), "the redirect still leads home");
    // The story itself may take its old address back.
    assert_eq!(rename(&app, &e, story, "harbour-cranes-return").await, StatusCode::SEE_OTHER);
    assert_eq!(app.get(&old_path).await.status, StatusCode::OK);
}

/// The sections form's fields for every stored section, as the page sends them.
async fn sections_form(app: &TestApp) -> Vec<(String, String)> {
    let mut form = Vec::new();
    for (s, archived) in app.state.store.all_sections().await.expect("sections") {
        form.push((format!("name_{}", s.id), s.name.clone()));
        form.push((format!("slug_{}", s.id), s.slug.clone()));
        form.push((format!("position_{}", s.id), s.position.to_string()));
        if archived {
            form.push((format!("archived_{}", s.id), "1".into()));
        }
    }
    form
}

fn set(form: &mut [(String, String)], key: &str, value: &str) {
    form.iter_mut().find(|(k, _)| k == key).expect("field").1 = value.into();
}

#[tokio::test]
async fn the_sections_form_saves_every_row_or_none_and_keeps_what_was_typed() {
    let app = TestApp::spawn().await;
    let editor = app.add_user("e@news.test", "Edna Editor", Role::Editor).await;
    let e = app.sign_in(&editor).await;
    let before = app.state.store.all_sections().await.expect("sections");
    let (first, second) = (&before[0].0, &before[1].0);

    // The first row is fine, the second is not: nothing is written, and both rows come back as typed.
    let mut form = sections_form(&app).await;
    set(&mut form, &format!("name_{}", first.id), "Renamed First Section");
    set(&mut form, &format!("slug_{}", second.id), "Not A Slug!");
    form.push(("new_name".into(), "Local Politics".into()));
    let refused = app.admin_post(&e, "/admin/sections", &as_refs(&form)).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.state.store.all_sections().await.expect("sections"), before, "nothing was saved");
    let doc = refused.html();
    assert_eq!(attrs(&doc, &format!("#name_{}", first.id), "value"), vec!["Renamed First Section"]);
    assert_eq!(attrs(&doc, &format!("#slug_{}", second.id), "value"), vec!["Not A Slug!"]);
    assert_eq!(attrs(&doc, "#new_name", "value"), vec!["Local Politics"]);
    assert_eq!(texts(&doc, &format!("#errors_{}", second.id)).len(), 1, "the error is on the row");
    assert!(texts(&doc, &format!("#errors_{}", first.id)).is_empty());

    // Two rows asking for one address: both are marked, nothing is written.
    let mut form = sections_form(&app).await;
    set(&mut form, &format!("slug_{}", first.id), &second.slug);
    let refused = app.admin_post(&e, "/admin/sections", &as_refs(&form)).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(texts(&refused.html(), &format!("#errors_{}", first.id)).len(), 1);
    assert_eq!(texts(&refused.html(), &format!("#errors_{}", second.id)).len(), 1);
    assert_eq!(app.state.store.all_sections().await.expect("sections"), before);

    // Swapping two addresses is one valid save.
    let mut form = sections_form(&app).await;
    set(&mut form, &format!("slug_{}", first.id), &second.slug);
    set(&mut form, &format!("slug_{}", second.id), &first.slug);
    let saved = app.admin_post(&e, "/admin/sections", &as_refs(&form)).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text());
    let after = app.state.store.all_sections().await.expect("sections");
    let slug_of =
        |id: broadsheet::domain::SectionId| after.iter().find(|(s, _)| s.id == id).expect("section").0.slug.clone();
    assert_eq!((slug_of(first.id), slug_of(second.id)), (second.slug.clone(), first.slug.clone()));
}
