//! [`Newsroom`]: accounts, sessions, sign-in limits and the audit log live here; the editorial
//! workflow is in `editorial` and media, curation, taxonomy and moderation in `curation`. The trait
//! impl below is the one place that ties them together.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::newsroom::{
    ArticleFields, AuditEntry, Correction, CorrectionKind, Credentials, CuratedEntry, EditableArticle, Edited,
    FailureScope, MediaMeta, MediaRecord, ModerationItem, NewAuditEntry, NewMedia, NewUser, Newsroom, NewsroomListItem,
    NewsroomQuery, Revision, RevisionSummary, SectionUpdate, SessionRecord, Transition, VersionedWrite, WorkflowEvent,
};
use super::shared::{
    RESERVE_LOGIN_ATTEMPT, REVOKE_PASSWORD_TOKENS, SESSION_COLUMNS, USER_COLUMNS, audit_entry_from_row,
    byline_slug_base, credentials_from_row, is_foreign_key_violation, is_unique_violation, opt_time, session_from_row,
    to_unix, touched, user_from_row,
};
use super::sql::{Dialect, Row, sql, sql_built};
use super::{SqlStore, StoreError, StoreResult, curation, editorial as articles};
use crate::domain::{ArticleCard, ArticleId, CommentStatus, Role, Section, Tag, User, UserId};
use crate::media::Variant;

enum UserKey<'a> {
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
impl Newsroom for SqlStore {
    async fn insert_user(&self, user: NewUser) -> StoreResult<User> {
        let mut tx = self.db.begin().await?;
        let base = byline_slug_base(&user.name);
        let mut n = 1u32;
        let author_id: i64 = loop {
            let slug = if n == 1 { base.clone() } else { format!("{base}-{n}") };
            let id: Option<i64> = sql("INSERT INTO authors (slug, name, email, bio) VALUES ($1, $2, $3, '') \
                 ON CONFLICT (slug) DO NOTHING RETURNING id")
            .bind(&slug)
            .bind(&user.name)
            .bind(&user.email)
            .scalar_optional(&mut tx)
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
        .bind(user.role.as_str())
        .bind(&user.password_hash)
        .bind(author_id)
        .bind(to_unix(user.created_at))
        .scalar_one(&mut tx)
        .await
        .map_err(|e| if is_unique_violation(&e) { StoreError::Conflict("email".into()) } else { e.into() })?;
        let row = sql_built(format!("{USER_COLUMNS} WHERE u.id = $1")).bind(id).fetch_one(&mut tx).await?;
        let stored = user_from_row(&row)?;
        tx.commit().await?;
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

    async fn set_user_role(&self, id: UserId, role: Role) -> StoreResult<()> {
        let done =
            sql("UPDATE users SET role = $1 WHERE id = $2").bind(role.as_str()).bind(id).execute(&self.db).await?;
        touched(done, || format!("user {id}"))
    }

    async fn set_user_disabled(&self, id: UserId, disabled: bool, at: DateTime<Utc>) -> StoreResult<()> {
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
        tx.commit().await?;
        Ok(())
    }

    async fn set_user_email(&self, id: UserId, email: &str) -> StoreResult<()> {
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
        tx.commit().await?;
        Ok(())
    }

    async fn set_password_hash(&self, id: UserId, hash: &str) -> StoreResult<()> {
        let done =
            sql("UPDATE users SET password_hash = $1 WHERE id = $2").bind(hash).bind(id).execute(&self.db).await?;
        touched(done, || format!("user {id}"))
    }

    async fn set_totp(&self, id: UserId, secret: Option<&[u8]>, recovery_hashes: &[String]) -> StoreResult<()> {
        let mut tx = self.db.begin().await?;
        // `totp_last_step` stays: steps are clock time, and keeping it refuses a code that was just
        // used to confirm the new secret.
        let done =
            sql("UPDATE users SET totp_secret = $1 WHERE id = $2").bind(secret).bind(id).execute(&mut tx).await?;
        touched(done, || format!("user {id}"))?;
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
        tx.commit().await?;
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
    ) -> StoreResult<()> {
        let mut tx = self.db.begin().await?;
        // Older links are revoked as of now: a link only ever works until a newer one is made.
        sql(REVOKE_PASSWORD_TOKENS).bind(user_id).bind(to_unix(Utc::now())).execute(&mut tx).await?;
        sql("INSERT INTO password_tokens (token_hash, user_id, expires_at) VALUES ($1, $2, $3)")
            .bind(token_hash)
            .bind(user_id)
            .bind(to_unix(expires_at))
            .execute(&mut tx)
            .await
            .map_err(|e| match &e {
                _ if is_unique_violation(&e) => StoreError::Conflict("password token".into()),
                _ if is_foreign_key_violation(&e) => StoreError::Missing(format!("user {user_id}")),
                _ => e.into(),
            })?;
        tx.commit().await?;
        Ok(())
    }

    async fn take_password_token(&self, token_hash: &str, now: DateTime<Utc>) -> StoreResult<Option<UserId>> {
        let mut tx = self.db.begin().await?;
        // One conditional update: of two concurrent takers, only one sees the row unused.
        let user_id: Option<UserId> = sql("UPDATE password_tokens SET used_at = $1 \
             WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 RETURNING user_id")
        .bind(to_unix(now))
        .bind(token_hash)
        .scalar_optional(&mut tx)
        .await?;
        if let Some(user_id) = user_id {
            sql(REVOKE_PASSWORD_TOKENS).bind(user_id).bind(to_unix(now)).execute(&mut tx).await?;
        }
        tx.commit().await?;
        Ok(user_id)
    }

    async fn revoke_password_tokens(&self, user_id: UserId, at: DateTime<Utc>) -> StoreResult<u64> {
        let done = sql(REVOKE_PASSWORD_TOKENS).bind(user_id).bind(to_unix(at)).execute(&self.db).await?;
        Ok(done)
    }

    async fn insert_session(&self, session: &SessionRecord) -> StoreResult<()> {
        sql("INSERT INTO sessions (token_hash, user_id, csrf_token, pending_totp, created_at, last_seen_at, \
             reauth_at, ip, user_agent) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
        .bind(&session.token_hash)
        .bind(session.user_id)
        .bind(&session.csrf_token)
        .bind(i64::from(session.pending_totp))
        .bind(to_unix(session.created_at))
        .bind(to_unix(session.last_seen_at))
        .bind(to_unix(session.reauth_at))
        .bind(&session.ip)
        .bind(&session.user_agent)
        .execute(&self.db)
        .await
        .map_err(|e| match &e {
            _ if is_unique_violation(&e) => StoreError::Conflict("session".into()),
            _ if is_foreign_key_violation(&e) => StoreError::Missing(format!("user {}", session.user_id)),
            _ => e.into(),
        })?;
        Ok(())
    }

    async fn session(&self, token_hash: &str) -> StoreResult<Option<SessionRecord>> {
        let row = sql_built(format!("{SESSION_COLUMNS} WHERE token_hash = $1"))
            .bind(token_hash)
            .fetch_optional(&self.db)
            .await?;
        row.as_ref().map(session_from_row).transpose()
    }

    // The session updates below do nothing for a session that has gone (signed out, expired or
    // ended by an administrator meanwhile): the next request finds no session anyway.

    async fn touch_session(&self, token_hash: &str, at: DateTime<Utc>) -> StoreResult<()> {
        sql("UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2")
            .bind(to_unix(at))
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
        sql("UPDATE sessions SET reauth_at = $1 WHERE token_hash = $2")
            .bind(to_unix(at))
            .bind(token_hash)
            .execute(&self.db)
            .await?;
        Ok(())
    }

    async fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
        sql("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash).execute(&self.db).await?;
        Ok(())
    }

    async fn sessions_of(&self, user_id: UserId) -> StoreResult<Vec<SessionRecord>> {
        // PostgreSQL has no rowid (SQLite's tie-break by insertion order): sessions begun in the
        // same second come most recently used first.
        let rows = sql_built(format!(
            "{SESSION_COLUMNS} WHERE user_id = $1 ORDER BY created_at DESC, last_seen_at DESC, token_hash"
        ))
        .bind(user_id)
        .fetch_all(&self.db)
        .await?;
        rows.iter().map(session_from_row).collect()
    }

    async fn delete_sessions_of(&self, user_id: UserId, keep: Option<&str>) -> StoreResult<u64> {
        let done = sql("DELETE FROM sessions WHERE user_id = $1 AND ($2 IS NULL OR token_hash <> $2)")
            .bind(user_id)
            .bind(keep)
            .execute(&self.db)
            .await?;
        Ok(done)
    }

    async fn delete_expired_sessions(
        &self,
        idle_before: DateTime<Utc>,
        created_before: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let done = sql("DELETE FROM sessions WHERE last_seen_at < $1 OR created_at < $2")
            .bind(to_unix(idle_before))
            .bind(to_unix(created_before))
            .execute(&self.db)
            .await?;
        Ok(done)
    }

    async fn record_login_failure(&self, scope: FailureScope, key: &str, at: DateTime<Utc>) -> StoreResult<()> {
        sql("INSERT INTO login_failures (scope, key, at) VALUES ($1, $2, $3)")
            .bind(scope.as_str())
            .bind(key)
            .bind(to_unix(at))
            .execute(&self.db)
            .await?;
        Ok(())
    }

    async fn login_failures_since(&self, scope: FailureScope, key: &str, since: DateTime<Utc>) -> StoreResult<i64> {
        Ok(sql("SELECT COUNT(*) FROM login_failures WHERE scope = $1 AND key = $2 AND at >= $3")
            .bind(scope.as_str())
            .bind(key)
            .bind(to_unix(since))
            .scalar_one(&self.db)
            .await?)
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
            .bind(scope.as_str())
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
        .bind(scope.as_str())
        .bind(key)
        .bind(to_unix(at))
        .execute(&self.db)
        .await?;
        Ok(())
    }

    async fn prune_login_failures(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        let done = sql("DELETE FROM login_failures WHERE at < $1").bind(to_unix(before)).execute(&self.db).await?;
        Ok(done)
    }

    async fn clear_login_failures(&self, scope: FailureScope, key: &str) -> StoreResult<()> {
        sql("DELETE FROM login_failures WHERE scope = $1 AND key = $2")
            .bind(scope.as_str())
            .bind(key)
            .execute(&self.db)
            .await?;
        Ok(())
    }

    async fn create_article(
        &self,
        fields: &ArticleFields,
        body_html: &str,
        user_id: Option<UserId>,
        at: DateTime<Utc>,
    ) -> StoreResult<ArticleId> {
        articles::create_article(&self.db, fields, body_html, user_id, at).await
    }

    async fn save_article(
        &self,
        id: ArticleId,
        fields: &ArticleFields,
        body_html: &str,
        user_id: Option<UserId>,
        autosave: bool,
        at: DateTime<Utc>,
        base_version: i64,
    ) -> StoreResult<VersionedWrite> {
        articles::save_article(&self.db, id, fields, body_html, user_id, autosave, at, base_version).await
    }

    async fn editable_article(&self, id: ArticleId) -> StoreResult<Option<EditableArticle>> {
        articles::editable_article(&self.db, id).await
    }

    async fn newsroom_articles(&self, query: NewsroomQuery) -> StoreResult<Vec<NewsroomListItem>> {
        articles::newsroom_articles(&self.db, query).await
    }

    async fn transition(&self, id: ArticleId, transition: Transition<'_>) -> StoreResult<bool> {
        articles::transition(&self.db, id, &transition).await
    }

    async fn set_unpublish_at(&self, id: ArticleId, at: Option<DateTime<Utc>>) -> StoreResult<()> {
        let done = sql("UPDATE articles SET unpublish_at = $1 WHERE id = $2")
            .bind(at.map(to_unix))
            .bind(id)
            .execute(&self.db)
            .await?;
        touched(done, || format!("article {id}"))
    }

    async fn workflow_events(&self, id: ArticleId) -> StoreResult<Vec<WorkflowEvent>> {
        articles::workflow_events(&self.db, id).await
    }

    async fn publish_due(&self, now: DateTime<Utc>) -> StoreResult<Vec<ArticleId>> {
        articles::fire_due(&self.db, articles::Due::Publish, now).await
    }

    async fn unpublish_due(&self, now: DateTime<Utc>) -> StoreResult<Vec<ArticleId>> {
        articles::fire_due(&self.db, articles::Due::Unpublish, now).await
    }

    async fn next_due(&self) -> StoreResult<Option<DateTime<Utc>>> {
        let next: Option<i64> = sql("SELECT MIN(t) FROM ( \
               SELECT MIN(publish_at) AS t FROM articles WHERE status = 'scheduled' AND publish_at IS NOT NULL \
               UNION ALL \
               SELECT MIN(unpublish_at) FROM articles WHERE status = 'published' AND unpublish_at IS NOT NULL) due")
        .scalar_one(&self.db)
        .await?;
        opt_time(next)
    }

    async fn revisions(&self, id: ArticleId) -> StoreResult<Vec<RevisionSummary>> {
        articles::revisions(&self.db, id).await
    }

    async fn revision(&self, revision_id: i64) -> StoreResult<Option<Revision>> {
        articles::revision(&self.db, revision_id).await
    }

    async fn slug_redirect(&self, old_slug: &str) -> StoreResult<Option<(String, String)>> {
        let row = sql("SELECT s.slug AS section_slug, a.slug FROM slug_redirects r JOIN articles a ON a.id = r.article_id \
             JOIN sections s ON s.id = a.section_id \
             WHERE r.old_slug = $1 AND a.status = 'published'")
        .bind(old_slug)
        .fetch_optional(&self.db)
        .await?;
        row.map(|r| Ok((r.text("section_slug")?, r.text("slug")?))).transpose()
    }

    async fn add_correction(
        &self,
        article_id: ArticleId,
        kind: CorrectionKind,
        body: &str,
        user_id: Option<UserId>,
        at: DateTime<Utc>,
    ) -> StoreResult<Correction> {
        articles::add_correction(&self.db, article_id, kind, body, user_id, at).await
    }

    async fn corrections_for(&self, article_id: ArticleId) -> StoreResult<Vec<Correction>> {
        articles::corrections(&self.db, Some(article_id), i64::MAX, 0).await
    }

    async fn all_corrections(&self, limit: i64, offset: i64) -> StoreResult<Vec<Correction>> {
        articles::corrections(&self.db, None, limit, offset).await
    }

    async fn insert_media(&self, media: NewMedia) -> StoreResult<MediaRecord> {
        curation::insert_media(&self.db, media).await
    }

    async fn media_by_id(&self, id: i64) -> StoreResult<Option<MediaRecord>> {
        curation::media_by_id(&self.db, id).await
    }

    async fn media_list(&self, limit: i64, offset: i64) -> StoreResult<Vec<MediaRecord>> {
        curation::media_list(&self.db, limit, offset).await
    }

    async fn update_media_meta(&self, id: i64, meta: &MediaMeta) -> StoreResult<()> {
        curation::update_media_meta(&self.db, id, meta).await
    }

    async fn reset_media_variants(&self, id: i64) -> StoreResult<()> {
        curation::set_media_variants(&self.db, id, None).await
    }

    async fn media_without_variants(&self, limit: i64, now: DateTime<Utc>) -> StoreResult<Vec<MediaRecord>> {
        curation::media_without_variants(&self.db, limit, now).await
    }

    async fn set_media_variants(&self, id: i64, variants: &[Variant]) -> StoreResult<()> {
        curation::set_media_variants(&self.db, id, Some(variants)).await
    }

    async fn defer_media_variants(&self, id: i64, retry_at: DateTime<Utc>) -> StoreResult<()> {
        curation::defer_media_variants(&self.db, id, retry_at).await
    }

    async fn must_read_entries(&self) -> StoreResult<Vec<CuratedEntry>> {
        curation::curated_entries(&self.db, curation::List::MustReads).await
    }

    async fn set_must_read_entries(
        &self,
        entries: &[(ArticleId, Option<DateTime<Utc>>)],
        base_version: i64,
    ) -> StoreResult<VersionedWrite> {
        curation::set_curated(&self.db, curation::List::MustReads, entries, base_version).await
    }

    async fn home_slot_entries(&self) -> StoreResult<Vec<CuratedEntry>> {
        curation::curated_entries(&self.db, curation::List::HomeSlots).await
    }

    async fn set_home_slots(&self, ids: &[ArticleId], base_version: i64) -> StoreResult<VersionedWrite> {
        let entries: Vec<_> = ids.iter().map(|&id| (id, None)).collect();
        curation::set_curated(&self.db, curation::List::HomeSlots, &entries, base_version).await
    }

    async fn home_slots(&self) -> StoreResult<Vec<ArticleCard>> {
        curation::home_slots(&self.db).await
    }

    async fn setting(&self, key: &str) -> StoreResult<Option<String>> {
        Ok(sql("SELECT value FROM site_settings WHERE key = $1").bind(key).scalar_optional(&self.db).await?)
    }

    async fn set_setting(
        &self,
        key: &str,
        value: &str,
        at: DateTime<Utc>,
        base_version: i64,
    ) -> StoreResult<VersionedWrite> {
        curation::set_setting(&self.db, key, value, at, base_version).await
    }

    async fn edit_version(&self, what: Edited<'_>) -> StoreResult<i64> {
        curation::edit_version(&self.db, what).await
    }

    async fn all_sections(&self) -> StoreResult<Vec<(Section, bool)>> {
        curation::all_sections(&self.db).await
    }

    async fn update_section(&self, id: i64, update: &SectionUpdate) -> StoreResult<()> {
        curation::update_section(&self.db, id, update).await
    }

    async fn save_sections(
        &self,
        updates: &[(i64, SectionUpdate)],
        new: Option<&super::NewSection>,
    ) -> StoreResult<()> {
        curation::save_sections(&self.db, updates, new).await
    }

    async fn tags_with_counts(&self) -> StoreResult<Vec<(Tag, i64)>> {
        curation::tags_with_counts(&self.db).await
    }

    async fn rename_tag(&self, id: i64, name: &str) -> StoreResult<()> {
        let done = sql("UPDATE tags SET name = $1 WHERE id = $2").bind(name).bind(id).execute(&self.db).await?;
        touched(done, || format!("tag {id}"))
    }

    async fn comments_by_status(
        &self,
        status: CommentStatus,
        limit: i64,
        offset: i64,
    ) -> StoreResult<Vec<ModerationItem>> {
        curation::comments_by_status(&self.db, status, limit, offset).await
    }

    async fn count_comments_by_status(&self, status: CommentStatus) -> StoreResult<i64> {
        Ok(sql("SELECT COUNT(*) FROM comments WHERE status = $1").bind(status.as_str()).scalar_one(&self.db).await?)
    }

    async fn set_comment_status(&self, id: i64, status: CommentStatus) -> StoreResult<ArticleId> {
        curation::change_comment(&self.db, id, Some(status)).await
    }

    async fn delete_comment(&self, id: i64) -> StoreResult<ArticleId> {
        curation::change_comment(&self.db, id, None).await
    }

    async fn block_fingerprint(
        &self,
        fingerprint: &str,
        user_id: Option<UserId>,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        sql("INSERT INTO blocked_fingerprints (fingerprint, user_id, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (fingerprint) DO NOTHING")
        .bind(fingerprint)
        .bind(user_id)
        .bind(to_unix(at))
        .execute(&self.db)
        .await?;
        Ok(())
    }

    async fn is_fingerprint_blocked(&self, fingerprint: &str) -> StoreResult<bool> {
        Ok(sql("SELECT EXISTS (SELECT 1 FROM blocked_fingerprints WHERE fingerprint = $1)")
            .bind(fingerprint)
            .scalar_one(&self.db)
            .await?)
    }

    async fn record_audit(&self, entry: NewAuditEntry) -> StoreResult<()> {
        sql(
            "INSERT INTO audit_log (at, user_id, action, target_kind, target_id, detail) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(to_unix(entry.at))
        .bind(entry.user_id)
        .bind(&entry.action)
        .bind(&entry.target_kind)
        .bind(entry.target_id)
        .bind(&entry.detail)
        .execute(&self.db)
        .await?;
        Ok(())
    }

    async fn audit_entries(&self, limit: i64, offset: i64) -> StoreResult<Vec<AuditEntry>> {
        // The log is append-only, so the id is the order of events (and what the index is on).
        let rows = sql("SELECT l.id, l.at, u.name AS user_name, l.action, l.target_kind, l.target_id, l.detail \
             FROM audit_log l LEFT JOIN users u ON u.id = l.user_id ORDER BY l.id DESC LIMIT $1 OFFSET $2")
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.db)
        .await?;
        rows.iter().map(audit_entry_from_row).collect()
    }
}
