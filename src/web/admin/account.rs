//! A member's own account: sessions (see and end them), password, email and two-step sign-in.
//! Changing the password or email asks for the current password again.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use serde::{Deserialize, Serialize};

use super::login::{hash_in_background, password_is_right};
use super::session::{Member, Submitted};
use super::{AdminChrome, AdminError, audit_line, notice_text, page, page_with_status, see_other};
use crate::auth::password::NewPassword;
use crate::auth::{recovery, totp};
use crate::domain::Email;
use crate::store::newsroom::SessionRecord;
use crate::web::AppState;

#[derive(Serialize)]
struct SessionView {
    token_hash: String,
    current: bool,
    created_at: chrono::DateTime<Utc>,
    last_seen_at: chrono::DateTime<Utc>,
    ip: String,
    user_agent: String,
}

#[derive(Serialize)]
struct AccountPage {
    chrome: AdminChrome,
    email: String,
    totp_enabled: bool,
    sessions: Vec<SessionView>,
    message: Option<String>,
    notice: Option<&'static str>,
    /// Shown once while turning two-step sign-in on.
    totp_setup: Option<TotpSetup>,
    recovery_codes: Vec<String>,
}

#[derive(Serialize)]
struct TotpSetup {
    secret: String,
    uri: String,
}

#[derive(Deserialize)]
pub struct AccountQuery {
    notice: Option<String>,
}

async fn account_page(
    state: &AppState,
    member: &Member,
    message: Option<String>,
    notice: Option<&'static str>,
    totp_setup: Option<TotpSetup>,
    recovery_codes: Vec<String>,
) -> Result<AccountPage, AdminError> {
    let sessions = state.store.sessions_of(member.user.id).await?;
    let credentials = state.store.credentials_by_id(member.user.id).await?.ok_or(AdminError::NotFound)?;
    Ok(AccountPage {
        chrome: AdminChrome::new(state, Some(member), "Your account"),
        email: credentials.user.email.clone(),
        totp_enabled: credentials.totp_secret.is_some(),
        sessions: sessions.into_iter().map(|s: SessionRecord| session_view(s, &member.session.token_hash)).collect(),
        message,
        notice,
        totp_setup,
        recovery_codes,
    })
}

fn session_view(s: SessionRecord, current: &str) -> SessionView {
    SessionView {
        current: s.token_hash == current,
        token_hash: s.token_hash,
        created_at: s.created_at,
        last_seen_at: s.last_seen_at,
        ip: s.ip,
        user_agent: s.user_agent.chars().take(80).collect(),
    }
}

pub async fn show(
    State(state): State<AppState>,
    member: Member,
    Query(query): Query<AccountQuery>,
) -> Result<Response, AdminError> {
    let context = account_page(&state, &member, None, notice_text(query.notice.as_deref()), None, Vec::new()).await?;
    page(&state, "admin/account.html", &context)
}

async fn refuse(state: &AppState, member: &Member, message: &str) -> Result<Response, AdminError> {
    let context = account_page(state, member, Some(message.to_owned()), None, None, Vec::new()).await?;
    page_with_status(state, StatusCode::UNPROCESSABLE_ENTITY, "admin/account.html", &context)
}

/// Re-authentication: the current password, checked off the async workers.
async fn password_matches(state: &AppState, member: &Member, password: String) -> Result<bool, AdminError> {
    let credentials = state.store.credentials_by_id(member.user.id).await?.ok_or(AdminError::NotFound)?;
    let ok = password_is_right(state, password, credentials.password_hash).await?;
    if ok {
        state.store.set_session_reauth(&member.session.token_hash, state.clock.now()).await?;
    }
    Ok(ok)
}

pub async fn change_password(
    State(state): State<AppState>,
    Submitted { member, form }: Submitted,
) -> Result<Response, AdminError> {
    if !password_matches(&state, &member, form.text("current_password")).await? {
        return refuse(&state, &member, "Your current password was not right; nothing was changed.").await;
    }
    let new = form.text("new_password");
    if new != form.text("confirm_password") {
        return refuse(&state, &member, "The two new passwords are not the same.").await;
    }
    let new = match NewPassword::parse(&new) {
        Ok(p) => p,
        Err(e) => return refuse(&state, &member, &e.to_string()).await,
    };
    let hash = hash_in_background(&state, new).await?;
    // The new password is the only way in: other sessions end, and an unused set-password link
    // (one that leaked, say) stops working, in the same write.
    let line = audit_line(&state, Some(&member), "password_changed", "user", Some(member.user.id.0), String::new());
    let keep = Some(member.session.token_hash.as_str());
    state.store.change_password(member.user.id, &hash, keep, state.clock.now(), &line).await?;
    Ok(see_other("/admin/account", "password"))
}

pub async fn change_email(
    State(state): State<AppState>,
    Submitted { member, form }: Submitted,
) -> Result<Response, AdminError> {
    if !password_matches(&state, &member, form.text("current_password")).await? {
        return refuse(&state, &member, "Your current password was not right; nothing was changed.").await;
    }
    let email = match Email::parse(&form.text("email")) {
        Ok(e) => e,
        Err(e) => return refuse(&state, &member, &format!("That email address is not usable: {e}.")).await,
    };
    let line =
        audit_line(&state, Some(&member), "email_changed", "user", Some(member.user.id.0), email.as_str().to_owned());
    match state.store.set_user_email(member.user.id, email.as_str(), &line).await {
        Ok(()) => {}
        Err(crate::store::StoreError::Conflict(_)) => {
            return refuse(&state, &member, "Another account already uses that email address.").await;
        }
        Err(e) => return Err(e.into()),
    }
    Ok(see_other("/admin/account", "email"))
}

pub async fn revoke_session(
    State(state): State<AppState>,
    Submitted { member, form }: Submitted,
) -> Result<Response, AdminError> {
    let target = form.text("session");
    let own = state.store.sessions_of(member.user.id).await?;
    if !own.iter().any(|s| s.token_hash == target) {
        return Err(AdminError::NotFound);
    }
    let line = audit_line(&state, Some(&member), "session_revoked", "user", Some(member.user.id.0), String::new());
    state.store.end_session(&target, &line).await?;
    if target == member.session.token_hash {
        return Ok(see_other("/admin/login", "signed-out"));
    }
    Ok(see_other("/admin/account", "revoked"))
}

/// Two-step sign-in: `start` shows a new secret, `confirm` turns it on once a code from the app
/// matches, `disable` turns it off (password required).
pub async fn totp(
    State(state): State<AppState>,
    Submitted { member, form }: Submitted,
) -> Result<Response, AdminError> {
    match form.text("action").as_str() {
        "start" => {
            let secret = totp::new_secret().map_err(|e| AdminError::Internal(e.to_string()))?;
            let setup = TotpSetup {
                secret: totp::secret_base32(&secret),
                uri: totp::otpauth_uri(&state.profile().name, &member.user.email, &secret),
            };
            let context = account_page(&state, &member, None, None, Some(setup), Vec::new()).await?;
            page(&state, "admin/account.html", &context)
        }
        "confirm" => {
            let secret = data_encoding::BASE32_NOPAD
                .decode(form.text("secret").as_bytes())
                .map_err(|_| AdminError::BadRequest("The setup key was damaged; start again.".into()))?;
            let now = state.clock.now().timestamp();
            let Some(step) = totp::verify(&secret, &form.text("code"), now, None) else {
                let setup = TotpSetup {
                    secret: totp::secret_base32(&secret),
                    uri: totp::otpauth_uri(&state.profile().name, &member.user.email, &secret),
                };
                let context = account_page(
                    &state,
                    &member,
                    Some("That code did not match. Check the time on your phone and try the current code.".into()),
                    None,
                    Some(setup),
                    Vec::new(),
                )
                .await?;
                return page_with_status(&state, StatusCode::UNPROCESSABLE_ENTITY, "admin/account.html", &context);
            };
            let codes = recovery::new_recovery_codes().map_err(|e| AdminError::Internal(e.to_string()))?;
            let hashes: Vec<String> = codes.iter().map(|c| recovery::recovery_hash(c)).collect();
            let line = audit_line(&state, Some(&member), "totp_enabled", "user", Some(member.user.id.0), String::new());
            state.store.set_totp(member.user.id, Some((&secret, step)), &hashes, &line).await?;
            let context = account_page(&state, &member, None, notice_text(Some("totp-on")), None, codes).await?;
            page(&state, "admin/account.html", &context)
        }
        "disable" => {
            if !password_matches(&state, &member, form.text("current_password")).await? {
                return refuse(&state, &member, "Your current password was not right; nothing was changed.").await;
            }
            let line =
                audit_line(&state, Some(&member), "totp_disabled", "user", Some(member.user.id.0), String::new());
            state.store.set_totp(member.user.id, None, &[], &line).await?;
            Ok(see_other("/admin/account", "totp-off"))
        }
        _ => Err(AdminError::BadRequest("Unknown action.".into())),
    }
}
