//! The whole role × action × ownership matrix, through the router. The expected table is written
//! out here by hand, independently of the rule book in `domain::role`, so a change to either shows.

use axum::http::StatusCode;
use broadsheet::domain::{ArticleStatus, CommentStatus, Role, User};
use broadsheet::store::NewComment;
use broadsheet::store::newsroom::{Edited, Saving, VersionedWrite};
use chrono::Utc;

use super::{Browser, as_refs, editor_form, fields_of, version_of};
use crate::helpers::{TestApp, line};

#[derive(Debug, Clone, Copy)]
enum Act {
    CreateArticle,
    ViewOwnDraft,
    ViewOthersDraft,
    EditOwnDraft,
    EditOthersDraft,
    EditOwnPublished,
    EditOthersPublished,
    SubmitOwnDraft,
    PublishOwnDraft,
    PublishOthersDraft,
    UnpublishOwn,
    UnpublishOthers,
    ScheduleOwnDraft,
    SharePreviewOfOthers,
    CorrectOthers,
    RestoreOwnRevision,
    UploadPageView,
    Curate,
    SetBreaking,
    Moderate,
    RenameTag,
    ManageSections,
    ManageUsers,
    ManageSettings,
    ViewAudit,
}

/// Allowed for contributor, author, editor, admin.
const MATRIX: &[(Act, [bool; 4])] = &[
    (Act::CreateArticle, [true, true, true, true]),
    (Act::ViewOwnDraft, [true, true, true, true]),
    (Act::ViewOthersDraft, [false, false, true, true]),
    (Act::EditOwnDraft, [true, true, true, true]),
    (Act::EditOthersDraft, [false, false, true, true]),
    (Act::EditOwnPublished, [false, true, true, true]),
    (Act::EditOthersPublished, [false, false, true, true]),
    (Act::SubmitOwnDraft, [true, true, true, true]),
    (Act::PublishOwnDraft, [false, true, true, true]),
    (Act::PublishOthersDraft, [false, false, true, true]),
    (Act::UnpublishOwn, [false, true, true, true]),
    (Act::UnpublishOthers, [false, false, true, true]),
    (Act::ScheduleOwnDraft, [false, true, true, true]),
    (Act::SharePreviewOfOthers, [false, false, true, true]),
    (Act::CorrectOthers, [false, false, true, true]),
    (Act::RestoreOwnRevision, [true, true, true, true]),
    (Act::UploadPageView, [true, true, true, true]),
    (Act::Curate, [false, false, true, true]),
    (Act::SetBreaking, [false, false, true, true]),
    (Act::Moderate, [false, false, true, true]),
    (Act::RenameTag, [false, false, true, true]),
    (Act::ManageSections, [false, false, true, true]),
    (Act::ManageUsers, [false, false, false, true]),
    (Act::ManageSettings, [false, false, false, true]),
    (Act::ViewAudit, [false, false, false, true]),
];

struct Cast {
    me: User,
    other: User,
    browser: Browser,
}

async fn save(app: &TestApp, cast: &Cast, id: broadsheet::domain::ArticleId) -> StatusCode {
    let mut fields = fields_of(app, id).await;
    fields.headline = format!("{} (edited)", fields.headline);
    let mut form = editor_form(&fields, version_of(app, id).await);
    form.push(("intent".into(), "save".into()));
    app.admin_post(&cast.browser, &format!("/admin/articles/{id}"), &as_refs(&form)).await.status
}

async fn step(app: &TestApp, cast: &Cast, id: broadsheet::domain::ArticleId, step: &str) -> StatusCode {
    let path = format!("/admin/articles/{id}/workflow");
    app.admin_post(&cast.browser, &path, &[("step", step), ("publish_at", "2099-01-01T09:00")]).await.status
}

async fn published_by(app: &TestApp, user: &User, slug: &str) -> broadsheet::domain::ArticleId {
    let id = app.draft_by(user, slug).await;
    app.set_status(id, ArticleStatus::Published).await;
    id
}

async fn attempt(app: &TestApp, cast: &Cast, act: Act, n: usize) -> StatusCode {
    let slug = |what: &str| format!("{what}-{n}");
    match act {
        Act::CreateArticle => {
            let section = app.first_section().await.to_string();
            let form =
                [("headline", "A brand new story about the harbour"), ("section", section.as_str()), ("body", "Text.")];
            app.admin_post(&cast.browser, "/admin/articles", &form).await.status
        }
        Act::ViewOwnDraft => {
            let id = app.draft_by(&cast.me, &slug("own-view")).await;
            app.admin_get(&cast.browser, &format!("/admin/articles/{id}")).await.status
        }
        Act::ViewOthersDraft => {
            let id = app.draft_by(&cast.other, &slug("other-view")).await;
            app.admin_get(&cast.browser, &format!("/admin/articles/{id}")).await.status
        }
        Act::EditOwnDraft => save(app, cast, app.draft_by(&cast.me, &slug("own-edit")).await).await,
        Act::EditOthersDraft => save(app, cast, app.draft_by(&cast.other, &slug("other-edit")).await).await,
        Act::EditOwnPublished => save(app, cast, published_by(app, &cast.me, &slug("own-pub-edit")).await).await,
        Act::EditOthersPublished => {
            save(app, cast, published_by(app, &cast.other, &slug("other-pub-edit")).await).await
        }
        Act::SubmitOwnDraft => step(app, cast, app.draft_by(&cast.me, &slug("own-submit")).await, "submit").await,
        Act::PublishOwnDraft => step(app, cast, app.draft_by(&cast.me, &slug("own-publish")).await, "publish").await,
        Act::PublishOthersDraft => {
            let id = app.draft_by(&cast.other, &slug("other-publish")).await;
            app.set_status(id, ArticleStatus::InReview).await;
            step(app, cast, id, "publish").await
        }
        Act::UnpublishOwn => step(app, cast, published_by(app, &cast.me, &slug("own-unpub")).await, "unpublish").await,
        Act::UnpublishOthers => {
            step(app, cast, published_by(app, &cast.other, &slug("other-unpub")).await, "unpublish").await
        }
        Act::ScheduleOwnDraft => step(app, cast, app.draft_by(&cast.me, &slug("own-schedule")).await, "schedule").await,
        Act::SharePreviewOfOthers => {
            let id = app.draft_by(&cast.other, &slug("other-share")).await;
            app.admin_post(&cast.browser, &format!("/admin/articles/{id}/preview-link"), &[]).await.status
        }
        Act::CorrectOthers => {
            let id = published_by(app, &cast.other, &slug("other-correct")).await;
            let form = [("kind", "correction"), ("body", "An earlier version misspelled the port's name.")];
            app.admin_post(&cast.browser, &format!("/admin/articles/{id}/corrections"), &form).await.status
        }
        Act::RestoreOwnRevision => {
            let id = app.draft_by(&cast.me, &slug("own-restore")).await;
            let first = app.state.store.revisions(id).await.expect("revisions")[0].id;
            let mut fields = fields_of(app, id).await;
            fields.body_markdown = "Second version.".into();
            let version = version_of(app, id).await;
            let saved = app
                .state
                .store
                .save_article(
                    id,
                    &fields,
                    "<p>Second version.</p>",
                    None,
                    Saving::Deliberate(&line("article_saved")),
                    Utc::now(),
                    version,
                )
                .await
                .expect("save");
            assert_eq!(saved, VersionedWrite::Written);
            let version = version_of(app, id).await.to_string();
            let path = format!("/admin/articles/{id}/revisions/{first}/restore");
            app.admin_post(&cast.browser, &path, &[("version", &version)]).await.status
        }
        Act::UploadPageView => app.admin_get(&cast.browser, "/admin/media").await.status,
        Act::Curate => {
            let id = published_by(app, &cast.other, &slug("pick")).await.to_string();
            let version = app.state.store.edit_version(Edited::MustReads).await.expect("version").to_string();
            app.admin_post(&cast.browser, "/admin/curation/must-reads", &[("add", &id), ("version", &version)])
                .await
                .status
        }
        Act::SetBreaking => {
            let version = app.state.store.edit_version(Edited::Setting("breaking")).await.expect("version").to_string();
            let form = [("text", "Polls have closed"), ("link", ""), ("version", &version)];
            app.admin_post(&cast.browser, "/admin/curation/breaking", &form).await.status
        }
        Act::Moderate => {
            let article = published_by(app, &cast.other, &slug("commented")).await;
            let comment = NewComment {
                article_id: article,
                author_name: "Reader".into(),
                body: "See http://example.com".into(),
                status: CommentStatus::Held,
                fingerprint: "f".repeat(32),
                created_at: Utc::now(),
            };
            let stored = app.state.store.insert_comments(&[comment]).await.expect("insert").remove(0).expect("comment");
            app.admin_post(&cast.browser, &format!("/admin/comments/{}", stored.id), &[("action", "approve")])
                .await
                .status
        }
        Act::RenameTag => {
            let (tag, _) = app.state.store.tags_with_counts().await.expect("tags").remove(0);
            app.admin_post(&cast.browser, "/admin/tags", &[("tag", &tag.id.to_string()), ("name", &tag.name)])
                .await
                .status
        }
        Act::ManageSections => app.admin_get(&cast.browser, "/admin/sections").await.status,
        Act::ManageUsers => app.admin_get(&cast.browser, "/admin/users").await.status,
        Act::ManageSettings => app.admin_get(&cast.browser, "/admin/settings").await.status,
        Act::ViewAudit => app.admin_get(&cast.browser, "/admin/audit").await.status,
    }
}

#[tokio::test]
async fn every_role_may_do_exactly_what_its_column_says() {
    let app = TestApp::spawn().await;
    let other = app.add_user("other@news.test", "Olga Other", Role::Contributor).await;
    let mut failures = Vec::new();
    let mut n = 0;
    for (column, role) in [Role::Contributor, Role::Author, Role::Editor, Role::Admin].into_iter().enumerate() {
        let me = app.add_user(&format!("{}@news.test", role.as_str()), &format!("{} Member", role.label()), role).await;
        let browser = app.sign_in(&me).await;
        let cast = Cast { me, other: other.clone(), browser };
        for (act, allowed) in MATRIX {
            n += 1;
            let status = attempt(&app, &cast, *act, n).await;
            let ok = if allowed[column] {
                status == StatusCode::OK || status == StatusCode::SEE_OTHER
            } else {
                status == StatusCode::FORBIDDEN
            };
            if !ok {
                failures.push(format!(
                    "{role:?} {act:?}: expected {}, got {status}",
                    if allowed[column] { "allowed" } else { "403" }
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{} cells wrong:\n{}", failures.len(), failures.join("\n"));
}

#[tokio::test]
async fn a_contributor_sees_only_their_own_articles_in_the_list() {
    let app = TestApp::spawn().await;
    let me = app.add_user("c@news.test", "Cora Contributor", Role::Contributor).await;
    let other = app.add_user("o@news.test", "Otto Other", Role::Contributor).await;
    app.draft_by(&me, "mine-listed").await;
    app.draft_by(&other, "theirs-hidden").await;
    let browser = app.sign_in(&me).await;
    let page = app.admin_get(&browser, "/admin").await.text();
    assert!(page.contains("The mine-listed story"));
    assert!(!page.contains("The theirs-hidden story"));
    assert!(!page.contains("Kishida"), "published demo articles by others are not listed for contributors");
}
