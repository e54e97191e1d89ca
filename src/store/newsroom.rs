//! The newsroom's storage: accounts, sessions, the editorial workflow, revisions, corrections, media,
//! curation, moderation, settings and the audit log. A second trait beside [`super::Store`] so the
//! reader's hot paths and the CMS's bookkeeping stay in separate files; every backend implements both.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::StoreResult;
use crate::domain::{ArticleId, ArticleStatus, CommentStatus, Role, User, UserId};
use crate::media::{FocalPoint, ImageFormat, Variant};

#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: String,
    pub name: String,
    pub role: Role,
    /// Argon2id PHC string; `None` until the person sets one through a one-time link.
    pub password_hash: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// What a sign-in needs besides the public account.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub user: User,
    pub password_hash: Option<String>,
    pub totp_secret: Option<Vec<u8>>,
    pub totp_last_step: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// Hash of the cookie's token; the token itself is never stored.
    pub token_hash: String,
    pub user_id: UserId,
    pub csrf_token: String,
    /// Password accepted, second factor still owed.
    pub pending_totp: bool,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    /// Last time the password was re-entered (sign-in counts).
    pub reauth_at: DateTime<Utc>,
    pub ip: String,
    pub user_agent: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureScope {
    Ip,
    Account,
}

impl FailureScope {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ip => "ip",
            Self::Account => "account",
        }
    }
}

/// The featured image as chosen in the editor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageChoice {
    pub media_id: i64,
    pub alt: String,
    pub caption: String,
    pub credit: String,
}

/// Everything the editor edits. Revisions store this whole, as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArticleFields {
    pub section_id: i64,
    pub slug: String,
    pub headline: String,
    pub dek: String,
    pub body_markdown: String,
    /// Byline order.
    pub author_ids: Vec<i64>,
    /// Tag display names; slugs are derived from them.
    pub tags: Vec<String>,
    pub image: Option<ImageChoice>,
    pub seo_title: String,
    pub seo_description: String,
}

/// An article as the newsroom sees it.
#[derive(Debug, Clone, Serialize)]
pub struct EditableArticle {
    pub id: ArticleId,
    pub fields: ArticleFields,
    pub section_slug: String,
    pub status: ArticleStatus,
    pub publish_at: Option<DateTime<Utc>>,
    pub unpublish_at: Option<DateTime<Utc>>,
    pub published_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub created_by: Option<UserId>,
    /// Goes up by one with every save of the fields; a save names the version it was based on.
    pub version: i64,
}

/// How a write that named the version it was based on went.
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionedWrite {
    Written,
    /// Someone saved meanwhile: the stored version is no longer the one the edit started from, and
    /// nothing was written.
    Stale,
}

/// The version counter of a curated list or a site setting (see [`Newsroom::edit_version`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edited<'a> {
    MustReads,
    HomeSlots,
    Setting(&'a str),
}

impl Edited<'_> {
    pub fn name(&self) -> String {
        match self {
            Self::MustReads => "must_reads".into(),
            Self::HomeSlots => "home_slots".into(),
            Self::Setting(key) => format!("setting:{key}"),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct NewsroomListItem {
    pub id: ArticleId,
    pub headline: String,
    pub slug: String,
    pub section_slug: String,
    pub section_name: String,
    pub status: ArticleStatus,
    /// Byline names in order, joined with ", ".
    pub bylines: String,
    pub updated_at: DateTime<Utc>,
    pub publish_at: Option<DateTime<Utc>>,
    pub published_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct NewsroomQuery {
    pub status: Option<ArticleStatus>,
    /// Only articles with this author on the byline or created by `created_by`.
    pub owner: Option<(i64, UserId)>,
    pub limit: i64,
    pub offset: i64,
}

/// A compare-and-set status change: applied only while the article is in one of `from`.
#[derive(Debug, Clone)]
pub struct Transition<'a> {
    pub from: &'a [ArticleStatus],
    pub to: ArticleStatus,
    /// For `to == Scheduled`: when it goes live.
    pub publish_at: Option<DateTime<Utc>>,
    pub user_id: Option<UserId>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize)]
pub struct WorkflowEvent {
    pub from: ArticleStatus,
    pub to: ArticleStatus,
    /// `None` when the scheduler made the change.
    pub user_name: Option<String>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RevisionSummary {
    pub id: i64,
    pub user_name: Option<String>,
    pub autosave: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct Revision {
    pub id: i64,
    pub article_id: ArticleId,
    pub fields: ArticleFields,
    pub created_at: DateTime<Utc>,
}

pub use crate::domain::correction::{Correction, CorrectionKind};

#[derive(Debug, Clone)]
pub struct NewMedia {
    pub hash: String,
    pub format: ImageFormat,
    pub width: u32,
    pub height: u32,
    pub bytes: u64,
    pub original_name: String,
    pub uploaded_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MediaRecord {
    pub id: i64,
    pub hash: String,
    pub format: ImageFormat,
    pub width: u32,
    pub height: u32,
    pub bytes: u64,
    pub original_name: String,
    pub alt: String,
    pub caption: String,
    pub credit: String,
    pub focal: FocalPoint,
    /// `None` until the background worker has made them.
    pub variants: Option<Vec<Variant>>,
    pub uploaded_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
    /// Failed attempts at making the variants since they were last made or reset.
    pub variant_attempts: u32,
}

#[derive(Debug, Clone)]
pub struct MediaMeta {
    pub alt: String,
    pub caption: String,
    pub credit: String,
    pub focal: FocalPoint,
}

#[derive(Debug, Clone, Serialize)]
pub struct CuratedEntry {
    pub article_id: ArticleId,
    pub headline: String,
    pub section_name: String,
    pub status: ArticleStatus,
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ModerationItem {
    pub id: i64,
    pub article_id: ArticleId,
    pub headline: String,
    pub section_slug: String,
    pub slug: String,
    pub author_name: String,
    pub body: String,
    pub status: CommentStatus,
    pub fingerprint: String,
    pub fingerprint_blocked: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct NewAuditEntry {
    pub user_id: Option<UserId>,
    pub action: String,
    pub target_kind: String,
    pub target_id: Option<i64>,
    pub detail: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub user_name: Option<String>,
    pub action: String,
    pub target_kind: String,
    pub target_id: Option<i64>,
    pub detail: String,
}

#[derive(Debug, Clone)]
pub struct SectionUpdate {
    pub name: String,
    pub slug: String,
    pub position: i64,
    pub archived: bool,
}

#[async_trait]
pub trait Newsroom: Send + Sync + 'static {
    // Accounts.
    /// Creates the account and its byline (an author with a unique slug from the name).
    async fn insert_user(&self, user: NewUser) -> StoreResult<User>;
    async fn users(&self) -> StoreResult<Vec<User>>;
    async fn user_by_id(&self, id: UserId) -> StoreResult<Option<User>>;
    async fn credentials_by_email(&self, email: &str) -> StoreResult<Option<Credentials>>;
    async fn credentials_by_id(&self, id: UserId) -> StoreResult<Option<Credentials>>;
    async fn set_user_role(&self, id: UserId, role: Role) -> StoreResult<()>;
    /// Disabling also ends every session of the account.
    async fn set_user_disabled(&self, id: UserId, disabled: bool, at: DateTime<Utc>) -> StoreResult<()>;
    async fn set_user_email(&self, id: UserId, email: &str) -> StoreResult<()>;
    async fn set_password_hash(&self, id: UserId, hash: &str) -> StoreResult<()>;
    /// Turns two-factor on (with fresh recovery code hashes) or off (`None`, codes dropped).
    async fn set_totp(&self, id: UserId, secret: Option<&[u8]>, recovery_hashes: &[String]) -> StoreResult<()>;
    /// Records the last accepted TOTP step; false if `step` is not newer than the stored one (replay).
    async fn advance_totp_step(&self, id: UserId, step: i64) -> StoreResult<bool>;
    /// Marks a recovery code used; false if it does not exist or was used already.
    async fn use_recovery_code(&self, id: UserId, code_hash: &str, at: DateTime<Utc>) -> StoreResult<bool>;
    /// Stores a new one-time link and, in the same transaction, revokes every earlier unused link of
    /// the user: only the newest link works, so an older one that leaked is worthless.
    async fn insert_password_token(
        &self,
        token_hash: &str,
        user_id: UserId,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Consumes a one-time link: the user it was made for, if unused and unexpired. Exactly once.
    /// Every other unused link of that user is revoked in the same transaction.
    async fn take_password_token(&self, token_hash: &str, now: DateTime<Utc>) -> StoreResult<Option<UserId>>;
    /// Revokes every unused one-time link of the user (after a password change); returns how many.
    async fn revoke_password_tokens(&self, user_id: UserId, at: DateTime<Utc>) -> StoreResult<u64>;

    // Sessions and sign-in limits.
    async fn insert_session(&self, session: &SessionRecord) -> StoreResult<()>;
    async fn session(&self, token_hash: &str) -> StoreResult<Option<SessionRecord>>;
    async fn touch_session(&self, token_hash: &str, at: DateTime<Utc>) -> StoreResult<()>;
    async fn complete_session_totp(&self, token_hash: &str) -> StoreResult<()>;
    async fn set_session_reauth(&self, token_hash: &str, at: DateTime<Utc>) -> StoreResult<()>;
    async fn delete_session(&self, token_hash: &str) -> StoreResult<()>;
    /// Newest first.
    async fn sessions_of(&self, user_id: UserId) -> StoreResult<Vec<SessionRecord>>;
    /// Ends every session of the user except `keep`.
    async fn delete_sessions_of(&self, user_id: UserId, keep: Option<&str>) -> StoreResult<u64>;
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
    /// takes its count back with [`Newsroom::release_login_attempt`].
    async fn reserve_login_attempt(
        &self,
        scope: FailureScope,
        key: &str,
        limit: i64,
        since: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Takes back one attempt counted by [`Newsroom::reserve_login_attempt`] with the same `at`.
    async fn release_login_attempt(&self, scope: FailureScope, key: &str, at: DateTime<Utc>) -> StoreResult<()>;
    async fn login_failures_since(&self, scope: FailureScope, key: &str, since: DateTime<Utc>) -> StoreResult<i64>;
    async fn clear_login_failures(&self, scope: FailureScope, key: &str) -> StoreResult<()>;
    /// Forgets failures older than `before` (they no longer count towards any limit).
    async fn prune_login_failures(&self, before: DateTime<Utc>) -> StoreResult<u64>;

    // Articles in the newsroom.
    /// Creates a draft from `fields`, with its first revision, in one transaction. A slug another
    /// article has or once had (a redirect to it) is a `Conflict`.
    async fn create_article(
        &self,
        fields: &ArticleFields,
        body_html: &str,
        user_id: Option<UserId>,
        at: DateTime<Utc>,
    ) -> StoreResult<ArticleId>;
    /// Saves the fields and a revision in one transaction, if the article is still at `base_version`
    /// (and bumps it); otherwise writes nothing and answers `Stale`. A changed slug of a published
    /// article leaves a redirect from the old one (an unpublished one leaves none: that would tell
    /// readers the new address before publication); a slug another article has or once had is a
    /// `Conflict`. Sets `updated_at` to `at`, except for autosaves of published articles: an
    /// autosave is not a visible edit, so it must not move the public updated time.
    #[allow(clippy::too_many_arguments)]
    async fn save_article(
        &self,
        id: ArticleId,
        fields: &ArticleFields,
        body_html: &str,
        user_id: Option<UserId>,
        autosave: bool,
        at: DateTime<Utc>,
        base_version: i64,
    ) -> StoreResult<VersionedWrite>;
    async fn editable_article(&self, id: ArticleId) -> StoreResult<Option<EditableArticle>>;
    async fn newsroom_articles(&self, query: NewsroomQuery) -> StoreResult<Vec<NewsroomListItem>>;
    /// Applies the transition if the article is in one of `from`; returns whether it did. Records a
    /// workflow event in the same transaction.
    async fn transition(&self, id: ArticleId, transition: Transition<'_>) -> StoreResult<bool>;
    async fn set_unpublish_at(&self, id: ArticleId, at: Option<DateTime<Utc>>) -> StoreResult<()>;
    async fn workflow_events(&self, id: ArticleId) -> StoreResult<Vec<WorkflowEvent>>;
    /// Publishes every scheduled article due by `now`, each exactly once (a conditional update that
    /// only one caller can win), and returns the ids it published.
    async fn publish_due(&self, now: DateTime<Utc>) -> StoreResult<Vec<ArticleId>>;
    /// Unpublishes every published article whose `unpublish_at` is due, exactly once.
    async fn unpublish_due(&self, now: DateTime<Utc>) -> StoreResult<Vec<ArticleId>>;
    /// The earliest pending publish or unpublish time, so the scheduler can sleep until then.
    async fn next_due(&self) -> StoreResult<Option<DateTime<Utc>>>;
    async fn revisions(&self, id: ArticleId) -> StoreResult<Vec<RevisionSummary>>;
    async fn revision(&self, revision_id: i64) -> StoreResult<Option<Revision>>;
    /// The current (section slug, slug) of the published article that once had `old_slug`.
    async fn slug_redirect(&self, old_slug: &str) -> StoreResult<Option<(String, String)>>;

    // Corrections.
    /// Adds the note and bumps the article's updated time, in one transaction.
    async fn add_correction(
        &self,
        article_id: ArticleId,
        kind: CorrectionKind,
        body: &str,
        user_id: Option<UserId>,
        at: DateTime<Utc>,
    ) -> StoreResult<Correction>;
    /// Oldest first.
    async fn corrections_for(&self, article_id: ArticleId) -> StoreResult<Vec<Correction>>;
    /// Newest first, published articles only.
    async fn all_corrections(&self, limit: i64, offset: i64) -> StoreResult<Vec<Correction>>;

    // Media.
    /// Inserts, or returns the existing record when the same content was uploaded before.
    async fn insert_media(&self, media: NewMedia) -> StoreResult<MediaRecord>;
    async fn media_by_id(&self, id: i64) -> StoreResult<Option<MediaRecord>>;
    /// Newest first.
    async fn media_list(&self, limit: i64, offset: i64) -> StoreResult<Vec<MediaRecord>>;
    async fn update_media_meta(&self, id: i64, meta: &MediaMeta) -> StoreResult<()>;
    /// Clears the variants so the worker makes them again (after a focal point change).
    async fn reset_media_variants(&self, id: i64) -> StoreResult<()>;
    /// Uploads still without variants whose retry time (if any) is not after `now`, oldest first.
    async fn media_without_variants(&self, limit: i64, now: DateTime<Utc>) -> StoreResult<Vec<MediaRecord>>;
    /// Stores the variants; clears any retry schedule.
    async fn set_media_variants(&self, id: i64, variants: &[Variant]) -> StoreResult<()>;
    /// Leaves the variants pending, counts a failed attempt, and keeps the worker away until
    /// `retry_at`. Does nothing if the variants were made meanwhile (by another node).
    async fn defer_media_variants(&self, id: i64, retry_at: DateTime<Utc>) -> StoreResult<()>;

    // Curation.
    /// Every pick, in order, with its expiry, whatever the article's status.
    async fn must_read_entries(&self) -> StoreResult<Vec<CuratedEntry>>;
    /// Replaces the list if it is still at `base_version` (see [`Newsroom::edit_version`]).
    async fn set_must_read_entries(
        &self,
        entries: &[(ArticleId, Option<DateTime<Utc>>)],
        base_version: i64,
    ) -> StoreResult<VersionedWrite>;
    /// The home page's lead (first) and top stories, in order.
    async fn home_slot_entries(&self) -> StoreResult<Vec<CuratedEntry>>;
    /// Replaces the slots if they are still at `base_version`.
    async fn set_home_slots(&self, ids: &[ArticleId], base_version: i64) -> StoreResult<VersionedWrite>;
    /// The published home slots as cards, in order (the reader's home page).
    async fn home_slots(&self) -> StoreResult<Vec<crate::domain::ArticleCard>>;
    /// A settings value (JSON text) by key.
    async fn setting(&self, key: &str) -> StoreResult<Option<String>>;
    /// Stores the value if the setting is still at `base_version`.
    async fn set_setting(
        &self,
        key: &str,
        value: &str,
        at: DateTime<Utc>,
        base_version: i64,
    ) -> StoreResult<VersionedWrite>;
    /// The version a curated list or setting is at: 0 before its first save. Read it before the
    /// content it guards, so a save in between makes the edit look stale rather than current.
    async fn edit_version(&self, what: Edited<'_>) -> StoreResult<i64>;

    // Sections and tags.
    /// All sections, archived ones included, in order.
    async fn all_sections(&self) -> StoreResult<Vec<(crate::domain::Section, bool)>>;
    async fn update_section(&self, id: i64, update: &SectionUpdate) -> StoreResult<()>;
    /// Applies every row and adds `new` (if any) in one transaction: all or nothing. Slugs may be
    /// swapped between sections within one call.
    async fn save_sections(
        &self,
        updates: &[(i64, SectionUpdate)],
        new: Option<&crate::store::NewSection>,
    ) -> StoreResult<()>;
    /// Tags with how many articles use each, by name.
    async fn tags_with_counts(&self) -> StoreResult<Vec<(crate::domain::Tag, i64)>>;
    async fn rename_tag(&self, id: i64, name: &str) -> StoreResult<()>;

    // Moderation.
    /// Newest first.
    async fn comments_by_status(
        &self,
        status: CommentStatus,
        limit: i64,
        offset: i64,
    ) -> StoreResult<Vec<ModerationItem>>;
    async fn count_comments_by_status(&self, status: CommentStatus) -> StoreResult<i64>;
    /// Changes a comment's status and keeps the article's published-comment count right.
    /// Returns the article id.
    async fn set_comment_status(&self, id: i64, status: CommentStatus) -> StoreResult<ArticleId>;
    async fn delete_comment(&self, id: i64) -> StoreResult<ArticleId>;
    async fn block_fingerprint(&self, fingerprint: &str, user_id: Option<UserId>, at: DateTime<Utc>)
    -> StoreResult<()>;
    async fn is_fingerprint_blocked(&self, fingerprint: &str) -> StoreResult<bool>;

    // Audit.
    async fn record_audit(&self, entry: NewAuditEntry) -> StoreResult<()>;
    /// Newest first.
    async fn audit_entries(&self, limit: i64, offset: i64) -> StoreResult<Vec<AuditEntry>>;
}
