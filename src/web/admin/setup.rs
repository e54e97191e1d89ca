//! Running the newsroom: site settings, sections, tags, people and the audit log.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::articles::{actor, newsroom};
use super::session::{Member, Submitted};
use super::{AdminChrome, AdminError, notice_text, page, page_number, page_with_status, require, see_other};
use crate::domain::{Action, Ownership, Role, Section, Tag, User, UserId};
use crate::newsroom::articles::ServiceError;
use crate::newsroom::people;
use crate::newsroom::profile::{self, PROFILE_KEY, SiteProfile};
use crate::newsroom::sections::{self, SectionEdit, SectionProblems, SectionsError, SectionsInput};
use crate::store::newsroom::{AuditEntry, Edited, VersionedWrite};
use crate::web::AppState;

#[derive(Deserialize)]
pub struct NoticeQuery {
    notice: Option<String>,
    page: Option<String>,
}

#[derive(Serialize)]
struct SettingsPage {
    chrome: AdminChrome,
    profile: SiteProfile,
    navigation_text: String,
    blocked_words_text: String,
    message: Option<String>,
    notice: Option<&'static str>,
    /// The version of the stored settings this form is based on.
    version: i64,
    /// Set when the save was refused because someone else saved meanwhile: what they saved.
    theirs: Option<TheirSettings>,
}

#[derive(Serialize)]
struct TheirSettings {
    profile: SiteProfile,
    navigation_text: String,
    blocked_words_text: String,
}

fn navigation_text(profile: &SiteProfile) -> String {
    profile.navigation.iter().map(|l| format!("{} | {}", l.label, l.url)).collect::<Vec<_>>().join("\n")
}

fn settings_page(
    state: &AppState,
    member: &Member,
    profile: SiteProfile,
    message: Option<String>,
    notice: Option<&'static str>,
    version: i64,
) -> SettingsPage {
    SettingsPage {
        chrome: AdminChrome::new(state, Some(member), "Settings"),
        navigation_text: navigation_text(&profile),
        blocked_words_text: profile.blocked_words.join("\n"),
        profile,
        message,
        notice,
        version,
        theirs: None,
    }
}

/// The stored settings and the version they are at, read version first: a save in between then
/// makes this copy look stale rather than current. (The in-memory profile may lag another node.)
async fn stored_profile(state: &AppState) -> Result<(SiteProfile, i64), AdminError> {
    let version = state.store.edit_version(Edited::Setting(PROFILE_KEY)).await?;
    let profile = match state.store.setting(PROFILE_KEY).await? {
        Some(json) => serde_json::from_str(&json).unwrap_or_else(|e| {
            // As when loading at start: the form then offers the config file's values to save over it.
            tracing::error!(error = %e, "stored site settings are unreadable; showing the config file's");
            SiteProfile::from_settings(&state.settings)
        }),
        None => SiteProfile::from_settings(&state.settings),
    };
    Ok((profile, version))
}

pub async fn settings(
    State(state): State<AppState>,
    member: Member,
    Query(query): Query<NoticeQuery>,
) -> Result<Response, AdminError> {
    require(&member, Action::ManageSettings, Ownership::Newsroom)?;
    let (profile, version) = stored_profile(&state).await?;
    page(
        &state,
        "admin/settings.html",
        &settings_page(&state, &member, profile, None, notice_text(query.notice.as_deref()), version),
    )
}

pub async fn save_settings(
    State(state): State<AppState>,
    Submitted { member, form }: Submitted,
) -> Result<Response, AdminError> {
    let profile = SiteProfile {
        name: form.text("name").trim().to_owned(),
        description: form.text("description").trim().to_owned(),
        logo_url: form.text("logo_url").trim().to_owned(),
        language: form.text("language").trim().to_owned(),
        time_zone: form.text("time_zone").trim().to_owned(),
        navigation: SiteProfile::parse_navigation(&form.text("navigation")),
        hold_all_comments: form.flag("hold_all_comments"),
        blocked_words: form
            .text("blocked_words")
            .lines()
            .map(|w| w.trim().to_owned())
            .filter(|w| !w.is_empty())
            .collect(),
    };
    // Missing counts as -1, which no stored version is: such a save is refused as stale.
    let base = form.text("version").trim().parse::<i64>().unwrap_or(-1);
    let saved = match profile::save_settings(newsroom(&state), &actor(&member), &profile, base, state.clock.now()).await
    {
        Ok(saved) => saved,
        Err(ServiceError::Invalid(errors)) => {
            let context = settings_page(&state, &member, profile, Some(errors.messages().join(" ")), None, base);
            return page_with_status(&state, StatusCode::UNPROCESSABLE_ENTITY, "admin/settings.html", &context);
        }
        Err(e) => return Err(e.into()),
    };
    if saved == VersionedWrite::Stale {
        let (stored, version) = stored_profile(&state).await?;
        let theirs = TheirSettings {
            navigation_text: navigation_text(&stored),
            blocked_words_text: stored.blocked_words.join("\n"),
            profile: stored,
        };
        let message = "Not saved: someone else saved the settings while you were editing. Their settings are \
                       kept (below); yours are in the form. Check both and save again to replace theirs.";
        let context = SettingsPage {
            theirs: Some(theirs),
            ..settings_page(&state, &member, profile, Some(message.to_owned()), None, version)
        };
        return page_with_status(&state, StatusCode::CONFLICT, "admin/settings.html", &context);
    }
    Ok(see_other("/admin/settings", "saved"))
}

#[derive(Serialize)]
struct SectionsPage {
    chrome: AdminChrome,
    rows: Vec<SectionRow>,
    new_name: String,
    new_error: Option<String>,
    message: Option<String>,
    notice: Option<&'static str>,
}

/// One row of the sections form, as stored or as typed, with what is wrong with it.
#[derive(Serialize)]
struct SectionRow {
    id: crate::domain::SectionId,
    /// The stored name, for labels that must not change as the member types.
    label: String,
    name: String,
    slug: String,
    position: String,
    archived: bool,
    errors: Vec<String>,
}

fn stored_row(section: &Section, archived: bool) -> SectionRow {
    SectionRow {
        id: section.id,
        label: section.name.clone(),
        name: section.name.clone(),
        slug: section.slug.clone(),
        position: section.position.to_string(),
        archived,
        errors: Vec::new(),
    }
}

fn stored_rows(sections: &[(Section, bool)]) -> Vec<SectionRow> {
    sections.iter().map(|(s, archived)| stored_row(s, *archived)).collect()
}

pub async fn sections(
    State(state): State<AppState>,
    member: Member,
    Query(query): Query<NoticeQuery>,
) -> Result<Response, AdminError> {
    require(&member, Action::ManageTaxonomy, Ownership::Newsroom)?;
    let context = SectionsPage {
        chrome: AdminChrome::new(&state, Some(&member), "Sections"),
        rows: stored_rows(&state.store.all_sections().await?),
        new_name: String::new(),
        new_error: None,
        message: None,
        notice: notice_text(query.notice.as_deref()),
    };
    page(&state, "admin/sections.html", &context)
}

/// The sections form as the use case takes it: the rows it sent, as typed.
fn sections_input(existing: &[(Section, bool)], form: &super::session::FormData) -> SectionsInput {
    let rows = existing
        .iter()
        .filter_map(|(section, _)| {
            let key = |field: &str| format!("{field}_{}", section.id);
            let name = form.get(&key("name"))?;
            Some(SectionEdit {
                id: section.id,
                name: name.to_owned(),
                slug: form.text(&key("slug")),
                position: form.text(&key("position")),
                archived: form.flag(&key("archived")),
            })
        })
        .collect();
    SectionsInput { rows, new_name: form.text("new_name") }
}

/// The rows to show again after a refused save: each as typed with what is wrong with it, or as
/// stored when the form left it out.
fn typed_rows(existing: &[(Section, bool)], input: &SectionsInput, problems: &SectionProblems) -> Vec<SectionRow> {
    existing
        .iter()
        .map(|(section, archived)| {
            let errors = problems.rows.get(&section.id).cloned().unwrap_or_default();
            let Some(edit) = input.rows.iter().find(|r| r.id == section.id) else {
                // Left out of the form, it can still clash with a row that asks for its address.
                return SectionRow { errors, ..stored_row(section, *archived) };
            };
            SectionRow {
                id: section.id,
                label: section.name.clone(),
                name: edit.name.trim().to_owned(),
                slug: edit.slug.trim().to_owned(),
                position: edit.position.trim().to_owned(),
                archived: edit.archived,
                errors,
            }
        })
        .collect()
}

/// One form for the whole list: rename, re-slug, reorder, archive; plus a new section when named
/// (`newsroom::sections`: checked whole, then written whole or not at all).
pub async fn save_sections(
    State(state): State<AppState>,
    Submitted { member, form }: Submitted,
) -> Result<Response, AdminError> {
    require(&member, Action::ManageTaxonomy, Ownership::Newsroom)?;
    let existing = state.store.all_sections().await?;
    let input = sections_input(&existing, &form);
    let refuse = |problems: SectionProblems, message: String| {
        let context = SectionsPage {
            chrome: AdminChrome::new(&state, Some(&member), "Sections"),
            rows: typed_rows(&existing, &input, &problems),
            new_name: input.new_name.trim().to_owned(),
            new_error: problems.new_section.clone(),
            message: Some(message),
            notice: None,
        };
        page_with_status(&state, StatusCode::UNPROCESSABLE_ENTITY, "admin/sections.html", &context)
    };
    match sections::save_sections(newsroom(&state), &actor(&member), &input, state.clock.now()).await {
        Ok(()) => Ok(see_other("/admin/sections", "saved")),
        Err(SectionsError::Invalid(problems)) => {
            refuse(problems, "Nothing was saved. Please fix the rows marked below.".into())
        }
        Err(SectionsError::Taken(what)) => refuse(
            SectionProblems::default(),
            format!("Nothing was saved: {what} is already used. Check the addresses."),
        ),
        Err(SectionsError::Forbidden) => Err(AdminError::Forbidden),
        Err(SectionsError::Store(e)) => Err(e.into()),
    }
}

#[derive(Serialize)]
struct TagsPage {
    chrome: AdminChrome,
    tags: Vec<(Tag, i64)>,
    notice: Option<&'static str>,
}

pub async fn tags(
    State(state): State<AppState>,
    member: Member,
    Query(query): Query<NoticeQuery>,
) -> Result<Response, AdminError> {
    require(&member, Action::ManageTaxonomy, Ownership::Newsroom)?;
    let context = TagsPage {
        chrome: AdminChrome::new(&state, Some(&member), "Tags"),
        tags: state.store.tags_with_counts().await?,
        notice: notice_text(query.notice.as_deref()),
    };
    page(&state, "admin/tags.html", &context)
}

pub async fn rename_tag(
    State(state): State<AppState>,
    Submitted { member, form }: Submitted,
) -> Result<Response, AdminError> {
    // Someone who may not rename tags learns nothing about the form.
    require(&member, Action::ManageTaxonomy, Ownership::Newsroom)?;
    let id = form
        .text("tag")
        .parse::<i64>()
        .map(crate::domain::TagId)
        .map_err(|_| AdminError::BadRequest("Choose a tag.".into()))?;
    people::rename_tag(state.store.as_ref(), &actor(&member), id, &form.text("name"), state.clock.now()).await?;
    state.changed(crate::web::changes::Change::Everything);
    Ok(see_other("/admin/tags", "saved"))
}

#[derive(Serialize)]
struct UsersPage {
    chrome: AdminChrome,
    users: Vec<User>,
    roles: Vec<(Role, &'static str)>,
    message: Option<String>,
    /// A one-time set-password link, shown once after adding a person.
    new_link: Option<String>,
    notice: Option<&'static str>,
}

async fn users_page(
    state: &AppState,
    member: &Member,
    message: Option<String>,
    new_link: Option<String>,
    notice: Option<&'static str>,
) -> Result<UsersPage, AdminError> {
    Ok(UsersPage {
        chrome: AdminChrome::new(state, Some(member), "People"),
        users: state.store.users().await?,
        roles: Role::ALL.iter().map(|r| (*r, r.label())).collect(),
        message,
        new_link,
        notice,
    })
}

pub async fn users(
    State(state): State<AppState>,
    member: Member,
    Query(query): Query<NoticeQuery>,
) -> Result<Response, AdminError> {
    require(&member, Action::ManageUsers, Ownership::Newsroom)?;
    let context = users_page(&state, &member, None, None, notice_text(query.notice.as_deref())).await?;
    page(&state, "admin/users.html", &context)
}

pub async fn add_user(
    State(state): State<AppState>,
    Submitted { member, form }: Submitted,
) -> Result<Response, AdminError> {
    let input = people::MemberInput { email: &form.text("email"), name: &form.text("name"), role: &form.text("role") };
    let hours = state.settings.newsroom.password_link_hours;
    match people::add_member(state.store.as_ref(), &actor(&member), input, hours, state.clock.now()).await {
        Ok((_, token)) => {
            let link = token.address(&state.settings.base_url());
            let context = users_page(&state, &member, None, Some(link), notice_text(Some("created"))).await?;
            page(&state, "admin/users.html", &context)
        }
        Err(ServiceError::Invalid(errors)) => {
            let context = users_page(&state, &member, Some(errors.messages().join(" ")), None, None).await?;
            page_with_status(&state, StatusCode::UNPROCESSABLE_ENTITY, "admin/users.html", &context)
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn update_user(
    State(state): State<AppState>,
    Path(id): Path<UserId>,
    Submitted { member, form }: Submitted,
) -> Result<Response, AdminError> {
    let (store, actor, now) = (state.store.as_ref(), actor(&member), state.clock.now());
    match form.text("action").as_str() {
        "role" => people::change_role(store, &actor, id, &form.text("role"), now).await?,
        "disable" => people::set_disabled(store, &actor, id, true, now).await?,
        "enable" => people::set_disabled(store, &actor, id, false, now).await?,
        "reset" => {
            let hours = state.settings.newsroom.password_link_hours;
            let token = people::new_password_link(store, &actor, id, hours, now).await?;
            let context =
                users_page(&state, &member, None, Some(token.address(&state.settings.base_url())), None).await?;
            return page(&state, "admin/users.html", &context);
        }
        _ => {
            // Someone who may not manage people learns nothing about the form.
            require(&member, Action::ManageUsers, Ownership::Newsroom)?;
            return Err(AdminError::BadRequest("Unknown action.".into()));
        }
    }
    Ok(see_other("/admin/users", "saved"))
}

#[derive(Serialize)]
struct AuditPage {
    chrome: AdminChrome,
    entries: Vec<AuditEntry>,
    page: i64,
    has_more: bool,
}

pub async fn audit_log(
    State(state): State<AppState>,
    member: Member,
    Query(query): Query<NoticeQuery>,
) -> Result<Response, AdminError> {
    require(&member, Action::ViewAudit, Ownership::Newsroom)?;
    let page_number = page_number(query.page.as_deref())?;
    let mut entries = state.store.audit_entries(101, page_number.offset(100)).await?;
    let has_more = entries.len() > 100;
    entries.truncate(100);
    let context = AuditPage {
        chrome: AdminChrome::new(&state, Some(&member), "Audit log"),
        entries,
        page: page_number.get(),
        has_more,
    };
    page(&state, "admin/audit.html", &context)
}
