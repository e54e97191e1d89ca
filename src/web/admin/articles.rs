//! The article list, the editor, the workflow buttons, revisions, preview links and corrections.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::session::{FormData, Member, Submitted};
use super::{AdminChrome, AdminError, audit, notice_text, page, page_number, page_with_status, see_other};
use crate::domain::text::clean_field;
use crate::domain::{Action, ArticleId, ArticleStatus, Author, Ownership, Section, Slug, permits};
use crate::newsroom::checklist::{self, CheckItem, ImageFacts};
use crate::newsroom::workflow::{Step, available_steps, may_take, parse_local_time};
use crate::revisions::diff::{FieldDiff, diff_fields};
use crate::store::StoreError;
use crate::store::newsroom::{
    ArticleFields, CorrectionKind, EditableArticle, ImageChoice, MediaRecord, NewsroomListItem, NewsroomQuery,
    RevisionSummary, Transition, VersionedWrite, WorkflowEvent,
};
use crate::web::AppState;

const PAGE_SIZE: i64 = 50;
const MAX_BODY_CHARS: usize = 200_000;
const MAX_HEADLINE_CHARS: usize = 200;
const MAX_TAGS: usize = 20;

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
    byline_slots: Vec<Option<i64>>,
    tags_text: String,
    media: Vec<MediaRecord>,
    steps: Vec<Step>,
    may_correct: bool,
    may_share: bool,
    checklist: Vec<CheckItem>,
    /// Set when publishing was asked for and the checklist has warnings.
    confirm_publish: bool,
    errors: Vec<String>,
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
    errors: Vec<String>,
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
            errors: Vec::new(),
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
    let mut byline_slots: Vec<Option<i64>> = editor.fields.author_ids.iter().copied().map(Some).collect();
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
        errors: editor.errors,
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
    tracing::info!(article = id, version = current.version, "stale save refused");
    let editor = EditorState { conflict: Some(conflict), ..EditorState::new(yours, Some(current)) };
    let context = editor_page(state, member, editor).await?;
    page_with_status(state, StatusCode::CONFLICT, "admin/editor.html", &context)
}

const STALE_SAVE: &str = "Someone else saved this article after you opened it, so your changes were not saved.";

pub async fn new_form(State(state): State<AppState>, member: Member) -> Result<Response, AdminError> {
    super::require(&member, Action::CreateArticle, Ownership::Newsroom)?;
    let section_id = state.store.sections().await?.first().map_or(0, |s| s.id);
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

/// Reads the editor form into fields, collecting every problem at once so the member can fix
/// them together.
async fn parse_fields(
    state: &AppState,
    member: &Member,
    form: &FormData,
) -> Result<(ArticleFields, Vec<String>), AdminError> {
    let mut errors = Vec::new();
    let headline = clean_field(&mut errors, "The headline", &form.text("headline"), false);
    if headline.is_empty() {
        errors.push("A headline is required.".to_owned());
    } else if headline.chars().count() > MAX_HEADLINE_CHARS {
        errors.push(format!("The headline can be at most {MAX_HEADLINE_CHARS} characters."));
    }
    let slug_input = form.text("slug");
    let slug = if slug_input.trim().is_empty() { Slug::from_title(&headline) } else { Slug::parse(slug_input.trim()) };
    let slug = match slug {
        Ok(slug) => slug.as_str().to_owned(),
        Err(e) => {
            if !headline.is_empty() {
                errors.push(format!("The address (slug) is not usable: {e}."));
            }
            slug_input.trim().to_owned()
        }
    };
    let section_id = form.text("section").parse::<i64>().unwrap_or(0);
    if !state.store.all_sections().await?.iter().any(|(s, _)| s.id == section_id) {
        errors.push("Choose a section.".to_owned());
    }
    let known_authors = state.store.authors().await?;
    let mut author_ids: Vec<i64> = Vec::new();
    for value in form.all("author") {
        if let Ok(id) = value.parse::<i64>()
            && known_authors.iter().any(|a| a.id == id)
            && !author_ids.contains(&id)
        {
            author_ids.push(id);
        }
    }
    if author_ids.is_empty() {
        author_ids.push(member.user.author_id);
    }
    let tags: Vec<String> = form.text("tags").split(',').map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()).fold(
        Vec::new(),
        |mut acc, t| {
            if !acc.iter().any(|x: &String| x.eq_ignore_ascii_case(&t)) {
                acc.push(t);
            }
            acc
        },
    );
    if tags.len() > MAX_TAGS {
        errors.push(format!("Use at most {MAX_TAGS} tags."));
    }
    let body_markdown = clean_field(&mut errors, "The body", &form.text("body"), true);
    if body_markdown.chars().count() > MAX_BODY_CHARS {
        errors.push(format!("The body can be at most {MAX_BODY_CHARS} characters."));
    }
    let image = match form.text("image").parse::<i64>() {
        Ok(media_id) => {
            if state.store.media_by_id(media_id).await?.is_none() {
                errors.push("The chosen image no longer exists.".to_owned());
            }
            let alt = clean_field(&mut errors, "The alt text", &form.text("image_alt"), false);
            if alt.is_empty() {
                errors.push("The featured image needs alt text: describe what it shows.".to_owned());
            }
            Some(ImageChoice {
                media_id,
                alt,
                caption: clean_field(&mut errors, "The caption", &form.text("image_caption"), false),
                credit: clean_field(&mut errors, "The credit", &form.text("image_credit"), false),
            })
        }
        Err(_) => None,
    };
    let fields = ArticleFields {
        section_id,
        slug,
        headline,
        dek: clean_field(&mut errors, "The dek", &form.text("dek"), false),
        body_markdown,
        author_ids,
        tags: tags.into_iter().take(MAX_TAGS).collect(),
        image,
        seo_title: clean_field(&mut errors, "The search title", &form.text("seo_title"), false),
        seo_description: clean_field(&mut errors, "The search description", &form.text("seo_description"), false),
    };
    Ok((fields, errors))
}

pub async fn create(
    State(state): State<AppState>,
    Submitted { member, form }: Submitted,
) -> Result<Response, AdminError> {
    super::require(&member, Action::CreateArticle, Ownership::Newsroom)?;
    let (mut fields, mut errors) = parse_fields(&state, &member, &form).await?;
    // A slug made from the headline gets -2, -3, ... when taken; a slug typed by hand is kept as
    // typed and a clash is reported.
    let derived = form.text("slug").trim().is_empty();
    let base_slug = fields.slug.clone();
    let html = crate::markdown::render(&fields.body_markdown);
    let mut not_stored = state.disk.ensure_room().err();
    for attempt in 1..=20 {
        if !errors.is_empty() || not_stored.is_some() {
            break;
        }
        match state.store.create_article(&fields, &html, Some(member.user.id), Utc::now()).await {
            Ok(id) => {
                audit(&state, Some(&member), "article_created", "article", Some(id), fields.headline.clone()).await;
                return Ok(see_other(&format!("/admin/articles/{id}"), "created"));
            }
            Err(crate::store::StoreError::Conflict(_)) if derived && attempt < 20 => {
                fields.slug = format!("{base_slug}-{}", attempt + 1);
            }
            Err(crate::store::StoreError::Conflict(_)) => {
                errors
                    .push(format!("Another article already uses the address “{}”. Choose another slug.", fields.slug));
            }
            Err(e) if is_transient(&e) => not_stored = Some(e),
            Err(e) => return Err(e.into()),
        }
    }
    if let Some(cause) = &not_stored {
        errors.insert(0, not_stored_message(&state, cause));
    }
    let editor = EditorState { errors, ..EditorState::new(fields, None) };
    let context = editor_page(&state, &member, editor).await?;
    let status = if not_stored.is_some() { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::UNPROCESSABLE_ENTITY };
    let response = page_with_status(&state, status, "admin/editor.html", &context)?;
    Ok(with_retry_after(response, not_stored.as_ref()))
}

/// Storage full, or the database away: nothing was written, and trying again later will work.
fn is_transient(error: &StoreError) -> bool {
    error.is_storage_full() || error.is_unavailable()
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

/// Tells every cached page and list that this article changed.
pub fn article_changed(state: &AppState, id: ArticleId) {
    state.changed(crate::web::changes::Change::Article(id));
    state.lists_changed();
}

/// Saves the form; the button pressed (`intent`) may also move the article along the workflow.
pub async fn save(
    State(state): State<AppState>,
    Path(id): Path<ArticleId>,
    Submitted { member, form }: Submitted,
) -> Result<Response, AdminError> {
    let article = load(&state, &member, id, Action::ViewArticle).await?;
    let own = ownership(&member, &article);
    let intent = form.text("intent");
    let step = Step::parse(&intent);
    let may_edit = permits(member.user.role, Action::EditArticle, own, Some(article.status));
    if step.is_none() && !may_edit {
        return Err(AdminError::Forbidden);
    }
    if let Some(step) = step
        && !may_take(member.user.role, step, own, article.status)
    {
        return Err(AdminError::Forbidden);
    }
    let base = base_version(&form);
    let (fields, mut errors) =
        if may_edit { parse_fields(&state, &member, &form).await? } else { (article.fields.clone(), Vec::new()) };
    // Publishing with an incomplete checklist asks once, then goes ahead.
    let mut confirm_publish = false;
    if errors.is_empty() && matches!(step, Some(Step::Publish | Step::Schedule)) && !form.flag("confirm") {
        let sections = state.store.all_sections().await?;
        let width = match &fields.image {
            Some(choice) => state.store.media_by_id(choice.media_id).await?.map(|m| ImageFacts { width: m.width }),
            None => None,
        };
        let items = checklist::check(&fields, sections.iter().any(|(s, _)| s.id == fields.section_id), width);
        confirm_publish = items.iter().any(|i| !i.passed);
    }
    let schedule_at = if step == Some(Step::Schedule) {
        match parse_local_time(&form.text("publish_at"), state.profile().zone()) {
            Ok(t) => Some(t),
            Err(e) => {
                errors.push(format!("Cannot schedule: {e}."));
                None
            }
        }
    } else {
        None
    };
    let mut not_stored = None;
    if errors.is_empty()
        && may_edit
        && fields != article.fields
        && let Err(full) = state.disk.ensure_room()
    {
        not_stored = Some(full);
    }
    if errors.is_empty() && not_stored.is_none() && may_edit && fields != article.fields {
        let html = crate::markdown::render(&fields.body_markdown);
        match state.store.save_article(id, &fields, &html, Some(member.user.id), false, Utc::now(), base).await {
            Ok(VersionedWrite::Written) => {
                audit(&state, Some(&member), "article_saved", "article", Some(id), fields.headline.clone()).await;
                if article.status == ArticleStatus::Published {
                    article_changed(&state, id);
                }
            }
            Ok(VersionedWrite::Stale) => return conflict_page(&state, &member, id, fields, STALE_SAVE).await,
            Err(crate::store::StoreError::Conflict(_)) => {
                errors
                    .push(format!("Another article already uses the address “{}”. Choose another slug.", fields.slug));
            }
            Err(e) if is_transient(&e) => not_stored = Some(e),
            Err(e) => return Err(e.into()),
        }
    }
    if let Some(cause) = &not_stored {
        errors.insert(0, not_stored_message(&state, cause));
    }
    if !errors.is_empty() || confirm_publish {
        let status = match (&not_stored, errors.is_empty()) {
            (Some(_), _) => StatusCode::SERVICE_UNAVAILABLE,
            (None, true) => StatusCode::OK,
            (None, false) => StatusCode::UNPROCESSABLE_ENTITY,
        };
        let article = state.store.editable_article(id).await?.ok_or(AdminError::NotFound)?;
        // Nothing was written when there are errors: the form stays based on the member's version.
        let base_version = (!errors.is_empty()).then_some(base);
        let editor = EditorState {
            errors,
            confirm_publish,
            base_version,
            publish_at_input: Some(form.text("publish_at")).filter(|t| !t.trim().is_empty()),
            ..EditorState::new(fields, Some(article))
        };
        let context = editor_page(&state, &member, editor).await?;
        let response = page_with_status(&state, status, "admin/editor.html", &context)?;
        return Ok(with_retry_after(response, not_stored.as_ref()));
    }
    match step {
        None => Ok(see_other(&format!("/admin/articles/{id}"), "saved")),
        Some(step) => apply_step(&state, &member, &article, step, schedule_at).await,
    }
}

async fn apply_step(
    state: &AppState,
    member: &Member,
    article: &EditableArticle,
    step: Step,
    schedule_at: Option<DateTime<Utc>>,
) -> Result<Response, AdminError> {
    let now = Utc::now();
    // A time already past publishes at once rather than sitting in the queue.
    let (step, schedule_at) = match (step, schedule_at) {
        (Step::Schedule, Some(at)) if at <= now => (Step::Publish, None),
        other => other,
    };
    let (from, to) = step.edge();
    let moved = state
        .store
        .transition(
            article.id,
            Transition { from, to, publish_at: schedule_at, user_id: Some(member.user.id), at: now },
        )
        .await?;
    if !moved {
        return Err(AdminError::BadRequest(
            "Someone else changed this article’s status meanwhile. Reload it to see where it stands.".into(),
        ));
    }
    let detail = match schedule_at {
        Some(at) => format!("{} → {} at {}", article.status.as_str(), to.as_str(), at.to_rfc3339()),
        None => format!("{} → {}", article.status.as_str(), to.as_str()),
    };
    audit(state, Some(member), &format!("article_{}", step.as_str()), "article", Some(article.id), detail).await;
    if matches!(to, ArticleStatus::Published | ArticleStatus::Unpublished) || article.status == ArticleStatus::Published
    {
        article_changed(state, article.id);
        if to == ArticleStatus::Published {
            crate::jobs::related::refresh_soon(state, article.id);
        }
    }
    let notice = match to {
        ArticleStatus::InReview => "submitted",
        ArticleStatus::Draft => "returned",
        ArticleStatus::Scheduled => "scheduled",
        ArticleStatus::Published => "published",
        ArticleStatus::Unpublished => "unpublished",
    };
    Ok(see_other(&format!("/admin/articles/{}", article.id), notice))
}

/// Workflow buttons outside the editor form (the article list, the unpublish button).
pub async fn workflow(
    State(state): State<AppState>,
    Path(id): Path<ArticleId>,
    Submitted { member, form }: Submitted,
) -> Result<Response, AdminError> {
    let article = load(&state, &member, id, Action::ViewArticle).await?;
    let step =
        Step::parse(&form.text("step")).ok_or_else(|| AdminError::BadRequest("Unknown workflow step.".into()))?;
    if !may_take(member.user.role, step, ownership(&member, &article), article.status) {
        return Err(AdminError::Forbidden);
    }
    let schedule_at = if step == Step::Schedule {
        Some(
            parse_local_time(&form.text("publish_at"), state.profile().zone())
                .map_err(|e| AdminError::BadRequest(format!("Cannot schedule: {e}.")))?,
        )
    } else {
        None
    };
    apply_step(&state, &member, &article, step, schedule_at).await
}

/// Sets or clears the time a published article comes down by itself.
pub async fn schedule_unpublish(
    State(state): State<AppState>,
    Path(id): Path<ArticleId>,
    Submitted { member, form }: Submitted,
) -> Result<Response, AdminError> {
    let article = load(&state, &member, id, Action::Publish).await?;
    let value = form.text("unpublish_at");
    let at = if value.trim().is_empty() {
        None
    } else {
        Some(
            parse_local_time(&value, state.profile().zone())
                .map_err(|e| AdminError::BadRequest(format!("Cannot set the time: {e}.")))?,
        )
    };
    state.store.set_unpublish_at(article.id, at).await?;
    audit(
        &state,
        Some(&member),
        "article_unpublish_scheduled",
        "article",
        Some(id),
        at.map(|t| t.to_rfc3339()).unwrap_or_else(|| "cleared".into()),
    )
    .await;
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

fn autosave_refused(status: StatusCode, version: i64, code: &'static str, errors: Vec<String>) -> Response {
    (status, Json(AutosaveReply { saved_at: Utc::now(), version, code: Some(code), errors })).into_response()
}

/// Saves a draft in the background while the member types (from the editor's script). Drafts and
/// articles in review only: a published article changes only when someone presses Save.
pub async fn autosave(
    State(state): State<AppState>,
    Path(id): Path<ArticleId>,
    Submitted { member, form }: Submitted,
) -> Result<Response, AdminError> {
    let article = load(&state, &member, id, Action::EditArticle).await?;
    let base = base_version(&form);
    if !matches!(article.status, ArticleStatus::Draft | ArticleStatus::InReview) {
        return Ok(autosave_refused(
            StatusCode::CONFLICT,
            base,
            "not_draft",
            vec!["Only drafts are saved automatically.".into()],
        ));
    }
    let (fields, errors) = parse_fields(&state, &member, &form).await?;
    if !errors.is_empty() {
        return Ok(autosave_refused(StatusCode::UNPROCESSABLE_ENTITY, base, "invalid", errors));
    }
    let now = Utc::now();
    // Unchanged text loses nothing, whatever version it was based on: the editor moves to the
    // stored one.
    let mut version = article.version;
    if fields != article.fields {
        let html = crate::markdown::render(&fields.body_markdown);
        let saved = match state.disk.ensure_room() {
            Ok(()) => state.store.save_article(id, &fields, &html, Some(member.user.id), true, now, base).await,
            Err(full) => Err(full),
        };
        let saved = match saved {
            Ok(saved) => saved,
            Err(e) if is_transient(&e) => {
                let message = not_stored_message(&state, &e);
                let code = if e.is_storage_full() { "storage_full" } else { "database_unavailable" };
                let response = autosave_refused(StatusCode::SERVICE_UNAVAILABLE, base, code, vec![message]);
                return Ok(with_retry_after(response, Some(&e)));
            }
            Err(e) => return Err(e.into()),
        };
        match saved {
            VersionedWrite::Written => version = base + 1,
            VersionedWrite::Stale => {
                return Ok(autosave_refused(
                    StatusCode::CONFLICT,
                    article.version,
                    "stale_version",
                    vec![
                        "Someone else saved this article while you were editing. Autosave has stopped so it does \
                         not overwrite their version; your text is still here. Press Save to compare both versions."
                            .into(),
                    ],
                ));
            }
        }
    }
    Ok(Json(AutosaveReply { saved_at: now, version, code: None, errors: Vec::new() }).into_response())
}

#[derive(Serialize)]
pub struct PreviewReply {
    html: String,
}

/// The live preview: Markdown in, the sanitised HTML readers would get out.
pub async fn render_preview(Submitted { form, .. }: Submitted) -> Json<PreviewReply> {
    let body = form.text("body");
    let body: String = body.chars().take(MAX_BODY_CHARS).collect();
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
    let article = load(&state, &member, id, Action::EditArticle).await?;
    let revision =
        state.store.revision(revision_id).await?.filter(|r| r.article_id == id).ok_or(AdminError::NotFound)?;
    let html = crate::markdown::render(&revision.fields.body_markdown);
    let base = base_version(&form);
    match state.store.save_article(id, &revision.fields, &html, Some(member.user.id), false, Utc::now(), base).await {
        Ok(VersionedWrite::Written) => {}
        Ok(VersionedWrite::Stale) => {
            return conflict_page(
                &state,
                &member,
                id,
                revision.fields,
                "Someone else saved this article after you opened its revisions, so the revision was not restored. \
                 It is in the form below; save it to restore it over their version.",
            )
            .await;
        }
        Err(crate::store::StoreError::Conflict(_)) => {
            return Err(AdminError::BadRequest(
                "That revision’s address (slug) is now used by another article; change it in the editor instead."
                    .into(),
            ));
        }
        Err(e) => return Err(e.into()),
    }
    audit(&state, Some(&member), "revision_restored", "article", Some(id), format!("revision {revision_id}")).await;
    if article.status == ArticleStatus::Published {
        article_changed(&state, id);
    }
    Ok(see_other(&format!("/admin/articles/{id}"), "restored"))
}

/// A signed, expiring link that shows the draft to anyone who has it.
pub async fn preview_link(
    State(state): State<AppState>,
    Path(id): Path<ArticleId>,
    Submitted { member, .. }: Submitted,
) -> Result<Response, AdminError> {
    let article = load(&state, &member, id, Action::SharePreview).await?;
    let expires = Utc::now() + chrono::Duration::hours(state.settings.newsroom.preview_link_hours);
    let path = crate::web::preview::link(&state.preview_key, id, expires.timestamp());
    let link = format!("{}{path}", state.settings.base_url());
    audit(
        &state,
        Some(&member),
        "preview_link_created",
        "article",
        Some(id),
        format!("expires {}", expires.to_rfc3339()),
    )
    .await;
    let editor = EditorState { preview_link: Some(link), ..EditorState::new(article.fields.clone(), Some(article)) };
    let context = editor_page(&state, &member, editor).await?;
    page(&state, "admin/editor.html", &context)
}

pub async fn add_correction(
    State(state): State<AppState>,
    Path(id): Path<ArticleId>,
    Submitted { member, form }: Submitted,
) -> Result<Response, AdminError> {
    let article = load(&state, &member, id, Action::AddCorrection).await?;
    if article.status != ArticleStatus::Published {
        return Err(AdminError::BadRequest("Corrections are for published articles.".into()));
    }
    let kind = CorrectionKind::parse(&form.text("kind"))
        .ok_or_else(|| AdminError::BadRequest("Choose correction, clarification or update.".into()))?;
    let body = form.text("body").trim().to_owned();
    if body.is_empty() || body.chars().count() > 2000 {
        return Err(AdminError::BadRequest("Write the note (up to 2,000 characters).".into()));
    }
    let correction = state.store.add_correction(id, kind, &body, Some(member.user.id), Utc::now()).await?;
    audit(
        &state,
        Some(&member),
        "correction_added",
        "article",
        Some(id),
        format!("{}: {}", kind.as_str(), correction.body),
    )
    .await;
    article_changed(&state, id);
    Ok(see_other(&format!("/admin/articles/{id}"), "correction"))
}
