//! A member's own account as use cases without HTTP: a new password, a new e-mail address, ending
//! one of their sessions, turning two-step sign-in on and off, and setting the password with a
//! one-time link. What could hand the account to someone else (the password, the address, turning
//! two-step sign-in off) asks for the current password first, and a right answer is remembered on
//! the session as a fresh re-authentication. Each change and its audit line are one write in the
//! store.

use chrono::{DateTime, Utc};

use crate::auth::password::NewPassword;
use crate::auth::token::token_hash;
use crate::auth::{HashingError, PasswordHashing, recovery, totp};
use crate::domain::{Email, UserId};
use crate::store::newsroom::NewAuditEntry;
use crate::store::{Store, StoreError};

/// The member acting on their own account, through the session they are signed in with.
#[derive(Debug, Clone, Copy)]
pub struct Me<'a> {
    pub user_id: UserId,
    /// The hash of the session's token, as the store keeps it.
    pub session: &'a str,
}

impl Me<'_> {
    fn audit(&self, action: &str, detail: String, now: DateTime<Utc>) -> NewAuditEntry {
        own_line(self.user_id, action, detail, now)
    }
}

/// An audit line by member `user` about their own account.
pub(super) fn own_line(user: UserId, action: &str, detail: String, now: DateTime<Utc>) -> NewAuditEntry {
    NewAuditEntry::new(Some(user), action, "user", Some(user.0), detail, now)
}

/// Why a change to one's own account was not made.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("Your current password was not right; nothing was changed.")]
    WrongPassword,
    /// What was asked for cannot be done as given; the message says why, for the member.
    #[error("{0}")]
    Refused(String),
    /// The code from the authenticator app did not match the new secret.
    #[error("That code did not match. Check the time on your phone and try the current code.")]
    CodeMismatch,
    #[error("not found")]
    NotFound,
    /// The password could not be checked or hashed now (the pool is busy), or failed.
    #[error("password hashing: {0}")]
    Hashing(#[from] HashingError),
    #[error("storage failed: {0}")]
    Store(#[from] StoreError),
    /// The system gave no random bytes, say.
    #[error("internal error: {0}")]
    Internal(String),
}

/// Checks `current` against the account's password, off the async workers, and records the
/// session's re-authentication when it is right.
async fn reauthenticate(
    store: &dyn Store,
    passwords: &PasswordHashing,
    me: Me<'_>,
    current: String,
    now: DateTime<Utc>,
) -> Result<(), AccountError> {
    let credentials = store.credentials_by_id(me.user_id).await?.ok_or(AccountError::NotFound)?;
    let right = match credentials.password_hash {
        Some(phc) => passwords.verify(current, phc).await?,
        None => false,
    };
    if !right {
        return Err(AccountError::WrongPassword);
    }
    store.set_session_reauth(me.session, now).await?;
    Ok(())
}

/// Replaces the password with `new` (typed twice: `confirm`). The new password is then the only
/// way in: the member's other sessions end and an unused set-password link (one that leaked, say)
/// stops working, in the same write.
pub async fn change_password(
    store: &dyn Store,
    passwords: &PasswordHashing,
    me: Me<'_>,
    current: String,
    new: &str,
    confirm: &str,
    now: DateTime<Utc>,
) -> Result<(), AccountError> {
    reauthenticate(store, passwords, me, current, now).await?;
    if new != confirm {
        return Err(AccountError::Refused("The two new passwords are not the same.".into()));
    }
    let new = NewPassword::parse(new).map_err(|e| AccountError::Refused(e.to_string()))?;
    let hash = passwords.hash(new).await?;
    let line = me.audit("password_changed", String::new(), now);
    store.change_password(me.user_id, &hash, Some(me.session), now, &line).await?;
    Ok(())
}

/// Makes `email` the address the member signs in with.
pub async fn change_email(
    store: &dyn Store,
    passwords: &PasswordHashing,
    me: Me<'_>,
    current: String,
    email: &str,
    now: DateTime<Utc>,
) -> Result<(), AccountError> {
    reauthenticate(store, passwords, me, current, now).await?;
    let email =
        Email::parse(email).map_err(|e| AccountError::Refused(format!("That email address is not usable: {e}.")))?;
    let line = me.audit("email_changed", email.as_str().to_owned(), now);
    match store.set_user_email(me.user_id, email.as_str(), &line).await {
        Err(StoreError::Conflict(_)) => {
            Err(AccountError::Refused("Another account already uses that email address.".into()))
        }
        other => Ok(other?),
    }
}

/// Which session [`end_session`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The one the member is using: they are signed out.
    ThisOne,
    Another,
}

/// Ends the member's session whose token hash is `target`; only their own sessions can be ended
/// this way (any other is not found).
pub async fn end_session(
    store: &dyn Store,
    me: Me<'_>,
    target: &str,
    now: DateTime<Utc>,
) -> Result<Ended, AccountError> {
    let own = store.sessions_of(me.user_id).await?;
    if !own.iter().any(|s| s.token_hash == target) {
        return Err(AccountError::NotFound);
    }
    store.end_session(target, &me.audit("session_revoked", String::new(), now)).await?;
    Ok(if target == me.session { Ended::ThisOne } else { Ended::Another })
}

/// Turns two-step sign-in on with `secret` (shown to the member when they started) once `code`,
/// from their authenticator app, matches it. Returns the recovery codes, to be shown once; only
/// their hashes are kept.
pub async fn enable_totp(
    store: &dyn Store,
    me: Me<'_>,
    secret: &[u8],
    code: &str,
    now: DateTime<Utc>,
) -> Result<Vec<String>, AccountError> {
    let step = totp::verify(secret, code, now.timestamp(), None).ok_or(AccountError::CodeMismatch)?;
    let codes = recovery::new_recovery_codes().map_err(|e| AccountError::Internal(e.to_string()))?;
    let hashes: Vec<String> = codes.iter().map(|c| recovery::recovery_hash(c)).collect();
    store.set_totp(me.user_id, Some((secret, step)), &hashes, &me.audit("totp_enabled", String::new(), now)).await?;
    Ok(codes)
}

/// Turns two-step sign-in off; its recovery codes go with it.
pub async fn disable_totp(
    store: &dyn Store,
    passwords: &PasswordHashing,
    me: Me<'_>,
    current: String,
    now: DateTime<Utc>,
) -> Result<(), AccountError> {
    reauthenticate(store, passwords, me, current, now).await?;
    store.set_totp(me.user_id, None, &[], &me.audit("totp_disabled", String::new(), now)).await?;
    Ok(())
}

/// Sets the password of the account that one-time link `token` (from `/admin/set-password/…`)
/// was made for, typed twice (`confirm`). Taking the link, the new password, ending the account's
/// sessions and the audit line are one write: a crash leaves the link unused, or the password set
/// and every old session gone. Not found: the link expired, was used, or a newer one was sent.
pub async fn set_password_with_link(
    store: &dyn Store,
    passwords: &PasswordHashing,
    token: &str,
    password: &str,
    confirm: &str,
    now: DateTime<Utc>,
) -> Result<(), AccountError> {
    if password != confirm {
        return Err(AccountError::Refused("The two passwords are not the same.".into()));
    }
    let password = NewPassword::parse(password).map_err(|e| AccountError::Refused(e.to_string()))?;
    // Hashed before the link is taken: if the server is too busy to hash, the link still works.
    let hash = passwords.hash(password).await?;
    let line = NewAuditEntry::new(None, "password_set_by_link", "user", None, String::new(), now);
    match store.set_password_by_link(&token_hash(token), &hash, now, &line).await? {
        Some(_) => Ok(()),
        None => Err(AccountError::NotFound),
    }
}
