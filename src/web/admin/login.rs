//! Signing in and out, the second step for two-factor accounts, and one-time set-password links.
//! Failed sign-ins are counted per address and per account in the store, so the limit holds on
//! every node; unknown accounts and wrong passwords get the same answer in the same time.

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{Duration, Utc};
use serde::{Deserialize, Serialize};

use super::session::{LOGIN_COOKIE, Member, PublicForm, SESSION_COOKIE, Submitted, cookie, set_cookie};
use super::{AdminChrome, AdminError, audit, notice_text, page, page_with_status, safe_next, see_other};
use crate::auth::password::{NewPassword, burn_verify_time, hash_password, verify_password};
use crate::auth::recovery::recovery_hash;
use crate::auth::token::{new_token, token_hash};
use crate::auth::totp;
use crate::store::newsroom::{FailureScope, SessionRecord};
use crate::web::AppState;
use crate::web::client::Client;

#[derive(Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
    expired: Option<String>,
    notice: Option<String>,
}

#[derive(Serialize)]
struct LoginPage {
    chrome: AdminChrome,
    csrf: String,
    next: String,
    email: String,
    message: Option<String>,
    notice: Option<&'static str>,
}

fn fresh_token() -> Result<String, AdminError> {
    new_token().map_err(|e| AdminError::Internal(e.to_string()))
}

/// The sign-in form, with a fresh double-submit token in a cookie.
pub async fn form(State(state): State<AppState>, Query(query): Query<LoginQuery>) -> Result<Response, AdminError> {
    let token = fresh_token()?;
    let message = query.expired.is_some().then(|| "Your session has ended. Please sign in again.".to_owned());
    let context = LoginPage {
        chrome: AdminChrome::new(&state, None, "Sign in"),
        csrf: token.clone(),
        next: safe_next(query.next.as_deref()),
        email: String::new(),
        message,
        notice: notice_text(query.notice.as_deref()),
    };
    let mut response = page(&state, "admin/login.html", &context)?;
    response.headers_mut().append(header::SET_COOKIE, set_cookie(&state, LOGIN_COOKIE, &token, 3600));
    Ok(response)
}

const REFUSED: &str = "That email and password do not match an account. Check both and try again.";

pub async fn submit(
    State(state): State<AppState>,
    client: Client,
    PublicForm { form }: PublicForm,
) -> Result<Response, AdminError> {
    let now = Utc::now();
    let limits = &state.settings.newsroom;
    let window_start = now - Duration::minutes(limits.login_window_minutes);
    let email = form.text("email").trim().to_lowercase();
    let ip = client.ip.to_string();
    let next = safe_next(form.get("next"));

    let ip_failures = state.store.login_failures_since(FailureScope::Ip, &ip, window_start).await?;
    let account_failures = state.store.login_failures_since(FailureScope::Account, &email, window_start).await?;
    if ip_failures >= limits.login_failures_per_ip || account_failures >= limits.login_failures_per_account {
        return Err(AdminError::TooManyAttempts { retry_after_secs: limits.login_window_minutes * 60 });
    }

    let credentials = state.store.credentials_by_email(&email).await?;
    let password = form.text("password");
    let verified = match &credentials {
        Some(c) if !c.user.disabled => {
            let hash = c.password_hash.clone().unwrap_or_default();
            let password = password.clone();
            tokio::task::spawn_blocking(move || !hash.is_empty() && verify_password(&password, &hash))
                .await
                .unwrap_or(false)
        }
        _ => {
            tokio::task::spawn_blocking(burn_verify_time).await.ok();
            false
        }
    };
    let Some(credentials) = credentials.filter(|_| verified) else {
        state.store.record_login_failure(FailureScope::Ip, &ip, now).await?;
        state.store.record_login_failure(FailureScope::Account, &email, now).await?;
        tracing::info!(%ip, "failed sign-in");
        // The form is shown again with the token it carried: it matched the cookie, or the request
        // would not have got here.
        let context = LoginPage {
            chrome: AdminChrome::new(&state, None, "Sign in"),
            csrf: form.text("_csrf"),
            next,
            email,
            message: Some(REFUSED.to_owned()),
            notice: None,
        };
        return page_with_status(&state, axum::http::StatusCode::UNAUTHORIZED, "admin/login.html", &context);
    };
    state.store.clear_login_failures(FailureScope::Account, &email).await?;

    // A new token at every sign-in, so a token planted before sign-in is worthless after it.
    let token = fresh_token()?;
    let session = SessionRecord {
        token_hash: token_hash(&token),
        user_id: credentials.user.id,
        csrf_token: fresh_token()?,
        pending_totp: credentials.totp_secret.is_some(),
        created_at: now,
        last_seen_at: now,
        reauth_at: now,
        ip,
        user_agent: client.user_agent.clone(),
    };
    state.store.insert_session(&session).await?;
    let member = Member { user: credentials.user.clone(), session };
    audit(&state, Some(&member), "signed_in", "user", Some(member.user.id), String::new()).await;
    let target = if member.session.pending_totp {
        format!("/admin/login/totp?next={}", crate::web::percent_encode(&next))
    } else {
        next
    };
    let max_age = state.settings.newsroom.session_absolute_hours * 3600;
    let mut response = Redirect::to(&target).into_response();
    response.headers_mut().append(header::SET_COOKIE, set_cookie(&state, SESSION_COOKIE, &token, max_age));
    response.headers_mut().append(header::SET_COOKIE, set_cookie(&state, LOGIN_COOKIE, "", 0));
    Ok(response)
}

pub async fn logout(State(state): State<AppState>, submitted: Submitted) -> Result<Response, AdminError> {
    state.store.delete_session(&submitted.member.session.token_hash).await?;
    audit(&state, Some(&submitted.member), "signed_out", "user", Some(submitted.member.user.id), String::new()).await;
    let mut response = see_other("/admin/login", "signed-out");
    response.headers_mut().append(header::SET_COOKIE, set_cookie(&state, SESSION_COOKIE, "", 0));
    Ok(response)
}

#[derive(Serialize)]
struct TotpPage {
    chrome: AdminChrome,
    csrf: String,
    next: String,
    message: Option<&'static str>,
}

/// A session that has passed the password step but still owes the second factor.
async fn pending_session(state: &AppState, headers: &axum::http::HeaderMap) -> Result<SessionRecord, AdminError> {
    let sign_in = AdminError::SignInRequired { next: "/admin".into(), expired: false };
    let token =
        cookie(headers, SESSION_COOKIE).ok_or(AdminError::SignInRequired { next: "/admin".into(), expired: false })?;
    let session = state.store.session(&token_hash(&token)).await?.ok_or(sign_in)?;
    if Utc::now() - session.created_at > Duration::minutes(10) {
        state.store.delete_session(&session.token_hash).await?;
        return Err(AdminError::SignInRequired { next: "/admin".into(), expired: true });
    }
    Ok(session)
}

pub async fn totp_form(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    Query(query): Query<LoginQuery>,
) -> Result<Response, AdminError> {
    let session = pending_session(&state, &headers).await?;
    if !session.pending_totp {
        return Ok(Redirect::to("/admin").into_response());
    }
    let context = TotpPage {
        chrome: AdminChrome::new(&state, None, "Two-step sign-in"),
        csrf: session.csrf_token,
        next: safe_next(query.next.as_deref()),
        message: None,
    };
    page(&state, "admin/totp.html", &context)
}

pub async fn totp_submit(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, AdminError> {
    super::session::check_origin(&headers)?;
    let session = pending_session(&state, &headers).await?;
    let form = super::session::FormData::parse(&body)?;
    if !super::session::same_secret(form.get("_csrf").unwrap_or_default(), &session.csrf_token) {
        return Err(AdminError::CsrfFailed);
    }
    let now = Utc::now();
    let limits = &state.settings.newsroom;
    let key = session.user_id.to_string();
    let since = now - Duration::minutes(limits.login_window_minutes);
    if state.store.login_failures_since(FailureScope::Account, &key, since).await? >= limits.login_failures_per_account
    {
        state.store.delete_session(&session.token_hash).await?;
        return Err(AdminError::TooManyAttempts { retry_after_secs: limits.login_window_minutes * 60 });
    }
    let credentials = state.store.credentials_by_id(session.user_id).await?.ok_or(AdminError::Forbidden)?;
    let code = form.text("code");
    let mut accepted = false;
    if let Some(secret) = &credentials.totp_secret
        && let Some(step) = totp::verify(secret, &code, now.timestamp(), credentials.totp_last_step)
    {
        accepted = state.store.advance_totp_step(session.user_id, step).await?;
    }
    if !accepted && code.trim().len() > 8 {
        accepted = state.store.use_recovery_code(session.user_id, &recovery_hash(&code), now).await?;
    }
    if !accepted {
        state.store.record_login_failure(FailureScope::Account, &key, now).await?;
        let context = TotpPage {
            chrome: AdminChrome::new(&state, None, "Two-step sign-in"),
            csrf: session.csrf_token,
            next: safe_next(form.get("next")),
            message: Some("That code did not work. Codes change every 30 seconds; try the current one."),
        };
        return page_with_status(&state, axum::http::StatusCode::UNAUTHORIZED, "admin/totp.html", &context);
    }
    state.store.complete_session_totp(&session.token_hash).await?;
    Ok(Redirect::to(&safe_next(form.get("next"))).into_response())
}

#[derive(Serialize)]
struct SetPasswordPage {
    chrome: AdminChrome,
    csrf: String,
    token: String,
    message: Option<String>,
}

pub async fn set_password_form(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, AdminError> {
    let csrf = fresh_token()?;
    let context = SetPasswordPage {
        chrome: AdminChrome::new(&state, None, "Set your password"),
        csrf: csrf.clone(),
        token,
        message: None,
    };
    let mut response = page(&state, "admin/set_password.html", &context)?;
    response.headers_mut().append(header::SET_COOKIE, set_cookie(&state, LOGIN_COOKIE, &csrf, 3600));
    Ok(response)
}

pub async fn set_password(
    State(state): State<AppState>,
    Path(token): Path<String>,
    PublicForm { form }: PublicForm,
) -> Result<Response, AdminError> {
    let password = form.text("password");
    let refuse = |message: String| {
        let context = SetPasswordPage {
            chrome: AdminChrome::new(&state, None, "Set your password"),
            csrf: form.text("_csrf"),
            token: token.clone(),
            message: Some(message),
        };
        page_with_status(&state, axum::http::StatusCode::UNPROCESSABLE_ENTITY, "admin/set_password.html", &context)
    };
    if password != form.text("confirm") {
        return refuse("The two passwords are not the same.".into());
    }
    let password = match NewPassword::parse(&password) {
        Ok(p) => p,
        Err(e) => return refuse(e.to_string()),
    };
    let Some(user_id) = state.store.take_password_token(&token_hash(&token), Utc::now()).await? else {
        return refuse("This link has expired or was already used. Ask an administrator for a new one.".into());
    };
    let hash = hash_in_background(password).await?;
    state.store.set_password_hash(user_id, &hash).await?;
    state.store.delete_sessions_of(user_id, None).await?;
    audit(&state, None, "password_set_by_link", "user", Some(user_id), String::new()).await;
    Ok(see_other("/admin/login", "password-set"))
}

/// Argon2 takes tens of milliseconds of CPU on purpose; keep it off the async workers.
pub async fn hash_in_background(password: NewPassword) -> Result<String, AdminError> {
    tokio::task::spawn_blocking(move || hash_password(password.as_str()))
        .await
        .map_err(|e| AdminError::Internal(e.to_string()))?
        .map_err(|e| AdminError::Internal(e.to_string()))
}
