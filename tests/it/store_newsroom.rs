//! The newsroom's storage against a real database (SQLite, or PostgreSQL when the tests are run
//! against it): accounts and sessions, the editor's saves and revisions, the workflow and its
//! scheduler, corrections, media, curation, moderation and the audit log.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};

use broadsheet::domain::{ArticleId, ArticleStatus, CommentStatus, Role, User};
use broadsheet::media::{FocalPoint, ImageFormat, Variant};
use broadsheet::store::newsroom::{
    ArticleFields, CorrectionKind, Edited, ImageChoice, MediaMeta, NewAuditEntry, NewMedia, NewUser, NewsroomQuery,
    Saving, SectionUpdate, SessionRecord, Transition, VersionedWrite,
};
use broadsheet::store::{CommentChange, ListFilter, NewComment, NewSection, Store, StoreError};

use crate::helpers::{TestDb, line};

struct Db {
    store: Arc<dyn Store>,
    section_id: broadsheet::domain::SectionId,
    _db: TestDb,
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 9, 0, 0).single().expect("valid time")
}

async fn db() -> Db {
    let db = TestDb::new().await;
    let store = db.open().await;
    let section = store
        .insert_section(NewSection { slug: "asia".into(), name: "Asia".into(), position: 1 })
        .await
        .expect("section");
    Db { store, section_id: section.id, _db: db }
}

impl Db {
    async fn user(&self, email: &str, name: &str) -> User {
        self.store
            .insert_user(
                NewUser {
                    email: email.into(),
                    name: name.into(),
                    role: Role::Author,
                    password_hash: None,
                    created_at: t0(),
                },
                &line("user_added"),
            )
            .await
            .expect("user")
    }

    fn fields(&self, slug: &str, author_ids: Vec<broadsheet::domain::AuthorId>) -> ArticleFields {
        ArticleFields {
            section_id: self.section_id,
            slug: slug.into(),
            headline: format!("Headline of {slug}"),
            dek: "A dek".into(),
            body_markdown: "Some *body*.".into(),
            author_ids,
            tags: vec!["Energy".into(), "Climate Policy".into()],
            image: None,
            seo_title: String::new(),
            seo_description: String::new(),
        }
    }

    async fn draft(&self, slug: &str, author_ids: Vec<broadsheet::domain::AuthorId>) -> ArticleId {
        self.store
            .create_article(&self.fields(slug, author_ids), "<p>Some body.</p>", None, t0(), &line("article_created"))
            .await
            .expect("create")
    }

    async fn move_to(&self, id: ArticleId, to: ArticleStatus, publish_at: Option<DateTime<Utc>>) -> bool {
        let from = [ArticleStatus::Draft, ArticleStatus::InReview, ArticleStatus::Scheduled, ArticleStatus::Published];
        self.store
            .transition(id, Transition { from: &from, to, publish_at, user_id: None, at: t0() }, &line("article_step"))
            .await
            .expect("transition")
    }

    async fn published(&self, slug: &str) -> ArticleId {
        let id = self.draft(slug, vec![]).await;
        assert!(self.move_to(id, ArticleStatus::Published, None).await);
        id
    }

    async fn listed(&self) -> Vec<ArticleId> {
        self.store.list_articles(ListFilter::All, 100, 0).await.expect("list").into_iter().map(|c| c.id).collect()
    }

    /// Saves `fields` based on the version the article is at now.
    async fn save(
        &self,
        id: ArticleId,
        fields: &ArticleFields,
        user: Option<broadsheet::domain::UserId>,
        autosave: bool,
    ) {
        let version = self.store.editable_article(id).await.expect("read").expect("exists").version;
        let saved_line = line("article_saved");
        let saved = self
            .store
            .save_article(
                id,
                fields,
                "",
                user,
                if autosave { Saving::Autosave } else { Saving::Deliberate(&saved_line) },
                t0(),
                version,
            )
            .await
            .expect("save");
        assert_eq!(saved, VersionedWrite::Written);
    }

    async fn status(&self, id: ArticleId) -> ArticleStatus {
        self.store.editable_article(id).await.expect("read").expect("article exists").status
    }

    async fn media(&self, hash: &str) -> broadsheet::domain::MediaId {
        let media = NewMedia {
            hash: hash.into(),
            format: ImageFormat::Jpeg,
            width: 1600,
            height: 900,
            bytes: 123_456,
            original_name: "harbour.jpg".into(),
            uploaded_by: None,
            created_at: t0(),
        };
        self.store.insert_media(media, &line("media_uploaded")).await.expect("media").id
    }
}

fn session(token: &str, user_id: broadsheet::domain::UserId) -> SessionRecord {
    SessionRecord {
        token_hash: token.into(),
        user_id,
        csrf_token: format!("csrf-{token}"),
        pending_totp: false,
        created_at: t0(),
        last_seen_at: t0(),
        reauth_at: t0(),
        ip: "192.0.2.1".into(),
        user_agent: "test".into(),
    }
}

#[tokio::test]
async fn each_account_gets_a_byline_with_a_unique_slug() {
    let db = db().await;
    let first = db.user("ana@example.com", "Ana Silva").await;
    let second = db.user("ana.silva@example.com", "Ana Silva").await;
    assert_eq!(first.author_slug, "ana-silva");
    assert_eq!(second.author_slug, "ana-silva-2");
    assert_ne!(first.author_id, second.author_id);
    let byline = db.store.author_by_slug("ana-silva-2").await.expect("read").expect("byline exists");
    assert_eq!(
        (byline.id, byline.name.as_str(), byline.email.as_str()),
        (second.author_id, "Ana Silva", "ana.silva@example.com")
    );
    assert!(!first.has_password && !first.totp_enabled && !first.disabled);
    assert_eq!(db.store.user_by_id(second.id).await.expect("read"), Some(second));
}

#[tokio::test]
async fn email_addresses_are_unique_whatever_their_case() {
    let db = db().await;
    let ana = db.user("ana@example.com", "Ana Silva").await;
    let authors_before = db.store.authors().await.expect("authors").len();
    let again = NewUser {
        email: "ANA@Example.com".into(),
        name: "Someone Else".into(),
        role: Role::Editor,
        password_hash: Some("$argon2id$...".into()),
        created_at: t0(),
    };
    assert!(matches!(db.store.insert_user(again, &line("user_added")).await, Err(StoreError::Conflict(_))));
    // The byline made for the refused account went with it.
    assert_eq!(db.store.authors().await.expect("authors").len(), authors_before);
    let found = db.store.credentials_by_email("ANA@EXAMPLE.COM").await.expect("read").expect("found");
    assert_eq!(found.user.id, ana.id);
}

#[tokio::test]
async fn disabling_an_account_ends_its_sessions() {
    let db = db().await;
    let ana = db.user("ana@example.com", "Ana Silva").await;
    let ben = db.user("ben@example.com", "Ben Okafor").await;
    for (token, user) in [("a1", ana.id), ("a2", ana.id), ("b1", ben.id)] {
        db.store.insert_session(&session(token, user), &line("signed_in")).await.expect("session");
    }
    assert_eq!(db.store.sessions_of(ana.id).await.expect("sessions").len(), 2);
    db.store.set_user_disabled(ana.id, true, t0(), &line("user_disabled")).await.expect("disable");
    assert!(db.store.sessions_of(ana.id).await.expect("sessions").is_empty());
    assert!(db.store.session("a1").await.expect("read").is_none());
    assert!(db.store.session("b1").await.expect("read").is_some());
    assert!(db.store.user_by_id(ana.id).await.expect("read").expect("user").disabled);
    db.store.set_user_disabled(ana.id, false, t0(), &line("user_enabled")).await.expect("enable");
    assert!(!db.store.user_by_id(ana.id).await.expect("read").expect("user").disabled);
}

#[tokio::test]
async fn a_password_link_works_once_and_not_after_it_expires() {
    let db = db().await;
    let ana = db.user("ana@example.com", "Ana Silva").await;
    // Another account's link: a newer link of Ana's would revoke an older one anyway.
    let bo = db.user("bo@example.com", "Bo Berg").await;
    let now = t0();
    db.store
        .insert_password_token("fresh", ana.id, now + Duration::hours(24), now, &line("password_link_created"))
        .await
        .expect("token");
    db.store
        .insert_password_token("stale", bo.id, now - Duration::seconds(1), now, &line("password_link_created"))
        .await
        .expect("token");
    assert_eq!(
        db.store.set_password_by_link("fresh", "new-hash", now, &line("password_set_by_link")).await.expect("take"),
        Some(ana.id)
    );
    assert_eq!(
        db.store.set_password_by_link("fresh", "new-hash", now, &line("password_set_by_link")).await.expect("take"),
        None
    );
    assert_eq!(
        db.store.set_password_by_link("stale", "new-hash", now, &line("password_set_by_link")).await.expect("take"),
        None
    );
    assert_eq!(
        db.store.set_password_by_link("unknown", "new-hash", now, &line("password_set_by_link")).await.expect("take"),
        None
    );
}

#[tokio::test]
async fn a_totp_step_cannot_be_replayed() {
    let db = db().await;
    let ana = db.user("ana@example.com", "Ana Silva").await;
    // The step of the code that confirmed the secret is used up with it.
    db.store
        .set_totp(ana.id, Some((b"secret", 1000)), &["code-1".to_owned()], &line("totp_enabled"))
        .await
        .expect("totp on");
    assert!(!db.store.advance_totp_step(ana.id, 1000).await.expect("step"), "same step replayed");
    assert!(!db.store.advance_totp_step(ana.id, 999).await.expect("step"), "older step");
    assert!(db.store.advance_totp_step(ana.id, 1001).await.expect("step"));
    let credentials = db.store.credentials_by_id(ana.id).await.expect("read").expect("found");
    assert_eq!((credentials.totp_secret.as_deref(), credentials.totp_last_step), (Some(&b"secret"[..]), Some(1001)));
    assert!(db.store.use_recovery_code(ana.id, "code-1", t0()).await.expect("code"));
    assert!(!db.store.use_recovery_code(ana.id, "code-1", t0()).await.expect("code"), "recovery code reused");
}

#[tokio::test]
async fn an_article_round_trips_through_the_editor() {
    let db = db().await;
    let ana = db.user("ana@example.com", "Ana Silva").await;
    let ben = db.user("ben@example.com", "Ben Okafor").await;
    let media_id = db.media("0123abcd").await;
    let mut fields = db.fields("harbour-reopens", vec![ben.author_id, ana.author_id]);
    fields.image = Some(ImageChoice {
        media_id,
        alt: "The harbour at dawn".into(),
        caption: "Boats return".into(),
        credit: String::new(),
    });
    fields.seo_title = "Harbour reopens".into();
    let id = db
        .store
        .create_article(&fields, "<p>Some body.</p>", Some(ana.id), t0(), &line("article_created"))
        .await
        .expect("create");
    let stored = db.store.editable_article(id).await.expect("read").expect("exists");
    assert_eq!(stored.fields, fields);
    assert_eq!(
        (stored.status, stored.created_by, stored.section_slug.as_str()),
        (ArticleStatus::Draft, Some(ana.id), "asia")
    );

    // The reader's view of the same article: the image's address comes from the media library.
    let article = db.store.article_by_id(id).await.expect("read").expect("exists");
    let image = article.image.expect("image");
    assert_eq!(
        (image.url.as_str(), image.width, image.caption),
        ("/media/0123abcd.jpg", 1600, Some("Boats return".into()))
    );
    assert_eq!(image.credit, None);
    let bylines: Vec<_> = article.authors.iter().map(|a| a.slug.as_str()).collect();
    assert_eq!(bylines, ["ben-okafor", "ana-silva"]);

    // Reordered byline, a changed tag list, no image.
    let mut edited = fields.clone();
    edited.author_ids = vec![ana.author_id];
    edited.tags = vec!["Shipping".into(), "Energy".into()];
    edited.image = None;
    db.save(id, &edited, Some(ben.id), false).await;
    assert_eq!(db.store.editable_article(id).await.expect("read").expect("exists").fields, edited);
    assert!(db.store.article_by_id(id).await.expect("read").expect("exists").image.is_none());

    let taken =
        db.store.create_article(&db.fields("harbour-reopens", vec![]), "", None, t0(), &line("article_created")).await;
    assert!(matches!(taken, Err(StoreError::Conflict(what)) if what == "slug"));
    assert!(matches!(
        db.store
            .save_article(
                broadsheet::domain::ArticleId(9999),
                &edited,
                "",
                None,
                Saving::Deliberate(&line("article_saved")),
                t0(),
                1
            )
            .await,
        Err(StoreError::Missing(_))
    ));
}

#[tokio::test]
async fn a_renamed_slug_redirects_and_every_save_is_a_revision() {
    let db = db().await;
    let ana = db.user("ana@example.com", "Ana Silva").await;
    let id = db.draft("first-slug", vec![ana.author_id]).await;
    assert_eq!(db.store.revisions(id).await.expect("revisions").len(), 1);
    // Only a published story's old address redirects (a draft's would leak its new one).
    assert!(db.move_to(id, ArticleStatus::Published, None).await);

    let mut renamed = db.fields("second-slug", vec![ana.author_id]);
    renamed.headline = "A better headline".into();
    db.save(id, &renamed, Some(ana.id), false).await;
    let mut autosaved = renamed.clone();
    autosaved.body_markdown = "Half-written".into();
    db.save(id, &autosaved, Some(ana.id), true).await;

    assert_eq!(
        db.store.slug_redirect("first-slug").await.expect("redirect"),
        Some(("asia".into(), "second-slug".into()))
    );
    assert_eq!(db.store.slug_redirect("second-slug").await.expect("redirect"), None);

    let revisions = db.store.revisions(id).await.expect("revisions");
    assert_eq!(revisions.len(), 3);
    assert!(revisions[0].autosave && !revisions[1].autosave);
    assert_eq!(revisions[0].user_name.as_deref(), Some("Ana Silva"));
    let newest = db.store.revision(revisions[0].id).await.expect("read").expect("exists");
    assert_eq!((newest.article_id, &newest.fields), (id, &autosaved));
    let middle = db.store.revision(revisions[1].id).await.expect("read").expect("exists");
    assert_eq!(middle.fields, renamed);

    // Taking the old slug back removes the redirect that would shadow it.
    db.save(id, &db.fields("first-slug", vec![]), None, false).await;
    assert_eq!(db.store.slug_redirect("first-slug").await.expect("redirect"), None);
    assert_eq!(
        db.store.slug_redirect("second-slug").await.expect("redirect"),
        Some(("asia".into(), "first-slug".into()))
    );
}

#[tokio::test]
async fn a_transition_applies_once_and_is_recorded() {
    let db = db().await;
    let ana = db.user("ana@example.com", "Ana Silva").await;
    let id = db.draft("in-review", vec![ana.author_id]).await;
    let submit = || Transition {
        from: &[ArticleStatus::Draft],
        to: ArticleStatus::InReview,
        publish_at: None,
        user_id: Some(ana.id),
        at: t0(),
    };
    assert!(db.store.transition(id, submit(), &line("article_step")).await.expect("transition"));
    assert!(
        !db.store.transition(id, submit(), &line("article_step")).await.expect("transition"),
        "second identical transition applied"
    );
    assert_eq!(db.status(id).await, ArticleStatus::InReview);
    let events = db.store.workflow_events(id).await.expect("events");
    assert_eq!(events.len(), 1);
    assert_eq!(
        (events[0].from, events[0].to, events[0].user_name.as_deref()),
        (ArticleStatus::Draft, ArticleStatus::InReview, Some("Ana Silva"))
    );

    let owned = NewsroomQuery {
        status: Some(ArticleStatus::InReview),
        owner: Some((ana.author_id, broadsheet::domain::UserId(-1))),
        limit: 10,
        offset: 0,
    };
    let items = db.store.newsroom_articles(owned).await.expect("list");
    assert_eq!(items.iter().map(|i| (i.id, i.bylines.as_str())).collect::<Vec<_>>(), [(id, "Ana Silva")]);
    let drafts = NewsroomQuery { status: Some(ArticleStatus::Draft), ..owned };
    assert!(db.store.newsroom_articles(drafts).await.expect("list").is_empty());
}

/// Runs three schedulers at once, as three processes would, and returns everything they fired.
async fn three_schedulers<F, Fut>(run: F) -> Vec<ArticleId>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<Vec<ArticleId>, StoreError>>,
{
    let (a, b, c) = tokio::join!(run(), run(), run());
    let mut fired: Vec<ArticleId> = [a, b, c].into_iter().flat_map(|r| r.expect("scheduler")).collect();
    fired.sort_unstable();
    fired
}

#[tokio::test]
async fn due_articles_are_published_exactly_once_and_invisible_until_then() {
    let db = db().await;
    // Several due articles, so that the concurrent schedulers surely contend for some of them.
    let mut due = Vec::new();
    for n in 0..12 {
        due.push(db.draft(&format!("due-{n}"), vec![]).await);
    }
    let later = db.draft("later", vec![]).await;
    let due_at = t0() + Duration::hours(1);
    let later_at = t0() + Duration::hours(5);
    for &id in &due {
        assert!(db.move_to(id, ArticleStatus::Scheduled, Some(due_at)).await);
    }
    assert!(db.move_to(later, ArticleStatus::Scheduled, Some(later_at)).await);
    assert!(db.listed().await.is_empty(), "a scheduled article is listed");
    assert_eq!(db.store.count_articles(ListFilter::All).await.expect("count"), 0);
    assert_eq!(db.store.next_due().await.expect("next"), Some(due_at));

    let now = t0() + Duration::hours(2);
    assert_eq!(three_schedulers(|| db.store.publish_due(now)).await, due, "each due article fired exactly once");
    assert!(db.store.publish_due(now).await.expect("again").is_empty());

    let mut listed = db.listed().await;
    listed.sort_unstable();
    assert_eq!(listed, due);
    let published = db.store.editable_article(due[0]).await.expect("read").expect("exists");
    assert_eq!(
        (published.status, published.published_at, published.publish_at),
        (ArticleStatus::Published, Some(due_at), None)
    );
    assert_eq!(db.status(later).await, ArticleStatus::Scheduled);
    for &id in &due {
        let events = db.store.workflow_events(id).await.expect("events");
        let by_scheduler: Vec<_> = events.iter().filter(|e| e.to == ArticleStatus::Published).collect();
        assert_eq!(by_scheduler.len(), 1);
        assert_eq!((by_scheduler[0].user_name.as_deref(), by_scheduler[0].at), (None, due_at));
    }
    assert_eq!(db.store.next_due().await.expect("next"), Some(later_at));
}

#[tokio::test]
async fn due_take_downs_happen_exactly_once() {
    let db = db().await;
    let ana = db.user("ana@example.com", "Ana Silva").await;
    let mut going = Vec::new();
    for n in 0..12 {
        going.push(db.draft(&format!("going-{n}"), vec![ana.author_id]).await);
    }
    let staying = db.published("staying").await;
    let down_at = t0() + Duration::hours(1);
    for &id in &going {
        assert!(db.move_to(id, ArticleStatus::Published, None).await);
        db.store.set_unpublish_at(id, Some(down_at), &line("article_unpublish_scheduled")).await.expect("set");
    }
    db.store
        .set_unpublish_at(staying, Some(t0() + Duration::days(2)), &line("article_unpublish_scheduled"))
        .await
        .expect("set");
    assert_eq!(db.store.count_articles(ListFilter::Author(ana.author_id)).await.expect("count"), 12);
    assert_eq!(db.store.next_due().await.expect("next"), Some(down_at));

    let now = t0() + Duration::hours(3);
    assert_eq!(three_schedulers(|| db.store.unpublish_due(now)).await, going, "each take-down fired exactly once");
    assert!(db.store.unpublish_due(now).await.expect("again").is_empty());
    assert_eq!(db.status(going[0]).await, ArticleStatus::Unpublished);
    assert_eq!(db.status(staying).await, ArticleStatus::Published);
    assert_eq!(db.listed().await, [staying]);
    // The author page's count follows the take-down.
    assert_eq!(db.store.count_articles(ListFilter::Author(ana.author_id)).await.expect("count"), 0);
    for &id in &going {
        let downs = db.store.workflow_events(id).await.expect("events");
        assert_eq!(downs.iter().filter(|e| e.to == ArticleStatus::Unpublished).count(), 1);
    }
}

#[tokio::test]
async fn corrections_bump_the_update_time_and_are_listed_once_published() {
    let db = db().await;
    let live = db.published("live").await;
    let draft = db.draft("draft", vec![]).await;
    let later = t0() + Duration::days(1);
    let note = db
        .store
        .add_correction(live, CorrectionKind::Correction, "The date was wrong.", None, later, &line("correction_added"))
        .await
        .expect("add");
    assert_eq!(
        (note.slug.as_str(), note.section_slug.as_str(), note.headline.as_str()),
        ("live", "asia", "Headline of live")
    );
    db.store
        .add_correction(draft, CorrectionKind::Update, "Not yet public.", None, later, &line("correction_added"))
        .await
        .expect("add");
    assert_eq!(db.store.editable_article(live).await.expect("read").expect("exists").updated_at, later);
    assert_eq!(db.store.article_by_id(live).await.expect("read").expect("exists").updated_at, later);

    let all: Vec<_> = db.store.all_corrections(10, 0).await.expect("all").into_iter().map(|c| c.article_id).collect();
    assert_eq!(all, [live]);
    assert_eq!(db.store.corrections_for(draft).await.expect("for").len(), 1);
    assert!(db.move_to(draft, ArticleStatus::Published, None).await);
    assert_eq!(db.store.all_corrections(10, 0).await.expect("all").len(), 2);
    assert!(matches!(
        db.store
            .add_correction(
                broadsheet::domain::ArticleId(9999),
                CorrectionKind::Update,
                "x",
                None,
                later,
                &line("correction_added")
            )
            .await,
        Err(StoreError::Missing(_))
    ));
}

#[tokio::test]
async fn the_same_upload_twice_is_one_media_record() {
    let db = db().await;
    let first = db.media("feedface").await;
    let again = db.media("feedface").await;
    let other = db.media("deadbeef").await;
    assert_eq!(first, again);
    assert_ne!(first, other);
    assert_eq!(db.store.media_list(10, 0).await.expect("list").len(), 2);
    let pending_at = |now| {
        let store = db.store.clone();
        async move {
            store.media_without_variants(10, now).await.expect("pending").into_iter().map(|m| m.id).collect::<Vec<_>>()
        }
    };
    assert_eq!(pending_at(t0()).await, [first, other]);

    // A failed attempt keeps the job pending but out of the worker's way until its retry time.
    db.store.defer_media_variants(other, t0() + Duration::seconds(60)).await.expect("defer");
    assert_eq!(pending_at(t0()).await, [first]);
    assert_eq!(pending_at(t0() + Duration::seconds(60)).await, [first, other]);
    let deferred = db.store.media_by_id(other).await.expect("read").expect("exists");
    assert_eq!((deferred.variants.as_ref(), deferred.variant_attempts), (None, 1));

    let variants = vec![
        Variant { width: 800, height: 450, format: ImageFormat::Jpeg, file_name: "feedface-800.jpg".into() },
        Variant { width: 800, height: 450, format: ImageFormat::Webp, file_name: "feedface-800.webp".into() },
        Variant { width: 1600, height: 900, format: ImageFormat::Webp, file_name: "feedface-1600.webp".into() },
        Variant { width: 600, height: 400, format: ImageFormat::Jpeg, file_name: "feedface-card.jpg".into() },
    ];
    db.store.set_media_variants(first, &variants).await.expect("variants");
    let record = db.store.media_by_id(first).await.expect("read").expect("exists");
    assert_eq!((record.variants.as_ref(), record.focal), (Some(&variants), FocalPoint { x: 0.5, y: 0.5 }));

    // The reader's pages get responsive sources from the variants, card crops left out.
    let mut fields = db.fields("with-image", vec![]);
    fields.image =
        Some(ImageChoice { media_id: first, alt: "Alt".into(), caption: String::new(), credit: String::new() });
    let id = db.store.create_article(&fields, "", None, t0(), &line("article_created")).await.expect("create");
    assert!(db.move_to(id, ArticleStatus::Published, None).await);
    assert_eq!(db.store.set_home_slots(&[id], 0, &line("home_set")).await.expect("slots"), VersionedWrite::Written);
    let image = db.store.article_by_id(id).await.expect("read").expect("exists").image.expect("image");
    assert_eq!(image.srcset, "/media/feedface-800.jpg 800w");
    assert_eq!(image.srcset_webp, "/media/feedface-800.webp 800w, /media/feedface-1600.webp 1600w");
    let card = db.store.home_slots().await.expect("home").pop().expect("one card");
    assert_eq!(card.image.expect("image").srcset_webp, image.srcset_webp);

    // A moved focal point clears the variants (the worker makes them again), with the description
    // and the audit line in the same write.
    let meta = MediaMeta {
        alt: "Moved".into(),
        caption: String::new(),
        credit: String::new(),
        focal: FocalPoint { x: 0.2, y: 0.8 },
    };
    db.store.update_media_meta(first, &meta, true, &line("media_updated")).await.expect("reset");
    let image = db.store.article_by_id(id).await.expect("read").expect("exists").image.expect("image");
    assert_eq!((image.srcset.as_str(), image.srcset_webp.as_str()), ("", ""));
    let record = db.store.media_by_id(first).await.expect("read").expect("exists");
    assert_eq!((record.alt.as_str(), record.focal, record.variants), ("Moved", meta.focal, None));
}

#[tokio::test]
async fn an_expired_must_read_is_left_out() {
    let db = db().await;
    let expired = db.published("expired").await;
    let current = db.published("current").await;
    let draft = db.draft("not-public", vec![]).await;
    let now = Utc::now();
    let picks = [(expired, Some(now - Duration::hours(1))), (current, Some(now + Duration::hours(1))), (draft, None)];
    let version = db.store.edit_version(Edited::MustReads).await.expect("version");
    assert_eq!(
        db.store.set_must_read_entries(&picks, version, &line("must_reads_set")).await.expect("set"),
        VersionedWrite::Written
    );
    let shown: Vec<_> = db.store.must_reads(10, now).await.expect("must reads").into_iter().map(|c| c.id).collect();
    assert_eq!(shown, [current]);
    let entries: Vec<_> =
        db.store.must_read_entries().await.expect("entries").into_iter().map(|e| e.article_id).collect();
    assert_eq!(entries, [expired, current, draft]);
}

#[tokio::test]
async fn home_slots_show_published_articles_in_order() {
    let db = db().await;
    let lead = db.published("lead").await;
    let second = db.published("second").await;
    let draft = db.draft("unfinished", vec![]).await;
    assert_eq!(
        db.store.set_home_slots(&[second, draft, lead], 0, &line("home_set")).await.expect("set"),
        VersionedWrite::Written
    );
    let cards: Vec<_> = db.store.home_slots().await.expect("slots").into_iter().map(|c| c.id).collect();
    assert_eq!(cards, [second, lead]);
    assert_eq!(db.store.home_slot_entries().await.expect("entries").len(), 3);
    assert!(matches!(db.store.set_home_slots(&[lead, lead], 1, &line("home_set")).await, Err(StoreError::Conflict(_))));
    assert_eq!(db.store.edit_version(Edited::HomeSlots).await.expect("version"), 1, "a refused list kept its version");
    assert_eq!(db.store.home_slot_entries().await.expect("entries").len(), 3, "a refused list changed the slots");
}

#[tokio::test]
async fn archived_sections_leave_the_reader_navigation() {
    let db = db().await;
    let update =
        SectionUpdate { name: "Asia Pacific".into(), slug: "asia-pacific".into(), position: 3, archived: true };
    let sections = |updates: Vec<(broadsheet::domain::SectionId, SectionUpdate)>| {
        let store = db.store.clone();
        async move { store.save_sections(&updates, None, &line("sections_changed")).await }
    };
    sections(vec![(db.section_id, update.clone())]).await.expect("update");
    assert!(db.store.sections().await.expect("sections").is_empty());
    let all = db.store.all_sections().await.expect("all");
    assert_eq!(all.len(), 1);
    assert_eq!((all[0].0.slug.as_str(), all[0].1), ("asia-pacific", true));
    assert!(matches!(sections(vec![(broadsheet::domain::SectionId(9999), update)]).await, Err(StoreError::Missing(_))));
}

#[tokio::test]
async fn moderation_keeps_the_comment_count_right() {
    let db = db().await;
    let id = db.published("discussed").await;
    let comment = |status| NewComment {
        article_id: id,
        author_name: "Reader".into(),
        body: "A thought.".into(),
        status,
        fingerprint: "fp-1".into(),
        created_at: t0(),
    };
    let stored = db
        .store
        .insert_comments(&[comment(CommentStatus::Published), comment(CommentStatus::Held)])
        .await
        .expect("insert");
    let published = stored[0].as_ref().expect("stored").id;
    let held = stored[1].as_ref().expect("stored").id;
    let count = || async { db.store.article_by_id(id).await.expect("read").expect("exists").comment_count };
    assert_eq!(count().await, 1);

    let moderate = |comment, change| {
        let store = db.store.clone();
        async move { store.moderate_comment(comment, change, &line("comment_moderated")).await }
    };
    let to = CommentChange::Status;
    assert_eq!(moderate(published, to(CommentStatus::Spam)).await.expect("status"), id);
    assert_eq!(count().await, 0);
    moderate(published, to(CommentStatus::Rejected)).await.expect("status");
    assert_eq!(count().await, 0);
    moderate(held, to(CommentStatus::Published)).await.expect("status");
    moderate(held, to(CommentStatus::Published)).await.expect("status");
    assert_eq!(count().await, 1);
    moderate(published, CommentChange::Delete).await.expect("delete");
    assert_eq!(count().await, 1);
    moderate(held, CommentChange::Delete).await.expect("delete");
    assert_eq!(count().await, 0);
    assert!(matches!(moderate(held, CommentChange::Delete).await, Err(StoreError::Missing(_))));
    // Every change above wrote its audit line, naming the article; the refused one none.
    let entries = db.store.audit_entries(20, 0).await.expect("audit");
    let moderated: Vec<_> = entries.iter().filter(|e| e.action == "comment_moderated").collect();
    assert_eq!(moderated.len(), 6);
    assert!(moderated.iter().all(|e| e.detail == format!("article {id}")));

    // A block marks the comment as spam and lists its fingerprint, together; blocking a second
    // comment of the same commenter finds the fingerprint listed already.
    let stored = db
        .store
        .insert_comments(&[
            comment(CommentStatus::Published),
            comment(CommentStatus::Held),
            comment(CommentStatus::Held),
        ])
        .await
        .expect("insert");
    let ids: Vec<_> = stored.iter().map(|c| c.as_ref().expect("stored").id).collect();
    assert_eq!(count().await, 1);
    let block = CommentChange::Block { fingerprint: "fp-1", by: None, at: t0() };
    moderate(ids[0], block).await.expect("block");
    assert_eq!(count().await, 0);
    moderate(ids[1], block).await.expect("block twice");
    let queue = db.store.comments_by_status(CommentStatus::Held, 10, 0).await.expect("queue");
    assert_eq!(queue.len(), 1);
    assert!(queue[0].fingerprint_blocked);
    assert_eq!(db.store.count_comments_by_status(CommentStatus::Held).await.expect("count"), 1);
    assert_eq!(db.store.count_comments_by_status(CommentStatus::Spam).await.expect("count"), 2);
    // A block of a comment that does not exist lists nothing.
    let stranger = CommentChange::Block { fingerprint: "fp-2", by: None, at: t0() };
    assert!(matches!(moderate(broadsheet::domain::CommentId(9999), stranger).await, Err(StoreError::Missing(_))));
    db.store
        .insert_comments(&[NewComment { fingerprint: "fp-2".into(), ..comment(CommentStatus::Held) }])
        .await
        .expect("insert");
    let queue = db.store.comments_by_status(CommentStatus::Held, 10, 0).await.expect("queue");
    assert_eq!(queue.iter().filter(|c| c.fingerprint_blocked).count(), 1);
}

#[tokio::test]
async fn the_audit_log_reads_newest_first() {
    let db = db().await;
    let ana = db.user("ana@example.com", "Ana Silva").await;
    for (n, action) in ["sign_in", "publish", "sign_out"].into_iter().enumerate() {
        let entry = NewAuditEntry {
            user_id: Some(ana.id),
            action: action.into(),
            target_kind: "article".into(),
            target_id: Some(7),
            detail: String::new(),
            at: t0() + Duration::minutes(n as i64),
        };
        db.store.record_audit(entry).await.expect("audit");
    }
    let entries = db.store.audit_entries(3, 0).await.expect("entries");
    let actions: Vec<_> = entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["sign_out", "publish", "sign_in"]);
    assert_eq!(entries[0].user_name.as_deref(), Some("Ana Silva"));
    assert_eq!(db.store.audit_entries(1, 1).await.expect("page")[0].action, "publish");
}

#[tokio::test]
async fn expired_sessions_and_stale_sign_in_failures_are_pruned() {
    use broadsheet::store::newsroom::FailureScope;
    let db = db().await;
    let user = db.user("p@news.test", "Pat Prune").await;
    let mut idle = session("idle", user.id);
    idle.last_seen_at = t0() - Duration::minutes(45);
    let mut old = session("old", user.id);
    old.created_at = t0() - Duration::hours(13);
    let fresh = session("fresh", user.id);
    for s in [&idle, &old, &fresh] {
        db.store.insert_session(s, &line("signed_in")).await.expect("session");
    }
    let removed = db
        .store
        .delete_expired_sessions(t0() - Duration::minutes(30), t0() - Duration::hours(12))
        .await
        .expect("prune");
    assert_eq!(removed, 2);
    let left: Vec<String> =
        db.store.sessions_of(user.id).await.expect("sessions").into_iter().map(|s| s.token_hash).collect();
    assert_eq!(left, vec!["fresh".to_owned()]);

    db.store.record_login_failure(FailureScope::Ip, "192.0.2.9", t0() - Duration::hours(1)).await.expect("failure");
    db.store.record_login_failure(FailureScope::Ip, "192.0.2.9", t0()).await.expect("failure");
    assert_eq!(db.store.prune_login_failures(t0() - Duration::minutes(15)).await.expect("prune"), 1);
    let since_long_ago = t0() - Duration::days(1);
    assert_eq!(db.store.login_failures_since(FailureScope::Ip, "192.0.2.9", since_long_ago).await.expect("count"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reserving_sign_in_attempts_is_atomic_under_concurrency() {
    use broadsheet::store::newsroom::FailureScope;
    let db = db().await;
    let since = t0() - Duration::minutes(15);
    // An old failure outside the window does not count; one inside does.
    db.store
        .record_login_failure(FailureScope::Account, "ed@news.test", since - Duration::minutes(1))
        .await
        .expect("old");
    db.store.record_login_failure(FailureScope::Account, "ed@news.test", t0()).await.expect("recent");
    let attempts = (0..60).map(|_| {
        let store = Arc::clone(&db.store);
        tokio::spawn(async move {
            store.reserve_login_attempt(FailureScope::Account, "ed@news.test", 5, since, t0()).await.expect("reserve")
        })
    });
    let mut granted = 0;
    for attempt in attempts.collect::<Vec<_>>() {
        granted += usize::from(attempt.await.expect("task"));
    }
    assert_eq!(granted, 4, "five allowed, one already used");
    let count = |scope, key: &'static str| {
        let store = Arc::clone(&db.store);
        async move { store.login_failures_since(scope, key, since).await.expect("count") }
    };
    assert_eq!(count(FailureScope::Account, "ed@news.test").await, 5);
    // Other keys and scopes have limits of their own.
    assert!(db.store.reserve_login_attempt(FailureScope::Ip, "ed@news.test", 5, since, t0()).await.expect("ip"));
    assert!(db.store.reserve_login_attempt(FailureScope::Account, "au@news.test", 5, since, t0()).await.expect("au"));

    // Releasing takes back exactly one attempt, which can then be used again.
    db.store.release_login_attempt(FailureScope::Account, "ed@news.test", t0()).await.expect("release");
    assert_eq!(count(FailureScope::Account, "ed@news.test").await, 4);
    assert!(
        db.store.reserve_login_attempt(FailureScope::Account, "ed@news.test", 5, since, t0()).await.expect("again")
    );
    assert!(
        !db.store.reserve_login_attempt(FailureScope::Account, "ed@news.test", 5, since, t0()).await.expect("full")
    );
}

#[tokio::test]
async fn password_links_are_revoked_by_newer_ones_by_use_and_on_request() {
    let db = db().await;
    let user = db.user("nia@news.test", "Nia New").await;
    let other = db.user("ola@news.test", "Ola Other").await;
    let later = t0() + Duration::hours(1);
    db.store.insert_password_token("a", user.id, later, t0(), &line("password_link_created")).await.expect("a");
    db.store
        .insert_password_token("other", other.id, later, t0(), &line("password_link_created"))
        .await
        .expect("other");
    db.store.insert_password_token("b", user.id, later, t0(), &line("password_link_created")).await.expect("b");
    assert_eq!(
        db.store.set_password_by_link("a", "new-hash", t0(), &line("password_set_by_link")).await.expect("take"),
        None,
        "a newer link revoked it"
    );
    assert_eq!(
        db.store.set_password_by_link("b", "new-hash", t0(), &line("password_set_by_link")).await.expect("take"),
        Some(user.id)
    );
    assert_eq!(
        db.store.set_password_by_link("b", "new-hash", t0(), &line("password_set_by_link")).await.expect("take"),
        None,
        "once only"
    );
    db.store.insert_password_token("c", user.id, later, t0(), &line("password_link_created")).await.expect("c");
    // A password change revokes the unused link.
    db.store.change_password(user.id, "changed", None, t0(), &line("password_changed")).await.expect("change");
    assert_eq!(
        db.store.set_password_by_link("c", "new-hash", t0(), &line("password_set_by_link")).await.expect("take"),
        None
    );
    assert_eq!(
        db.store.set_password_by_link("other", "new-hash", t0(), &line("password_set_by_link")).await.expect("take"),
        Some(other.id),
        "others' links stay"
    );
}

/// Every newsroom change writes its audit line in its own transaction: when the line cannot be
/// written, the change is not stored either (and an autosave, which writes no line, still is).
#[tokio::test]
async fn a_change_is_stored_with_its_audit_line_or_not_at_all() {
    let db = db().await;
    let draft = db.draft("draft", vec![]).await;
    let live = db.published("live").await;
    let comment = db
        .store
        .insert_comments(&[NewComment {
            article_id: live,
            author_name: "Reader".into(),
            body: "A thought.".into(),
            status: CommentStatus::Held,
            fingerprint: "fp-1".into(),
            created_at: t0(),
        }])
        .await
        .expect("insert")
        .remove(0)
        .expect("stored")
        .id;
    let image = db.media("b".repeat(64).as_str()).await;
    let lines_before = db.store.audit_entries(100, 0).await.expect("audit").len();
    let before = db.store.editable_article(draft).await.expect("read").expect("exists");

    db._db.refuse_audit_lines().await;

    let store = &db.store;
    let edited = ArticleFields { headline: "A new headline".into(), ..before.fields.clone() };
    let created = store.create_article(&db.fields("another", vec![]), "", None, t0(), &line("article_created")).await;
    refused(created);
    let saving = Saving::Deliberate(&line("article_saved"));
    refused(store.save_article(draft, &edited, "", None, saving, t0(), before.version).await);
    let step = Transition {
        from: &[ArticleStatus::Draft],
        to: ArticleStatus::Published,
        publish_at: None,
        user_id: None,
        at: t0(),
    };
    refused(store.transition(draft, step, &line("article_publish")).await);
    let kind = CorrectionKind::Correction;
    refused(store.add_correction(live, kind, "A fix.", None, t0(), &line("correction_added")).await);
    refused(store.set_unpublish_at(live, Some(t0()), &line("article_unpublish_scheduled")).await);
    refused(store.set_must_read_entries(&[(live, None)], 0, &line("must_reads_set")).await);
    refused(store.set_home_slots(&[live], 0, &line("home_set")).await);
    refused(store.set_setting("site_profile", "{}", t0(), 0, &line("settings_changed")).await);
    let publish = CommentChange::Status(CommentStatus::Published);
    refused(store.moderate_comment(comment, publish, &line("comment_approve")).await);
    let block = CommentChange::Block { fingerprint: "fp-1", by: None, at: t0() };
    refused(store.moderate_comment(comment, block, &line("comment_block")).await);
    refused(store.moderate_comment(comment, CommentChange::Delete, &line("comment_delete")).await);
    let meta = MediaMeta {
        alt: "Refused".into(),
        caption: String::new(),
        credit: String::new(),
        focal: FocalPoint { x: 0.1, y: 0.1 },
    };
    refused(store.update_media_meta(image, &meta, true, &line("media_updated")).await);
    let media = NewMedia {
        hash: "a".repeat(64),
        format: ImageFormat::Jpeg,
        width: 1600,
        height: 900,
        bytes: 1,
        original_name: "refused.jpg".into(),
        uploaded_by: None,
        created_at: t0(),
    };
    refused(store.insert_media(media, &line("media_uploaded")).await);

    // Nothing of any of it was stored.
    let everything = NewsroomQuery { status: None, owner: None, limit: 10, offset: 0 };
    assert_eq!(db.store.newsroom_articles(everything).await.expect("list").len(), 2);
    assert_eq!(db.listed().await, [live]);
    let after = db.store.editable_article(draft).await.expect("read").expect("exists");
    assert_eq!((after.status, after.version, &after.fields), (ArticleStatus::Draft, before.version, &before.fields));
    assert_eq!(db.store.revisions(draft).await.expect("revisions").len(), 1);
    assert_eq!(db.store.workflow_events(draft).await.expect("events").len(), 0);
    assert!(db.store.corrections_for(live).await.expect("corrections").is_empty());
    assert_eq!(db.store.editable_article(live).await.expect("read").expect("exists").unpublish_at, None);
    assert!(db.store.must_read_entries().await.expect("picks").is_empty());
    assert_eq!(db.store.edit_version(Edited::MustReads).await.expect("version"), 0);
    assert!(db.store.home_slot_entries().await.expect("slots").is_empty());
    let kept = db.store.media_by_id(image).await.expect("read").expect("exists");
    assert_eq!((kept.alt.as_str(), kept.focal), ("", FocalPoint { x: 0.5, y: 0.5 }));
    assert_eq!(db.store.setting("site_profile").await.expect("setting"), None);
    let queue = db.store.comments_by_status(CommentStatus::Held, 10, 0).await.expect("queue");
    assert_eq!((queue.len(), queue[0].fingerprint_blocked), (1, false));
    assert_eq!(db.store.media_list(10, 0).await.expect("media").len(), 1, "only the image stored before");
    assert_eq!(db.store.audit_entries(100, 0).await.expect("audit").len(), lines_before);

    // An autosave writes no audit line, so it is stored.
    let typed = ArticleFields { body_markdown: "Typing on.".into(), ..before.fields.clone() };
    let autosaved = store.save_article(draft, &typed, "", None, Saving::Autosave, t0(), before.version).await;
    assert_eq!(autosaved.expect("autosave"), VersionedWrite::Written);

    // Once lines can be written again, the same change goes through with its line.
    db._db.allow_audit_lines().await;
    let saving = Saving::Deliberate(&line("article_saved"));
    let saved = store.save_article(draft, &edited, "", None, saving, t0(), before.version + 1).await;
    assert_eq!(saved.expect("save"), VersionedWrite::Written);
    let lines = db.store.audit_entries(100, 0).await.expect("audit");
    assert_eq!(lines.len(), lines_before + 1);
    assert_eq!(lines[0].action, "article_saved");
}

/// The same holds for accounts: a password change, a link, a role, a block of the account, a new
/// member, two-step sign-in, sections and tags are stored with their audit line or not at all.
#[tokio::test]
async fn an_account_change_is_stored_with_its_audit_line_or_not_at_all() {
    let db = db().await;
    let ana = db.user("ana@example.com", "Ana Silva").await;
    db.store.insert_session(&session("ana-1", ana.id), &line("signed_in")).await.expect("session");
    db.store.insert_session(&session("ana-2", ana.id), &line("signed_in")).await.expect("session");
    let later = t0() + Duration::hours(1);
    db.store.insert_password_token("link", ana.id, later, t0(), &line("password_link_created")).await.expect("link");
    let tagged = db.published("tagged").await;
    assert!(db.store.article_by_id(tagged).await.expect("read").is_some());
    let tag = db.store.tags_with_counts().await.expect("tags")[0].0.id;
    let lines_before = db.store.audit_entries(100, 0).await.expect("audit").len();
    let credentials =
        |store: Arc<dyn Store>| async move { store.credentials_by_id(ana.id).await.expect("read").expect("exists") };
    let before = credentials(db.store.clone()).await;

    db._db.refuse_audit_lines().await;
    let store = &db.store;
    refused(store.change_password(ana.id, "new", Some("ana-1"), t0(), &line("password_changed")).await);
    refused(store.set_password_by_link("link", "new", t0(), &line("password_set_by_link")).await);
    refused(store.set_user_role(ana.id, Role::Editor, &line("user_role_changed")).await);
    refused(store.set_user_disabled(ana.id, true, t0(), &line("user_disabled")).await);
    refused(store.set_user_disabled(ana.id, false, t0(), &line("user_enabled")).await);
    refused(store.set_totp(ana.id, None, &[], &line("totp_disabled")).await);
    refused(store.insert_session(&session("ana-3", ana.id), &line("signed_in")).await);
    refused(store.end_session("ana-1", &line("signed_out")).await);
    refused(store.set_user_email(ana.id, "new@example.com", &line("email_changed")).await);
    refused(store.set_totp(ana.id, Some((b"secret", 7)), &[], &line("totp_enabled")).await);
    refused(store.insert_password_token("newer", ana.id, later, t0(), &line("password_link_created")).await);
    let newcomer = NewUser {
        email: "new@news.test".into(),
        name: "New Comer".into(),
        role: Role::Author,
        password_hash: None,
        created_at: t0(),
    };
    refused(store.invite_user(newcomer.clone(), "welcome", later, &line("user_added")).await);
    refused(store.insert_user(newcomer, &line("user_added")).await);
    let rename =
        SectionUpdate { name: "Asia Pacific".into(), slug: "asia-pacific".into(), position: 1, archived: false };
    refused(store.save_sections(&[(db.section_id, rename)], None, &line("sections_changed")).await);
    refused(store.rename_tag(tag, "Renamed", &line("tag_renamed")).await);

    // Nothing changed: the old password, role, address and sessions, no two-step, the same link.
    let after = credentials(db.store.clone()).await;
    assert_eq!(after.password_hash, before.password_hash);
    assert_eq!(
        (after.user.role, after.user.disabled, after.user.email.as_str()),
        (Role::Author, false, "ana@example.com")
    );
    assert_eq!((after.totp_secret, after.totp_last_step), (None, None));
    assert_eq!(db.store.sessions_of(ana.id).await.expect("sessions").len(), 2);
    assert!(db.store.credentials_by_email("new@news.test").await.expect("read").is_none());
    assert_eq!(db.store.sections().await.expect("sections")[0].slug, "asia");
    assert_eq!(db.store.tags_with_counts().await.expect("tags").iter().filter(|(t, _)| t.name == "Renamed").count(), 0);
    assert_eq!(db.store.audit_entries(100, 0).await.expect("audit").len(), lines_before);

    // With lines allowed again, the link sets the password and ends every session in one write.
    db._db.allow_audit_lines().await;
    let taken = store.set_password_by_link("link", "new", t0(), &line("password_set_by_link")).await.expect("link");
    assert_eq!(taken, Some(ana.id));
    assert_eq!(credentials(db.store.clone()).await.password_hash.as_deref(), Some("new"));
    assert!(db.store.sessions_of(ana.id).await.expect("sessions").is_empty());
    let lines = db.store.audit_entries(100, 0).await.expect("audit");
    assert_eq!((lines[0].action.as_str(), lines[0].target_id), ("password_set_by_link", Some(ana.id.0)));
    // A member's own change keeps the session that made it and ends the others.
    db.store.insert_session(&session("ana-3", ana.id), &line("signed_in")).await.expect("session");
    db.store.insert_session(&session("ana-4", ana.id), &line("signed_in")).await.expect("session");
    store.change_password(ana.id, "newer", Some("ana-3"), t0(), &line("password_changed")).await.expect("change");
    let left: Vec<String> =
        db.store.sessions_of(ana.id).await.expect("sessions").into_iter().map(|s| s.token_hash).collect();
    assert_eq!(left, ["ana-3"]);
}

/// Workflow steps, revisions, audit lines and sessions keep their times to the millisecond, so
/// two within one second read back apart and in their order.
#[tokio::test]
async fn times_where_order_matters_are_kept_to_the_millisecond() {
    let db = db().await;
    let ana = db.user("ana@example.com", "Ana Silva").await;
    let early = t0() + Duration::milliseconds(120);
    let late = t0() + Duration::milliseconds(870);

    // "a-early" sorts before "b-late" by token: only the times put "b-late" first.
    let mut begun_late = session("b-late", ana.id);
    begun_late.created_at = late;
    begun_late.last_seen_at = late;
    let mut begun_early = session("a-early", ana.id);
    begun_early.created_at = early;
    begun_early.last_seen_at = late;
    begun_early.reauth_at = early;
    db.store.insert_session(&begun_early, &line("signed_in")).await.expect("session");
    db.store.insert_session(&begun_late, &line("signed_in")).await.expect("session");
    let listed = db.store.sessions_of(ana.id).await.expect("sessions");
    assert_eq!(listed.iter().map(|s| s.token_hash.as_str()).collect::<Vec<_>>(), ["b-late", "a-early"]);
    assert_eq!(listed[1], begun_early);
    db.store.touch_session("a-early", late + Duration::milliseconds(5)).await.expect("touch");
    let touched = db.store.session("a-early").await.expect("read").expect("exists");
    assert_eq!(touched.last_seen_at, late + Duration::milliseconds(5));
    // The idle limit compares to the millisecond too.
    assert_eq!(db.store.delete_expired_sessions(late + Duration::milliseconds(1), t0()).await.expect("prune"), 1);
    assert!(db.store.session("b-late").await.expect("read").is_none());

    let id = db
        .store
        .create_article(&db.fields("quick", vec![]), "", Some(ana.id), early, &line("article_created"))
        .await
        .expect("create");
    let edited = ArticleFields { headline: "Quick edit".into(), ..db.fields("quick", vec![]) };
    let saving = Saving::Deliberate(&line("article_saved"));
    let saved = db.store.save_article(id, &edited, "", Some(ana.id), saving, late, 1).await.expect("save");
    assert_eq!(saved, VersionedWrite::Written);
    let times: Vec<_> = db.store.revisions(id).await.expect("revisions").into_iter().map(|r| r.created_at).collect();
    assert_eq!(times, [late, early]);

    let step = Transition {
        from: &[ArticleStatus::Draft],
        to: ArticleStatus::InReview,
        publish_at: None,
        user_id: None,
        at: early,
    };
    assert!(db.store.transition(id, step, &line("article_submit")).await.expect("step"));
    let back = Transition {
        from: &[ArticleStatus::InReview],
        to: ArticleStatus::Draft,
        publish_at: None,
        user_id: None,
        at: late,
    };
    assert!(db.store.transition(id, back, &line("article_return")).await.expect("step"));
    let events: Vec<_> = db.store.workflow_events(id).await.expect("events").into_iter().map(|e| e.at).collect();
    assert_eq!(events, [early, late]);

    db.store
        .record_audit(NewAuditEntry { at: late + Duration::milliseconds(1), ..line("signed_in") })
        .await
        .expect("line");
    let lines = db.store.audit_entries(10, 0).await.expect("audit");
    assert_eq!(lines[0].at, late + Duration::milliseconds(1));
}

/// The write failed because the audit line was refused, not for some other reason.
#[track_caller]
fn refused<T: std::fmt::Debug>(result: Result<T, StoreError>) {
    let error = result.expect_err("the write is refused with its audit line");
    assert!(error.to_string().contains("audit refused"), "{error}");
}
