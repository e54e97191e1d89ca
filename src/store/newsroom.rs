//! The newsroom's records as the store takes and gives them: accounts, sessions, the editorial
//! workflow, revisions, media, curation, moderation, settings and the audit log. The repositories
//! that read and write them are the per-aggregate traits in the sibling files (`people`,
//! `editorial`, `media`, `curation`, `taxonomy`, `comments`, `audit`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{
    ArticleId, ArticleStatus, AuthorId, CommentId, CommentStatus, MediaId, Role, SectionId, User, UserId,
};
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
    pub media_id: MediaId,
    pub alt: String,
    pub caption: String,
    pub credit: String,
}

/// Everything the editor edits. Revisions store this whole, as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArticleFields {
    pub section_id: SectionId,
    pub slug: String,
    pub headline: String,
    pub dek: String,
    pub body_markdown: String,
    /// Byline order.
    pub author_ids: Vec<AuthorId>,
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
    pub owner: Option<(AuthorId, UserId)>,
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
    pub id: MediaId,
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
    pub id: CommentId,
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

/// How a save came about: a member's deliberate save, recorded with its audit line, or an autosave
/// while they type, which keeps a revision but writes no audit line (the log records decisions, not
/// pauses in typing) and does not move a live story's public updated time.
#[derive(Debug, Clone, Copy)]
pub enum Saving<'a> {
    Deliberate(&'a NewAuditEntry),
    Autosave,
}

impl NewAuditEntry {
    /// `user` (`None`: nobody signed in, such as the scheduler, the command line or someone using a
    /// set-password link) did `action` to `target_kind` number `target_id` (`None`: the only one,
    /// or a thing the write itself creates, whose id the store fills in) at `at`.
    pub fn new(
        user: Option<UserId>,
        action: &str,
        target_kind: &str,
        target_id: Option<i64>,
        detail: String,
        at: DateTime<Utc>,
    ) -> Self {
        Self { user_id: user, action: action.to_owned(), target_kind: target_kind.to_owned(), target_id, detail, at }
    }

    /// The same line about `target_id`: a creation learns its target's id inside its write.
    pub fn about(&self, target_id: i64) -> Self {
        Self { target_id: Some(target_id), ..self.clone() }
    }
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
