//! Signing in and out, the second step for two-factor accounts, and one-time set-password links.
//! The password step and its limits are `newsroom::sign_in`.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Duration;
use serde::{Deserialize, Serialize};

use super::session::{LOGIN_COOKIE, Member, PublicForm, SESSION_COOKIE, Submitted, cookie, set_cookie};
use super::{AdminChrome, AdminError, notice_text, page, page_with_status, safe_next, see_other};
use crate::auth::HashingError;
use crate::auth::token::{new_token, token_hash};
use crate::newsroom::account::{self, AccountError};
use crate::newsroom::sign_in::{self, SignInError, SignInLimits};
use crate::store::newsroom::SessionRecord;
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
const BUSY: &str = "Many sign-ins are being checked at this moment, so yours was not. Nothing is wrong with \
                    your account; please sign in again in a few seconds.";
/// What a "busy" answer asks the browser to wait, in seconds.
const BUSY_RETRY_SECS: u32 = 2;

fn sign_in_error(e: SignInError) -> AdminError {
    match e {
        SignInError::TooMany { retry_after_secs } => AdminError::TooManyAttempts { retry_after_secs },
        SignInError::Hashing(e) => hashing_error(e),
        SignInError::Store(e) => e.into(),
        SignInError::NoAccount => AdminError::Forbidden,
        SignInError::Internal(message) => AdminError::Internal(message),
    }
}

pub(super) fn hashing_error(e: HashingError) -> AdminError {
    match e {
        HashingError::Busy => AdminError::Busy { retry_after_secs: BUSY_RETRY_SECS },
        HashingError::Failed(e) => AdminError::Internal(e.to_string()),
    }
}

pub async fn submit(
    State(state): State<AppState>,
    client: Client,
    PublicForm { form }: PublicForm,
) -> Result<Response, AdminError> {
    let now = state.clock.now();
    let email = form.text("email").trim().to_lowercase();
    let ip = client.ip.to_string();
    let next = safe_next(form.get("next"));
    let login_page = |status: StatusCode, message: &str| {
        // The form is shown again with the token it carried (it matched the cookie, or the request
        // would not have got here) and the address as typed.
        let context = LoginPage {
            chrome: AdminChrome::new(&state, None, "Sign in"),
            csrf: form.text("_csrf"),
            next: next.clone(),
            email: email.clone(),
            message: Some(message.to_owned()),
            notice: None,
        };
        page_with_status(&state, status, "admin/login.html", &context)
    };
    let limits = SignInLimits::from(&state.settings.newsroom);
    let checked = sign_in::check_password(
        state.store.as_ref(),
        &state.passwords,
        limits,
        &email,
        form.text("password"),
        &ip,
        now,
    )
    .await;
    let credentials = match checked {
        Ok(Some(credentials)) => credentials,
        Ok(None) => {
            tracing::info!(%ip, "failed sign-in");
            return login_page(StatusCode::UNAUTHORIZED, REFUSED);
        }
        Err(SignInError::Hashing(HashingError::Busy)) => {
            let mut response = login_page(StatusCode::SERVICE_UNAVAILABLE, BUSY)?;
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(BUSY_RETRY_SECS));
            return Ok(response);
        }
        Err(e) => return Err(sign_in_error(e)),
    };

    let opened = sign_in::open_session(state.store.as_ref(), &credentials, ip, client.user_agent.clone(), now).await;
    let (token, session) = opened.map_err(sign_in_error)?;
    let member = Member { user: credentials.user.clone(), session };
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
    sign_in::sign_out(state.store.as_ref(), &submitted.member.session, state.clock.now())
        .await
        .map_err(sign_in_error)?;
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
    if state.clock.now() - session.created_at > Duration::minutes(10) {
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
    let limits = SignInLimits::from(&state.settings.newsroom);
    let code = form.text("code");
    let accepted = sign_in::check_second_factor(state.store.as_ref(), limits, &session, &code, state.clock.now())
        .await
        .map_err(sign_in_error)?;
    if !accepted {
        let context = TotpPage {
            chrome: AdminChrome::new(&state, None, "Two-step sign-in"),
            csrf: session.csrf_token,
            next: safe_next(form.get("next")),
            message: Some("That code did not work. Codes change every 30 seconds; try the current one."),
        };
        return page_with_status(&state, StatusCode::UNAUTHORIZED, "admin/totp.html", &context);
    }
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
        page_with_status(&state, StatusCode::UNPROCESSABLE_ENTITY, "admin/set_password.html", &context)
    };
    match account::set_password_with_link(
        state.store.as_ref(),
        &state.passwords,
        &token,
        &password,
        &form.text("confirm"),
        state.clock.now(),
    )
    .await
    {
        Ok(()) => Ok(see_other("/admin/login", "password-set")),
        Err(AccountError::Refused(message)) => refuse(message),
        Err(AccountError::NotFound) => refuse(LINK_USED.into()),
        Err(e) => Err(e.into()),
    }
}

const LINK_USED: &str = "This link has expired, was already used, or a newer link was sent since. Ask an \
                         administrator for a new one.";
