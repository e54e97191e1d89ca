//! The newsroom CMS under `/admin`: server-rendered pages with a little progressive enhancement.
//! Every handler checks the member's rights through [`crate::domain::permits`]; every change goes
//! through a CSRF-checked form and is written to the audit log.

mod account;
mod articles;
mod curation;
mod login;
pub mod media;
mod moderation;
pub mod session;
mod setup;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Serialize;

use super::AppState;
use super::assets::AssetUrls;
use crate::domain::{Action, Ownership, PageNumber, Role, permits};
use crate::store::StoreError;
use crate::store::newsroom::NewAuditEntry;
use session::Member;

pub fn router(state: &AppState) -> Router<AppState> {
    let upload_limit = state.settings.newsroom.max_upload_mib.saturating_mul(1 << 20) + 64 * 1024;
    Router::new()
        .route("/admin", get(articles::dashboard))
        .route("/admin/login", get(login::form).post(login::submit))
        .route("/admin/login/totp", get(login::totp_form).post(login::totp_submit))
        .route("/admin/logout", post(login::logout))
        .route("/admin/set-password/{token}", get(login::set_password_form).post(login::set_password))
        .route("/admin/account", get(account::show))
        .route("/admin/account/password", post(account::change_password))
        .route("/admin/account/email", post(account::change_email))
        .route("/admin/account/sessions/revoke", post(account::revoke_session))
        .route("/admin/account/totp", post(account::totp))
        .route("/admin/articles/new", get(articles::new_form))
        .route("/admin/articles", post(articles::create))
        .route("/admin/articles/{id}", get(articles::edit).post(articles::save))
        .route("/admin/articles/{id}/autosave", post(articles::autosave))
        .route("/admin/articles/{id}/workflow", post(articles::workflow))
        .route("/admin/articles/{id}/unpublish-at", post(articles::schedule_unpublish))
        .route("/admin/articles/{id}/revisions", get(articles::revisions))
        .route("/admin/articles/{id}/revisions/{revision}/restore", post(articles::restore))
        .route("/admin/articles/{id}/preview-link", post(articles::preview_link))
        .route("/admin/articles/{id}/corrections", post(articles::add_correction))
        .route("/admin/preview", post(articles::render_preview))
        .route("/admin/media", get(media::library).post(media::upload).layer(DefaultBodyLimit::max(upload_limit)))
        .route("/admin/media/{id}", get(media::edit).post(media::save))
        .route("/admin/curation", get(curation::show))
        .route("/admin/curation/must-reads", post(curation::save_must_reads))
        .route("/admin/curation/home", post(curation::save_home))
        .route("/admin/curation/breaking", post(curation::save_breaking))
        .route("/admin/comments", get(moderation::queue))
        .route("/admin/comments/{id}", post(moderation::act))
        .route("/admin/settings", get(setup::settings).post(setup::save_settings))
        .route("/admin/sections", get(setup::sections).post(setup::save_sections))
        .route("/admin/tags", get(setup::tags).post(setup::rename_tag))
        .route("/admin/users", get(setup::users).post(setup::add_user))
        .route("/admin/users/{id}", post(setup::update_user))
        .route("/admin/audit", get(setup::audit_log))
        .layer(axum::middleware::from_fn_with_state(state.clone(), render_admin_errors))
}

/// What can go wrong in the CMS, each with the page the member sees.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("sign-in required")]
    SignInRequired { next: String, expired: bool },
    #[error("second factor required")]
    SecondFactorRequired,
    #[error("not allowed")]
    Forbidden,
    #[error("form token did not match")]
    CsrfFailed,
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    BadRequest(String),
    /// The thing is not in a state where this can be done; the message says where it stands.
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("too many attempts")]
    TooManyAttempts { retry_after_secs: i64 },
    /// Every password check is taken; nothing was done, and trying again shortly will work.
    #[error("busy")]
    Busy { retry_after_secs: u32 },
    #[error("storage failed: {0}")]
    Store(#[from] StoreError),
    #[error("template failed: {0}")]
    Template(#[from] minijinja::Error),
    #[error("{0}")]
    Internal(String),
}

/// Carried on an error response for [`render_admin_errors`] to turn into a page.
#[derive(Debug, Clone)]
struct AdminErrorPage {
    heading: &'static str,
    message: String,
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let (status, heading, message) = match self {
            Self::SignInRequired { next, expired } => {
                let mut target = format!("/admin/login?next={}", super::percent_encode(&next));
                if expired {
                    target.push_str("&expired=1");
                }
                return Redirect::to(&target).into_response();
            }
            Self::SecondFactorRequired => return Redirect::to("/admin/login/totp").into_response(),
            Self::Forbidden => (
                StatusCode::FORBIDDEN,
                "You don’t have permission to do that",
                "Your role does not include this action. Ask an editor or an administrator.".to_owned(),
            ),
            Self::CsrfFailed => (
                StatusCode::FORBIDDEN,
                "That form has expired",
                "For your safety the form could not be accepted. Go back, reload the page and try again; \
                 nothing was changed."
                    .to_owned(),
            ),
            Self::NotFound => {
                (StatusCode::NOT_FOUND, "Not found", "There is nothing at this address in the newsroom.".to_owned())
            }
            Self::BadRequest(message) => (StatusCode::BAD_REQUEST, "That could not be done", message),
            Self::Conflict(message) => (StatusCode::CONFLICT, "That could not be done", message),
            Self::TooLarge(message) => (StatusCode::PAYLOAD_TOO_LARGE, "That file is too large", message),
            Self::TooManyAttempts { retry_after_secs } => {
                let mut response = (
                    StatusCode::TOO_MANY_REQUESTS,
                    Html(format!(
                        "<!doctype html><html lang=\"en\"><title>Too many attempts</title><h1>Too many attempts</h1>\
                         <p>Too many failed sign-ins. Try again in {} minutes.</p><p><a href=\"/admin/login\">Sign in</a></p></html>",
                        (retry_after_secs + 59) / 60
                    )),
                )
                    .into_response();
                if let Ok(value) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                    response.headers_mut().insert(header::RETRY_AFTER, value);
                }
                return response;
            }
            Self::Busy { retry_after_secs } => {
                let mut response =
                    (StatusCode::SERVICE_UNAVAILABLE, [(header::RETRY_AFTER, HeaderValue::from(retry_after_secs))])
                        .into_response();
                response.extensions_mut().insert(AdminErrorPage {
                    heading: "The server is busy",
                    message: "Many passwords are being checked at this moment, so yours was not. Nothing was \
                              changed; go back and send the form again in a few seconds."
                        .to_owned(),
                });
                return response;
            }
            Self::Store(StoreError::Conflict(what)) => {
                (StatusCode::CONFLICT, "That already exists", format!("Another record already uses this {what}."))
            }
            Self::Store(StoreError::Missing(_)) => {
                (StatusCode::NOT_FOUND, "Not found", "What you were working on no longer exists.".to_owned())
            }
            Self::Store(e) if e.is_storage_full() => {
                tracing::error!(error = %e, "a newsroom write was refused: storage is full");
                let mut response = (
                    StatusCode::SERVICE_UNAVAILABLE,
                    [(header::RETRY_AFTER, HeaderValue::from_static(crate::web::error::STORAGE_FULL_RETRY_AFTER))],
                )
                    .into_response();
                response.extensions_mut().insert(AdminErrorPage {
                    heading: "Storage is full",
                    message: "Nothing was saved: the disk that holds the site’s data is full. Go back, keep your \
                              text, and try again in a few minutes; tell whoever runs the site."
                        .to_owned(),
                });
                return response;
            }
            Self::Store(e) if e.is_unavailable() => {
                tracing::error!(error = %e, "database unavailable in the newsroom");
                let mut response =
                    (StatusCode::SERVICE_UNAVAILABLE, [(header::RETRY_AFTER, HeaderValue::from_static("5"))])
                        .into_response();
                response.extensions_mut().insert(AdminErrorPage {
                    heading: "The database cannot be reached",
                    message: "Nothing was changed. Please try again in a few seconds.".to_owned(),
                });
                return response;
            }
            Self::Store(e) => {
                tracing::error!(error = %e, "storage error in the newsroom");
                (StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong", "The error has been logged.".to_owned())
            }
            Self::Template(e) => {
                tracing::error!(error = ?e, "template error in the newsroom");
                (StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong", "The error has been logged.".to_owned())
            }
            Self::Internal(e) => {
                tracing::error!(error = %e, "internal error in the newsroom");
                (StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong", "The error has been logged.".to_owned())
            }
        };
        let mut response = status.into_response();
        response.extensions_mut().insert(AdminErrorPage { heading, message });
        response
    }
}

#[derive(Serialize)]
struct ErrorContext<'a> {
    chrome: AdminChrome,
    heading: &'a str,
    message: &'a str,
    status: u16,
}

async fn render_admin_errors(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let member = request.extensions().get::<Member>().cloned();
    let response = next.run(request).await;
    let Some(page) = response.extensions().get::<AdminErrorPage>().cloned() else {
        return response;
    };
    let status = response.status();
    let chrome = AdminChrome::new(&state, member.as_ref(), page.heading);
    let context = ErrorContext { chrome, heading: page.heading, message: &page.message, status: status.as_u16() };
    let html = state.templates.render("admin/error.html", &context).unwrap_or_else(|e| {
        tracing::error!(error = ?e, "the admin error page failed to render");
        format!("<!doctype html><title>{0}</title><h1>{0}</h1>", page.heading)
    });
    let mut rendered = (status, Html(html)).into_response();
    rendered.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    rendered
}

#[derive(Debug, Clone, Serialize)]
pub struct NavItem {
    pub label: &'static str,
    pub href: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct MemberView {
    pub id: crate::domain::UserId,
    pub name: String,
    pub role: Role,
    pub role_label: &'static str,
}

/// Around every CMS page: the member, their navigation, the form token.
#[derive(Debug, Clone, Serialize)]
pub struct AdminChrome {
    pub site_name: String,
    pub title: String,
    pub member: Option<MemberView>,
    pub csrf: String,
    pub nav: Vec<NavItem>,
    pub assets: AssetUrls,
}

impl AdminChrome {
    pub fn new(state: &AppState, member: Option<&Member>, title: &str) -> Self {
        let profile = state.profile();
        let nav = member.map(|m| navigation(m.user.role)).unwrap_or_default();
        Self {
            site_name: profile.name.clone(),
            title: title.to_owned(),
            member: member.map(|m| MemberView {
                id: m.user.id,
                name: m.user.name.clone(),
                role: m.user.role,
                role_label: m.user.role.label(),
            }),
            csrf: member.map(|m| m.csrf().to_owned()).unwrap_or_default(),
            nav,
            assets: state.assets.urls.clone(),
        }
    }
}

fn navigation(role: Role) -> Vec<NavItem> {
    let may = |action| permits(role, action, Ownership::Newsroom, None);
    let mut nav = vec![NavItem { label: "Articles", href: "/admin" }, NavItem { label: "Media", href: "/admin/media" }];
    if may(Action::Curate) {
        nav.push(NavItem { label: "Curation", href: "/admin/curation" });
    }
    if may(Action::Moderate) {
        nav.push(NavItem { label: "Comments", href: "/admin/comments" });
    }
    if may(Action::ManageTaxonomy) {
        nav.push(NavItem { label: "Sections", href: "/admin/sections" });
        nav.push(NavItem { label: "Tags", href: "/admin/tags" });
    }
    if may(Action::ManageUsers) {
        nav.push(NavItem { label: "People", href: "/admin/users" });
    }
    if may(Action::ManageSettings) {
        nav.push(NavItem { label: "Settings", href: "/admin/settings" });
    }
    if may(Action::ViewAudit) {
        nav.push(NavItem { label: "Audit log", href: "/admin/audit" });
    }
    nav
}

/// Refuses unless the member's role allows the action.
pub fn require(member: &Member, action: Action, ownership: Ownership) -> Result<(), AdminError> {
    if permits(member.user.role, action, ownership, None) { Ok(()) } else { Err(AdminError::Forbidden) }
}

/// Renders a CMS page; CMS pages are personal, so nothing may store them.
pub fn page<C: Serialize>(state: &AppState, template: &str, context: &C) -> Result<Response, AdminError> {
    page_with_status(state, StatusCode::OK, template, context)
}

pub fn page_with_status<C: Serialize>(
    state: &AppState,
    status: StatusCode,
    template: &str,
    context: &C,
) -> Result<Response, AdminError> {
    let html = state.templates.render(template, context)?;
    let mut response = (status, Html(html)).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    Ok(response)
}

/// Back to a page after a change, with a notice code it shows once.
pub fn see_other(path: &str, notice: &str) -> Response {
    let separator = if path.contains('?') { '&' } else { '?' };
    Redirect::to(&format!("{path}{separator}notice={notice}")).into_response()
}

/// The message for a notice code in the query string; unknown codes show nothing.
pub fn notice_text(code: Option<&str>) -> Option<&'static str> {
    Some(match code? {
        "saved" => "Saved.",
        "created" => "Created.",
        "submitted" => "Submitted for review. An editor will take it from here.",
        "returned" => "Moved back to draft.",
        "published" => "Published. It is live on the site now.",
        "scheduled" => "Scheduled. It stays invisible everywhere until its time.",
        "unpublished" => "Unpublished. Its address now answers “withdrawn”.",
        "restored" => "Revision restored; the previous text is kept as a revision too.",
        "correction" => "Correction added. It shows on the article and on the corrections page.",
        "uploaded" => "Uploaded. Resized versions are being made in the background.",
        "password" => "Password changed. Your other sessions were signed out.",
        "email" => "Email address changed.",
        "revoked" => "Session ended.",
        "totp-on" => "Two-step sign-in is on.",
        "totp-off" => "Two-step sign-in is off.",
        "password-set" => "Password set. You can sign in now.",
        "signed-out" => "You have signed out.",
        "unpublish-set" => "Unpublishing time saved.",
        _ => return None,
    })
}

/// The audit line for `member` (`None`: someone not signed in, using a set-password link) doing
/// `action` to `kind` number `id`. Changes hand it to their store write, which records it in the
/// change's own transaction.
pub fn audit_line(
    state: &AppState,
    member: Option<&Member>,
    action: &str,
    kind: &str,
    id: Option<i64>,
    detail: String,
) -> NewAuditEntry {
    NewAuditEntry::new(member.map(|m| m.user.id), action, kind, id, detail, state.clock.now())
}

/// Writes one line of the audit log about an event that changes nothing the newsroom keeps (a
/// signed preview link handed out: it is not stored), so the line is the only write. A failure is
/// logged, not shown.
pub async fn audit_event(state: &AppState, entry: NewAuditEntry) {
    let action = entry.action.clone();
    if let Err(e) = state.store.record_audit(entry).await {
        tracing::error!(error = %e, action = %action, "cannot write the audit log");
    }
}

/// The `?page=` of a CMS list; a number that is not a page is a clear 400, not an overflowing offset.
pub fn page_number(raw: Option<&str>) -> Result<PageNumber, AdminError> {
    PageNumber::parse(raw).map_err(|e| AdminError::BadRequest(e.to_string()))
}

/// A local path to go to after sign-in; anything else becomes `/admin`. It must be a path on this
/// site under `/admin`: one leading `/` (not `//` or `/\`, which browsers read as another host), no
/// backslash, and only printable ASCII: a control character or a space cannot go into a `Location`
/// header (a newline there used to turn a right password into a 500), and browsers send paths
/// percent-encoded anyway.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with("/admin")
                && !path.starts_with("//")
                && !path.contains('\\')
                && path.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            path.to_owned()
        }
        _ => "/admin".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_admin_paths_are_followed_after_sign_in() {
        assert_eq!(safe_next(Some("/admin/articles/4")), "/admin/articles/4");
        assert_eq!(safe_next(Some("https://evil.example/admin")), "/admin");
        assert_eq!(safe_next(Some("//evil.example")), "/admin");
        assert_eq!(safe_next(None), "/admin");
        assert_eq!(safe_next(Some("/admin\n")), "/admin");
        assert_eq!(safe_next(Some("/admin/x\r\nSet-Cookie: a=b")), "/admin");
        assert_eq!(safe_next(Some("/admin\u{7f}")), "/admin");
        assert_eq!(safe_next(Some("/admin\u{85}")), "/admin");
        assert_eq!(safe_next(Some("/\\evil.example")), "/admin");
        assert_eq!(safe_next(Some("/admin/é")), "/admin");
        assert_eq!(safe_next(Some("/admin/articles?status=draft&page=2")), "/admin/articles?status=draft&page=2");
    }

    #[test]
    fn contributors_see_only_what_they_can_use() {
        let labels: Vec<_> = navigation(Role::Contributor).iter().map(|n| n.label).collect();
        assert_eq!(labels, vec!["Articles", "Media"]);
        assert_eq!(navigation(Role::Admin).len(), 9);
    }
}
