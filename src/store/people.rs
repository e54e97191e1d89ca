//! People and their ways in: accounts, roles, passwords, two-factor codes, one-time links, sessions
//! and the sign-in limits.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::audit::commit_with;
use super::newsroom::{Credentials, FailureScope, NewAuditEntry, NewUser, SessionRecord};
use super::shared::{
    RESERVE_LOGIN_ATTEMPT, REVOKE_PASSWORD_TOKENS, SESSION_COLUMNS, USER_COLUMNS, byline_slug_base,
    credentials_from_row, is_foreign_key_violation, is_unique_violation, session_from_row, to_unix, to_unix_ms,
    touched, user_from_row,
};
use super::sql::{Dialect, Row, Tx, sql, sql_built};
use super::{SqlStore, StoreError, StoreResult};
use crate::domain::{Role, User, UserId};

pub(super) enum UserKey<'a> {
    Id(UserId),
    Email(&'a str),
}

impl SqlStore {
    async fn user_row(&self, key: UserKey<'_>) -> StoreResult<Option<Row>> {
        let query = match key {
            UserKey::Id(id) => sql_built(format!("{USER_COLUMNS} WHERE u.id = $1")).bind(id),
            // Addresses are unique by lower(email) (an index), so this matches whatever case the
            // address was typed in.
            UserKey::Email(email) => sql_built(format!("{USER_COLUMNS} WHERE lower(u.email) = lower($1)")).bind(email),
        };
        Ok(query.fetch_optional(&self.db).await?)
    }
}

#[async_trait]
pub trait PeopleRepo: Send + Sync {
    // Accounts.
    /// Creates the account and its byline (an author with a unique slug from the name), with
    /// `audit` (about the new account), in one transaction.
    async fn insert_user(&self, user: NewUser, audit: &NewAuditEntry) -> StoreResult<User>;

    /// Creates the account (as [`PeopleRepo::insert_user`]) with a one-time link to set its password
    /// (`token_hash`, working until `expires_at`) and `audit` (about the new account), in one
    /// transaction.
    async fn invite_user(
        &self,
        user: NewUser,
        token_hash: &str,
        expires_at: DateTime<Utc>,
        audit: &NewAuditEntry,
    ) -> StoreResult<User>;

    async fn users(&self) -> StoreResult<Vec<User>>;

    async fn user_by_id(&self, id: UserId) -> StoreResult<Option<User>>;

    async fn credentials_by_email(&self, email: &str) -> StoreResult<Option<Credentials>>;

    async fn credentials_by_id(&self, id: UserId) -> StoreResult<Option<Credentials>>;

    // The role, disabling, the address, passwords, two-step sign-in and one-time links: each
    // change records its `audit` line in its own transaction.
    async fn set_user_role(&self, id: UserId, role: Role, audit: &NewAuditEntry) -> StoreResult<()>;

    /// Disabling also ends every session of the account.
    async fn set_user_disabled(
        &self,
        id: UserId,
        disabled: bool,
        at: DateTime<Utc>,
        audit: &NewAuditEntry,
    ) -> StoreResult<()>;

    /// Changes the sign-in address and the byline's address with it.
    async fn set_user_email(&self, id: UserId, email: &str, audit: &NewAuditEntry) -> StoreResult<()>;

    /// Sets a new password hash, ends every session of the account but `keep` (the one that made the
    /// change) and revokes every unused one-time link as of `at`, all at once: once the change is
    /// stored, the new password is the only way in.
    async fn change_password(
        &self,
        id: UserId,
        hash: &str,
        keep: Option<&str>,
        at: DateTime<Utc>,
        audit: &NewAuditEntry,
    ) -> StoreResult<()>;

    /// Turns two-factor on (with fresh recovery code hashes and the step of the code that confirmed
    /// it, which cannot be used again) or off (`None`, codes dropped).
    async fn set_totp(
        &self,
        id: UserId,
        secret: Option<(&[u8], i64)>,
        recovery_hashes: &[String],
        audit: &NewAuditEntry,
    ) -> StoreResult<()>;

    /// Records the last accepted TOTP step; false if `step` is not newer than the stored one (replay).
    async fn advance_totp_step(&self, id: UserId, step: i64) -> StoreResult<bool>;

    /// Marks a recovery code used; false if it does not exist or was used already.
    async fn use_recovery_code(&self, id: UserId, code_hash: &str, at: DateTime<Utc>) -> StoreResult<bool>;

    /// Stores a new one-time link and, in the same transaction, revokes every earlier unused link of
    /// the user as of `now`: only the newest link works, so an older one that leaked is worthless.
    async fn insert_password_token(
        &self,
        token_hash: &str,
        user_id: UserId,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
        audit: &NewAuditEntry,
    ) -> StoreResult<()>;

    /// Sets a password with a one-time link: takes the link (if unused and unexpired; exactly
    /// once), revokes the user's other unused links, stores `hash`, ends every session of the
    /// account and records `audit` (about the user), in one transaction. `None`, and nothing
    /// written, when the link does not work.
    async fn set_password_by_link(
        &self,
        token_hash: &str,
        hash: &str,
        now: DateTime<Utc>,
        audit: &NewAuditEntry,
    ) -> StoreResult<Option<UserId>>;

    // Sessions and sign-in limits.
    /// Begins a session (a sign-in), with `audit`, in one transaction.
    async fn insert_session(&self, session: &SessionRecord, audit: &NewAuditEntry) -> StoreResult<()>;

    async fn session(&self, token_hash: &str) -> StoreResult<Option<SessionRecord>>;

    async fn touch_session(&self, token_hash: &str, at: DateTime<Utc>) -> StoreResult<()>;

    async fn complete_session_totp(&self, token_hash: &str) -> StoreResult<()>;

    async fn set_session_reauth(&self, token_hash: &str, at: DateTime<Utc>) -> StoreResult<()>;

    /// Ends a session that a member ends (signing out, or ending one of their sessions elsewhere),
    /// with `audit`, in one transaction.
    async fn end_session(&self, token_hash: &str, audit: &NewAuditEntry) -> StoreResult<()>;

    /// Drops a session that can no longer be used (expired, its account disabled, its second
    /// factor failed): housekeeping, with no audit line.
    async fn delete_session(&self, token_hash: &str) -> StoreResult<()>;

    /// Newest first.
    async fn sessions_of(&self, user_id: UserId) -> StoreResult<Vec<SessionRecord>>;

    /// Removes sessions idle since before `idle_before` or created before `created_before`.
    async fn delete_expired_sessions(
        &self,
        idle_before: DateTime<Utc>,
        created_before: DateTime<Utc>,
    ) -> StoreResult<u64>;

    async fn record_login_failure(&self, scope: FailureScope, key: &str, at: DateTime<Utc>) -> StoreResult<()>;

    /// Counts one attempt against `key` (a row in the failures, stamped `at`) if fewer than `limit`
    /// were counted since `since`, as one atomic step; false, and nothing counted, at the limit.
    /// Sign-in counts the attempt before it checks anything, so parallel guesses cannot all pass
    /// the limit before any of them is counted; an attempt that succeeds (or was never checked)
    /// takes its count back with [`PeopleRepo::release_login_attempt`].
    async fn reserve_login_attempt(
        &self,
        scope: FailureScope,
        key: &str,
        limit: i64,
        since: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> StoreResult<bool>;

    /// Takes back one attempt counted by [`PeopleRepo::reserve_login_attempt`] with the same `at`.
    async fn release_login_attempt(&self, scope: FailureScope, key: &str, at: DateTime<Utc>) -> StoreResult<()>;

    async fn login_failures_since(&self, scope: FailureScope, key: &str, since: DateTime<Utc>) -> StoreResult<i64>;

    async fn clear_login_failures(&self, scope: FailureScope, key: &str) -> StoreResult<()>;

    /// Forgets failures older than `before` (they no longer count towards any limit).
    async fn prune_login_failures(&self, before: DateTime<Utc>) -> StoreResult<u64>;
}

/// Inserts the account and its byline (an author with a unique slug from the name) in `tx`.
async fn insert_user_in(tx: &mut Tx, user: &NewUser) -> StoreResult<User> {
    let base = byline_slug_base(&user.name);
    let mut n = 1u32;
    let author_id: i64 = loop {
        let slug = if n == 1 { base.clone() } else { format!("{base}-{n}") };
        let id: Option<i64> = sql("INSERT INTO authors (slug, name, email, bio) VALUES ($1, $2, $3, '') \
             ON CONFLICT (slug) DO NOTHING RETURNING id")
        .bind(&slug)
        .bind(&user.name)
        .bind(&user.email)
        .scalar_optional(&mut *tx)
        .await?;
        if let Some(id) = id {
            break id;
        }
        n += 1;
    };
    let id: UserId = sql("INSERT INTO users (email, name, role, password_hash, author_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id")
    .bind(&user.email)
    .bind(&user.name)
    .bind(user.role)
    .bind(&user.password_hash)
    .bind(author_id)
    .bind(to_unix(user.created_at))
    .scalar_one(&mut *tx)
    .await
    .map_err(|e| if is_unique_violation(&e) { StoreError::Conflict("email".into()) } else { e.into() })?;
    let row = sql_built(format!("{USER_COLUMNS} WHERE u.id = $1")).bind(id).fetch_one(&mut *tx).await?;
    user_from_row(&row)
}

/// Stores a new password hash in `tx`, ends every session of the account except `keep` and revokes
/// its unused one-time links as of `now`: afterwards the new password is the only way in.
async fn set_password_in(
    tx: &mut Tx,
    id: UserId,
    hash: &str,
    keep: Option<&str>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let done = sql("UPDATE users SET password_hash = $1 WHERE id = $2").bind(hash).bind(id).execute(&mut *tx).await?;
    touched(done, || format!("user {id}"))?;
    sql(REVOKE_PASSWORD_TOKENS).bind(id).bind(to_unix(now)).execute(&mut *tx).await?;
    sql("DELETE FROM sessions WHERE user_id = $1 AND ($2 IS NULL OR token_hash <> $2)")
        .bind(id)
        .bind(keep)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Stores a one-time link in `tx`, revoking the user's earlier unused links as of `now`.
async fn insert_token_in(
    tx: &mut Tx,
    token_hash: &str,
    user_id: UserId,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    // Older links are revoked as of now: a link only ever works until a newer one is made.
    sql(REVOKE_PASSWORD_TOKENS).bind(user_id).bind(to_unix(now)).execute(&mut *tx).await?;
    sql("INSERT INTO password_tokens (token_hash, user_id, expires_at) VALUES ($1, $2, $3)")
        .bind(token_hash)
        .bind(user_id)
        .bind(to_unix(expires_at))
        .execute(&mut *tx)
        .await
        .map_err(|e| match &e {
            _ if is_unique_violation(&e) => StoreError::Conflict("password token".into()),
            _ if is_foreign_key_violation(&e) => StoreError::Missing(format!("user {user_id}")),
            _ => e.into(),
        })?;
    Ok(())
}

#[async_trait]
impl PeopleRepo for SqlStore {
    async fn insert_user(&self, user: NewUser, audit: &NewAuditEntry) -> StoreResult<User> {
        let mut tx = self.db.begin().await?;
        let stored = insert_user_in(&mut tx, &user).await?;
        commit_with(tx, &audit.about(stored.id.0)).await?;
        Ok(stored)
    }

    async fn invite_user(
        &self,
        user: NewUser,
        token_hash: &str,
        expires_at: DateTime<Utc>,
        audit: &NewAuditEntry,
    ) -> StoreResult<User> {
        let mut tx = self.db.begin().await?;
        let stored = insert_user_in(&mut tx, &user).await?;
        insert_token_in(&mut tx, token_hash, stored.id, expires_at, user.created_at).await?;
        commit_with(tx, &audit.about(stored.id.0)).await?;
        Ok(stored)
    }

    async fn users(&self) -> StoreResult<Vec<User>> {
        let rows = sql_built(format!("{USER_COLUMNS} ORDER BY u.name, u.id")).fetch_all(&self.db).await?;
        rows.iter().map(user_from_row).collect()
    }

    async fn user_by_id(&self, id: UserId) -> StoreResult<Option<User>> {
        self.user_row(UserKey::Id(id)).await?.as_ref().map(user_from_row).transpose()
    }

    async fn credentials_by_email(&self, email: &str) -> StoreResult<Option<Credentials>> {
        self.user_row(UserKey::Email(email)).await?.as_ref().map(credentials_from_row).transpose()
    }

    async fn credentials_by_id(&self, id: UserId) -> StoreResult<Option<Credentials>> {
        self.user_row(UserKey::Id(id)).await?.as_ref().map(credentials_from_row).transpose()
    }

    async fn set_user_role(&self, id: UserId, role: Role, audit: &NewAuditEntry) -> StoreResult<()> {
        let mut tx = self.db.begin().await?;
        let done = sql("UPDATE users SET role = $1 WHERE id = $2").bind(role).bind(id).execute(&mut tx).await?;
        touched(done, || format!("user {id}"))?;
        commit_with(tx, audit).await?;
        Ok(())
    }

    async fn set_user_disabled(
        &self,
        id: UserId,
        disabled: bool,
        at: DateTime<Utc>,
        audit: &NewAuditEntry,
    ) -> StoreResult<()> {
        let mut tx = self.db.begin().await?;
        let done = sql("UPDATE users SET disabled_at = $1 WHERE id = $2")
            .bind(disabled.then(|| to_unix(at)))
            .bind(id)
            .execute(&mut tx)
            .await?;
        touched(done, || format!("user {id}"))?;
        if disabled {
            sql("DELETE FROM sessions WHERE user_id = $1").bind(id).execute(&mut tx).await?;
        }
        commit_with(tx, audit).await?;
        Ok(())
    }

    async fn set_user_email(&self, id: UserId, email: &str, audit: &NewAuditEntry) -> StoreResult<()> {
        let mut tx = self.db.begin().await?;
        let author_id: Option<i64> = sql("UPDATE users SET email = $1 WHERE id = $2 RETURNING author_id")
            .bind(email)
            .bind(id)
            .scalar_optional(&mut tx)
            .await
            .map_err(|e| if is_unique_violation(&e) { StoreError::Conflict("email".into()) } else { e.into() })?;
        let author_id = author_id.ok_or_else(|| StoreError::Missing(format!("user {id}")))?;
        // The byline was made with the account's address; keep the two the same.
        sql("UPDATE authors SET email = $1 WHERE id = $2").bind(email).bind(author_id).execute(&mut tx).await?;
        commit_with(tx, audit).await?;
        Ok(())
    }

    async fn change_password(
        &self,
        id: UserId,
        hash: &str,
        keep: Option<&str>,
        at: DateTime<Utc>,
        audit: &NewAuditEntry,
    ) -> StoreResult<()> {
        let mut tx = self.db.begin().await?;
        set_password_in(&mut tx, id, hash, keep, at).await?;
        commit_with(tx, audit).await?;
        Ok(())
    }

    async fn set_totp(
        &self,
        id: UserId,
        secret: Option<(&[u8], i64)>,
        recovery_hashes: &[String],
        audit: &NewAuditEntry,
    ) -> StoreResult<()> {
        let mut tx = self.db.begin().await?;
        let done = sql("UPDATE users SET totp_secret = $1 WHERE id = $2")
            .bind(secret.map(|(secret, _)| secret))
            .bind(id)
            .execute(&mut tx)
            .await?;
        touched(done, || format!("user {id}"))?;
        // The step that confirmed the secret is used: the same code cannot sign in. Turning
        // two-factor off leaves the last step as it is (steps are clock time).
        if let Some((_, step)) = secret {
            sql("UPDATE users SET totp_last_step = $1 WHERE id = $2 AND (totp_last_step IS NULL OR totp_last_step < $3)")
                .bind(step)
                .bind(id)
                .bind(step)
                .execute(&mut tx)
                .await?;
        }
        sql("DELETE FROM recovery_codes WHERE user_id = $1").bind(id).execute(&mut tx).await?;
        if secret.is_some() {
            for hash in recovery_hashes {
                sql("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2) \
                     ON CONFLICT (user_id, code_hash) DO NOTHING")
                .bind(id)
                .bind(hash)
                .execute(&mut tx)
                .await?;
            }
        }
        commit_with(tx, audit).await?;
        Ok(())
    }

    async fn advance_totp_step(&self, id: UserId, step: i64) -> StoreResult<bool> {
        let done = sql(
            "UPDATE users SET totp_last_step = $1 WHERE id = $2 AND (totp_last_step IS NULL OR totp_last_step < $3)",
        )
        .bind(step)
        .bind(id)
        .bind(step)
        .execute(&self.db)
        .await?;
        Ok(done == 1)
    }

    async fn use_recovery_code(&self, id: UserId, code_hash: &str, at: DateTime<Utc>) -> StoreResult<bool> {
        let done =
            sql("UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL")
                .bind(to_unix(at))
                .bind(id)
                .bind(code_hash)
                .execute(&self.db)
                .await?;
        Ok(done == 1)
    }

    async fn insert_password_token(
        &self,
        token_hash: &str,
        user_id: UserId,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
        audit: &NewAuditEntry,
    ) -> StoreResult<()> {
        let mut tx = self.db.begin().await?;
        insert_token_in(&mut tx, token_hash, user_id, expires_at, now).await?;
        commit_with(tx, audit).await?;
        Ok(())
    }

    async fn set_password_by_link(
        &self,
        token_hash: &str,
        hash: &str,
        now: DateTime<Utc>,
        audit: &NewAuditEntry,
    ) -> StoreResult<Option<UserId>> {
        let mut tx = self.db.begin().await?;
        // One conditional update: of two concurrent takers, only one sees the row unused.
        let user_id: Option<UserId> = sql("UPDATE password_tokens SET used_at = $1 \
             WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 RETURNING user_id")
        .bind(to_unix(now))
        .bind(token_hash)
        .scalar_optional(&mut tx)
        .await?;
        let Some(user_id) = user_id else { return Ok(None) };
        set_password_in(&mut tx, user_id, hash, None, now).await?;
        commit_with(tx, &audit.about(user_id.0)).await?;
        Ok(Some(user_id))
    }

    async fn insert_session(&self, session: &SessionRecord, audit: &NewAuditEntry) -> StoreResult<()> {
        let mut tx = self.db.begin().await?;
        sql("INSERT INTO sessions (token_hash, user_id, csrf_token, pending_totp, created_at_ms, last_seen_at_ms, \
             reauth_at_ms, ip, user_agent) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
        .bind(&session.token_hash)
        .bind(session.user_id)
        .bind(&session.csrf_token)
        .bind(i64::from(session.pending_totp))
        .bind(to_unix_ms(session.created_at))
        .bind(to_unix_ms(session.last_seen_at))
        .bind(to_unix_ms(session.reauth_at))
        .bind(&session.ip)
        .bind(&session.user_agent)
        .execute(&mut tx)
        .await
        .map_err(|e| match &e {
            _ if is_unique_violation(&e) => StoreError::Conflict("session".into()),
            _ if is_foreign_key_violation(&e) => StoreError::Missing(format!("user {}", session.user_id)),
            _ => e.into(),
        })?;
        commit_with(tx, audit).await?;
        Ok(())
    }

    async fn session(&self, token_hash: &str) -> StoreResult<Option<SessionRecord>> {
        let row = sql_built(format!("{SESSION_COLUMNS} WHERE token_hash = $1"))
            .bind(token_hash)
            .fetch_optional(&self.db)
            .await?;
        row.as_ref().map(session_from_row).transpose()
    }

    async fn touch_session(&self, token_hash: &str, at: DateTime<Utc>) -> StoreResult<()> {
        sql("UPDATE sessions SET last_seen_at_ms = $1 WHERE token_hash = $2")
            .bind(to_unix_ms(at))
            .bind(token_hash)
            .execute(&self.db)
            .await?;
        Ok(())
    }

    async fn complete_session_totp(&self, token_hash: &str) -> StoreResult<()> {
        sql("UPDATE sessions SET pending_totp = 0 WHERE token_hash = $1").bind(token_hash).execute(&self.db).await?;
        Ok(())
    }

    async fn set_session_reauth(&self, token_hash: &str, at: DateTime<Utc>) -> StoreResult<()> {
        sql("UPDATE sessions SET reauth_at_ms = $1 WHERE token_hash = $2")
            .bind(to_unix_ms(at))
            .bind(token_hash)
            .execute(&self.db)
            .await?;
        Ok(())
    }

    async fn end_session(&self, token_hash: &str, audit: &NewAuditEntry) -> StoreResult<()> {
        let mut tx = self.db.begin().await?;
        sql("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash).execute(&mut tx).await?;
        commit_with(tx, audit).await?;
        Ok(())
    }

    async fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
        sql("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash).execute(&self.db).await?;
        Ok(())
    }

    async fn sessions_of(&self, user_id: UserId) -> StoreResult<Vec<SessionRecord>> {
        // Newest first, to the millisecond; sessions begun in the same millisecond come most
        // recently used first, then by token hash, the same on both databases.
        let rows = sql_built(format!(
            "{SESSION_COLUMNS} WHERE user_id = $1 ORDER BY created_at_ms DESC, last_seen_at_ms DESC, token_hash"
        ))
        .bind(user_id)
        .fetch_all(&self.db)
        .await?;
        rows.iter().map(session_from_row).collect()
    }

    async fn delete_expired_sessions(
        &self,
        idle_before: DateTime<Utc>,
        created_before: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let done = sql("DELETE FROM sessions WHERE last_seen_at_ms < $1 OR created_at_ms < $2")
            .bind(to_unix_ms(idle_before))
            .bind(to_unix_ms(created_before))
            .execute(&self.db)
            .await?;
        Ok(done)
    }

    async fn record_login_failure(&self, scope: FailureScope, key: &str, at: DateTime<Utc>) -> StoreResult<()> {
        sql("INSERT INTO login_failures (scope, key, at) VALUES ($1, $2, $3)")
            .bind(scope)
            .bind(key)
            .bind(to_unix(at))
            .execute(&self.db)
            .await?;
        Ok(())
    }

    async fn reserve_login_attempt(
        &self,
        scope: FailureScope,
        key: &str,
        limit: i64,
        since: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        // Two transactions could both count below the limit and both insert: on SQLite the write
        // lock is taken before the count is read, on PostgreSQL (READ COMMITTED) attempts on the
        // same (scope, key) take turns.
        let mut tx = self.db.begin().await?;
        tx.serialize_on(&format!("login:{}:{key}", scope.as_str())).await?;
        let done = sql(RESERVE_LOGIN_ATTEMPT)
            .bind(scope)
            .bind(key)
            .bind(to_unix(at))
            .bind(to_unix(since))
            .bind(limit)
            .execute(&mut tx)
            .await?;
        tx.commit().await?;
        Ok(done == 1)
    }

    async fn release_login_attempt(&self, scope: FailureScope, key: &str, at: DateTime<Utc>) -> StoreResult<()> {
        // Rows with the same scope, key and time are interchangeable, so any one of them will do.
        // The table has no key of its own; each database names its rows its own way.
        let row_id = match self.db.dialect() {
            Dialect::Sqlite => "rowid",
            Dialect::Postgres => "ctid",
        };
        sql_built(format!(
            "DELETE FROM login_failures WHERE {row_id} = \
             (SELECT {row_id} FROM login_failures WHERE scope = $1 AND key = $2 AND at = $3 LIMIT 1)"
        ))
        .bind(scope)
        .bind(key)
        .bind(to_unix(at))
        .execute(&self.db)
        .await?;
        Ok(())
    }

    async fn login_failures_since(&self, scope: FailureScope, key: &str, since: DateTime<Utc>) -> StoreResult<i64> {
        Ok(sql("SELECT COUNT(*) FROM login_failures WHERE scope = $1 AND key = $2 AND at >= $3")
            .bind(scope)
            .bind(key)
            .bind(to_unix(since))
            .scalar_one(&self.db)
            .await?)
    }

    async fn clear_login_failures(&self, scope: FailureScope, key: &str) -> StoreResult<()> {
        sql("DELETE FROM login_failures WHERE scope = $1 AND key = $2").bind(scope).bind(key).execute(&self.db).await?;
        Ok(())
    }

    async fn prune_login_failures(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        let done = sql("DELETE FROM login_failures WHERE at < $1").bind(to_unix(before)).execute(&self.db).await?;
        Ok(done)
    }
}
