//! A member's own account: sessions (see and end them), password, email and two-step sign-in, as
//! pages over the use cases in `newsroom::account` (which ask for the current password again where
//! a change could hand the account to someone else).

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use serde::{Deserialize, Serialize};

use super::login::hashing_error;
use super::session::{Member, Submitted};
use super::{AdminChrome, AdminError, notice_text, page, page_with_status, see_other};
use crate::auth::totp;
use crate::newsroom::account::{self, AccountError, Ended, Me};
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

fn me(member: &Member) -> Me<'_> {
    Me { user_id: member.user.id, session: &member.session.token_hash }
}

/// The account page again with the member's mistake, or the error page for anything else.
async fn answer(
    state: &AppState,
    member: &Member,
    done: Result<(), AccountError>,
    notice: &str,
) -> Result<Response, AdminError> {
    match done {
        Ok(()) => Ok(see_other("/admin/account", notice)),
        Err(e @ (AccountError::WrongPassword | AccountError::Refused(_))) => {
            refuse(state, member, &e.to_string()).await
        }
        Err(e) => Err(e.into()),
    }
}

impl From<AccountError> for AdminError {
    fn from(error: AccountError) -> Self {
        match error {
            AccountError::WrongPassword | AccountError::Refused(_) | AccountError::CodeMismatch => {
                Self::BadRequest(error.to_string())
            }
            AccountError::NotFound => Self::NotFound,
            AccountError::Hashing(e) => hashing_error(e),
            AccountError::Store(e) => Self::Store(e),
            AccountError::Internal(message) => Self::Internal(message),
        }
    }
}

pub async fn change_password(
    State(state): State<AppState>,
    Submitted { member, form }: Submitted,
) -> Result<Response, AdminError> {
    let (new, confirm) = (form.text("new_password"), form.text("confirm_password"));
    let done = account::change_password(
        state.store.as_ref(),
        &state.passwords,
        me(&member),
        form.text("current_password"),
        &new,
        &confirm,
        state.clock.now(),
    )
    .await;
    answer(&state, &member, done, "password").await
}

pub async fn change_email(
    State(state): State<AppState>,
    Submitted { member, form }: Submitted,
) -> Result<Response, AdminError> {
    let done = account::change_email(
        state.store.as_ref(),
        &state.passwords,
        me(&member),
        form.text("current_password"),
        &form.text("email"),
        state.clock.now(),
    )
    .await;
    answer(&state, &member, done, "email").await
}

pub async fn revoke_session(
    State(state): State<AppState>,
    Submitted { member, form }: Submitted,
) -> Result<Response, AdminError> {
    match account::end_session(state.store.as_ref(), me(&member), &form.text("session"), state.clock.now()).await? {
        Ended::ThisOne => Ok(see_other("/admin/login", "signed-out")),
        Ended::Another => Ok(see_other("/admin/account", "revoked")),
    }
}

fn totp_setup(state: &AppState, member: &Member, secret: &[u8]) -> TotpSetup {
    TotpSetup {
        secret: totp::secret_base32(secret),
        uri: totp::otpauth_uri(&state.profile().name, &member.user.email, secret),
    }
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
            let setup = totp_setup(&state, &member, &secret);
            let context = account_page(&state, &member, None, None, Some(setup), Vec::new()).await?;
            page(&state, "admin/account.html", &context)
        }
        "confirm" => {
            let secret = data_encoding::BASE32_NOPAD
                .decode(form.text("secret").as_bytes())
                .map_err(|_| AdminError::BadRequest("The setup key was damaged; start again.".into()))?;
            match account::enable_totp(
                state.store.as_ref(),
                me(&member),
                &secret,
                &form.text("code"),
                state.clock.now(),
            )
            .await
            {
                Ok(codes) => {
                    let context =
                        account_page(&state, &member, None, notice_text(Some("totp-on")), None, codes).await?;
                    page(&state, "admin/account.html", &context)
                }
                Err(e @ AccountError::CodeMismatch) => {
                    let setup = totp_setup(&state, &member, &secret);
                    let context =
                        account_page(&state, &member, Some(e.to_string()), None, Some(setup), Vec::new()).await?;
                    page_with_status(&state, StatusCode::UNPROCESSABLE_ENTITY, "admin/account.html", &context)
                }
                Err(e) => Err(e.into()),
            }
        }
        "disable" => {
            let done = account::disable_totp(
                state.store.as_ref(),
                &state.passwords,
                me(&member),
                form.text("current_password"),
                state.clock.now(),
            )
            .await;
            answer(&state, &member, done, "totp-off").await
        }
        _ => Err(AdminError::BadRequest("Unknown action.".into())),
    }
}
