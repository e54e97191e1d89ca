//! The article list, the editor, the workflow buttons, revisions, preview links and corrections.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::session::{FormData, Member, Submitted};
use super::{
    AdminChrome, AdminError, audit_event, audit_line, notice_text, page, page_number, page_with_status, see_other,
};
use crate::domain::{Action, ArticleId, ArticleStatus, Author, AuthorId, Ownership, Section, permits};
use crate::newsroom::articles::{
    self, Actor, ArticleForm, AutosaveOutcome, FormOutcome, Newsroom, RestoreOutcome, SaveRequest, ServiceError,
    ValidationErrors,
};
use crate::newsroom::checklist::{self, CheckItem, ImageFacts};
use crate::newsroom::workflow::{Step, available_steps};
use crate::revisions::diff::{FieldDiff, diff_fields};
use crate::store::StoreError;
use crate::store::newsroom::{
    ArticleFields, EditableArticle, MediaRecord, NewsroomListItem, NewsroomQuery, RevisionSummary, WorkflowEvent,
};
use crate::web::AppState;

const PAGE_SIZE: i64 = 50;

/// The editor's fields that can carry a message of their own, each shown beside its field.
const EDITOR_FIELDS: [&str; 13] = [
    "headline",
    "dek",
    "slug",
    "section",
    "tags",
    "body",
    "image",
    "image_alt",
    "image_caption",
    "image_credit",
    "seo_title",
    "seo_description",
    "publish_at",
];

fn ownership(member: &Member, article: &EditableArticle) -> Ownership {
    let on_byline = article.fields.author_ids.contains(&member.user.author_id);
    if on_byline || article.created_by == Some(member.user.id) { Ownership::Own } else { Ownership::Others }
}

async fn load(state: &AppState, member: &Member, id: ArticleId, action: Action) -> Result<EditableArticle, AdminError> {
    let article = state.store.editable_article(id).await?.ok_or(AdminError::NotFound)?;
    if !permits(member.user.role, action, ownership(member, &article), Some(article.status)) {
        return Err(AdminError::Forbidden);
    }
    Ok(article)
}

#[derive(Deserialize)]
pub struct ListQuery {
    status: Option<String>,
    page: Option<String>,
    notice: Option<String>,
}

#[derive(Serialize)]
struct Dashboard {
    chrome: AdminChrome,
    articles: Vec<NewsroomListItem>,
    status: Option<ArticleStatus>,
    statuses: Vec<(&'static str, &'static str)>,
    page: i64,
    has_more: bool,
    sees_everyone: bool,
    notice: Option<&'static str>,
}

pub async fn dashboard(
    State(state): State<AppState>,
    member: Member,
    Query(query): Query<ListQuery>,
) -> Result<Response, AdminError> {
    let status = query.status.as_deref().and_then(ArticleStatus::parse);
    let page_number = page_number(query.page.as_deref())?;
    let sees_everyone = permits(member.user.role, Action::ViewArticle, Ownership::Others, None);
    let owner = (!sees_everyone).then_some((member.user.author_id, member.user.id));
    let mut articles = state
        .store
        .newsroom_articles(NewsroomQuery { status, owner, limit: PAGE_SIZE + 1, offset: page_number.offset(PAGE_SIZE) })
        .await?;
    let has_more = articles.len() as i64 > PAGE_SIZE;
    articles.truncate(PAGE_SIZE as usize);
    let context = Dashboard {
        chrome: AdminChrome::new(&state, Some(&member), "Articles"),
        articles,
        status,
        statuses: vec![
            ("draft", "Drafts"),
            ("in_review", "In review"),
            ("scheduled", "Scheduled"),
            ("published", "Published"),
            ("unpublished", "Unpublished"),
        ],
        page: page_number.get(),
        has_more,
        sees_everyone,
        notice: notice_text(query.notice.as_deref()),
    };
    page(&state, "admin/dashboard.html", &context)
}

/// Everything the editor page shows.
#[derive(Serialize)]
struct EditorPage {
    chrome: AdminChrome,
    id: Option<ArticleId>,
    fields: ArticleFields,
    status: Option<ArticleStatus>,
    public_path: Option<String>,
    publish_at: Option<DateTime<Utc>>,
    unpublish_at: Option<DateTime<Utc>>,
    sections: Vec<Section>,
    authors: Vec<Author>,
    /// Byline pickers: the chosen authors, then empty slots, three at least.
    byline_slots: Vec<Option<AuthorId>>,
    tags_text: String,
    media: Vec<MediaRecord>,
    steps: Vec<Step>,
    may_correct: bool,
    may_share: bool,
    checklist: Vec<CheckItem>,
    /// Set when publishing was asked for and the checklist has warnings.
    confirm_publish: bool,
    /// Every message, in order, for the summary above the form.
    errors: Vec<String>,
    /// The messages about each field in [`EDITOR_FIELDS`] (empty when it is fine), shown beside it.
    field_errors: BTreeMap<&'static str, Vec<String>>,
    history: Vec<WorkflowEvent>,
    corrections: Vec<crate::store::newsroom::Correction>,
    preview_link: Option<String>,
    /// The publication time as the member typed it, kept when the form comes back to them.
    publish_at_input: Option<String>,
    time_zone: String,
    notice: Option<&'static str>,
    /// The version this form is based on; the save sends it back.
    version: Option<i64>,
    conflict: Option<EditConflict>,
}

/// Why a save was refused as stale, with what is stored now; the member's own version is the form.
#[derive(Serialize)]
struct EditConflict {
    message: &'static str,
    /// The stored fields, as whoever saved last left them.
    theirs: ArticleFields,
    their_tags: String,
    last_save: Option<RevisionSummary>,
    /// From their version (stored) to the member's (in the form).
    diff: Vec<FieldDiff>,
}

/// The version a form or script says its edit started from. Missing or unreadable counts as 0,
/// which no article has (they start at 1): such a save is treated as stale, never as current.
fn base_version(form: &FormData) -> i64 {
    form.text("version").trim().parse().unwrap_or(0)
}

struct EditorState {
    id: Option<ArticleId>,
    fields: ArticleFields,
    article: Option<EditableArticle>,
    errors: ValidationErrors,
    confirm_publish: bool,
    preview_link: Option<String>,
    publish_at_input: Option<String>,
    notice: Option<&'static str>,
    /// Set when the form goes back to the member unsaved: their edit is still based on this
    /// version, not on whatever is stored now.
    base_version: Option<i64>,
    conflict: Option<EditConflict>,
}

impl EditorState {
    /// The editor for `fields`, of a stored article or (with `None`) a new one.
    fn new(fields: ArticleFields, article: Option<EditableArticle>) -> Self {
        Self {
            id: article.as_ref().map(|a| a.id),
            fields,
            article,
            errors: ValidationErrors::default(),
            confirm_publish: false,
            preview_link: None,
            publish_at_input: None,
            notice: None,
            base_version: None,
            conflict: None,
        }
    }
}

async fn editor_page(state: &AppState, member: &Member, editor: EditorState) -> Result<EditorPage, AdminError> {
    let store = &state.store;
    let sections: Vec<Section> =
        store.all_sections().await?.into_iter().filter(|(_, archived)| !archived).map(|(s, _)| s).collect();
    let authors = store.authors().await?;
    let media = store.media_list(200, 0).await?;
    let image_facts = editor
        .fields
        .image
        .as_ref()
        .and_then(|choice| media.iter().find(|m| m.id == choice.media_id))
        .map(|m| ImageFacts { width: m.width });
    let section_exists = sections.iter().any(|s| s.id == editor.fields.section_id);
    let checklist = checklist::check(&editor.fields, section_exists, image_facts);
    let (status, steps, history, corrections, own) = match &editor.article {
        Some(article) => {
            let own = ownership(member, article);
            (
                Some(article.status),
                available_steps(member.user.role, own, article.status),
                store.workflow_events(article.id).await?,
                store.corrections_for(article.id).await?,
                own,
            )
        }
        None => (None, Vec::new(), Vec::new(), Vec::new(), Ownership::Own),
    };
    let mut byline_slots: Vec<Option<AuthorId>> = editor.fields.author_ids.iter().copied().map(Some).collect();
    while byline_slots.len() < 3 {
        byline_slots.push(None);
    }
    let profile = state.profile();
    let version = editor.base_version.or_else(|| editor.article.as_ref().map(|a| a.version));
    Ok(EditorPage {
        chrome: AdminChrome::new(state, Some(member), if editor.id.is_some() { "Edit article" } else { "New article" }),
        id: editor.id,
        tags_text: editor.fields.tags.join(", "),
        public_path: editor.article.as_ref().map(|a| format!("/{}/{}", a.section_slug, a.fields.slug)),
        publish_at: editor.article.as_ref().and_then(|a| a.publish_at),
        unpublish_at: editor.article.as_ref().and_then(|a| a.unpublish_at),
        fields: editor.fields,
        status,
        sections,
        authors,
        byline_slots,
        media,
        steps,
        may_correct: status == Some(ArticleStatus::Published)
            && permits(member.user.role, Action::AddCorrection, own, status),
        may_share: editor.id.is_some() && permits(member.user.role, Action::SharePreview, own, status),
        checklist,
        confirm_publish: editor.confirm_publish,
        field_errors: EDITOR_FIELDS
            .into_iter()
            .map(|field| (field, editor.errors.for_field(field).into_iter().map(str::to_owned).collect()))
            .collect(),
        errors: editor.errors.messages(),
        history,
        corrections,
        preview_link: editor.preview_link,
        publish_at_input: editor.publish_at_input,
        time_zone: profile.time_zone.clone(),
        notice: editor.notice,
        version,
        conflict: editor.conflict,
    })
}

/// The answer to a stale save (editor, restore): 409, both versions side by side as a diff, and the
/// member's version in the editor form, now based on the stored version so that saving it again
/// replaces theirs knowingly. Nothing is lost: theirs is stored, the member's is in the form.
async fn conflict_page(
    state: &AppState,
    member: &Member,
    id: ArticleId,
    yours: ArticleFields,
    message: &'static str,
) -> Result<Response, AdminError> {
    let current = state.store.editable_article(id).await?.ok_or(AdminError::NotFound)?;
    let authors = state.store.authors().await?;
    let last_save = state.store.revisions(id).await?.into_iter().next();
    let conflict = EditConflict {
        message,
        diff: diff_fields(&comparable(&current.fields, &authors), &comparable(&yours, &authors)),
        their_tags: current.fields.tags.join(", "),
        theirs: current.fields.clone(),
        last_save,
    };
    tracing::info!(article = %id, version = current.version, "stale save refused");
    let editor = EditorState { conflict: Some(conflict), ..EditorState::new(yours, Some(current)) };
    let context = editor_page(state, member, editor).await?;
    page_with_status(state, StatusCode::CONFLICT, "admin/editor.html", &context)
}

const STALE_SAVE: &str = "Someone else saved this article after you opened it, so your changes were not saved.";

pub async fn new_form(State(state): State<AppState>, member: Member) -> Result<Response, AdminError> {
    super::require(&member, Action::CreateArticle, Ownership::Newsroom)?;
    let section_id = state.store.sections().await?.first().map_or(crate::domain::SectionId(0), |s| s.id);
    let fields = ArticleFields {
        section_id,
        slug: String::new(),
        headline: String::new(),
        dek: String::new(),
        body_markdown: String::new(),
        author_ids: vec![member.user.author_id],
        tags: Vec::new(),
        image: None,
        seo_title: String::new(),
        seo_description: String::new(),
    };
    let editor = EditorState::new(fields, None);
    let context = editor_page(&state, &member, editor).await?;
    page(&state, "admin/editor.html", &context)
}

/// The editor form as typed, for the service to check.
fn article_form(form: &FormData) -> ArticleForm {
    ArticleForm {
        headline: form.text("headline"),
        dek: form.text("dek"),
        slug: form.text("slug"),
        section: form.text("section"),
        authors: form.all("author").into_iter().map(str::to_owned).collect(),
        tags: form.text("tags"),
        body: form.text("body"),
        image: form.text("image"),
        image_alt: form.text("image_alt"),
        image_caption: form.text("image_caption"),
        image_credit: form.text("image_credit"),
        seo_title: form.text("seo_title"),
        seo_description: form.text("seo_description"),
    }
}

/// The article use cases' dependencies, from the application state.
pub(super) fn newsroom(state: &AppState) -> Newsroom<'_> {
    Newsroom { store: state.store.as_ref(), changes: state, disk: &state.disk, zone: state.profile().zone() }
}

pub(super) fn actor(member: &Member) -> Actor {
    Actor { user_id: member.user.id, author_id: member.user.author_id, role: member.user.role }
}

pub async fn create(
    State(state): State<AppState>,
    Submitted { member, form }: Submitted,
) -> Result<Response, AdminError> {
    let outcome = articles::create(newsroom(&state), &actor(&member), &article_form(&form), state.clock.now()).await?;
    match outcome {
        FormOutcome::Done { id, .. } => Ok(see_other(&format!("/admin/articles/{id}"), "created")),
        FormOutcome::Unsaved { fields, mut errors, not_stored, .. } => {
            if let Some(cause) = &not_stored {
                errors.add_general_first(not_stored_message(&state, cause));
            }
            let editor = EditorState { errors, ..EditorState::new(fields, None) };
            let context = editor_page(&state, &member, editor).await?;
            let status =
                if not_stored.is_some() { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::UNPROCESSABLE_ENTITY };
            let response = page_with_status(&state, status, "admin/editor.html", &context)?;
            Ok(with_retry_after(response, not_stored.as_ref()))
        }
        // A new article has no version anyone else could have saved.
        FormOutcome::Stale { .. } => Err(AdminError::Internal("a new article came back as a stale save".into())),
    }
}

/// What the writer is told when their text could not be stored; the form keeps the text.
fn not_stored_message(state: &AppState, cause: &StoreError) -> String {
    tracing::error!(error = %cause, "an article could not be saved");
    if cause.is_storage_full() {
        state.disk.refresh();
        "Not saved: the disk that holds the site’s data is full. Your text is still below; keep this page \
         open and save again in a few minutes, and tell whoever runs the site."
            .to_owned()
    } else {
        "Not saved: the database cannot be reached just now. Your text is still below; save again in a minute."
            .to_owned()
    }
}

/// `Retry-After` on an answer to a write that could not be stored.
fn with_retry_after(mut response: Response, cause: Option<&StoreError>) -> Response {
    if let Some(cause) = cause {
        let seconds = if cause.is_storage_full() { crate::web::error::STORAGE_FULL_RETRY_AFTER } else { "5" };
        response.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from_static(seconds));
    }
    response
}

#[derive(Deserialize)]
pub struct NoticeQuery {
    notice: Option<String>,
}

pub async fn edit(
    State(state): State<AppState>,
    member: Member,
    Path(id): Path<ArticleId>,
    Query(query): Query<NoticeQuery>,
) -> Result<Response, AdminError> {
    let article = load(&state, &member, id, Action::ViewArticle).await?;
    let editor = EditorState {
        notice: notice_text(query.notice.as_deref()),
        ..EditorState::new(article.fields.clone(), Some(article))
    };
    let context = editor_page(&state, &member, editor).await?;
    page(&state, "admin/editor.html", &context)
}

/// Saves the form; the button pressed (`intent`) may also move the article along the workflow.
pub async fn save(
    State(state): State<AppState>,
    Path(id): Path<ArticleId>,
    Submitted { member, form }: Submitted,
) -> Result<Response, AdminError> {
    let request = SaveRequest {
        form: article_form(&form),
        base_version: base_version(&form),
        step: Step::parse(&form.text("intent")),
        publish_at: form.text("publish_at"),
        confirmed: form.flag("confirm"),
    };
    match articles::save(newsroom(&state), &actor(&member), id, &request, state.clock.now()).await? {
        FormOutcome::Done { id, moved_to } => {
            Ok(see_other(&format!("/admin/articles/{id}"), moved_to.map_or("saved", status_notice)))
        }
        FormOutcome::Stale { yours } => conflict_page(&state, &member, id, yours, STALE_SAVE).await,
        FormOutcome::Unsaved { fields, mut errors, not_stored, confirm_publish } => {
            if let Some(cause) = &not_stored {
                errors.add_general_first(not_stored_message(&state, cause));
            }
            let status = match (&not_stored, errors.is_empty()) {
                (Some(_), _) => StatusCode::SERVICE_UNAVAILABLE,
                (None, true) => StatusCode::OK,
                (None, false) => StatusCode::UNPROCESSABLE_ENTITY,
            };
            let article = state.store.editable_article(id).await?.ok_or(AdminError::NotFound)?;
            // Nothing was written when there are errors: the form stays based on the member's version.
            let base_version = (!errors.is_empty()).then_some(request.base_version);
            let editor = EditorState {
                errors,
                confirm_publish,
                base_version,
                publish_at_input: Some(request.publish_at.clone()).filter(|t| !t.trim().is_empty()),
                ..EditorState::new(fields, Some(article))
            };
            let context = editor_page(&state, &member, editor).await?;
            let response = page_with_status(&state, status, "admin/editor.html", &context)?;
            Ok(with_retry_after(response, not_stored.as_ref()))
        }
    }
}

/// The notice shown after a workflow step, by where the article went.
fn status_notice(to: ArticleStatus) -> &'static str {
    match to {
        ArticleStatus::InReview => "submitted",
        ArticleStatus::Draft => "returned",
        ArticleStatus::Scheduled => "scheduled",
        ArticleStatus::Published => "published",
        ArticleStatus::Unpublished => "unpublished",
    }
}

/// A refusal outside the editor form (workflow buttons, corrections, restore) is a plain error page.
impl From<ServiceError> for AdminError {
    fn from(error: ServiceError) -> Self {
        match error {
            ServiceError::NotFound => Self::NotFound,
            ServiceError::Forbidden => Self::Forbidden,
            ServiceError::Refused(message) => Self::BadRequest(message),
            ServiceError::Conflict(message) => Self::Conflict(message),
            ServiceError::Invalid(errors) => Self::BadRequest(errors.messages().join(" ")),
            ServiceError::Store(e) => Self::Store(e),
            ServiceError::Internal(message) => Self::Internal(message),
        }
    }
}

/// Workflow buttons outside the editor form (the article list, the unpublish button).
pub async fn workflow(
    State(state): State<AppState>,
    Path(id): Path<ArticleId>,
    Submitted { member, form }: Submitted,
) -> Result<Response, AdminError> {
    let step = Step::parse(&form.text("step"));
    let moved_to = match step {
        Some(step) => {
            articles::take_step(
                newsroom(&state),
                &actor(&member),
                id,
                step,
                &form.text("publish_at"),
                state.clock.now(),
            )
            .await
        }
        None => {
            // Who may not see the article learns nothing about it, not even that the step is unknown.
            load(&state, &member, id, Action::ViewArticle).await?;
            return Err(AdminError::BadRequest("Unknown workflow step.".into()));
        }
    };
    Ok(see_other(&format!("/admin/articles/{id}"), status_notice(moved_to?)))
}

/// Sets or clears the time a published article comes down by itself.
pub async fn schedule_unpublish(
    State(state): State<AppState>,
    Path(id): Path<ArticleId>,
    Submitted { member, form }: Submitted,
) -> Result<Response, AdminError> {
    articles::schedule_unpublish(newsroom(&state), &actor(&member), id, &form.text("unpublish_at"), state.clock.now())
        .await?;
    Ok(see_other(&format!("/admin/articles/{id}"), "unpublish-set"))
}

#[derive(Serialize)]
pub struct AutosaveReply {
    saved_at: DateTime<Utc>,
    /// The version the editor is now based on (after a refusal: the one stored).
    version: i64,
    /// A stable code for a refusal: `not_draft`, `invalid`, or `stale_version` (someone else saved
    /// meanwhile; the script stops autosaving so it never overwrites their version).
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<&'static str>,
    errors: Vec<String>,
}

fn autosave_refused(
    now: DateTime<Utc>,
    status: StatusCode,
    version: i64,
    code: &'static str,
    errors: Vec<String>,
) -> Response {
    (status, Json(AutosaveReply { saved_at: now, version, code: Some(code), errors })).into_response()
}

/// Saves a draft in the background while the member types (from the editor's script).
pub async fn autosave(
    State(state): State<AppState>,
    Path(id): Path<ArticleId>,
    Submitted { member, form }: Submitted,
) -> Result<Response, AdminError> {
    let base = base_version(&form);
    let now = state.clock.now();
    let outcome = articles::autosave(newsroom(&state), &actor(&member), id, &article_form(&form), base, now).await?;
    Ok(match outcome {
        AutosaveOutcome::Saved { version } => {
            Json(AutosaveReply { saved_at: now, version, code: None, errors: Vec::new() }).into_response()
        }
        AutosaveOutcome::NotDraft => autosave_refused(
            now,
            StatusCode::CONFLICT,
            base,
            "not_draft",
            vec!["Only drafts are saved automatically.".into()],
        ),
        AutosaveOutcome::Invalid(errors) => {
            autosave_refused(now, StatusCode::UNPROCESSABLE_ENTITY, base, "invalid", errors.messages())
        }
        AutosaveOutcome::NotStored(e) => {
            let message = not_stored_message(&state, &e);
            let code = if e.is_storage_full() { "storage_full" } else { "database_unavailable" };
            let response = autosave_refused(now, StatusCode::SERVICE_UNAVAILABLE, base, code, vec![message]);
            with_retry_after(response, Some(&e))
        }
        AutosaveOutcome::Stale { version } => autosave_refused(
            now,
            StatusCode::CONFLICT,
            version,
            "stale_version",
            vec![
                "Someone else saved this article while you were editing. Autosave has stopped so it does not \
                 overwrite their version; your text is still here. Press Save to compare both versions."
                    .into(),
            ],
        ),
    })
}

#[derive(Serialize)]
pub struct PreviewReply {
    html: String,
}

/// The live preview: Markdown in, the sanitised HTML readers would get out.
pub async fn render_preview(Submitted { form, .. }: Submitted) -> Json<PreviewReply> {
    let body = form.text("body");
    let body: String = body.chars().take(articles::MAX_BODY_CHARS).collect();
    Json(PreviewReply { html: crate::markdown::render(&body) })
}

#[derive(Deserialize)]
pub struct RevisionQuery {
    from: Option<i64>,
    to: Option<i64>,
}

#[derive(Serialize)]
struct RevisionsPage {
    chrome: AdminChrome,
    id: ArticleId,
    headline: String,
    revisions: Vec<RevisionSummary>,
    from: Option<i64>,
    to: Option<i64>,
    diff: Vec<FieldDiff>,
    may_restore: bool,
    /// The article's version as this page saw it; a restore is based on it.
    version: i64,
}

fn comparable(fields: &ArticleFields, authors: &[Author]) -> Vec<(&'static str, String)> {
    let byline = fields
        .author_ids
        .iter()
        .map(|id| authors.iter().find(|a| a.id == *id).map_or_else(|| format!("#{id}"), |a| a.name.clone()))
        .collect::<Vec<_>>()
        .join(", ");
    vec![
        ("Headline", fields.headline.clone()),
        ("Dek", fields.dek.clone()),
        ("Slug", fields.slug.clone()),
        ("Section", fields.section_id.to_string()),
        ("Byline", byline),
        ("Tags", fields.tags.join(", ")),
        (
            "Featured image",
            fields
                .image
                .as_ref()
                .map(|i| format!("#{} alt: {}\ncaption: {}\ncredit: {}", i.media_id, i.alt, i.caption, i.credit))
                .unwrap_or_default(),
        ),
        ("SEO title", fields.seo_title.clone()),
        ("SEO description", fields.seo_description.clone()),
        ("Body", fields.body_markdown.clone()),
    ]
}

pub async fn revisions(
    State(state): State<AppState>,
    member: Member,
    Path(id): Path<ArticleId>,
    Query(query): Query<RevisionQuery>,
) -> Result<Response, AdminError> {
    let article = load(&state, &member, id, Action::ViewArticle).await?;
    let revisions = state.store.revisions(id).await?;
    let authors = state.store.authors().await?;
    // Default: the newest revision against the one before it.
    let to = query.to.or_else(|| revisions.first().map(|r| r.id));
    let from = query.from.or_else(|| revisions.get(1).map(|r| r.id));
    let mut diff = Vec::new();
    if let (Some(from), Some(to)) = (from, to) {
        let old = state.store.revision(from).await?.filter(|r| r.article_id == id).ok_or(AdminError::NotFound)?;
        let new = state.store.revision(to).await?.filter(|r| r.article_id == id).ok_or(AdminError::NotFound)?;
        diff = diff_fields(&comparable(&old.fields, &authors), &comparable(&new.fields, &authors));
    }
    let context = RevisionsPage {
        chrome: AdminChrome::new(&state, Some(&member), "Revisions"),
        id,
        may_restore: permits(member.user.role, Action::EditArticle, ownership(&member, &article), Some(article.status)),
        headline: article.fields.headline,
        version: article.version,
        revisions,
        from,
        to,
        diff,
    };
    page(&state, "admin/revisions.html", &context)
}

pub async fn restore(
    State(state): State<AppState>,
    Path((id, revision_id)): Path<(ArticleId, i64)>,
    Submitted { member, form }: Submitted,
) -> Result<Response, AdminError> {
    let outcome =
        articles::restore(newsroom(&state), &actor(&member), id, revision_id, base_version(&form), state.clock.now())
            .await?;
    match outcome {
        RestoreOutcome::Restored => Ok(see_other(&format!("/admin/articles/{id}"), "restored")),
        RestoreOutcome::Stale { revision } => {
            conflict_page(
                &state,
                &member,
                id,
                *revision,
                "Someone else saved this article after you opened its revisions, so the revision was not restored. \
                 It is in the form below; save it to restore it over their version.",
            )
            .await
        }
    }
}

/// A signed, expiring link that shows the draft to anyone who has it.
pub async fn preview_link(
    State(state): State<AppState>,
    Path(id): Path<ArticleId>,
    Submitted { member, .. }: Submitted,
) -> Result<Response, AdminError> {
    let article = load(&state, &member, id, Action::SharePreview).await?;
    let expires = state.clock.now() + chrono::Duration::hours(state.settings.newsroom.preview_link_hours);
    let path = crate::web::preview::link(&state.preview_key, id, expires.timestamp());
    let link = format!("{}{path}", state.settings.base_url());
    let detail = format!("expires {}", expires.to_rfc3339());
    audit_event(&state, audit_line(&state, Some(&member), "preview_link_created", "article", Some(id.0), detail)).await;
    let editor = EditorState { preview_link: Some(link), ..EditorState::new(article.fields.clone(), Some(article)) };
    let context = editor_page(&state, &member, editor).await?;
    page(&state, "admin/editor.html", &context)
}

pub async fn add_correction(
    State(state): State<AppState>,
    Path(id): Path<ArticleId>,
    Submitted { member, form }: Submitted,
) -> Result<Response, AdminError> {
    let (kind, body) = (form.text("kind"), form.text("body"));
    articles::add_correction(newsroom(&state), &actor(&member), id, &kind, &body, state.clock.now()).await?;
    Ok(see_other(&format!("/admin/articles/{id}"), "correction"))
}
