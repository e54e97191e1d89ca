//! Storage full: below the free-space watermark every write is refused with 503 and
//! `Retry-After`, the writer's text comes back in the form, nothing is stored, readers are served,
//! `/readyz` reports it, and writes resume by themselves once there is room. (The same with a disk
//! that really fills up, inside SQLite, is `tests/chaos/diskfull.py`.)

use std::net::IpAddr;

use axum::http::{StatusCode, header};
use broadsheet::domain::Role;

use crate::helpers::{REFERENCE_PATH, TestApp};

const SLUG: &str = "kishidas-aim-for-us-visit-a-summit-with-north-koreas-kim-jong-un";

fn reader() -> IpAddr {
    [198, 51, 100, 77].into()
}

async fn comment_bodies(app: &TestApp) -> Vec<String> {
    let id = app.article_id(SLUG).await;
    app.state.store.published_comments(id, 10_000, 0).await.expect("comments").into_iter().map(|c| c.body).collect()
}

fn readiness(app_answer: &str) -> serde_json::Value {
    serde_json::from_str(app_answer).expect("readyz answers JSON")
}

#[tokio::test]
async fn below_the_watermark_writes_are_refused_with_the_text_kept_and_resume_when_there_is_room() {
    let app = TestApp::spawn().await;
    let editor = app.add_user("desk@news.test", "Desk Editor", Role::Editor).await;
    let browser = app.sign_in(&editor).await;
    app.get(REFERENCE_PATH).await;

    // More free space than any disk has: the guard now refuses writes.
    app.state.disk.set_watermark(u64::MAX);

    let page = app.get(REFERENCE_PATH).await;
    assert_eq!(page.status, StatusCode::OK, "readers are served while writes are refused");

    let text = "A thoughtful comment that must not vanish";
    let refused =
        app.post_form(&format!("{REFERENCE_PATH}/comments"), &[("name", "Ines"), ("body", text)], reader()).await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(refused.header(header::RETRY_AFTER).as_deref(), Some("60"));
    let html = refused.text();
    assert!(html.contains(text) && html.contains("Ines"), "the reader's text is back in the form");
    assert!(html.contains("storage is full"), "the reader is told why");
    assert!(!comment_bodies(&app).await.contains(&text.to_owned()), "nothing was stored");

    let settings = app.admin_post(&browser, "/admin/settings", &[("name", "Renamed while full")]).await;
    assert_eq!(settings.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(settings.header(header::RETRY_AFTER).as_deref(), Some("60"));
    assert!(settings.text().contains("storage is full"), "{}", settings.text());
    let signing_in = app.try_sign_in("desk@news.test", crate::newsroom::PASSWORD, [203, 0, 113, 9]).await;
    assert_eq!(signing_in.status, StatusCode::SERVICE_UNAVAILABLE, "a sign-in writes a session and waits too");

    let ready = app.get("/readyz").await;
    assert_eq!(ready.status, StatusCode::OK, "the node still serves readers, so it stays in rotation");
    let report = readiness(&ready.text());
    assert_eq!(report["status"], "degraded");
    assert_eq!(report["code"], "storage_full");
    assert_eq!(report["storage"]["writes_refused"], true);

    // Room again: no restart needed.
    app.state.disk.set_watermark(1);
    let accepted =
        app.post_form(&format!("{REFERENCE_PATH}/comments"), &[("name", "Ines"), ("body", text)], reader()).await;
    assert_eq!(accepted.status, StatusCode::SEE_OTHER, "{}", accepted.text());
    assert!(comment_bodies(&app).await.contains(&text.to_owned()));
    let ready = readiness(&app.get("/readyz").await.text());
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["storage"]["writes_refused"], false);
}

#[test]
fn a_full_disk_is_told_apart_from_other_database_errors() {
    use broadsheet::store::StoreError;
    let full = StoreError::StorageFull("database or disk is full".into());
    assert!(full.is_storage_full() && !full.is_unavailable());
    // One failed batch of comments answers every request in it with the same kind of error.
    assert!(full.replicate().is_storage_full());
    let away = StoreError::from(sqlx::Error::PoolTimedOut);
    assert!(away.is_unavailable() && away.replicate().is_unavailable(), "a database away stays a 503");
    // A connection cut while it opens: what sqlx said in the multi-node outage check.
    let cut = StoreError::from(sqlx::Error::Protocol("unexpected response from SSLRequest".into()));
    assert!(cut.is_unavailable() && cut.replicate().is_unavailable(), "a connection cut while opening is a 503");
    let other = StoreError::from(sqlx::Error::RowNotFound);
    assert!(!other.replicate().is_unavailable() && !other.replicate().is_storage_full());
}

#[tokio::test]
async fn an_editor_save_refused_for_lack_of_space_keeps_the_text_and_changes_nothing() {
    use crate::newsroom::{as_refs, editor_form, fields_of, version_of};
    let app = TestApp::spawn().await;
    let editor = app.add_user("writer@news.test", "Wren Writer", Role::Editor).await;
    let browser = app.sign_in(&editor).await;
    let id = app.draft_by(&editor, "storage-full-draft").await;
    let before = fields_of(&app, id).await;
    let version = version_of(&app, id).await;

    app.state.disk.set_watermark(u64::MAX);
    let mut typed = before.clone();
    typed.body_markdown = "Three paragraphs typed while the disk was full, which must not be lost.".into();
    let form = editor_form(&typed, version);
    let saved = app.admin_post(&browser, &format!("/admin/articles/{id}"), &as_refs(&form)).await;
    assert_eq!(saved.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(saved.header(header::RETRY_AFTER).as_deref(), Some("60"));
    let page = saved.text();
    assert!(page.contains(&typed.body_markdown), "the typed text is back in the editor");
    assert!(page.contains("Not saved"), "the writer is told");
    assert_eq!(fields_of(&app, id).await, before, "nothing was written");

    let autosaved = app.admin_post(&browser, &format!("/admin/articles/{id}/autosave"), &as_refs(&form)).await;
    assert_eq!(autosaved.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(autosaved.header(header::RETRY_AFTER).as_deref(), Some("60"));
    let reply: serde_json::Value = serde_json::from_str(&autosaved.text()).expect("autosave answers JSON");
    assert_eq!(reply["code"], "storage_full");
    assert_eq!(fields_of(&app, id).await, before);

    let mut new_story = typed.clone();
    new_story.slug = "typed-while-full".into();
    let created = app.admin_post(&browser, "/admin/articles", &as_refs(&editor_form(&new_story, 0))).await;
    assert_eq!(created.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(created.text().contains(&new_story.body_markdown));

    app.state.disk.set_watermark(1);
    let saved = app.admin_post(&browser, &format!("/admin/articles/{id}"), &as_refs(&form)).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "saving works again once there is room");
    assert_eq!(fields_of(&app, id).await.body_markdown, typed.body_markdown);
}
