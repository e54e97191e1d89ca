//! Signing in and out, as use cases without HTTP: the password step, the session it opens, the
//! second step for accounts with two-step sign-in, and signing out. Failed attempts are counted
//! per address and per account in the store, so the limits hold on every node; an unknown account
//! and a wrong password get the same answer after the same work.

use chrono::{DateTime, Duration, Utc};

use super::account::own_line;
use crate::auth::recovery::recovery_hash;
use crate::auth::token::{new_token, token_hash};
use crate::auth::{HashingError, PasswordHashing, totp};
use crate::config::NewsroomSettings;
use crate::store::newsroom::{Credentials, FailureScope, SessionRecord};
use crate::store::{Store, StoreError};

/// How many failed sign-ins are allowed, and over how long.
#[derive(Debug, Clone, Copy)]
pub struct SignInLimits {
    pub per_address: i64,
    pub per_account: i64,
    pub window_minutes: i64,
}

impl From<&NewsroomSettings> for SignInLimits {
    fn from(settings: &NewsroomSettings) -> Self {
        Self {
            per_address: settings.login_failures_per_ip,
            per_account: settings.login_failures_per_account,
            window_minutes: settings.login_window_minutes,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// The address or the account used up its attempts; nothing was checked.
    #[error("too many failed sign-ins; try again in {retry_after_secs} s")]
    TooMany { retry_after_secs: i64 },
    /// The password could not be checked now (every slot of the hashing pool is taken), or failed;
    /// the attempt was not counted.
    #[error("password hashing: {0}")]
    Hashing(#[from] HashingError),
    #[error("storage failed: {0}")]
    Store(#[from] StoreError),
    /// The session's account is gone.
    #[error("no such account")]
    NoAccount,
    /// The system gave no random bytes for a token.
    #[error("internal error: {0}")]
    Internal(String),
}

/// The account whose address is `email` if `password` is its password, `None` if not (no such
/// account, a disabled one, one without a password, or a wrong password). The attempt is counted
/// against the address `ip` and the account before anything is checked (one atomic step each in
/// the store), so parallel guesses cannot all slip under the limits; a right password, or a check
/// that never ran because the pool was busy, takes its counts back.
pub async fn check_password(
    store: &dyn Store,
    passwords: &PasswordHashing,
    limits: SignInLimits,
    email: &str,
    password: String,
    ip: &str,
    now: DateTime<Utc>,
) -> Result<Option<Credentials>, SignInError> {
    let since = now - Duration::minutes(limits.window_minutes);
    let too_many = SignInError::TooMany { retry_after_secs: limits.window_minutes * 60 };
    if !store.reserve_login_attempt(FailureScope::Ip, ip, limits.per_address, since, now).await? {
        return Err(too_many);
    }
    if !store.reserve_login_attempt(FailureScope::Account, email, limits.per_account, since, now).await? {
        // Refused by the account's limit, not the address's: this one does not count against the address.
        store.release_login_attempt(FailureScope::Ip, ip, now).await?;
        return Err(too_many);
    }
    let credentials = store.credentials_by_email(email).await?;
    let checked = match credentials.as_ref().filter(|c| !c.user.disabled).and_then(|c| c.password_hash.clone()) {
        Some(hash) => passwords.verify(password, hash).await,
        // No account, or none that can sign in: the same work, so the answer takes as long.
        None => passwords.burn().await.map(|()| false),
    };
    let verified = match checked {
        Ok(verified) => verified,
        Err(e) => {
            store.release_login_attempt(FailureScope::Ip, ip, now).await?;
            store.release_login_attempt(FailureScope::Account, email, now).await?;
            return Err(e.into());
        }
    };
    if !verified {
        return Ok(None);
    }
    store.release_login_attempt(FailureScope::Ip, ip, now).await?;
    store.clear_login_failures(FailureScope::Account, email).await?;
    Ok(credentials)
}

/// The second step for an account with two-step sign-in: whether `code`, from the authenticator
/// app or one of the account's recovery codes, is right for `session` (which has passed the
/// password step). It is counted against the account before it is checked, in one atomic step, so
/// parallel guesses cannot all get under the limit; at the limit the half-signed-in session ends. A
/// right code takes its count back and completes the session; an app code is good once.
pub async fn check_second_factor(
    store: &dyn Store,
    limits: SignInLimits,
    session: &SessionRecord,
    code: &str,
    now: DateTime<Utc>,
) -> Result<bool, SignInError> {
    let key = session.user_id.to_string();
    let since = now - Duration::minutes(limits.window_minutes);
    if !store.reserve_login_attempt(FailureScope::Account, &key, limits.per_account, since, now).await? {
        store.delete_session(&session.token_hash).await?;
        return Err(SignInError::TooMany { retry_after_secs: limits.window_minutes * 60 });
    }
    let credentials = store.credentials_by_id(session.user_id).await?.ok_or(SignInError::NoAccount)?;
    let mut accepted = false;
    if let Some(secret) = &credentials.totp_secret
        && let Some(step) = totp::verify(secret, code, now.timestamp(), credentials.totp_last_step)
    {
        accepted = store.advance_totp_step(session.user_id, step).await?;
    }
    if !accepted && code.trim().len() > 8 {
        accepted = store.use_recovery_code(session.user_id, &recovery_hash(code), now).await?;
    }
    if accepted {
        store.release_login_attempt(FailureScope::Account, &key, now).await?;
        store.complete_session_totp(&session.token_hash).await?;
    }
    Ok(accepted)
}

/// Opens a session for the account whose password was just accepted, from address `ip` with
/// `user_agent`; for an account with two-step sign-in it still owes the second step. Returns the
/// session's token (for the cookie; only its hash is stored) and the session. The session and its
/// audit line are one write.
pub async fn open_session(
    store: &dyn Store,
    credentials: &Credentials,
    ip: String,
    user_agent: String,
    now: DateTime<Utc>,
) -> Result<(String, SessionRecord), SignInError> {
    let fresh = || new_token().map_err(|e| SignInError::Internal(e.to_string()));
    // A new token at every sign-in, so a token planted before sign-in is worthless after it.
    let token = fresh()?;
    let session = SessionRecord {
        token_hash: token_hash(&token),
        user_id: credentials.user.id,
        csrf_token: fresh()?,
        pending_totp: credentials.totp_secret.is_some(),
        created_at: now,
        last_seen_at: now,
        reauth_at: now,
        ip,
        user_agent,
    };
    store.insert_session(&session, &own_line(credentials.user.id, "signed_in", String::new(), now)).await?;
    Ok((token, session))
}

/// Ends `session`, the one the member signs out from, with its audit line.
pub async fn sign_out(store: &dyn Store, session: &SessionRecord, now: DateTime<Utc>) -> Result<(), SignInError> {
    store.end_session(&session.token_hash, &own_line(session.user_id, "signed_out", String::new(), now)).await?;
    Ok(())
}
