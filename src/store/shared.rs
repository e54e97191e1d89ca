//! What the SQLite and PostgreSQL backends share: time and format conversions, how errors are
//! classified, the column lists both speak the same SQL for, and the row → domain conversions,
//! written once over [`Cols`] (each backend reads its own row type by column position).

use chrono::{DateTime, TimeZone, Utc};

use super::newsroom::{
    ArticleFields, AuditEntry, Correction, CorrectionKind, Credentials, CuratedEntry, EditableArticle, ImageChoice,
    MediaRecord, ModerationItem, NewsroomListItem, Revision, RevisionSummary, SessionRecord, WorkflowEvent,
};
use super::{StoreError, StoreResult};
use crate::domain::{
    Article, ArticleCard, ArticleId, ArticleStatus, Author, AuthorRef, Comment, CommentStatus, FeaturedImage, Role,
    Section, Slug, Tag, TagRef, User, article::article_path,
};
use crate::media::{FocalPoint, ImageFormat, Variant};

pub(super) fn to_unix(t: DateTime<Utc>) -> i64 {
    t.timestamp()
}

pub(super) fn from_unix(secs: i64) -> StoreResult<DateTime<Utc>> {
    Utc.timestamp_opt(secs, 0).single().ok_or_else(|| StoreError::Corrupt(format!("timestamp {secs} is out of range")))
}

pub(super) fn opt_time(secs: Option<i64>) -> StoreResult<Option<DateTime<Utc>>> {
    secs.map(from_unix).transpose()
}

pub(super) fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_unique_violation())
}

pub(super) fn is_foreign_key_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_foreign_key_violation())
}

/// `Missing(what)` when an update touched no row.
pub(super) fn touched(rows: u64, what: impl FnOnce() -> String) -> StoreResult<()> {
    if rows == 0 { Err(StoreError::Missing(what())) } else { Ok(()) }
}

/// 32 fresh random bytes for [`super::Store::secret`].
pub(super) fn fresh_secret() -> StoreResult<[u8; 32]> {
    let mut fresh = [0u8; 32];
    getrandom::fill(&mut fresh)
        .map_err(|e| StoreError::Corrupt(format!("the operating system gave no random bytes: {e}")))?;
    Ok(fresh)
}

/// The byline's slug base: the name as a slug, shortened so a `-N` suffix still fits the limit.
pub(super) fn byline_slug_base(name: &str) -> String {
    let base = Slug::from_title(name).map(Slug::into_inner).unwrap_or_else(|_| "author".to_owned());
    let mut base = base;
    base.truncate(Slug::MAX_LEN - 8);
    base.trim_end_matches('-').to_owned()
}

pub(super) fn parse_status(value: &str) -> StoreResult<ArticleStatus> {
    ArticleStatus::parse(value).ok_or_else(|| StoreError::Corrupt(format!("unknown article status {value}")))
}

fn parse_comment_status(value: &str) -> StoreResult<CommentStatus> {
    CommentStatus::parse(value).ok_or_else(|| StoreError::Corrupt(format!("unknown comment status {value}")))
}

pub(super) fn image_format_str(format: ImageFormat) -> &'static str {
    match format {
        ImageFormat::Jpeg => "jpeg",
        ImageFormat::Png => "png",
        ImageFormat::Webp => "webp",
        ImageFormat::Gif => "gif",
    }
}

pub(super) fn parse_image_format(value: &str) -> StoreResult<ImageFormat> {
    Ok(match value {
        "jpeg" => ImageFormat::Jpeg,
        "png" => ImageFormat::Png,
        "webp" => ImageFormat::Webp,
        "gif" => ImageFormat::Gif,
        _ => return Err(StoreError::Corrupt(format!("unknown image format {value}"))),
    })
}

/// The address of a media library file, as the articles table copies it for the reader's queries.
pub(super) fn media_url(hash: &str, format: &str) -> StoreResult<String> {
    let extension = match parse_image_format(format)? {
        ImageFormat::Jpeg => "jpg",
        other => image_format_str(other),
    };
    Ok(format!("/media/{hash}.{extension}"))
}

pub(super) fn parse_variants(json: &str) -> StoreResult<Vec<Variant>> {
    serde_json::from_str(json).map_err(|e| StoreError::Corrupt(format!("media variants: {e}")))
}

pub(super) fn variants_json(variants: Option<&[Variant]>) -> StoreResult<Option<String>> {
    variants.map(serde_json::to_string).transpose().map_err(|e| StoreError::WriteFailed(format!("media variants: {e}")))
}

pub(super) fn snapshot_json(fields: &ArticleFields) -> StoreResult<String> {
    serde_json::to_string(fields).map_err(|e| StoreError::WriteFailed(format!("revision snapshot: {e}")))
}

/// An empty caption or credit is stored as none, which is how the reader's pages test for one.
pub(super) fn nonempty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

/// `srcset` (the media's own format) and `srcset_webp` for an image from the media library whose
/// variants have been made, and the social card's address; all empty otherwise. Card crops are not
/// width alternatives, so they are left out of the srcsets.
fn srcsets(format: Option<&str>, variants: Option<&str>) -> StoreResult<(String, String, String)> {
    let (Some(format), Some(variants)) = (format, variants) else {
        return Ok((String::new(), String::new(), String::new()));
    };
    let own = parse_image_format(format)?;
    let variants = parse_variants(variants)?;
    let list = |wanted: ImageFormat| {
        variants
            .iter()
            .filter(|v| v.format == wanted && !v.file_name.ends_with("-card.jpg"))
            .map(|v| format!("/media/{} {}w", v.file_name, v.width))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let card = variants
        .iter()
        .find(|v| v.file_name.ends_with("-card.jpg"))
        .map(|v| format!("/media/{}", v.file_name))
        .unwrap_or_default();
    Ok((list(own), list(ImageFormat::Webp), card))
}

/// Columns of an [`ArticleCard`], in the order [`card_from_row`] reads them. `a` is articles, `s`
/// is sections and `im` is the featured image's media row, joined with `media_join!`.
macro_rules! card_columns {
    () => {
        "a.id, a.slug, s.slug, s.name, a.headline, a.dek, a.published_at, \
         a.image_url, a.image_alt, a.image_caption, a.image_credit, a.image_width, a.image_height, \
         (SELECT au.name FROM article_authors aa JOIN authors au ON au.id = aa.author_id \
           WHERE aa.article_id = a.id ORDER BY aa.position LIMIT 1), \
         a.comment_count, im.format, im.variants"
    };
}
pub(super) use card_columns;

/// The featured image's media row (for its responsive variants): one lookup by primary key.
macro_rules! media_join {
    () => {
        " LEFT JOIN media im ON im.id = a.image_media_id "
    };
}
pub(super) use media_join;

/// An article page's columns, in the order [`article_from_row`] reads them.
pub(super) const ARTICLE_COLUMNS: &str = "SELECT a.id, a.slug, s.slug, s.name, a.headline, a.dek, a.body_html, \
     a.status, a.published_at, a.updated_at, a.view_count, a.comment_count, \
     a.image_url, a.image_alt, a.image_caption, a.image_credit, a.image_width, a.image_height, \
     im.format, im.variants \
     FROM articles a JOIN sections s ON s.id = a.section_id LEFT JOIN media im ON im.id = a.image_media_id";

/// Counts a sign-in attempt unless the limit is reached: $1 scope, $2 key, $3 now, $4 window
/// start, $5 limit. Both databases accept it; each backend makes it atomic its own way.
pub(super) const RESERVE_LOGIN_ATTEMPT: &str = "INSERT INTO login_failures (scope, key, at) \
     SELECT $1, $2, $3 WHERE (SELECT COUNT(*) FROM login_failures WHERE scope = $1 AND key = $2 AND at >= $4) < $5";

/// Revokes the unused one-time links of user $1 at time $2 (marked used, so they can never be taken).
pub(super) const REVOKE_PASSWORD_TOKENS: &str =
    "UPDATE password_tokens SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL";

pub(super) const USER_COLUMNS: &str = "SELECT u.id, u.email, u.name, u.role, u.author_id, au.slug, \
     u.password_hash IS NOT NULL, u.totp_secret IS NOT NULL, u.disabled_at IS NOT NULL, u.created_at, \
     u.password_hash, u.totp_secret, u.totp_last_step \
     FROM users u JOIN authors au ON au.id = u.author_id";

pub(super) const SESSION_COLUMNS: &str = "SELECT token_hash, user_id, csrf_token, pending_totp, created_at, \
     last_seen_at, reauth_at, ip, user_agent FROM sessions";

pub(super) const MEDIA_COLUMNS: &str = "SELECT id, hash, format, width, height, bytes, original_name, alt, caption, \
     credit, focal_x, focal_y, variants, uploaded_by, created_at, variant_attempts FROM media";

pub(super) const CORRECTION_COLUMNS: &str = "SELECT c.id, c.article_id, c.kind, c.body, c.created_at, a.headline, \
     s.slug, a.slug FROM corrections c JOIN articles a ON a.id = c.article_id JOIN sections s ON s.id = a.section_id";

/// Reading a row's columns by position, whichever backend it came from. The conversions below are
/// written against this, so both backends turn rows into the same domain values the same way.
pub(super) trait Cols {
    fn int(&self, i: usize) -> StoreResult<i64>;
    fn opt_int(&self, i: usize) -> StoreResult<Option<i64>>;
    fn text(&self, i: usize) -> StoreResult<String>;
    fn opt_text(&self, i: usize) -> StoreResult<Option<String>>;
    fn opt_bytes(&self, i: usize) -> StoreResult<Option<Vec<u8>>>;
    /// A stored 0/1 flag or a boolean expression.
    fn flag(&self, i: usize) -> StoreResult<bool>;
    /// A REAL column.
    fn real(&self, i: usize) -> StoreResult<f32>;
}

impl Cols for super::sql::Row {
    fn int(&self, i: usize) -> StoreResult<i64> {
        self.try_get(i)
    }
    fn opt_int(&self, i: usize) -> StoreResult<Option<i64>> {
        self.try_get(i)
    }
    fn text(&self, i: usize) -> StoreResult<String> {
        self.try_get(i)
    }
    fn opt_text(&self, i: usize) -> StoreResult<Option<String>> {
        self.try_get(i)
    }
    fn opt_bytes(&self, i: usize) -> StoreResult<Option<Vec<u8>>> {
        self.try_get(i)
    }
    fn flag(&self, i: usize) -> StoreResult<bool> {
        self.flag_at(i)
    }
    fn real(&self, i: usize) -> StoreResult<f32> {
        self.real_at(i)
    }
}

/// The six image columns from `first`, and the media format and variants at `media`.
fn image_from_row(row: &impl Cols, first: usize, media: usize) -> StoreResult<Option<FeaturedImage>> {
    let Some(url) = row.opt_text(first)? else { return Ok(None) };
    let (srcset, srcset_webp, card_url) =
        srcsets(row.opt_text(media)?.as_deref(), row.opt_text(media + 1)?.as_deref())?;
    Ok(Some(FeaturedImage {
        url,
        alt: row.opt_text(first + 1)?.unwrap_or_default(),
        caption: row.opt_text(first + 2)?,
        credit: row.opt_text(first + 3)?,
        width: row.opt_int(first + 4)?.unwrap_or(0).try_into().unwrap_or(0),
        height: row.opt_int(first + 5)?.unwrap_or(0).try_into().unwrap_or(0),
        srcset,
        srcset_webp,
        card_url,
    }))
}

fn card_from_row(row: &impl Cols) -> StoreResult<ArticleCard> {
    let slug = row.text(1)?;
    let section_slug = row.text(2)?;
    Ok(ArticleCard {
        id: row.int(0)?,
        path: article_path(&section_slug, &slug),
        slug,
        section_slug,
        section_name: row.text(3)?,
        headline: row.text(4)?,
        dek: row.text(5)?,
        published_at: from_unix(row.opt_int(6)?.unwrap_or(0))?,
        image: image_from_row(row, 7, 15)?,
        lead_author: row.opt_text(13)?,
        comment_count: row.int(14)?,
    })
}

pub(super) fn cards<R: Cols>(rows: &[R]) -> StoreResult<Vec<ArticleCard>> {
    rows.iter().map(card_from_row).collect()
}

/// An [`ARTICLE_COLUMNS`] row, with its byline and tags read separately.
pub(super) fn article_from_row(row: &impl Cols, authors: Vec<AuthorRef>, tags: Vec<TagRef>) -> StoreResult<Article> {
    Ok(Article {
        id: row.int(0)?,
        slug: row.text(1)?,
        section_slug: row.text(2)?,
        section_name: row.text(3)?,
        headline: row.text(4)?,
        dek: row.text(5)?,
        body_html: row.text(6)?,
        image: image_from_row(row, 12, 18)?,
        status: parse_status(&row.text(7)?)?,
        published_at: opt_time(row.opt_int(8)?)?,
        updated_at: from_unix(row.int(9)?)?,
        authors,
        tags,
        view_count: row.int(10)?,
        comment_count: row.int(11)?,
    })
}

pub(super) fn author_ref_from_row(row: &impl Cols) -> StoreResult<AuthorRef> {
    Ok(AuthorRef { slug: row.text(0)?, name: row.text(1)?, email: row.text(2)? })
}

pub(super) fn tag_ref_from_row(row: &impl Cols) -> StoreResult<TagRef> {
    Ok(TagRef { slug: row.text(0)?, name: row.text(1)? })
}

pub(super) fn section_from_row(row: &impl Cols) -> StoreResult<Section> {
    Ok(Section { id: row.int(0)?, slug: row.text(1)?, name: row.text(2)?, position: row.int(3)? })
}

/// A section and whether it is archived (the fifth column).
pub(super) fn section_with_archived(row: &impl Cols) -> StoreResult<(Section, bool)> {
    Ok((section_from_row(row)?, row.flag(4)?))
}

pub(super) fn author_from_row(row: &impl Cols) -> StoreResult<Author> {
    Ok(Author {
        id: row.int(0)?,
        slug: row.text(1)?,
        name: row.text(2)?,
        email: row.text(3)?,
        bio: row.text(4)?,
        photo_url: row.opt_text(5)?,
    })
}

pub(super) fn tag_from_row(row: &impl Cols) -> StoreResult<Tag> {
    Ok(Tag { id: row.int(0)?, slug: row.text(1)?, name: row.text(2)? })
}

pub(super) fn comment_from_row(row: &impl Cols) -> StoreResult<Comment> {
    Ok(Comment {
        id: row.int(0)?,
        article_id: row.int(1)?,
        author_name: row.text(2)?,
        body: row.text(3)?,
        status: parse_comment_status(&row.text(4)?)?,
        created_at: from_unix(row.int(5)?)?,
    })
}

/// A related-corpus row: id, published_at, headline, body_markdown, then the tag names.
pub(super) fn related_doc_from_row(row: &impl Cols, tags: Vec<String>) -> StoreResult<super::RelatedDoc> {
    Ok(super::RelatedDoc {
        id: row.int(0)?,
        published_at: from_unix(row.opt_int(1)?.unwrap_or(0))?,
        headline: row.text(2)?,
        body_markdown: row.text(3)?,
        tags,
    })
}

pub(super) fn user_from_row(row: &impl Cols) -> StoreResult<User> {
    let role = row.text(3)?;
    Ok(User {
        id: row.int(0)?,
        email: row.text(1)?,
        name: row.text(2)?,
        role: Role::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("unknown role {role}")))?,
        author_id: row.int(4)?,
        author_slug: row.text(5)?,
        has_password: row.flag(6)?,
        totp_enabled: row.flag(7)?,
        disabled: row.flag(8)?,
        created_at: from_unix(row.int(9)?)?,
    })
}

pub(super) fn credentials_from_row(row: &impl Cols) -> StoreResult<Credentials> {
    Ok(Credentials {
        user: user_from_row(row)?,
        password_hash: row.opt_text(10)?,
        totp_secret: row.opt_bytes(11)?,
        totp_last_step: row.opt_int(12)?,
    })
}

pub(super) fn session_from_row(row: &impl Cols) -> StoreResult<SessionRecord> {
    Ok(SessionRecord {
        token_hash: row.text(0)?,
        user_id: row.int(1)?,
        csrf_token: row.text(2)?,
        pending_totp: row.flag(3)?,
        created_at: from_unix(row.int(4)?)?,
        last_seen_at: from_unix(row.int(5)?)?,
        reauth_at: from_unix(row.int(6)?)?,
        ip: row.text(7)?,
        user_agent: row.text(8)?,
    })
}

fn unsigned<T: TryFrom<i64>>(value: i64, what: &str) -> StoreResult<T> {
    T::try_from(value).map_err(|_| StoreError::Corrupt(format!("media {what} {value} is out of range")))
}

pub(super) fn media_from_row(row: &impl Cols) -> StoreResult<MediaRecord> {
    Ok(MediaRecord {
        id: row.int(0)?,
        hash: row.text(1)?,
        format: parse_image_format(&row.text(2)?)?,
        width: unsigned(row.int(3)?, "width")?,
        height: unsigned(row.int(4)?, "height")?,
        bytes: unsigned(row.int(5)?, "size")?,
        original_name: row.text(6)?,
        alt: row.text(7)?,
        caption: row.text(8)?,
        credit: row.text(9)?,
        focal: FocalPoint { x: row.real(10)?, y: row.real(11)? },
        variants: row.opt_text(12)?.as_deref().map(parse_variants).transpose()?,
        uploaded_by: row.opt_int(13)?,
        created_at: from_unix(row.int(14)?)?,
        variant_attempts: unsigned(row.int(15)?, "variant attempts")?,
    })
}

pub(super) fn correction_from_row(row: &impl Cols) -> StoreResult<Correction> {
    let kind = row.text(2)?;
    Ok(Correction {
        id: row.int(0)?,
        article_id: row.int(1)?,
        kind: CorrectionKind::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown correction kind {kind}")))?,
        body: row.text(3)?,
        created_at: from_unix(row.int(4)?)?,
        headline: row.text(5)?,
        section_slug: row.text(6)?,
        slug: row.text(7)?,
    })
}

/// The editor's view of an article: the row from the editable-article query, with its byline and
/// tags read separately.
pub(super) fn editable_from_row(
    id: ArticleId,
    row: &impl Cols,
    author_ids: Vec<i64>,
    tags: Vec<String>,
) -> StoreResult<EditableArticle> {
    let image = match row.opt_int(7)? {
        Some(media_id) => Some(ImageChoice {
            media_id,
            alt: row.opt_text(8)?.unwrap_or_default(),
            caption: row.opt_text(9)?.unwrap_or_default(),
            credit: row.opt_text(10)?.unwrap_or_default(),
        }),
        None => None,
    };
    Ok(EditableArticle {
        id,
        fields: ArticleFields {
            section_id: row.int(0)?,
            slug: row.text(1)?,
            headline: row.text(2)?,
            dek: row.text(3)?,
            body_markdown: row.text(4)?,
            author_ids,
            tags,
            image,
            seo_title: row.text(5)?,
            seo_description: row.text(6)?,
        },
        section_slug: row.text(11)?,
        status: parse_status(&row.text(12)?)?,
        publish_at: opt_time(row.opt_int(13)?)?,
        unpublish_at: opt_time(row.opt_int(14)?)?,
        published_at: opt_time(row.opt_int(15)?)?,
        updated_at: from_unix(row.int(16)?)?,
        created_at: from_unix(row.int(17)?)?,
        created_by: row.opt_int(18)?,
        version: row.int(19)?,
    })
}

pub(super) fn newsroom_item_from_row(row: &impl Cols) -> StoreResult<NewsroomListItem> {
    Ok(NewsroomListItem {
        id: row.int(0)?,
        headline: row.text(1)?,
        slug: row.text(2)?,
        section_slug: row.text(3)?,
        section_name: row.text(4)?,
        status: parse_status(&row.text(5)?)?,
        bylines: row.opt_text(6)?.unwrap_or_default(),
        updated_at: from_unix(row.int(7)?)?,
        publish_at: opt_time(row.opt_int(8)?)?,
        published_at: opt_time(row.opt_int(9)?)?,
    })
}

pub(super) fn workflow_event_from_row(row: &impl Cols) -> StoreResult<WorkflowEvent> {
    Ok(WorkflowEvent {
        from: parse_status(&row.text(0)?)?,
        to: parse_status(&row.text(1)?)?,
        user_name: row.opt_text(2)?,
        at: from_unix(row.int(3)?)?,
    })
}

pub(super) fn revision_summary_from_row(row: &impl Cols) -> StoreResult<RevisionSummary> {
    Ok(RevisionSummary {
        id: row.int(0)?,
        user_name: row.opt_text(1)?,
        autosave: row.flag(2)?,
        created_at: from_unix(row.int(3)?)?,
    })
}

pub(super) fn revision_from_row(row: &impl Cols) -> StoreResult<Revision> {
    let id = row.int(0)?;
    Ok(Revision {
        id,
        article_id: row.int(1)?,
        fields: serde_json::from_str(&row.text(2)?)
            .map_err(|e| StoreError::Corrupt(format!("revision {id} snapshot: {e}")))?,
        created_at: from_unix(row.int(3)?)?,
    })
}

pub(super) fn curated_entry_from_row(row: &impl Cols) -> StoreResult<CuratedEntry> {
    Ok(CuratedEntry {
        article_id: row.int(0)?,
        headline: row.text(1)?,
        section_name: row.text(2)?,
        status: parse_status(&row.text(3)?)?,
        expires_at: opt_time(row.opt_int(4)?)?,
    })
}

pub(super) fn moderation_item_from_row(row: &impl Cols) -> StoreResult<ModerationItem> {
    Ok(ModerationItem {
        id: row.int(0)?,
        article_id: row.int(1)?,
        headline: row.text(2)?,
        section_slug: row.text(3)?,
        slug: row.text(4)?,
        author_name: row.text(5)?,
        body: row.text(6)?,
        status: parse_comment_status(&row.text(7)?)?,
        fingerprint: row.text(8)?,
        fingerprint_blocked: row.flag(9)?,
        created_at: from_unix(row.int(10)?)?,
    })
}

pub(super) fn audit_entry_from_row(row: &impl Cols) -> StoreResult<AuditEntry> {
    Ok(AuditEntry {
        id: row.int(0)?,
        at: from_unix(row.int(1)?)?,
        user_name: row.opt_text(2)?,
        action: row.text(3)?,
        target_kind: row.text(4)?,
        target_id: row.opt_int(5)?,
        detail: row.text(6)?,
    })
}
