//! The article use cases without HTTP: create a draft, save, autosave, take a workflow step, set an
//! unpublishing time, restore a revision, add a correction. Each does, in this order: the permission
//! check (the one role table, [`permits`]), validation (errors keyed by form field), the store
//! write together with its audit line, and the change event. Handlers only read the request, call one of these
//! and render the outcome, so none of them can forget a permission, an audit line or a cache
//! invalidation.
//!
//! The audit line is made before the write and handed to the store, which writes it in the
//! change's own transaction: a change is never stored without its line, nor a line without its
//! change, whatever fails or crashes in between.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::checklist::{self, ImageFacts};
use super::workflow::{Step, may_take, parse_local_time};
use crate::disk::DiskGuard;
use crate::domain::text::clean_field;
use crate::domain::{
    Action, ArticleId, ArticleStatus, AuthorId, MediaId, Ownership, Role, SectionId, Slug, UserId, permits,
};
use crate::store::newsroom::{
    ArticleFields, Correction, CorrectionKind, EditableArticle, ImageChoice, NewAuditEntry, Saving, Transition,
    VersionedWrite,
};
use crate::store::{Store, StoreError};

pub const MAX_BODY_CHARS: usize = 200_000;
pub const MAX_HEADLINE_CHARS: usize = 200;
pub const MAX_TAGS: usize = 20;
pub const MAX_CORRECTION_CHARS: usize = 2000;

/// The member acting: who they are and what their role lets them do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    pub user_id: UserId,
    /// Their byline: an article with it on the byline is theirs.
    pub author_id: AuthorId,
    pub role: Role,
}

impl Actor {
    pub fn ownership(&self, article: &EditableArticle) -> Ownership {
        let on_byline = article.fields.author_ids.contains(&self.author_id);
        if on_byline || article.created_by == Some(self.user_id) { Ownership::Own } else { Ownership::Others }
    }
}

/// What a use case changed, for whoever keeps caches and other nodes up to date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArticleEvent {
    /// Readers can see the change: the article's page and every list showing it are stale.
    Public {
        id: ArticleId,
        /// It has just gone live, so the articles related to it should be worked out again.
        went_live: bool,
    },
    /// Only the newsroom sees it (a draft saved, a schedule set): no reader's page is stale.
    Internal { id: ArticleId },
}

/// Receives the change event of every use case that wrote something. The web layer turns it into
/// cache invalidation, announcements to other nodes and CDN purges.
pub trait ChangeSink: Send + Sync {
    fn article_changed(&self, event: ArticleEvent);
    /// A curated list changed: every page that shows it is stale.
    fn curated_list_changed(&self, list: super::curation::CuratedList);
    /// The breaking banner is now `banner` (`None`: taken down); every page shows it.
    fn banner_changed(&self, banner: Option<super::profile::Breaking>);
    /// The site settings are now `profile`; every page and the comment policy follow them.
    fn settings_changed(&self, profile: super::profile::SiteProfile);
    /// Image `id` was described anew (pages showing it are stale); `crops_reset`: its crops are to
    /// be made again.
    fn media_changed(&self, id: MediaId, crops_reset: bool);
    /// Image `id` was taken in: its variants are to be made. No page shows it yet.
    fn media_added(&self, id: MediaId);
    /// The sections were renamed, moved, reordered, archived or added: every page shows them.
    fn sections_changed(&self);
}

/// What the article use cases need besides their input.
#[derive(Clone, Copy)]
pub struct Newsroom<'a> {
    pub store: &'a dyn Store,
    pub changes: &'a dyn ChangeSink,
    /// Refuses writes while the data disk is nearly full.
    pub disk: &'a DiskGuard,
    /// The newsroom's time zone: typed times are wall-clock times there.
    pub zone: Tz,
}

/// Why a use case was refused outright (as opposed to a form coming back with messages).
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("not found")]
    NotFound,
    #[error("not allowed")]
    Forbidden,
    /// The request cannot be done as asked; the message says why, for the member.
    #[error("{0}")]
    Refused(String),
    /// The article is not in a state where this can be done (already published, changed by
    /// someone else meanwhile); the message says where it stands.
    #[error("{0}")]
    Conflict(String),
    #[error("invalid input")]
    Invalid(ValidationErrors),
    #[error("storage failed: {0}")]
    Store(#[from] StoreError),
    /// Something the newsroom cannot fix failed (the system gave no random bytes, say).
    #[error("internal error: {0}")]
    Internal(String),
}

/// Messages about the input, each keyed by the form field it is about (`None`: the form as a
/// whole), in the order they were found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ValidationErrors(Vec<FieldError>);

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: Option<&'static str>,
    pub message: String,
}

impl ValidationErrors {
    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        self.0.push(FieldError { field: Some(field), message: message.into() });
    }

    /// A message about the form as a whole, shown first.
    pub fn add_general_first(&mut self, message: impl Into<String>) {
        self.0.insert(0, FieldError { field: None, message: message.into() });
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn messages(&self) -> Vec<String> {
        self.0.iter().map(|e| e.message.clone()).collect()
    }

    pub fn entries(&self) -> &[FieldError] {
        &self.0
    }

    /// The messages about one field.
    pub fn for_field(&self, field: &str) -> Vec<&str> {
        self.0.iter().filter(|e| e.field == Some(field)).map(|e| e.message.as_str()).collect()
    }

    /// Runs a `clean_field`-style check and files its message under `field`.
    fn clean(&mut self, field: &'static str, label: &str, input: &str, multiline: bool) -> String {
        let mut messages = Vec::new();
        let text = clean_field(&mut messages, label, input, multiline);
        for message in messages {
            self.add(field, message);
        }
        text
    }
}

/// The editor form as sent: text as typed, before any checking.
#[derive(Debug, Clone, Default)]
pub struct ArticleForm {
    pub headline: String,
    pub dek: String,
    pub slug: String,
    pub section: String,
    /// The byline pickers, in order; empty ones included.
    pub authors: Vec<String>,
    /// Comma-separated.
    pub tags: String,
    pub body: String,
    pub image: String,
    pub image_alt: String,
    pub image_caption: String,
    pub image_credit: String,
    pub seo_title: String,
    pub seo_description: String,
}

/// Checks the form and reads it into fields, collecting every problem at once so the member can fix
/// them together. The fields come back either way: a refused form goes back to the member as typed.
pub async fn validate_fields(
    store: &dyn Store,
    actor: &Actor,
    form: &ArticleForm,
) -> Result<(ArticleFields, ValidationErrors), StoreError> {
    let mut errors = ValidationErrors::default();
    let headline = errors.clean("headline", "The headline", &form.headline, false);
    if headline.is_empty() {
        errors.add("headline", "A headline is required.");
    } else if headline.chars().count() > MAX_HEADLINE_CHARS {
        errors.add("headline", format!("The headline can be at most {MAX_HEADLINE_CHARS} characters."));
    }
    let slug_input = form.slug.trim();
    let slug = if slug_input.is_empty() { Slug::from_title(&headline) } else { Slug::parse(slug_input) };
    let slug = match slug {
        Ok(slug) => slug.as_str().to_owned(),
        Err(e) => {
            if !headline.is_empty() {
                errors.add("slug", format!("The address (slug) is not usable: {e}."));
            }
            slug_input.to_owned()
        }
    };
    let section_id = SectionId(form.section.parse::<i64>().unwrap_or(0));
    if !store.all_sections().await?.iter().any(|(s, _)| s.id == section_id) {
        errors.add("section", "Choose a section.");
    }
    let known_authors = store.authors().await?;
    let mut author_ids: Vec<AuthorId> = Vec::new();
    for value in &form.authors {
        if let Ok(id) = value.parse::<i64>().map(AuthorId)
            && known_authors.iter().any(|a| a.id == id)
            && !author_ids.contains(&id)
        {
            author_ids.push(id);
        }
    }
    if author_ids.is_empty() {
        author_ids.push(actor.author_id);
    }
    let mut tags: Vec<String> = Vec::new();
    for tag in form.tags.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        if !tags.iter().any(|x| x.eq_ignore_ascii_case(tag)) {
            tags.push(tag.to_owned());
        }
    }
    if tags.len() > MAX_TAGS {
        errors.add("tags", format!("Use at most {MAX_TAGS} tags."));
    }
    let body_markdown = errors.clean("body", "The body", &form.body, true);
    if body_markdown.chars().count() > MAX_BODY_CHARS {
        errors.add("body", format!("The body can be at most {MAX_BODY_CHARS} characters."));
    }
    let image = match form.image.parse::<i64>().map(MediaId) {
        Ok(media_id) => {
            if store.media_by_id(media_id).await?.is_none() {
                errors.add("image", "The chosen image no longer exists.");
            }
            let alt = errors.clean("image_alt", "The alt text", &form.image_alt, false);
            if alt.is_empty() {
                errors.add("image_alt", "The featured image needs alt text: describe what it shows.");
            }
            Some(ImageChoice {
                media_id,
                alt,
                caption: errors.clean("image_caption", "The caption", &form.image_caption, false),
                credit: errors.clean("image_credit", "The credit", &form.image_credit, false),
            })
        }
        Err(_) => None,
    };
    let fields = ArticleFields {
        section_id,
        slug,
        headline,
        dek: errors.clean("dek", "The dek", &form.dek, false),
        body_markdown,
        author_ids,
        tags: tags.into_iter().take(MAX_TAGS).collect(),
        image,
        seo_title: errors.clean("seo_title", "The search title", &form.seo_title, false),
        seo_description: errors.clean("seo_description", "The search description", &form.seo_description, false),
    };
    Ok((fields, errors))
}

fn slug_taken(fields: &ArticleFields) -> String {
    format!("Another article already uses the address “{}”. Choose another slug.", fields.slug)
}

/// Storage full, or the database away: nothing was written, and trying again later will work.
pub fn is_transient(error: &StoreError) -> bool {
    error.is_storage_full() || error.is_unavailable()
}

/// The audit line for `actor` doing `action` to article `id`.
fn article_line(actor: &Actor, action: &str, id: ArticleId, detail: String, now: DateTime<Utc>) -> NewAuditEntry {
    audit_line(actor, action, "article", Some(id.0), detail, now)
}

/// The audit line for `actor` doing `action` to `target_kind` number `target_id` (`None`: the only
/// one, such as the Must-Reads list, or a thing the write itself creates, whose id the store fills
/// in). The store writes it in the transaction of the change it describes.
pub(super) fn audit_line(
    actor: &Actor,
    action: &str,
    target_kind: &str,
    target_id: Option<i64>,
    detail: String,
    now: DateTime<Utc>,
) -> NewAuditEntry {
    NewAuditEntry::new(Some(actor.user_id), action, target_kind, target_id, detail, now)
}

fn event_for(id: ArticleId, public: bool) -> ArticleEvent {
    if public { ArticleEvent::Public { id, went_live: false } } else { ArticleEvent::Internal { id } }
}

async fn load(
    store: &dyn Store,
    actor: &Actor,
    id: ArticleId,
    action: Action,
) -> Result<EditableArticle, ServiceError> {
    let article = store.editable_article(id).await?.ok_or(ServiceError::NotFound)?;
    if !permits(actor.role, action, actor.ownership(&article), Some(article.status)) {
        return Err(ServiceError::Forbidden);
    }
    Ok(article)
}

/// How a form-based write ended.
#[derive(Debug)]
pub enum FormOutcome {
    /// Stored (and, for a save with a step, moved along the workflow).
    Done { id: ArticleId, moved_to: Option<ArticleStatus> },
    /// The form goes back to the member with their fields and what to fix. `not_stored` is set when
    /// the input was fine but storage could not take it just now.
    Unsaved {
        fields: ArticleFields,
        errors: ValidationErrors,
        not_stored: Option<StoreError>,
        /// Publishing was asked for and the checklist has warnings: ask once more. Any edit in the
        /// form has been saved by then.
        confirm_publish: bool,
    },
    /// Someone saved meanwhile; nothing was written. `yours` is what the member sent.
    Stale { yours: ArticleFields },
}

fn not_stored(fields: ArticleFields, cause: StoreError) -> FormOutcome {
    FormOutcome::Unsaved {
        fields,
        errors: ValidationErrors::default(),
        not_stored: Some(cause),
        confirm_publish: false,
    }
}

/// Creates a draft. A slug made from the headline gets -2, -3, ... when taken; a slug typed by hand
/// is kept as typed and a clash is reported.
pub async fn create(
    newsroom: Newsroom<'_>,
    actor: &Actor,
    form: &ArticleForm,
    now: DateTime<Utc>,
) -> Result<FormOutcome, ServiceError> {
    if !permits(actor.role, Action::CreateArticle, Ownership::Newsroom, None) {
        return Err(ServiceError::Forbidden);
    }
    let (mut fields, mut errors) = validate_fields(newsroom.store, actor, form).await?;
    let not_stored_yet = newsroom.disk.ensure_room().err();
    if !errors.is_empty() || not_stored_yet.is_some() {
        return Ok(FormOutcome::Unsaved { fields, errors, not_stored: not_stored_yet, confirm_publish: false });
    }
    let derived = form.slug.trim().is_empty();
    let base_slug = fields.slug.clone();
    let html = crate::markdown::render(&fields.body_markdown);
    let line = audit_line(actor, "article_created", "article", None, fields.headline.clone(), now);
    for attempt in 1..=20 {
        match newsroom.store.create_article(&fields, &html, Some(actor.user_id), now, &line).await {
            Ok(id) => {
                newsroom.changes.article_changed(ArticleEvent::Internal { id });
                return Ok(FormOutcome::Done { id, moved_to: None });
            }
            Err(StoreError::Conflict(_)) if derived && attempt < 20 => {
                fields.slug = format!("{base_slug}-{}", attempt + 1);
            }
            Err(StoreError::Conflict(_)) => {
                errors.add("slug", slug_taken(&fields));
                break;
            }
            Err(e) if is_transient(&e) => return Ok(not_stored(fields, e)),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(FormOutcome::Unsaved { fields, errors, not_stored: None, confirm_publish: false })
}

/// What the editor's Save (or a workflow button inside the editor form) sends.
#[derive(Debug, Clone, Default)]
pub struct SaveRequest {
    pub form: ArticleForm,
    /// The version the edit started from (0 when missing: such a save is stale, never current).
    pub base_version: i64,
    /// A workflow step to take after saving.
    pub step: Option<Step>,
    /// For `Step::Schedule`: the time as typed (`datetime-local`).
    pub publish_at: String,
    /// The member already saw the checklist warnings and publishes anyway.
    pub confirmed: bool,
}

/// Saves the editor form; the button pressed may also move the article along the workflow. A member
/// who may take the step but may not edit (a contributor withdrawing a submission) takes it on the
/// stored text, whatever the form says.
pub async fn save(
    newsroom: Newsroom<'_>,
    actor: &Actor,
    id: ArticleId,
    request: &SaveRequest,
    now: DateTime<Utc>,
) -> Result<FormOutcome, ServiceError> {
    let store = newsroom.store;
    let article = load(store, actor, id, Action::ViewArticle).await?;
    let own = actor.ownership(&article);
    let may_edit = permits(actor.role, Action::EditArticle, own, Some(article.status));
    match request.step {
        None if !may_edit => return Err(ServiceError::Forbidden),
        Some(step) => step_allowed(actor, step, own, article.status)?,
        _ => {}
    }
    let (fields, mut errors) = if may_edit {
        validate_fields(store, actor, &request.form).await?
    } else {
        (article.fields.clone(), ValidationErrors::default())
    };
    // Publishing with an incomplete checklist asks once, then goes ahead.
    let mut confirm_publish = false;
    if errors.is_empty() && matches!(request.step, Some(Step::Publish | Step::Schedule)) && !request.confirmed {
        let sections = store.all_sections().await?;
        let width = match &fields.image {
            Some(choice) => store.media_by_id(choice.media_id).await?.map(|m| ImageFacts { width: m.width }),
            None => None,
        };
        let items = checklist::check(&fields, sections.iter().any(|(s, _)| s.id == fields.section_id), width);
        confirm_publish = items.iter().any(|i| !i.passed);
    }
    let schedule_at = if request.step == Some(Step::Schedule) {
        match parse_local_time(&request.publish_at, newsroom.zone) {
            Ok(t) => Some(t),
            Err(e) => {
                errors.add("publish_at", format!("Cannot schedule: {e}."));
                None
            }
        }
    } else {
        None
    };
    if !errors.is_empty() {
        return Ok(FormOutcome::Unsaved { fields, errors, not_stored: None, confirm_publish });
    }
    if may_edit && fields != article.fields {
        if let Err(full) = newsroom.disk.ensure_room() {
            return Ok(FormOutcome::Unsaved { fields, errors, not_stored: Some(full), confirm_publish });
        }
        let html = crate::markdown::render(&fields.body_markdown);
        let line = article_line(actor, "article_saved", id, fields.headline.clone(), now);
        let saving = Saving::Deliberate(&line);
        match store.save_article(id, &fields, &html, Some(actor.user_id), saving, now, request.base_version).await {
            Ok(VersionedWrite::Written) => {
                newsroom.changes.article_changed(event_for(id, article.status == ArticleStatus::Published));
            }
            Ok(VersionedWrite::Stale) => return Ok(FormOutcome::Stale { yours: fields }),
            Err(StoreError::Conflict(_)) => {
                errors.add("slug", slug_taken(&fields));
                return Ok(FormOutcome::Unsaved { fields, errors, not_stored: None, confirm_publish });
            }
            Err(e) if is_transient(&e) => {
                return Ok(FormOutcome::Unsaved { fields, errors, not_stored: Some(e), confirm_publish });
            }
            Err(e) => return Err(e.into()),
        }
    }
    if confirm_publish {
        return Ok(FormOutcome::Unsaved { fields, errors, not_stored: None, confirm_publish });
    }
    let moved_to = match request.step {
        Some(step) => Some(apply_step(newsroom, actor, &article, step, schedule_at, now).await?),
        None => None,
    };
    Ok(FormOutcome::Done { id, moved_to })
}

/// Whether the member may take `step` now. A step that does not start from the article's status
/// (publishing what is already published, a second click after the first went through) is a
/// conflict with where the article stands, not a matter of rights; the member already may see it.
fn step_allowed(actor: &Actor, step: Step, own: Ownership, status: ArticleStatus) -> Result<(), ServiceError> {
    if !step.edge().0.contains(&status) {
        return Err(ServiceError::Conflict(format!(
            "This article is {}, so it cannot be {} now. Reload it to see where it stands.",
            status.label(),
            step.past_participle()
        )));
    }
    if !may_take(actor.role, step, own, status) {
        return Err(ServiceError::Forbidden);
    }
    Ok(())
}

/// Moves the article along one edge of the workflow; the permission has been checked.
async fn apply_step(
    newsroom: Newsroom<'_>,
    actor: &Actor,
    article: &EditableArticle,
    step: Step,
    schedule_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<ArticleStatus, ServiceError> {
    // A time already past publishes at once rather than sitting in the queue.
    let (step, schedule_at) = match (step, schedule_at) {
        (Step::Schedule, Some(at)) if at <= now => (Step::Publish, None),
        other => other,
    };
    let (from, to) = step.edge();
    let transition = Transition { from, to, publish_at: schedule_at, user_id: Some(actor.user_id), at: now };
    let detail = match schedule_at {
        Some(at) => format!("{} → {} at {}", article.status.as_str(), to.as_str(), at.to_rfc3339()),
        None => format!("{} → {}", article.status.as_str(), to.as_str()),
    };
    let line = article_line(actor, &format!("article_{}", step.as_str()), article.id, detail, now);
    if !newsroom.store.transition(article.id, transition, &line).await? {
        return Err(ServiceError::Conflict(
            "Someone else changed this article’s status meanwhile. Reload it to see where it stands.".into(),
        ));
    }
    let public = matches!(to, ArticleStatus::Published | ArticleStatus::Unpublished)
        || article.status == ArticleStatus::Published;
    let event = if public {
        ArticleEvent::Public { id: article.id, went_live: to == ArticleStatus::Published }
    } else {
        ArticleEvent::Internal { id: article.id }
    };
    newsroom.changes.article_changed(event);
    Ok(to)
}

/// A workflow step on its own (the article list's buttons, the unpublish button). `publish_at` is
/// the typed time for `Step::Schedule`. Returns the status the article moved to.
pub async fn take_step(
    newsroom: Newsroom<'_>,
    actor: &Actor,
    id: ArticleId,
    step: Step,
    publish_at: &str,
    now: DateTime<Utc>,
) -> Result<ArticleStatus, ServiceError> {
    let article = load(newsroom.store, actor, id, Action::ViewArticle).await?;
    step_allowed(actor, step, actor.ownership(&article), article.status)?;
    let schedule_at = if step == Step::Schedule {
        match parse_local_time(publish_at, newsroom.zone) {
            Ok(at) => Some(at),
            Err(e) => {
                let mut errors = ValidationErrors::default();
                errors.add("publish_at", format!("Cannot schedule: {e}."));
                return Err(ServiceError::Invalid(errors));
            }
        }
    } else {
        None
    };
    apply_step(newsroom, actor, &article, step, schedule_at, now).await
}

/// Sets (a typed time) or clears (empty) the time a published article comes down by itself.
pub async fn schedule_unpublish(
    newsroom: Newsroom<'_>,
    actor: &Actor,
    id: ArticleId,
    unpublish_at: &str,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, ServiceError> {
    load(newsroom.store, actor, id, Action::Publish).await?;
    let at = if unpublish_at.trim().is_empty() {
        None
    } else {
        match parse_local_time(unpublish_at, newsroom.zone) {
            Ok(at) => Some(at),
            Err(e) => {
                let mut errors = ValidationErrors::default();
                errors.add("unpublish_at", format!("Cannot set the time: {e}."));
                return Err(ServiceError::Invalid(errors));
            }
        }
    };
    let detail = at.map(|t| t.to_rfc3339()).unwrap_or_else(|| "cleared".into());
    let line = article_line(actor, "article_unpublish_scheduled", id, detail, now);
    newsroom.store.set_unpublish_at(id, at, &line).await?;
    newsroom.changes.article_changed(ArticleEvent::Internal { id });
    Ok(at)
}

/// How a restore ended.
#[derive(Debug)]
pub enum RestoreOutcome {
    Restored,
    /// Someone saved meanwhile; nothing was written. `revision` holds the restored fields.
    Stale {
        revision: Box<ArticleFields>,
    },
}

/// Saves an old revision's fields as the newest version (the current text stays a revision too).
pub async fn restore(
    newsroom: Newsroom<'_>,
    actor: &Actor,
    id: ArticleId,
    revision_id: i64,
    base_version: i64,
    now: DateTime<Utc>,
) -> Result<RestoreOutcome, ServiceError> {
    let store = newsroom.store;
    let article = load(store, actor, id, Action::EditArticle).await?;
    let revision = store.revision(revision_id).await?.filter(|r| r.article_id == id).ok_or(ServiceError::NotFound)?;
    let html = crate::markdown::render(&revision.fields.body_markdown);
    let line = article_line(actor, "revision_restored", id, format!("revision {revision_id}"), now);
    let saving = Saving::Deliberate(&line);
    match store.save_article(id, &revision.fields, &html, Some(actor.user_id), saving, now, base_version).await {
        Ok(VersionedWrite::Written) => {}
        Ok(VersionedWrite::Stale) => return Ok(RestoreOutcome::Stale { revision: Box::new(revision.fields) }),
        Err(StoreError::Conflict(_)) => {
            return Err(ServiceError::Conflict(
                "That revision’s address (slug) is now used by another article; change it in the editor instead."
                    .into(),
            ));
        }
        Err(e) => return Err(e.into()),
    }
    newsroom.changes.article_changed(event_for(id, article.status == ArticleStatus::Published));
    Ok(RestoreOutcome::Restored)
}

/// Adds a correction, clarification or update note to a published article. `kind` is as sent.
pub async fn add_correction(
    newsroom: Newsroom<'_>,
    actor: &Actor,
    id: ArticleId,
    kind: &str,
    body: &str,
    now: DateTime<Utc>,
) -> Result<Correction, ServiceError> {
    let article = load(newsroom.store, actor, id, Action::AddCorrection).await?;
    if article.status != ArticleStatus::Published {
        return Err(ServiceError::Conflict("Corrections are for published articles.".into()));
    }
    let mut errors = ValidationErrors::default();
    let kind = CorrectionKind::parse(kind);
    if kind.is_none() {
        errors.add("kind", "Choose correction, clarification or update.");
    }
    let body = body.trim();
    if body.is_empty() || body.chars().count() > MAX_CORRECTION_CHARS {
        errors.add("body", "Write the note (up to 2,000 characters).");
    }
    let Some(kind) = kind.filter(|_| errors.is_empty()) else {
        return Err(ServiceError::Invalid(errors));
    };
    let line = article_line(actor, "correction_added", id, format!("{}: {body}", kind.as_str()), now);
    let correction = newsroom.store.add_correction(id, kind, body, Some(actor.user_id), now, &line).await?;
    newsroom.changes.article_changed(ArticleEvent::Public { id, went_live: false });
    Ok(correction)
}

/// How an autosave ended.
#[derive(Debug)]
pub enum AutosaveOutcome {
    /// Stored, or nothing to store; the editor is now based on `version`.
    Saved {
        version: i64,
    },
    /// Only drafts and articles in review are saved automatically.
    NotDraft,
    Invalid(ValidationErrors),
    /// Storage cannot take it just now; nothing was written.
    NotStored(StoreError),
    /// Someone else saved meanwhile; nothing was written. `version` is the stored one.
    Stale {
        version: i64,
    },
}

/// Saves a draft in the background while the member types. Drafts and articles in review only: a
/// published article changes only when someone presses Save. An autosave writes a revision but no
/// audit line: the log records the member's deliberate saves and steps, not every pause in typing.
pub async fn autosave(
    newsroom: Newsroom<'_>,
    actor: &Actor,
    id: ArticleId,
    form: &ArticleForm,
    base_version: i64,
    now: DateTime<Utc>,
) -> Result<AutosaveOutcome, ServiceError> {
    let article = load(newsroom.store, actor, id, Action::EditArticle).await?;
    if !matches!(article.status, ArticleStatus::Draft | ArticleStatus::InReview) {
        return Ok(AutosaveOutcome::NotDraft);
    }
    let (fields, errors) = validate_fields(newsroom.store, actor, form).await?;
    if !errors.is_empty() {
        return Ok(AutosaveOutcome::Invalid(errors));
    }
    // Unchanged text loses nothing, whatever version it was based on: the editor moves to the
    // stored one.
    if fields == article.fields {
        return Ok(AutosaveOutcome::Saved { version: article.version });
    }
    if let Err(full) = newsroom.disk.ensure_room() {
        return Ok(AutosaveOutcome::NotStored(full));
    }
    let html = crate::markdown::render(&fields.body_markdown);
    match newsroom
        .store
        .save_article(id, &fields, &html, Some(actor.user_id), Saving::Autosave, now, base_version)
        .await
    {
        Ok(VersionedWrite::Written) => {
            newsroom.changes.article_changed(ArticleEvent::Internal { id });
            Ok(AutosaveOutcome::Saved { version: base_version + 1 })
        }
        Ok(VersionedWrite::Stale) => Ok(AutosaveOutcome::Stale { version: article.version }),
        Err(e) if is_transient(&e) => Ok(AutosaveOutcome::NotStored(e)),
        Err(e) => Err(e.into()),
    }
}
