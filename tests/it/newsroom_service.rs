//! The article use cases called directly, without HTTP, on a real store (SQLite, or PostgreSQL when
//! the tests run against it): each successful one records exactly one audit line and emits exactly
//! one change event; a refused one (permission, validation, stale version) records and emits
//! nothing, whatever a handler checked or forgot to check.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeZone, Utc};

use crate::helpers::line;
use broadsheet::disk::DiskGuard;
use broadsheet::domain::CommentStatus;
use broadsheet::domain::{ArticleId, ArticleStatus, Role, User};
use broadsheet::newsroom::articles::{
    self, Actor, ArticleEvent, ArticleForm, ChangeSink, FormOutcome, Newsroom, RestoreOutcome, SaveRequest,
    ServiceError,
};
use broadsheet::newsroom::curation::{self, BannerInput, CuratedList, Pick};
use broadsheet::newsroom::moderation::moderate;
use broadsheet::newsroom::profile::{self, Breaking, SiteProfile};
use broadsheet::newsroom::workflow::Step;
use broadsheet::store::newsroom::NewUser;
use broadsheet::store::newsroom::VersionedWrite;
use broadsheet::store::{NewComment, NewSection, Store};

use crate::helpers::TestDb;

/// Remembers every event, so a test can count them.
#[derive(Default)]
struct RecordedChanges {
    articles: Mutex<Vec<ArticleEvent>>,
    lists: Mutex<Vec<CuratedList>>,
    banners: Mutex<Vec<Option<Breaking>>>,
    settings: Mutex<Vec<SiteProfile>>,
    media: Mutex<Vec<(broadsheet::domain::MediaId, bool)>>,
    added: Mutex<Vec<broadsheet::domain::MediaId>>,
    sections: Mutex<usize>,
}

impl ChangeSink for RecordedChanges {
    fn article_changed(&self, event: ArticleEvent) {
        self.articles.lock().expect("not poisoned").push(event);
    }
    fn curated_list_changed(&self, list: CuratedList) {
        self.lists.lock().expect("not poisoned").push(list);
    }
    fn banner_changed(&self, banner: Option<Breaking>) {
        self.banners.lock().expect("not poisoned").push(banner);
    }
    fn settings_changed(&self, profile: SiteProfile) {
        self.settings.lock().expect("not poisoned").push(profile);
    }
    fn media_changed(&self, id: broadsheet::domain::MediaId, crops_reset: bool) {
        self.media.lock().expect("not poisoned").push((id, crops_reset));
    }
    fn media_added(&self, id: broadsheet::domain::MediaId) {
        self.added.lock().expect("not poisoned").push(id);
    }
    fn sections_changed(&self) {
        *self.sections.lock().expect("not poisoned") += 1;
    }
}

impl RecordedChanges {
    /// The article events since the last call; panics if a curation event is waiting unread.
    fn taken(&self) -> Vec<ArticleEvent> {
        assert!(self.lists.lock().expect("not poisoned").is_empty(), "no curated list changed");
        assert!(self.banners.lock().expect("not poisoned").is_empty(), "the banner did not change");
        assert!(self.settings.lock().expect("not poisoned").is_empty(), "the settings did not change");
        assert!(self.media.lock().expect("not poisoned").is_empty(), "no image was described");
        assert!(self.added.lock().expect("not poisoned").is_empty(), "no image was uploaded");
        assert_eq!(*self.sections.lock().expect("not poisoned"), 0, "the sections did not change");
        std::mem::take(&mut *self.articles.lock().expect("not poisoned"))
    }

    fn lists_taken(&self) -> Vec<CuratedList> {
        std::mem::take(&mut *self.lists.lock().expect("not poisoned"))
    }

    fn banners_taken(&self) -> Vec<Option<Breaking>> {
        std::mem::take(&mut *self.banners.lock().expect("not poisoned"))
    }

    fn added_taken(&self) -> Vec<broadsheet::domain::MediaId> {
        std::mem::take(&mut *self.added.lock().expect("not poisoned"))
    }

    fn media_taken(&self) -> Vec<(broadsheet::domain::MediaId, bool)> {
        std::mem::take(&mut *self.media.lock().expect("not poisoned"))
    }

    fn settings_taken(&self) -> Vec<SiteProfile> {
        std::mem::take(&mut *self.settings.lock().expect("not poisoned"))
    }
}

struct Desk {
    store: Arc<dyn Store>,
    changes: RecordedChanges,
    disk: DiskGuard,
    section_id: broadsheet::domain::SectionId,
    _db: TestDb,
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).single().expect("valid time")
}

async fn desk() -> Desk {
    let db = TestDb::new().await;
    let store = db.open().await;
    let section = store
        .insert_section(NewSection { slug: "city".into(), name: "City".into(), position: 1 })
        .await
        .expect("section");
    // A watermark of 0 turns the disk guard off.
    Desk {
        store,
        changes: RecordedChanges::default(),
        disk: DiskGuard::new(Vec::new(), 0),
        section_id: section.id,
        _db: db,
    }
}

impl Desk {
    fn newsroom(&self) -> Newsroom<'_> {
        Newsroom { store: self.store.as_ref(), changes: &self.changes, disk: &self.disk, zone: chrono_tz::UTC }
    }

    async fn member(&self, email: &str, role: Role) -> Actor {
        let user: User = self
            .store
            .insert_user(
                NewUser { email: email.into(), name: email.into(), role, password_hash: None, created_at: now() },
                &line("user_added"),
            )
            .await
            .expect("user");
        Actor { user_id: user.id, author_id: user.author_id, role }
    }

    /// Nia, an author who signs in with `password`.
    async fn nia_with_password(&self, password: &str) -> User {
        let hash = broadsheet::auth::password::hash_password(password).expect("hash");
        let nia = NewUser {
            email: "nia@news.test".into(),
            name: "Nia".into(),
            role: Role::Author,
            password_hash: Some(hash),
            created_at: now(),
        };
        self.store.insert_user(nia, &line("user_added")).await.expect("user")
    }

    fn form(&self, headline: &str) -> ArticleForm {
        ArticleForm {
            headline: headline.into(),
            section: self.section_id.to_string(),
            body: "The council met.".into(),
            ..ArticleForm::default()
        }
    }

    /// The audit log's actions, newest first, without the test's own members being added.
    async fn audit_lines(&self) -> Vec<String> {
        let lines = self.store.audit_entries(100, 0).await.expect("audit").into_iter();
        lines.filter(|e| e.action != "user_added").map(|e| e.action).collect()
    }

    async fn version(&self, id: ArticleId) -> i64 {
        self.store.editable_article(id).await.expect("read").expect("exists").version
    }

    async fn status(&self, id: ArticleId) -> ArticleStatus {
        self.store.editable_article(id).await.expect("read").expect("exists").status
    }

    async fn create(&self, actor: &Actor, headline: &str) -> ArticleId {
        match articles::create(self.newsroom(), actor, &self.form(headline), now()).await.expect("create") {
            FormOutcome::Done { id, .. } => id,
            other => panic!("not created: {other:?}"),
        }
    }
}

#[tokio::test]
async fn each_use_case_records_one_audit_line_and_one_change_event() {
    let desk = desk().await;
    let editor = desk.member("editor@news.test", Role::Editor).await;

    let id = desk.create(&editor, "Council approves the harbour budget").await;
    assert_eq!(desk.audit_lines().await, vec!["article_created"]);
    assert_eq!(desk.changes.taken(), vec![ArticleEvent::Internal { id }]);

    let save = SaveRequest {
        form: desk.form("Council approves the new harbour budget"),
        base_version: desk.version(id).await,
        ..SaveRequest::default()
    };
    let saved = articles::save(desk.newsroom(), &editor, id, &save, now()).await.expect("save");
    assert!(matches!(saved, FormOutcome::Done { moved_to: None, .. }), "{saved:?}");
    assert_eq!(desk.audit_lines().await, vec!["article_saved", "article_created"]);
    assert_eq!(desk.changes.taken(), vec![ArticleEvent::Internal { id }], "a draft is not public");

    let to = articles::take_step(desk.newsroom(), &editor, id, Step::Publish, "", now()).await.expect("publish");
    assert_eq!(to, ArticleStatus::Published);
    assert_eq!(desk.audit_lines().await[0], "article_publish");
    assert_eq!(desk.changes.taken(), vec![ArticleEvent::Public { id, went_live: true }]);

    articles::add_correction(desk.newsroom(), &editor, id, "correction", "The budget is 4 million, not 40.", now())
        .await
        .expect("correction");
    assert_eq!(desk.audit_lines().await[0], "correction_added");
    assert_eq!(desk.changes.taken(), vec![ArticleEvent::Public { id, went_live: false }]);

    let first_revision = desk.store.revisions(id).await.expect("revisions").last().expect("one at least").id;
    let restored = articles::restore(desk.newsroom(), &editor, id, first_revision, desk.version(id).await, now())
        .await
        .expect("restore");
    assert!(matches!(restored, RestoreOutcome::Restored));
    assert_eq!(desk.audit_lines().await[0], "revision_restored");
    assert_eq!(desk.changes.taken(), vec![ArticleEvent::Public { id, went_live: false }]);

    articles::schedule_unpublish(desk.newsroom(), &editor, id, "2026-04-01T09:00", now()).await.expect("unpublish at");
    assert_eq!(desk.audit_lines().await[0], "article_unpublish_scheduled");
    assert_eq!(desk.changes.taken().len(), 1);

    assert_eq!(desk.audit_lines().await.len(), 6, "one line per use case, no more");
}

#[tokio::test]
async fn a_contributor_cannot_publish_through_the_service() {
    let desk = desk().await;
    let contributor = desk.member("c@news.test", Role::Contributor).await;
    let id = desk.create(&contributor, "My first story for the paper").await;
    desk.changes.taken();
    let lines = desk.audit_lines().await.len();

    let step = articles::take_step(desk.newsroom(), &contributor, id, Step::Publish, "", now()).await;
    assert!(matches!(step, Err(ServiceError::Forbidden)), "{step:?}");
    let save = SaveRequest {
        form: desk.form("My first story for the paper"),
        base_version: desk.version(id).await,
        step: Some(Step::Publish),
        confirmed: true,
        ..SaveRequest::default()
    };
    let saved = articles::save(desk.newsroom(), &contributor, id, &save, now()).await;
    assert!(matches!(saved, Err(ServiceError::Forbidden)), "{saved:?}");
    let scheduled =
        articles::take_step(desk.newsroom(), &contributor, id, Step::Schedule, "2026-03-02T09:00", now()).await;
    assert!(matches!(scheduled, Err(ServiceError::Forbidden)), "{scheduled:?}");

    assert_eq!(desk.status(id).await, ArticleStatus::Draft);
    assert_eq!(desk.audit_lines().await.len(), lines, "a refusal is not audited as a change");
    assert!(desk.changes.taken().is_empty(), "a refusal changes nothing");
}

#[tokio::test]
async fn a_step_that_does_not_start_from_the_status_is_a_conflict_not_a_permission_problem() {
    let desk = desk().await;
    let editor = desk.member("e@news.test", Role::Editor).await;
    let contributor = desk.member("c@news.test", Role::Contributor).await;
    let id = desk.create(&editor, "Ferry timetable changes from Monday").await;
    articles::take_step(desk.newsroom(), &editor, id, Step::Publish, "", now()).await.expect("publish");
    desk.changes.taken();
    let lines = desk.audit_lines().await.len();

    // A second click on "Publish", or a stale tab: the editor may publish, the article just is.
    let again = articles::take_step(desk.newsroom(), &editor, id, Step::Publish, "", now()).await;
    match again {
        Err(ServiceError::Conflict(message)) => {
            assert!(message.contains("is published") && message.contains("cannot be published"), "{message}")
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    let submit = articles::take_step(desk.newsroom(), &editor, id, Step::Submit, "", now()).await;
    assert!(matches!(submit, Err(ServiceError::Conflict(_))), "{submit:?}");

    // Where the member lacks the right, it stays a refusal of rights, whatever the status.
    let own = desk.create(&contributor, "Library extends its opening hours").await;
    desk.changes.taken();
    let lines_before_contributor = desk.audit_lines().await.len();
    let publish = articles::take_step(desk.newsroom(), &contributor, own, Step::Publish, "", now()).await;
    assert!(matches!(publish, Err(ServiceError::Forbidden)), "{publish:?}");

    assert_eq!(desk.status(id).await, ArticleStatus::Published);
    assert_eq!(desk.audit_lines().await.len(), lines_before_contributor);
    assert_eq!(lines_before_contributor, lines + 1, "only the contributor's draft was recorded");
    assert!(desk.changes.taken().is_empty(), "a refusal changes nothing");
}

#[tokio::test]
async fn refused_use_cases_record_and_emit_nothing() {
    let desk = desk().await;
    let editor = desk.member("e@news.test", Role::Editor).await;
    let author = desk.member("a@news.test", Role::Author).await;
    let id = desk.create(&editor, "Tram line reopens after repairs").await;
    let version = desk.version(id).await;
    desk.changes.taken();
    let lines = desk.audit_lines().await.len();

    // Validation: an empty headline, per field.
    let invalid = SaveRequest { form: desk.form("   "), base_version: version, ..SaveRequest::default() };
    match articles::save(desk.newsroom(), &editor, id, &invalid, now()).await.expect("answered") {
        FormOutcome::Unsaved { errors, .. } => {
            assert_eq!(errors.for_field("headline"), vec!["A headline is required."]);
            assert!(errors.for_field("body").is_empty());
        }
        other => panic!("an empty headline was accepted: {other:?}"),
    }
    // Validation: a bad schedule time, keyed to its field.
    let bad_time = articles::take_step(desk.newsroom(), &editor, id, Step::Schedule, "tomorrow", now()).await;
    match bad_time {
        Err(ServiceError::Invalid(errors)) => assert_eq!(errors.for_field("publish_at").len(), 1),
        other => panic!("a bad time was accepted: {other:?}"),
    }
    // Validation: a correction needs a note and a kind (and a published article).
    let correction = articles::add_correction(desk.newsroom(), &editor, id, "correction", "", now()).await;
    assert!(matches!(correction, Err(ServiceError::Conflict(_))), "not published yet: {correction:?}");
    // Permission: an author may not edit a colleague's story.
    let theirs =
        SaveRequest { form: desk.form("Tram line reopens at last"), base_version: version, ..Default::default() };
    let forbidden = articles::save(desk.newsroom(), &author, id, &theirs, now()).await;
    assert!(matches!(forbidden, Err(ServiceError::Forbidden)), "{forbidden:?}");
    // Stale version: someone saved meanwhile.
    let stale =
        SaveRequest { form: desk.form("Tram line reopens at last"), base_version: version - 1, ..Default::default() };
    let outcome = articles::save(desk.newsroom(), &editor, id, &stale, now()).await.expect("answered");
    assert!(matches!(outcome, FormOutcome::Stale { .. }), "{outcome:?}");
    let first_revision = desk.store.revisions(id).await.expect("revisions").last().expect("one").id;
    let restore = articles::restore(desk.newsroom(), &editor, id, first_revision, version + 5, now()).await;
    assert!(matches!(restore, Ok(RestoreOutcome::Stale { .. })), "{restore:?}");

    assert_eq!(desk.version(id).await, version, "nothing was written");
    assert_eq!(desk.audit_lines().await.len(), lines, "no audit line for a refusal");
    assert!(desk.changes.taken().is_empty(), "no change event for a refusal");
}

#[tokio::test]
async fn correction_input_is_checked_field_by_field() {
    let desk = desk().await;
    let editor = desk.member("e@news.test", Role::Editor).await;
    let id = desk.create(&editor, "Bridge closes for the winter").await;
    articles::take_step(desk.newsroom(), &editor, id, Step::Publish, "", now()).await.expect("publish");
    desk.changes.taken();

    let too_long = "x".repeat(2001);
    for (kind, body, field) in
        [("retraction", "A note.", "kind"), ("correction", "   ", "body"), ("update", too_long.as_str(), "body")]
    {
        match articles::add_correction(desk.newsroom(), &editor, id, kind, body, now()).await {
            Err(ServiceError::Invalid(errors)) => assert_eq!(errors.for_field(field).len(), 1, "{kind} {body:.10}"),
            other => panic!("accepted {kind} {body:.10}: {other:?}"),
        }
    }
    assert!(desk.store.corrections_for(id).await.expect("read").is_empty());
    assert!(desk.changes.taken().is_empty());
}

impl Desk {
    /// A published article with one held comment from `fingerprint`; returns (article, comment).
    async fn held_comment(&self, editor: &Actor, fingerprint: &str) -> (ArticleId, broadsheet::domain::CommentId) {
        let id = self.create(editor, "Ferry timetable changes in spring").await;
        articles::take_step(self.newsroom(), editor, id, Step::Publish, "", now()).await.expect("publish");
        let comment = NewComment {
            article_id: id,
            author_name: "Reader".into(),
            body: "Will the early ferry still run?".into(),
            status: CommentStatus::Held,
            fingerprint: fingerprint.into(),
            created_at: now(),
        };
        let stored = self.store.insert_comments(&[comment]).await.expect("insert").remove(0).expect("stored");
        self.changes.taken();
        (id, stored.id)
    }

    async fn comment_status(&self, comment: broadsheet::domain::CommentId) -> CommentStatus {
        let all = self.store.comments_by_status(CommentStatus::Held, 100, 0).await.expect("held");
        if all.iter().any(|c| c.id == comment) {
            return CommentStatus::Held;
        }
        for status in [CommentStatus::Published, CommentStatus::Rejected, CommentStatus::Spam] {
            if self.store.comments_by_status(status, 100, 0).await.expect("list").iter().any(|c| c.id == comment) {
                return status;
            }
        }
        panic!("comment {comment} is gone")
    }
}

#[tokio::test]
async fn moderation_records_one_audit_line_and_one_public_change() {
    let desk = desk().await;
    let editor = desk.member("mod@news.test", Role::Editor).await;
    let (id, comment) = desk.held_comment(&editor, "reader-one").await;
    let lines = desk.audit_lines().await.len();

    let article = moderate(desk.newsroom(), &editor, comment, "approve", "", now()).await.expect("approve");
    assert_eq!(article, id);
    assert_eq!(desk.comment_status(comment).await, CommentStatus::Published);
    assert_eq!(desk.audit_lines().await[0], "comment_approve");
    assert_eq!(desk.audit_lines().await.len(), lines + 1);
    let entry = desk.store.audit_entries(1, 0).await.expect("audit").remove(0);
    assert_eq!((entry.target_kind.as_str(), entry.target_id), ("comment", Some(comment.0)));
    assert_eq!(desk.changes.taken(), vec![ArticleEvent::Public { id, went_live: false }]);

    moderate(desk.newsroom(), &editor, comment, "block", "reader-one", now()).await.expect("block");
    assert_eq!(desk.comment_status(comment).await, CommentStatus::Spam);
    assert_eq!(desk.audit_lines().await[0], "comment_block");
    assert_eq!(desk.changes.taken(), vec![ArticleEvent::Public { id, went_live: false }]);
    let slug = desk.store.article_by_id(id).await.expect("read").expect("exists").slug;
    let target = desk.store.comment_target(&slug, "reader-one").await.expect("target").expect("article");
    assert!(target.commenter_blocked, "their next comment goes to spam");

    moderate(desk.newsroom(), &editor, comment, "delete", "", now()).await.expect("delete");
    assert_eq!(desk.audit_lines().await[0], "comment_delete");
    assert_eq!(desk.audit_lines().await.len(), lines + 3, "one line per action");
}

#[tokio::test]
async fn refused_moderation_writes_records_and_emits_nothing() {
    let desk = desk().await;
    let editor = desk.member("ed@news.test", Role::Editor).await;
    let author = desk.member("au@news.test", Role::Author).await;
    let (id, comment) = desk.held_comment(&editor, "reader-two").await;
    let lines = desk.audit_lines().await.len();

    // Below editor: refused before the input is even read.
    for action in ["approve", "delete", "block", "nonsense"] {
        let done = moderate(desk.newsroom(), &author, comment, action, "reader-two", now()).await;
        assert!(matches!(done, Err(ServiceError::Forbidden)), "{action}: {done:?}");
    }
    let unknown = moderate(desk.newsroom(), &editor, comment, "publish", "", now()).await;
    assert!(matches!(unknown, Err(ServiceError::Refused(_))), "{unknown:?}");
    let hostile = moderate(desk.newsroom(), &editor, comment, "block", "x' OR '1'='1", now()).await;
    assert!(matches!(hostile, Err(ServiceError::Invalid(_))), "{hostile:?}");
    let missing = moderate(
        desk.newsroom(),
        &editor,
        broadsheet::domain::CommentId(comment.0 + 1000),
        "block",
        "reader-two",
        now(),
    )
    .await;
    assert!(matches!(missing, Err(ServiceError::NotFound)), "{missing:?}");

    assert_eq!(desk.comment_status(comment).await, CommentStatus::Held);
    let slug = desk.store.article_by_id(id).await.expect("read").expect("exists").slug;
    let target = desk.store.comment_target(&slug, "reader-two").await.expect("target").expect("article");
    assert!(!target.commenter_blocked, "no block for a refused or missing comment");
    assert_eq!(desk.audit_lines().await.len(), lines);
    assert!(desk.changes.taken().is_empty());
}

#[tokio::test]
async fn curation_checks_rights_and_input_then_records_one_line_and_one_change() {
    let desk = desk().await;
    let editor = desk.member("e@news.test", Role::Editor).await;
    let author = desk.member("a@news.test", Role::Author).await;
    let first = desk.create(&editor, "Harbour cranes come down after forty years").await;
    let second = desk.create(&editor, "Night buses return to the old town").await;
    desk.changes.taken();
    let lines = desk.audit_lines().await.len();
    let pick = |article_id| Pick { article_id, expires_at: None };
    let version = |edited| {
        let store = Arc::clone(&desk.store);
        async move { store.edit_version(edited).await.expect("version") }
    };
    use broadsheet::store::newsroom::Edited;

    // Refusals first: none of them writes, records or reports anything.
    let must_reads = version(Edited::MustReads).await;
    let refused =
        curation::set_list(desk.newsroom(), &author, CuratedList::MustReads, &[pick(first)], must_reads, now()).await;
    assert!(matches!(refused, Err(ServiceError::Forbidden)), "an author does not curate: {refused:?}");
    let twice = [pick(first), pick(first)];
    match curation::set_list(desk.newsroom(), &editor, CuratedList::MustReads, &twice, must_reads, now()).await {
        Err(ServiceError::Invalid(errors)) => assert_eq!(errors.for_field("article").len(), 1, "{errors:?}"),
        other => panic!("a story listed twice is refused: {other:?}"),
    }
    let missing = curation::set_list(
        desk.newsroom(),
        &editor,
        CuratedList::MustReads,
        &[pick(broadsheet::domain::ArticleId(first.0 + 1000))],
        must_reads,
        now(),
    )
    .await;
    assert!(matches!(missing, Err(ServiceError::Invalid(_))), "no such article: {missing:?}");
    let too_many: Vec<Pick> =
        (0..=curation::MAX_PICKS as i64).map(|n| pick(broadsheet::domain::ArticleId(first.0 + n))).collect();
    let long = curation::set_list(desk.newsroom(), &editor, CuratedList::MustReads, &too_many, must_reads, now()).await;
    assert!(matches!(long, Err(ServiceError::Invalid(_))), "{long:?}");
    let banner =
        |text: &str, link: &str| BannerInput { text: text.into(), link: link.into(), ..BannerInput::default() };
    let breaking = version(Edited::Setting("breaking")).await;
    for (input, field) in [
        (banner(&"x".repeat(curation::MAX_BANNER_CHARS + 1), ""), "text"),
        (banner("Polls close\nat eight", ""), "text"),
        (banner("Polls close", "javascript:alert(1)"), "link"),
        (
            BannerInput { expires_at: Some(now() - chrono::Duration::minutes(1)), ..banner("Polls close", "") },
            "expires",
        ),
    ] {
        match curation::set_breaking(desk.newsroom(), &editor, &input, breaking, now()).await {
            Err(ServiceError::Invalid(errors)) => assert!(!errors.for_field(field).is_empty(), "{field}: {errors:?}"),
            other => panic!("{field}: expected a refusal, got {other:?}"),
        }
    }
    assert_eq!(desk.store.must_read_entries().await.expect("picks").len(), 0);
    assert_eq!(desk.audit_lines().await.len(), lines);
    assert!(desk.changes.lists_taken().is_empty() && desk.changes.banners_taken().is_empty());

    // Then the writes: one audit line and one change each.
    let saved = curation::set_list(
        desk.newsroom(),
        &editor,
        CuratedList::MustReads,
        &[pick(second), pick(first)],
        must_reads,
        now(),
    )
    .await;
    assert_eq!(saved.expect("saved"), VersionedWrite::Written);
    let order: Vec<broadsheet::domain::ArticleId> =
        desk.store.must_read_entries().await.expect("picks").iter().map(|p| p.article_id).collect();
    assert_eq!(order, vec![second, first]);
    assert_eq!(desk.audit_lines().await[0], "must_reads_set");
    assert_eq!(desk.changes.lists_taken(), vec![CuratedList::MustReads]);
    // The same form sent again is based on the version before that save: stale, nothing written.
    let stale =
        curation::set_list(desk.newsroom(), &editor, CuratedList::MustReads, &[pick(first)], must_reads, now()).await;
    assert_eq!(stale.expect("answered"), VersionedWrite::Stale);
    assert!(desk.changes.lists_taken().is_empty());

    let home = version(Edited::HomeSlots).await;
    let saved = curation::set_list(desk.newsroom(), &editor, CuratedList::Home, &[pick(first)], home, now())
        .await
        .expect("home");
    assert_eq!(saved, VersionedWrite::Written);
    assert_eq!(desk.audit_lines().await[0], "home_set");
    assert_eq!(desk.changes.lists_taken(), vec![CuratedList::Home]);

    let (written, stored) =
        curation::set_breaking(desk.newsroom(), &editor, &banner("  Polls have closed  ", "/city"), breaking, now())
            .await
            .expect("banner");
    assert_eq!(written, VersionedWrite::Written);
    let expected = Breaking { text: "Polls have closed".into(), link: "/city".into(), expires_at: None };
    assert_eq!(stored.as_ref(), Some(&expected));
    assert_eq!(desk.changes.banners_taken(), vec![Some(expected)]);
    let cleared = BannerInput { clear: true, ..banner("ignored when clearing", "") };
    let breaking = version(Edited::Setting("breaking")).await;
    let (written, stored) =
        curation::set_breaking(desk.newsroom(), &editor, &cleared, breaking, now()).await.expect("cleared");
    assert_eq!((written, stored), (VersionedWrite::Written, None));
    assert_eq!(desk.changes.banners_taken(), vec![None]);
    assert_eq!(desk.audit_lines().await.len(), lines + 4, "one line per write, none for refusals");
    assert!(desk.changes.taken().is_empty(), "curation changes no article");
}

#[tokio::test]
async fn settings_are_saved_by_a_manager_only_and_bad_values_are_keyed_to_their_field() {
    let desk = desk().await;
    let admin = desk.member("admin@news.test", Role::Admin).await;
    let editor = desk.member("e@news.test", Role::Editor).await;
    let version = desk.store.edit_version(broadsheet::store::newsroom::Edited::Setting("site_profile")).await;
    let version = version.expect("version");
    let good =
        SiteProfile { name: "The Harbour Herald".into(), time_zone: "Asia/Seoul".into(), ..SiteProfile::default() };
    let lines = desk.audit_lines().await.len();

    let refused = profile::save_settings(desk.newsroom(), &editor, &good, version, now()).await;
    assert!(matches!(refused, Err(ServiceError::Forbidden)), "{refused:?}");
    for (bad, field) in [
        (SiteProfile { name: "  ".into(), ..good.clone() }, "name"),
        (SiteProfile { time_zone: "Mars/Olympus".into(), ..good.clone() }, "time_zone"),
        (SiteProfile { language: "en_GB!".into(), ..good.clone() }, "language"),
        (SiteProfile { logo_url: "javascript:alert(1)".into(), ..good.clone() }, "logo_url"),
        (
            SiteProfile { navigation: SiteProfile::parse_navigation("Tips | data:text/html,x"), ..good.clone() },
            "navigation",
        ),
        (SiteProfile { description: "Hidden \u{202e}reversed".into(), ..good.clone() }, "description"),
    ] {
        match profile::save_settings(desk.newsroom(), &admin, &bad, version, now()).await {
            Err(ServiceError::Invalid(errors)) => assert_eq!(errors.for_field(field).len(), 1, "{field}: {errors:?}"),
            other => panic!("{field}: expected a refusal, got {other:?}"),
        }
    }
    assert_eq!(desk.audit_lines().await.len(), lines);
    assert!(desk.changes.settings_taken().is_empty());

    let saved = profile::save_settings(desk.newsroom(), &admin, &good, version, now()).await.expect("saved");
    assert_eq!(saved, VersionedWrite::Written);
    assert_eq!(desk.audit_lines().await[0], "settings_changed");
    assert_eq!(desk.changes.settings_taken(), vec![good.clone()]);
    let again = profile::save_settings(desk.newsroom(), &admin, &good, version, now()).await.expect("answered");
    assert_eq!(again, VersionedWrite::Stale, "based on the version before the save");
    assert!(desk.changes.settings_taken().is_empty());
    assert_eq!(desk.audit_lines().await.len(), lines + 1);
}

#[tokio::test]
async fn an_image_is_described_by_its_uploader_or_an_editor_and_bad_text_is_refused_by_field() {
    use broadsheet::media::{FocalPoint, ImageFormat};
    use broadsheet::newsroom::media::{self as media_desk, MAX_ALT_CHARS};
    use broadsheet::store::newsroom::{MediaMeta, NewMedia};

    let desk = desk().await;
    let uploader = desk.member("a@news.test", Role::Author).await;
    let colleague = desk.member("b@news.test", Role::Author).await;
    let editor = desk.member("e@news.test", Role::Editor).await;
    let image = desk
        .store
        .insert_media(
            NewMedia {
                hash: "0".repeat(64),
                format: ImageFormat::Png,
                width: 1600,
                height: 900,
                bytes: 1234,
                original_name: "cranes.png".into(),
                uploaded_by: Some(uploader.user_id),
                created_at: now(),
            },
            &line("media_uploaded"),
        )
        .await
        .expect("media");
    let meta = |alt: &str, x: f32| MediaMeta {
        alt: alt.into(),
        caption: "The last crane comes down.".into(),
        credit: "Photo: Harbour Herald".into(),
        focal: FocalPoint { x, y: 0.5 },
    };
    let lines = desk.audit_lines().await.len();

    let theirs = media_desk::describe(desk.newsroom(), &colleague, image.id, &meta("Cranes", 0.5), now()).await;
    assert!(matches!(theirs, Err(ServiceError::Forbidden)), "an author describes their own uploads: {theirs:?}");
    let missing = media_desk::describe(
        desk.newsroom(),
        &editor,
        broadsheet::domain::MediaId(image.id.0 + 99),
        &meta("Cranes", 0.5),
        now(),
    )
    .await;
    assert!(matches!(missing, Err(ServiceError::NotFound)), "{missing:?}");
    for (bad, field) in [
        (meta(&"a".repeat(MAX_ALT_CHARS + 1), 0.5), "alt"),
        (meta("Cranes\u{202e} reversed", 0.5), "alt"),
        (MediaMeta { caption: "Two\nlines".into(), ..meta("Cranes", 0.5) }, "caption"),
        (meta("Cranes", 1.5), "focal_x"),
    ] {
        match media_desk::describe(desk.newsroom(), &uploader, image.id, &bad, now()).await {
            Err(ServiceError::Invalid(errors)) => assert!(!errors.for_field(field).is_empty(), "{field}: {errors:?}"),
            other => panic!("{field}: expected a refusal, got {other:?}"),
        }
    }
    assert_eq!(desk.audit_lines().await.len(), lines, "refusals record nothing");
    assert!(desk.changes.media_taken().is_empty());

    media_desk::describe(desk.newsroom(), &uploader, image.id, &meta("  Cranes over the harbour  ", 0.5), now())
        .await
        .expect("own upload");
    let stored = desk.store.media_by_id(image.id).await.expect("read").expect("exists");
    assert_eq!(stored.alt, "Cranes over the harbour");
    assert_eq!(desk.changes.media_taken(), vec![(image.id, false)], "the crops stay: the focal point did not move");
    media_desk::describe(desk.newsroom(), &editor, image.id, &meta("Cranes", 0.2), now()).await.expect("editor");
    assert_eq!(desk.changes.media_taken(), vec![(image.id, true)], "a moved focal point remakes the crops");
    assert_eq!(desk.audit_lines().await.len(), lines + 2);
    assert_eq!(desk.audit_lines().await[0], "media_updated");
}

#[tokio::test]
async fn an_upload_is_stored_on_disk_then_recorded_once_and_a_refused_one_leaves_nothing() {
    use broadsheet::media::{DecodeBudget, Limits, MediaError, original_file_name};
    use broadsheet::newsroom::media::{self as media_desk, Intake, Upload, UploadError};

    fn png(width: u32, height: u32) -> bytes::Bytes {
        let image = image::RgbImage::from_fn(width, height, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 9]));
        let mut out = std::io::Cursor::new(Vec::new());
        image.write_to(&mut out, image::ImageFormat::Png).expect("encode png");
        out.into_inner().into()
    }
    let files = |dir: &std::path::Path| -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .map(|entries| {
                entries.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    };

    let desk = desk().await;
    let author = desk.member("a@news.test", Role::Author).await;
    let folder = tempfile::tempdir().expect("temp dir");
    let media_dir = folder.path().join("media");
    // 8 MiB: a 1600 x 1200 picture needs about 11 MiB to be cleaned, a 400 x 300 one well under 1.
    let budget = DecodeBudget::new(8 << 20, 1);
    let intake = Intake {
        media_dir: media_dir.clone(),
        limits: Limits { max_decode_bytes: 8 << 20, ..Limits::default() },
        budget: &budget,
        wait: std::time::Duration::from_secs(5),
    };
    let lines = desk.audit_lines().await.len();

    for (file, expected) in [
        (bytes::Bytes::from_static(b"<html>not a picture</html>"), "a file that is not an image"),
        (png(1600, 1200), "a picture over the decode budget"),
    ] {
        let upload = Upload { file_name: "x.png".into(), bytes: file };
        match media_desk::upload(desk.newsroom(), &author, &intake, upload, now()).await {
            Err(UploadError::Rejected(e)) => {
                assert!(!matches!(e, MediaError::Busy), "{expected}: refused for what it is, not busy: {e}")
            }
            other => panic!("{expected}: expected a refusal, got {other:?}"),
        }
    }
    assert_eq!(desk.audit_lines().await.len(), lines, "refusals record nothing");
    assert!(desk.changes.added_taken().is_empty(), "refusals announce nothing");
    assert!(files(&media_dir).is_empty(), "refusals leave no file: {:?}", files(&media_dir));
    assert!(desk.store.media_list(10, 0).await.expect("list").is_empty());

    let picture = png(400, 300);
    let first = media_desk::upload(
        desk.newsroom(),
        &author,
        &intake,
        Upload { file_name: "harbour.png".into(), bytes: picture.clone() },
        now(),
    )
    .await
    .expect("a valid picture is taken in");
    assert_eq!((first.width, first.height, first.uploaded_by), (400, 300, Some(author.user_id)));
    assert_eq!(files(&media_dir), vec![original_file_name(&first.hash, first.format)], "the original is on disk");
    assert_eq!(desk.changes.added_taken(), vec![first.id], "one event: its variants are to be made");
    assert_eq!(desk.audit_lines().await.len(), lines + 1);
    assert_eq!(desk.audit_lines().await[0], "media_uploaded");

    // The same picture again (another name, another member) is the same record and the same file.
    let editor = desk.member("e@news.test", Role::Editor).await;
    let again = media_desk::upload(
        desk.newsroom(),
        &editor,
        &intake,
        Upload { file_name: "copy.png".into(), bytes: picture },
        now(),
    )
    .await
    .expect("the same picture again");
    assert_eq!(again.id, first.id);
    assert_eq!(files(&media_dir).len(), 1);
    assert_eq!(desk.store.media_list(10, 0).await.expect("list").len(), 1);
    // The upload itself is still recorded (who sent what), and its variants looked at again.
    assert_eq!(desk.changes.added_taken(), vec![first.id]);
    assert_eq!(desk.audit_lines().await.len(), lines + 2);

    // Below the free-space watermark nothing is decoded, written or recorded.
    let cramped = DiskGuard::new(vec![folder.path().to_owned()], u64::MAX);
    let full_desk = Newsroom { disk: &cramped, ..desk.newsroom() };
    let refused = media_desk::upload(
        full_desk,
        &author,
        &intake,
        Upload { file_name: "new.png".into(), bytes: png(300, 200) },
        now(),
    )
    .await;
    assert!(matches!(refused, Err(UploadError::Store(broadsheet::store::StoreError::StorageFull(_)))), "{refused:?}");
    assert_eq!(files(&media_dir).len(), 1, "no file written");
    assert_eq!(desk.audit_lines().await.len(), lines + 2, "no line recorded");
    assert!(desk.changes.added_taken().is_empty());
    assert!(desk.changes.taken().is_empty());
}

#[tokio::test]
async fn people_are_managed_by_administrators_with_messages_by_field_and_one_line_each() {
    use broadsheet::newsroom::people::{self, MemberInput};
    let desk = desk().await;
    let store = desk.store.as_ref();
    let admin = desk.member("admin@news.test", Role::Admin).await;
    let editor = desk.member("editor@news.test", Role::Editor).await;
    let input = MemberInput { email: "nia@news.test", name: "Nia New", role: "author" };

    // Only administrators manage people; a refusal writes nothing.
    assert!(matches!(people::add_member(store, &editor, input, 24, now()).await, Err(ServiceError::Forbidden)));
    assert!(matches!(
        people::change_role(store, &editor, editor.user_id, "admin", now()).await,
        Err(ServiceError::Forbidden)
    ));
    // Bad input is refused field by field, all at once.
    let bad = MemberInput { email: "not an address", name: " ", role: "owner" };
    let Err(ServiceError::Invalid(errors)) = people::add_member(store, &admin, bad, 24, now()).await else {
        panic!("bad input is refused");
    };
    for field in ["email", "name", "role"] {
        assert_eq!(errors.for_field(field).len(), 1, "{field}");
    }
    assert!(desk.audit_lines().await.is_empty());

    // A new member comes with a link; the account, the link and the line are one write.
    let (nia, token) = people::add_member(store, &admin, input, 24, now()).await.expect("added");
    assert_eq!((nia.role, nia.has_password), (Role::Author, false));
    assert_eq!(token.0.len(), 43, "32 random bytes, base64url");
    let Err(ServiceError::Invalid(errors)) = people::add_member(store, &admin, input, 24, now()).await else {
        panic!("the address is taken");
    };
    assert_eq!(errors.for_field("email"), ["Someone already has an account with that email address."]);

    // The link sets Nia's password, once.
    let set = store.set_password_by_link(&token.hash(), "nia-hash", now(), &line("password_set_by_link")).await;
    assert_eq!(set.expect("link"), Some(nia.id));
    assert_eq!(store.set_password_by_link(&token.hash(), "again", now(), &line("x")).await.expect("link"), None);

    people::change_role(store, &admin, nia.id, "editor", now()).await.expect("role");
    assert!(matches!(
        people::change_role(store, &admin, nia.id, "owner", now()).await,
        Err(ServiceError::Invalid(errors)) if errors.for_field("role").len() == 1
    ));
    assert!(matches!(
        people::change_role(store, &admin, broadsheet::domain::UserId(9999), "editor", now()).await,
        Err(ServiceError::NotFound)
    ));
    assert!(matches!(
        people::change_role(store, &admin, admin.user_id, "editor", now()).await,
        Err(ServiceError::Refused(_))
    ));
    assert!(matches!(
        people::set_disabled(store, &admin, admin.user_id, true, now()).await,
        Err(ServiceError::Refused(_))
    ));
    people::set_disabled(store, &admin, nia.id, true, now()).await.expect("disable");
    people::set_disabled(store, &admin, nia.id, false, now()).await.expect("enable");
    people::new_password_link(store, &admin, nia.id, 24, now()).await.expect("link");
    assert!(matches!(
        people::new_password_link(store, &admin, broadsheet::domain::UserId(9999), 24, now()).await,
        Err(ServiceError::NotFound)
    ));
    let nia_now = store.user_by_id(nia.id).await.expect("read").expect("exists");
    assert_eq!((nia_now.role, nia_now.disabled), (Role::Editor, false));
    // One line each, by the administrator, about Nia (the link's use was no member's).
    let lines: Vec<(String, Option<i64>, Option<String>)> = store
        .audit_entries(10, 0)
        .await
        .expect("audit")
        .into_iter()
        .rev()
        .filter(|e| e.target_id == Some(nia.id.0) && e.action != "password_set_by_link")
        .map(|e| (e.action, e.target_id, e.user_name))
        .collect();
    let by_admin = |action: &str| (action.to_owned(), Some(nia.id.0), Some("admin@news.test".to_owned()));
    assert_eq!(
        lines,
        ["user_added", "user_role_changed", "user_disabled", "user_enabled", "password_link_created"].map(by_admin)
    );

    // Tags: editors rename them; a name is one line of 1 to 80 characters.
    let form = ArticleForm { tags: "Energy".into(), ..desk.form("Tagged") };
    let created = articles::create(desk.newsroom(), &editor, &form, now()).await.expect("create");
    assert!(matches!(created, FormOutcome::Done { .. }));
    let tag = store.tags_with_counts().await.expect("tags")[0].0.id;
    let author = desk.member("author@news.test", Role::Author).await;
    assert!(matches!(people::rename_tag(store, &author, tag, "Energy", now()).await, Err(ServiceError::Forbidden)));
    for bad in ["", "  ", "Two\nlines", &"x".repeat(81)] {
        assert!(matches!(people::rename_tag(store, &editor, tag, bad, now()).await, Err(ServiceError::Invalid(_))));
    }
    assert!(matches!(
        people::rename_tag(store, &editor, broadsheet::domain::TagId(9999), "Energy", now()).await,
        Err(ServiceError::NotFound)
    ));
    people::rename_tag(store, &editor, tag, "  Energy policy ", now()).await.expect("rename");
    let renamed = store.tags_with_counts().await.expect("tags").into_iter().find(|(t, _)| t.id == tag).expect("tag");
    assert_eq!(renamed.0.name, "Energy policy");
    let newest = store.audit_entries(1, 0).await.expect("audit").remove(0);
    let newest = (newest.action.as_str(), newest.target_id, newest.detail.as_str());
    assert_eq!(newest, ("tag_renamed", Some(tag.0), "Energy policy"));
}

#[tokio::test]
async fn a_member_changes_their_own_account_only_with_their_password_and_one_line_each() {
    use broadsheet::auth::{PasswordHashing, totp};
    use broadsheet::newsroom::account::{self, AccountError, Ended, Me};
    use broadsheet::store::newsroom::SessionRecord;
    let desk = desk().await;
    let store = desk.store.as_ref();
    let passwords = PasswordHashing::with_slots(1, std::time::Duration::from_secs(30));
    const PASSWORD: &str = "an old and long password";
    let nia = desk.nia_with_password(PASSWORD).await;
    desk.member("ola@news.test", Role::Author).await;
    let signed_in = now() - chrono::Duration::hours(2);
    let session = |hash: &str, user| SessionRecord {
        token_hash: hash.into(),
        user_id: user,
        csrf_token: "csrf".into(),
        pending_totp: false,
        created_at: signed_in,
        last_seen_at: signed_in,
        reauth_at: signed_in,
        ip: "192.0.2.1".into(),
        user_agent: "test".into(),
    };
    for hash in ["laptop", "phone"] {
        store.insert_session(&session(hash, nia.id), &line("signed_in")).await.expect("session");
    }
    let ola = store.credentials_by_email("ola@news.test").await.expect("read").expect("ola").user;
    store.insert_session(&session("olas", ola.id), &line("signed_in")).await.expect("session");
    let me = Me { user_id: nia.id, session: "laptop" };
    let lines = || async { desk.store.audit_entries(100, 0).await.expect("audit").into_iter().map(|e| e.action) };
    let written = || async { lines().await.filter(|a| a != "user_added" && a != "signed_in").collect::<Vec<_>>() };

    // Refused: nothing is written, the refusal says why.
    let wrong = account::change_password(
        store,
        &passwords,
        me,
        "a guess".into(),
        "a new long password",
        "a new long password",
        now(),
    )
    .await;
    assert!(matches!(wrong, Err(AccountError::WrongPassword)), "{wrong:?}");
    let reauth = || async { store.session("laptop").await.expect("read").expect("session").reauth_at };
    assert_eq!(reauth().await, signed_in, "a wrong password is no re-authentication");
    let differ =
        account::change_password(store, &passwords, me, PASSWORD.into(), "a new long password", "another", now()).await;
    assert!(matches!(&differ, Err(AccountError::Refused(m)) if m.contains("not the same")), "{differ:?}");
    assert_eq!(reauth().await, now(), "the right password was given, whatever came after it");
    let short = account::change_password(store, &passwords, me, PASSWORD.into(), "short", "short", now()).await;
    assert!(matches!(short, Err(AccountError::Refused(_))), "{short:?}");
    let taken = account::change_email(store, &passwords, me, PASSWORD.into(), "ola@news.test", now()).await;
    assert!(matches!(&taken, Err(AccountError::Refused(m)) if m.contains("Another account")), "{taken:?}");
    let unusable = account::change_email(store, &passwords, me, PASSWORD.into(), "not an address", now()).await;
    assert!(matches!(unusable, Err(AccountError::Refused(_))), "{unusable:?}");
    assert!(matches!(account::end_session(store, me, "olas", now()).await, Err(AccountError::NotFound)));
    let secret = totp::new_secret().expect("secret");
    assert!(matches!(account::enable_totp(store, me, &secret, "000000", now()).await, Err(AccountError::CodeMismatch)));
    assert!(written().await.is_empty(), "{:?}", written().await);
    assert_eq!(store.sessions_of(ola.id).await.expect("sessions").len(), 1, "Ola's session was not Nia's to end");

    account::change_email(store, &passwords, me, PASSWORD.into(), "nia.new@news.test", now()).await.expect("email");

    // The new password ends the member's other sessions, in the same write.
    account::change_password(
        store,
        &passwords,
        me,
        PASSWORD.into(),
        "a new long password",
        "a new long password",
        now(),
    )
    .await
    .expect("password");
    let left: Vec<String> =
        store.sessions_of(nia.id).await.expect("sessions").into_iter().map(|s| s.token_hash).collect();
    assert_eq!(left, ["laptop"]);
    let old = account::disable_totp(store, &passwords, me, PASSWORD.into(), now()).await;
    assert!(matches!(old, Err(AccountError::WrongPassword)), "the old password no longer works");

    let codes =
        account::enable_totp(store, me, &secret, &totp::code_at(&secret, now().timestamp()), now()).await.expect("on");
    assert_eq!(codes.len(), 10);
    assert!(store.credentials_by_id(nia.id).await.expect("read").expect("nia").totp_secret.is_some());
    account::disable_totp(store, &passwords, me, "a new long password".into(), now()).await.expect("off");
    assert!(store.credentials_by_id(nia.id).await.expect("read").expect("nia").totp_secret.is_none());

    store.insert_session(&session("tablet", nia.id), &line("signed_in")).await.expect("session");
    assert_eq!(account::end_session(store, me, "tablet", now()).await.expect("ended"), Ended::Another);
    assert_eq!(account::end_session(store, me, "laptop", now()).await.expect("ended"), Ended::ThisOne);
    assert!(store.sessions_of(nia.id).await.expect("sessions").is_empty());

    // One line per change, newest first, each by Nia about Nia.
    assert_eq!(
        written().await,
        ["session_revoked", "session_revoked", "totp_disabled", "totp_enabled", "password_changed", "email_changed"]
    );
    let entries = store.audit_entries(100, 0).await.expect("audit");
    let own: Vec<_> = entries.iter().filter(|e| e.action != "user_added" && e.action != "signed_in").collect();
    assert!(own.iter().all(|e| e.user_name.as_deref() == Some("Nia") && e.target_id == Some(nia.id.0)), "{own:?}");
}

#[tokio::test]
async fn the_sections_are_saved_whole_by_a_manager_with_one_line_and_one_change_or_not_at_all() {
    use broadsheet::newsroom::sections::{self, SectionEdit, SectionsError, SectionsInput};
    let desk = desk().await;
    let editor = desk.member("editor@news.test", Role::Editor).await;
    let author = desk.member("author@news.test", Role::Author).await;
    let city = SectionEdit {
        id: desk.section_id,
        name: "City desk".into(),
        slug: "city".into(),
        position: "2".into(),
        archived: false,
    };
    let input = SectionsInput { rows: vec![city.clone()], new_name: "Culture".into() };
    let sections_changed = || *desk.changes.sections.lock().expect("not poisoned");

    let refused = sections::save_sections(desk.newsroom(), &author, &input, now()).await;
    assert!(matches!(refused, Err(SectionsError::Forbidden)), "{refused:?}");
    let bad =
        SectionsInput { rows: vec![SectionEdit { slug: "admin".into(), ..city.clone() }], new_name: String::new() };
    let Err(SectionsError::Invalid(problems)) = sections::save_sections(desk.newsroom(), &editor, &bad, now()).await
    else {
        panic!("a reserved address is refused");
    };
    assert_eq!(problems.rows[&desk.section_id].len(), 1, "{problems:?}");
    assert!(desk.audit_lines().await.is_empty());
    assert_eq!(sections_changed(), 0);

    sections::save_sections(desk.newsroom(), &editor, &input, now()).await.expect("saved");
    let all = desk.store.all_sections().await.expect("sections");
    let names: Vec<(&str, &str, i64)> =
        all.iter().map(|(s, _)| (s.name.as_str(), s.slug.as_str(), s.position)).collect();
    assert_eq!(names, [("City desk", "city", 2), ("Culture", "culture", 3)]);
    assert_eq!(desk.audit_lines().await, ["sections_changed"]);
    assert_eq!(sections_changed(), 1);
}

#[tokio::test]
async fn signing_in_counts_attempts_before_checking_and_opens_one_session_with_one_line() {
    use broadsheet::auth::{PasswordHashing, totp};
    use broadsheet::newsroom::sign_in::{self, SignInError, SignInLimits};
    let desk = desk().await;
    let store = desk.store.as_ref();
    let passwords = PasswordHashing::with_slots(1, std::time::Duration::from_secs(30));
    const PASSWORD: &str = "a long enough password";
    desk.nia_with_password(PASSWORD).await;
    let limits = SignInLimits { per_address: 10, per_account: 2, window_minutes: 15 };
    let check = |email: &'static str, password: &'static str, ip: &'static str| {
        sign_in::check_password(store, &passwords, limits, email, password.into(), ip, now())
    };

    // Unknown accounts and wrong passwords are refused alike, and counted.
    assert!(check("nobody@news.test", PASSWORD, "192.0.2.1").await.expect("checked").is_none());
    assert!(check("nia@news.test", "a wrong guess", "192.0.2.1").await.expect("checked").is_none());
    // The right password clears the account's count: two more wrong ones fit under its limit of 2.
    let nia = check("nia@news.test", PASSWORD, "192.0.2.2").await.expect("checked").expect("Nia");
    for _ in 0..2 {
        assert!(check("nia@news.test", "a wrong guess", "192.0.2.3").await.expect("checked").is_none());
    }
    // Now the account is at its limit: refused before the password is even checked, right or not.
    let refused = check("nia@news.test", PASSWORD, "192.0.2.4").await;
    assert!(matches!(refused, Err(SignInError::TooMany { retry_after_secs: 900 })), "{refused:?}");

    let (token, session) =
        sign_in::open_session(store, &nia, "192.0.2.2".into(), "test".into(), now()).await.expect("session");
    assert_eq!(token.len(), 43);
    assert_eq!(store.session(&session.token_hash).await.expect("read"), Some(session.clone()));
    assert!(!session.pending_totp);
    sign_in::sign_out(store, &session, now()).await.expect("signed out");
    assert_eq!(store.session(&session.token_hash).await.expect("read"), None);
    assert_eq!(desk.audit_lines().await, ["signed_out", "signed_in"]);

    // The second step: a wrong code is refused and counted; a right one completes the session.
    let secret = totp::new_secret().expect("secret");
    let step = now().timestamp() / 30;
    store.set_totp(nia.user.id, Some((&secret, step - 10)), &[], &line("totp_enabled")).await.expect("on");
    let nia = store.credentials_by_id(nia.user.id).await.expect("read").expect("Nia");
    let (_, pending) =
        sign_in::open_session(store, &nia, "192.0.2.2".into(), "test".into(), now()).await.expect("open");
    assert!(pending.pending_totp);
    let limits = SignInLimits { per_account: 5, ..limits };
    assert!(!sign_in::check_second_factor(store, limits, &pending, "000000", now()).await.expect("checked"));
    let code = totp::code_at(&secret, now().timestamp());
    assert!(sign_in::check_second_factor(store, limits, &pending, &code, now()).await.expect("checked"));
    assert!(!store.session(&pending.token_hash).await.expect("read").expect("session").pending_totp);
    assert!(
        !sign_in::check_second_factor(store, limits, &pending, &code, now()).await.expect("checked"),
        "a code is good once"
    );
}
