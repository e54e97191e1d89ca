//! Running the newsroom: site settings, sections, tags, people and the audit log.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{Duration, Utc};
use serde::{Deserialize, Serialize};

use super::session::{Member, Submitted};
use super::{AdminChrome, AdminError, audit, notice_text, page, page_number, page_with_status, require, see_other};
use crate::auth::token::{new_token, token_hash};
use crate::domain::{Action, Email, Ownership, Role, Section, Slug, Tag, User, user::parse_person_name};
use crate::newsroom::profile::{PROFILE_KEY, SiteProfile};
use crate::store::newsroom::{AuditEntry, NewUser, SectionUpdate};
use crate::store::{NewSection, StoreError};
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
}

fn settings_page(
    state: &AppState,
    member: &Member,
    profile: SiteProfile,
    message: Option<String>,
    notice: Option<&'static str>,
) -> SettingsPage {
    SettingsPage {
        chrome: AdminChrome::new(state, Some(member), "Settings"),
        navigation_text: profile
            .navigation
            .iter()
            .map(|l| format!("{} | {}", l.label, l.url))
            .collect::<Vec<_>>()
            .join("\n"),
        blocked_words_text: profile.blocked_words.join("\n"),
        profile,
        message,
        notice,
    }
}

pub async fn settings(
    State(state): State<AppState>,
    member: Member,
    Query(query): Query<NoticeQuery>,
) -> Result<Response, AdminError> {
    require(&member, Action::ManageSettings, Ownership::Newsroom)?;
    let profile = state.profile().as_ref().clone();
    page(
        &state,
        "admin/settings.html",
        &settings_page(&state, &member, profile, None, notice_text(query.notice.as_deref())),
    )
}

pub async fn save_settings(
    State(state): State<AppState>,
    Submitted { member, form }: Submitted,
) -> Result<Response, AdminError> {
    require(&member, Action::ManageSettings, Ownership::Newsroom)?;
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
    if let Err(e) = profile.validate() {
        let context = settings_page(&state, &member, profile, Some(e.to_string()), None);
        return page_with_status(&state, StatusCode::UNPROCESSABLE_ENTITY, "admin/settings.html", &context);
    }
    let json = serde_json::to_string(&profile).map_err(|e| AdminError::Internal(e.to_string()))?;
    state.store.set_setting(PROFILE_KEY, &json, Utc::now()).await?;
    audit(&state, Some(&member), "settings_changed", "site", None, profile.name.clone()).await;
    state.reload_profile().await?;
    state.changed(crate::web::changes::Change::Everything);
    Ok(see_other("/admin/settings", "saved"))
}

#[derive(Serialize)]
struct SectionsPage {
    chrome: AdminChrome,
    sections: Vec<(Section, bool)>,
    message: Option<String>,
    notice: Option<&'static str>,
}

pub async fn sections(
    State(state): State<AppState>,
    member: Member,
    Query(query): Query<NoticeQuery>,
) -> Result<Response, AdminError> {
    require(&member, Action::ManageTaxonomy, Ownership::Newsroom)?;
    let context = SectionsPage {
        chrome: AdminChrome::new(&state, Some(&member), "Sections"),
        sections: state.store.all_sections().await?,
        message: None,
        notice: notice_text(query.notice.as_deref()),
    };
    page(&state, "admin/sections.html", &context)
}

/// One form for the whole list: rename, re-slug, reorder, archive; plus a new section when named.
pub async fn save_sections(
    State(state): State<AppState>,
    Submitted { member, form }: Submitted,
) -> Result<Response, AdminError> {
    require(&member, Action::ManageTaxonomy, Ownership::Newsroom)?;
    let refuse = |message: String| async {
        let context = SectionsPage {
            chrome: AdminChrome::new(&state, Some(&member), "Sections"),
            sections: state.store.all_sections().await?,
            message: Some(message),
            notice: None,
        };
        page_with_status(&state, StatusCode::UNPROCESSABLE_ENTITY, "admin/sections.html", &context)
    };
    let existing = state.store.all_sections().await?;
    for (section, _) in &existing {
        let key = |field: &str| format!("{field}_{}", section.id);
        let Some(name) = form.get(&key("name")) else { continue };
        let name = name.trim().to_owned();
        let slug = match Slug::parse_top_level(form.text(&key("slug")).trim()) {
            Ok(slug) => slug.as_str().to_owned(),
            Err(e) => return refuse(format!("Section “{name}”: the address is not usable: {e}.")).await,
        };
        if name.is_empty() {
            return refuse("Every section needs a name.".into()).await;
        }
        let update = SectionUpdate {
            name,
            slug,
            position: form.text(&key("position")).parse().unwrap_or(section.position),
            archived: form.flag(&key("archived")),
        };
        match state.store.update_section(section.id, &update).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => {
                return refuse(format!("The address “{}” is already used.", update.slug)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
    let new_name = form.text("new_name").trim().to_owned();
    if !new_name.is_empty() {
        let slug = match Slug::from_title(&new_name).and_then(|s| Slug::parse_top_level(s.as_str())) {
            Ok(slug) => slug.as_str().to_owned(),
            Err(e) => return refuse(format!("“{new_name}” cannot become an address: {e}.")).await,
        };
        let position = existing.iter().map(|(s, _)| s.position).max().unwrap_or(0) + 1;
        match state.store.insert_section(NewSection { slug, name: new_name.clone(), position }).await {
            Ok(_) => {}
            Err(StoreError::Conflict(_)) => {
                return refuse(format!("A section called “{new_name}” already exists.")).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
    audit(&state, Some(&member), "sections_changed", "section", None, new_name).await;
    state.changed(crate::web::changes::Change::Everything);
    Ok(see_other("/admin/sections", "saved"))
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
    require(&member, Action::ManageTaxonomy, Ownership::Newsroom)?;
    let id = form.text("tag").parse::<i64>().map_err(|_| AdminError::BadRequest("Choose a tag.".into()))?;
    let name = form.text("name").trim().to_owned();
    if name.is_empty() || name.chars().count() > 80 {
        return Err(AdminError::BadRequest("A tag name is 1 to 80 characters.".into()));
    }
    state.store.rename_tag(id, &name).await?;
    audit(&state, Some(&member), "tag_renamed", "tag", Some(id), name).await;
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

/// Creates a one-time link with which a person sets their password.
pub async fn password_link(state: &AppState, user_id: i64) -> Result<String, AdminError> {
    let token = new_token().map_err(|e| AdminError::Internal(e.to_string()))?;
    let expires = Utc::now() + Duration::hours(state.settings.newsroom.password_link_hours);
    state.store.insert_password_token(&token_hash(&token), user_id, expires).await?;
    Ok(format!("{}/admin/set-password/{token}", state.settings.base_url()))
}

pub async fn add_user(
    State(state): State<AppState>,
    Submitted { member, form }: Submitted,
) -> Result<Response, AdminError> {
    require(&member, Action::ManageUsers, Ownership::Newsroom)?;
    let refuse = |message: String| async {
        let context = users_page(&state, &member, Some(message), None, None).await?;
        page_with_status(&state, StatusCode::UNPROCESSABLE_ENTITY, "admin/users.html", &context)
    };
    let email = match Email::parse(&form.text("email")) {
        Ok(email) => email,
        Err(e) => return refuse(format!("That email address is not usable: {e}.")).await,
    };
    let name = match parse_person_name(&form.text("name")) {
        Ok(name) => name,
        Err(e) => return refuse(format!("Name: {e}.")).await,
    };
    let Some(role) = Role::parse(&form.text("role")) else { return refuse("Choose a role.".into()).await };
    let user = match state
        .store
        .insert_user(NewUser {
            email: email.as_str().to_owned(),
            name,
            role,
            password_hash: None,
            created_at: Utc::now(),
        })
        .await
    {
        Ok(user) => user,
        Err(StoreError::Conflict(_)) => {
            return refuse("Someone already has an account with that email address.".into()).await;
        }
        Err(e) => return Err(e.into()),
    };
    let link = password_link(&state, user.id).await?;
    audit(&state, Some(&member), "user_added", "user", Some(user.id), format!("{} as {}", user.email, role.as_str()))
        .await;
    let context = users_page(&state, &member, None, Some(link), notice_text(Some("created"))).await?;
    page(&state, "admin/users.html", &context)
}

pub async fn update_user(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Submitted { member, form }: Submitted,
) -> Result<Response, AdminError> {
    require(&member, Action::ManageUsers, Ownership::Newsroom)?;
    let target = state.store.user_by_id(id).await?.ok_or(AdminError::NotFound)?;
    match form.text("action").as_str() {
        "role" => {
            let role =
                Role::parse(&form.text("role")).ok_or_else(|| AdminError::BadRequest("Choose a role.".into()))?;
            if target.id == member.user.id && role != Role::Admin {
                return Err(AdminError::BadRequest(
                    "You cannot take away your own administrator role; ask another administrator.".into(),
                ));
            }
            state.store.set_user_role(id, role).await?;
            audit(
                &state,
                Some(&member),
                "user_role_changed",
                "user",
                Some(id),
                format!("{} → {}", target.role.as_str(), role.as_str()),
            )
            .await;
        }
        "disable" | "enable" => {
            let disable = form.text("action") == "disable";
            if target.id == member.user.id && disable {
                return Err(AdminError::BadRequest("You cannot disable your own account.".into()));
            }
            state.store.set_user_disabled(id, disable, Utc::now()).await?;
            audit(
                &state,
                Some(&member),
                if disable { "user_disabled" } else { "user_enabled" },
                "user",
                Some(id),
                target.email.clone(),
            )
            .await;
        }
        "reset" => {
            let link = password_link(&state, id).await?;
            audit(&state, Some(&member), "password_link_created", "user", Some(id), target.email.clone()).await;
            let context = users_page(&state, &member, None, Some(link), None).await?;
            return page(&state, "admin/users.html", &context);
        }
        _ => return Err(AdminError::BadRequest("Unknown action.".into())),
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
