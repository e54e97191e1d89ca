//! Time and format conversions, how errors are classified, the column lists several statements
//! share, and the row → domain conversions. Rows are read by column name: each conversion names
//! the columns it reads, and the statements that feed it alias their columns to those names.

use std::sync::OnceLock;

use chrono::{DateTime, TimeZone, Utc};

use super::newsroom::{
    ArticleFields, AuditEntry, Correction, CorrectionKind, Credentials, CuratedEntry, EditableArticle, ImageChoice,
    MediaRecord, ModerationItem, NewsroomListItem, Revision, RevisionSummary, SessionRecord, WorkflowEvent,
};
use super::sql::{Dialect, Row};
use super::{StoreError, StoreResult};
use crate::domain::{
    Article, ArticleCard, ArticleId, ArticleStatus, Author, AuthorId, AuthorRef, Comment, CommentId, CommentStatus,
    FeaturedImage, MediaId, Role, Section, SectionId, Slug, StoryLink, Tag, TagId, TagRef, User, UserId,
    article::article_path,
};
use crate::media::{FocalPoint, ImageFormat, Variant};

/// An article status as statements compare with it: the quoted spelling the schema stores
/// (`ArticleStatus::as_str`, which binds it). Statements write `article_status!(published)`
/// rather than the literal, so each status is spelt for SQL here only; a test holds the two
/// spellings together.
macro_rules! article_status {
    (draft) => {
        "'draft'"
    };
    (in_review) => {
        "'in_review'"
    };
    (scheduled) => {
        "'scheduled'"
    };
    (published) => {
        "'published'"
    };
    (unpublished) => {
        "'unpublished'"
    };
}
pub(super) use article_status;

/// A comment status as statements compare with it (`CommentStatus::as_str`, quoted).
macro_rules! comment_status {
    (published) => {
        "'published'"
    };
    (held) => {
        "'held'"
    };
    (rejected) => {
        "'rejected'"
    };
    (spam) => {
        "'spam'"
    };
}
pub(super) use comment_status;

pub(super) fn to_unix(t: DateTime<Utc>) -> i64 {
    t.timestamp()
}

pub(super) fn from_unix(secs: i64) -> StoreResult<DateTime<Utc>> {
    Utc.timestamp_opt(secs, 0).single().ok_or_else(|| StoreError::Corrupt(format!("timestamp {secs} is out of range")))
}

/// Milliseconds since the epoch, for the times kept to the millisecond (columns named `…_ms`).
pub(super) fn to_unix_ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(super) fn from_unix_ms(ms: i64) -> StoreResult<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms).ok_or_else(|| StoreError::Corrupt(format!("timestamp {ms} ms is out of range")))
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

pub(super) fn variants_json(variants: &[Variant]) -> StoreResult<String> {
    serde_json::to_string(variants).map_err(|e| StoreError::WriteFailed(format!("media variants: {e}")))
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

/// Columns of an [`ArticleCard`], named as [`card_from_row`] reads them. `a` is articles, `s` is
/// sections and `im` is the featured image's media row, joined with `media_join!`.
macro_rules! card_columns {
    () => {
        "a.id, a.slug, s.slug AS section_slug, s.name AS section_name, a.headline, a.dek, a.published_at, \
         a.image_url, a.image_alt, a.image_caption, a.image_credit, a.image_width, a.image_height, \
         (SELECT au.name FROM article_authors aa JOIN authors au ON au.id = aa.author_id \
           WHERE aa.article_id = a.id ORDER BY aa.position LIMIT 1) AS lead_author, \
         a.comment_count, im.format AS media_format, im.variants AS media_variants"
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

/// An article page in one statement: the article, its section and image, and, aggregated as JSON
/// arrays, its byline, tags and corrections, so an uncached page costs one round trip for all of
/// it. Filtered by the caller's `WHERE`.
pub(super) fn article_select(dialect: Dialect) -> String {
    let byline = dialect.json_array_agg(&[
        ("position", "aa.position"),
        ("slug", "au.slug"),
        ("name", "au.name"),
        ("email", "au.email"),
    ]);
    let tags = dialect.json_array_agg(&[("position", "at.position"), ("slug", "t.slug"), ("name", "t.name")]);
    let corrections = dialect.json_array_agg(&[
        ("id", "c.id"),
        ("kind", "c.kind"),
        ("body", "c.body"),
        ("created_at", "c.created_at"),
    ]);
    format!(
        "SELECT a.id, a.slug, s.slug AS section_slug, s.name AS section_name, a.headline, a.dek, b.html AS body_html, \
         a.status, a.published_at, a.updated_at, a.view_count, a.comment_count, \
         a.image_url, a.image_alt, a.image_caption, a.image_credit, a.image_width, a.image_height, \
         im.format AS media_format, im.variants AS media_variants, \
         (SELECT {byline} FROM article_authors aa JOIN authors au ON au.id = aa.author_id \
           WHERE aa.article_id = a.id) AS byline, \
         (SELECT {tags} FROM article_tags at JOIN tags t ON t.id = at.tag_id WHERE at.article_id = a.id) AS tag_list, \
         (SELECT {corrections} FROM corrections c WHERE c.article_id = a.id) AS correction_list \
         FROM articles a JOIN sections s ON s.id = a.section_id JOIN article_bodies b ON b.article_id = a.id \
         LEFT JOIN media im ON im.id = a.image_media_id"
    )
}

/// The columns of a [`StoryLink`], aliased as [`story_link_from_row`] reads them: the article's
/// own row and its section's, nothing joined per story beyond that.
macro_rules! link_columns {
    () => {
        "a.id, a.slug, s.slug AS section_slug, s.name AS section_name, a.headline"
    };
}
pub(super) use link_columns;

/// The names [`link_columns`] gives its columns.
const LINK_FIELDS: &[&str] = &["id", "slug", "section_slug", "section_name", "headline"];

/// The columns [`comment_from_row`] reads.
const COMMENT_FIELDS: &[&str] = &["id", "article_id", "author_name", "body", "status", "created_at"];

/// The statement of an uncached article page, in one statement: the article with slug `$1` as
/// [`article_select`] reads it, the published stories of its related list (`$2` at most, best
/// first, as the [`StoryLink`]s You May Also Like shows) as `related_list`, and its newest
/// published comments (`$3` at most) as `comment_list`, both lists aggregated as JSON records. On
/// PostgreSQL one round trip instead of three is most of an uncached page's cost.
///
/// Put together once per dialect, since every uncached page runs it, with the limits bound. A
/// bound `LIMIT` would make SQLite compile the statement again on every run (sqlx clears the
/// bindings after each), were it not built with `SQLITE_ENABLE_QPSG` (`.cargo/config.toml`, checked
/// by a unit test), which keeps the first plan.
pub(super) fn article_page_statement(dialect: Dialect) -> &'static str {
    static TEXTS: [OnceLock<String>; 2] = [OnceLock::new(), OnceLock::new()];
    let slot = match dialect {
        Dialect::Sqlite => &TEXTS[0],
        Dialect::Postgres => &TEXTS[1],
    };
    slot.get_or_init(|| article_page_select(dialect))
}

/// [`article_page_statement`]'s text for `dialect`.
fn article_page_select(dialect: Dialect) -> String {
    let aggregate = |names: &[&'static str]| {
        let expressions: Vec<String> = names.iter().map(|n| format!("x.{n}")).collect();
        let fields: Vec<(&str, &str)> = names.iter().copied().zip(expressions.iter().map(String::as_str)).collect();
        dialect.json_array_agg(&fields)
    };
    let related = aggregate(&[LINK_FIELDS, &["rank"]].concat());
    let newest = aggregate(COMMENT_FIELDS);
    format!(
        concat!(
            "SELECT page.*, \
         (SELECT {related} FROM (SELECT r.rank, {link} FROM related_articles r {driving} articles a \
            ON a.id = r.related_id JOIN sections s ON s.id = a.section_id \
            WHERE r.article_id = page.id AND a.status = ",
            article_status!(published),
            " ORDER BY r.rank LIMIT $2) x) AS related_list, \
         (SELECT {newest} FROM (SELECT {comment} FROM comments \
            WHERE article_id = page.id AND status = ",
            comment_status!(published),
            " ORDER BY created_at DESC, id DESC LIMIT $3) x) \
           AS comment_list \
         FROM ({article} WHERE a.slug = $1) page"
        ),
        link = link_columns!(),
        driving = dialect.driving_join(),
        comment = COMMENT_FIELDS.join(", "),
        article = article_select(dialect),
        related = related,
        newest = newest,
    )
}

/// The related cards of an [`article_page_statement`] row.
pub(super) fn related_from_row(row: &Row) -> StoreResult<Vec<StoryLink>> {
    Ok(json_list_by(row, "related_list", |note: &LinkNote| note.rank)?
        .into_iter()
        .map(|note| StoryLink {
            id: ArticleId(note.id),
            path: article_path(&note.section_slug, &note.slug),
            headline: note.headline,
            section_name: note.section_name,
        })
        .collect())
}

/// A related story as [`article_page_statement`] aggregates it ([`LINK_FIELDS`] and its rank). Decoded into
/// its own type, not a map of JSON values: on an uncached article page, decoding the two lists
/// through maps had cost half as much as SQLite's reading them.
#[derive(serde::Deserialize)]
struct LinkNote {
    rank: i64,
    id: i64,
    slug: String,
    section_slug: String,
    section_name: String,
    headline: String,
}

pub(super) fn story_link_from_row(row: &Row) -> StoreResult<StoryLink> {
    Ok(StoryLink {
        id: ArticleId(row.int("id")?),
        headline: row.text("headline")?,
        section_name: row.text("section_name")?,
        path: article_path(&row.text("section_slug")?, &row.text("slug")?),
    })
}

/// The comments of an [`article_page_statement`] row.
pub(super) fn comments_from_row(row: &Row) -> StoreResult<Vec<Comment>> {
    json_list_by(row, "comment_list", |note: &CommentNote| std::cmp::Reverse((note.created_at, note.id)))?
        .into_iter()
        .map(|note| {
            Ok(Comment {
                id: CommentId(note.id),
                article_id: ArticleId(note.article_id),
                status: parse_comment_status(&note.status)?,
                created_at: from_unix(note.created_at)?,
                author_name: note.author_name,
                body: note.body,
            })
        })
        .collect()
}

/// A comment as [`article_page_statement`] aggregates it ([`COMMENT_FIELDS`]).
#[derive(serde::Deserialize)]
struct CommentNote {
    id: i64,
    article_id: i64,
    author_name: String,
    body: String,
    status: String,
    created_at: i64,
}

/// Counts a sign-in attempt unless the limit is reached: $1 scope, $2 key, $3 now, $4 window
/// start, $5 limit. Both databases accept it; each backend makes it atomic its own way.
pub(super) const RESERVE_LOGIN_ATTEMPT: &str = "INSERT INTO login_failures (scope, key, at) \
     SELECT $1, $2, $3 WHERE (SELECT COUNT(*) FROM login_failures WHERE scope = $1 AND key = $2 AND at >= $4) < $5";

/// Revokes the unused one-time links of user $1 at time $2 (marked used, so they can never be taken).
pub(super) const REVOKE_PASSWORD_TOKENS: &str =
    "UPDATE password_tokens SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL";

pub(super) const USER_COLUMNS: &str = "SELECT u.id, u.email, u.name, u.role, u.author_id, au.slug AS author_slug, \
     u.password_hash IS NOT NULL AS has_password, u.totp_secret IS NOT NULL AS totp_enabled, \
     u.disabled_at IS NOT NULL AS disabled, u.created_at, u.password_hash, u.totp_secret, u.totp_last_step \
     FROM users u JOIN authors au ON au.id = u.author_id";

pub(super) const SESSION_COLUMNS: &str = "SELECT token_hash, user_id, csrf_token, pending_totp, created_at_ms, \
     last_seen_at_ms, reauth_at_ms, ip, user_agent FROM sessions";

pub(super) const MEDIA_COLUMNS: &str = "SELECT id, hash, format, width, height, bytes, original_name, alt, caption, \
     credit, focal_x, focal_y, variants, uploaded_by, created_at, variant_attempts FROM media";

pub(super) const CORRECTION_COLUMNS: &str = "SELECT c.id, c.article_id, c.kind, c.body, c.created_at, a.headline, \
     s.slug AS section_slug, a.slug FROM corrections c JOIN articles a ON a.id = c.article_id JOIN sections s ON s.id = a.section_id";

/// The featured image of a card or article record: the `image_*` fields, and the media library's
/// `media_format` and `media_variants` for its responsive sources.
fn image_from_row(row: &Row) -> StoreResult<Option<FeaturedImage>> {
    let Some(url) = row.opt_text("image_url")? else { return Ok(None) };
    let (srcset, srcset_webp, card_url) =
        srcsets(row.opt_text("media_format")?.as_deref(), row.opt_text("media_variants")?.as_deref())?;
    Ok(Some(FeaturedImage {
        url,
        alt: row.opt_text("image_alt")?.unwrap_or_default(),
        caption: row.opt_text("image_caption")?,
        credit: row.opt_text("image_credit")?,
        width: row.opt_int("image_width")?.unwrap_or(0).try_into().unwrap_or(0),
        height: row.opt_int("image_height")?.unwrap_or(0).try_into().unwrap_or(0),
        srcset,
        srcset_webp,
        card_url,
    }))
}

fn card_from_row(row: &Row) -> StoreResult<ArticleCard> {
    let slug = row.text("slug")?;
    let section_slug = row.text("section_slug")?;
    Ok(ArticleCard {
        id: ArticleId(row.int("id")?),
        path: article_path(&section_slug, &slug),
        slug,
        section_slug,
        section_name: row.text("section_name")?,
        headline: row.text("headline")?,
        dek: row.text("dek")?,
        published_at: from_unix(row.opt_int("published_at")?.unwrap_or(0))?,
        image: image_from_row(row)?,
        lead_author: row.opt_text("lead_author")?,
        comment_count: row.int("comment_count")?,
    })
}

pub(super) fn cards(rows: &[Row]) -> StoreResult<Vec<ArticleCard>> {
    rows.iter().map(card_from_row).collect()
}

/// A list aggregated by [`Dialect::json_array_agg`], which keeps no order, sorted by `key`.
fn json_list_by<T: serde::de::DeserializeOwned, K: Ord>(
    row: &Row,
    column: &str,
    key: impl FnMut(&T) -> K,
) -> StoreResult<Vec<T>> {
    let Some(json) = row.opt_text(column)? else { return Ok(Vec::new()) };
    let mut list: Vec<T> =
        serde_json::from_str(&json).map_err(|e| StoreError::Corrupt(format!("{column} of a stored article: {e}")))?;
    list.sort_by_key(key);
    Ok(list)
}

/// An author of a byline as [`article_select`] aggregates it.
#[derive(serde::Deserialize)]
struct BylineNote {
    position: i64,
    slug: String,
    name: String,
    email: String,
}

/// A tag as [`article_select`] aggregates it.
#[derive(serde::Deserialize)]
struct TagNote {
    position: i64,
    slug: String,
    name: String,
}

/// A correction as [`article_select`] aggregates it.
#[derive(serde::Deserialize)]
struct CorrectionNote {
    id: i64,
    kind: String,
    body: String,
    created_at: i64,
}

/// An [`article_select`] row.
pub(super) fn article_from_row(row: &Row) -> StoreResult<Article> {
    let id = ArticleId(row.int("id")?);
    let slug = row.text("slug")?;
    let section_slug = row.text("section_slug")?;
    let headline = row.text("headline")?;
    let corrections = json_list_by(row, "correction_list", |note: &CorrectionNote| (note.created_at, note.id))?
        .into_iter()
        .map(|note| {
            Ok(Correction {
                id: note.id,
                article_id: id,
                kind: CorrectionKind::parse(&note.kind)
                    .ok_or_else(|| StoreError::Corrupt(format!("unknown correction kind {}", note.kind)))?,
                body: note.body,
                created_at: from_unix(note.created_at)?,
                headline: headline.clone(),
                section_slug: section_slug.clone(),
                slug: slug.clone(),
            })
        })
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(Article {
        id,
        section_name: row.text("section_name")?,
        dek: row.text("dek")?,
        body_html: row.text("body_html")?,
        image: image_from_row(row)?,
        status: parse_status(&row.text("status")?)?,
        published_at: opt_time(row.opt_int("published_at")?)?,
        updated_at: from_unix(row.int("updated_at")?)?,
        authors: json_list_by(row, "byline", |note: &BylineNote| note.position)?
            .into_iter()
            .map(|note| AuthorRef { slug: note.slug, name: note.name, email: note.email })
            .collect(),
        tags: json_list_by(row, "tag_list", |note: &TagNote| note.position)?
            .into_iter()
            .map(|note| TagRef { slug: note.slug, name: note.name })
            .collect(),
        view_count: row.int("view_count")?,
        comment_count: row.int("comment_count")?,
        corrections,
        slug,
        section_slug,
        headline,
    })
}

pub(super) fn section_from_row(row: &Row) -> StoreResult<Section> {
    Ok(Section {
        id: SectionId(row.int("id")?),
        slug: row.text("slug")?,
        name: row.text("name")?,
        position: row.int("position")?,
    })
}

/// A section and whether it is archived.
pub(super) fn section_with_archived(row: &Row) -> StoreResult<(Section, bool)> {
    Ok((section_from_row(row)?, row.flag("archived")?))
}

pub(super) fn author_from_row(row: &Row) -> StoreResult<Author> {
    Ok(Author {
        id: AuthorId(row.int("id")?),
        slug: row.text("slug")?,
        name: row.text("name")?,
        email: row.text("email")?,
        bio: row.text("bio")?,
        photo_url: row.opt_text("photo_url")?,
    })
}

pub(super) fn tag_from_row(row: &Row) -> StoreResult<Tag> {
    Ok(Tag { id: TagId(row.int("id")?), slug: row.text("slug")?, name: row.text("name")? })
}

pub(super) fn comment_from_row(row: &Row) -> StoreResult<Comment> {
    Ok(Comment {
        id: CommentId(row.int("id")?),
        article_id: ArticleId(row.int("article_id")?),
        author_name: row.text("author_name")?,
        body: row.text("body")?,
        status: parse_comment_status(&row.text("status")?)?,
        created_at: from_unix(row.int("created_at")?)?,
    })
}

/// A related-corpus row, with its tag names split out of `tags`.
pub(super) fn related_doc_from_row(row: &Row, tags: Vec<String>) -> StoreResult<super::RelatedDoc> {
    Ok(super::RelatedDoc {
        id: ArticleId(row.int("id")?),
        published_at: from_unix(row.opt_int("published_at")?.unwrap_or(0))?,
        headline: row.text("headline")?,
        body_markdown: row.text("body_markdown")?,
        tags,
    })
}

pub(super) fn user_from_row(row: &Row) -> StoreResult<User> {
    let role = row.text("role")?;
    Ok(User {
        id: UserId(row.int("id")?),
        email: row.text("email")?,
        name: row.text("name")?,
        role: Role::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("unknown role {role}")))?,
        author_id: AuthorId(row.int("author_id")?),
        author_slug: row.text("author_slug")?,
        has_password: row.flag("has_password")?,
        totp_enabled: row.flag("totp_enabled")?,
        disabled: row.flag("disabled")?,
        created_at: from_unix(row.int("created_at")?)?,
    })
}

pub(super) fn credentials_from_row(row: &Row) -> StoreResult<Credentials> {
    Ok(Credentials {
        user: user_from_row(row)?,
        password_hash: row.opt_text("password_hash")?,
        totp_secret: row.opt_bytes("totp_secret")?,
        totp_last_step: row.opt_int("totp_last_step")?,
    })
}

pub(super) fn session_from_row(row: &Row) -> StoreResult<SessionRecord> {
    Ok(SessionRecord {
        token_hash: row.text("token_hash")?,
        user_id: UserId(row.int("user_id")?),
        csrf_token: row.text("csrf_token")?,
        pending_totp: row.flag("pending_totp")?,
        created_at: from_unix_ms(row.int("created_at_ms")?)?,
        last_seen_at: from_unix_ms(row.int("last_seen_at_ms")?)?,
        reauth_at: from_unix_ms(row.int("reauth_at_ms")?)?,
        ip: row.text("ip")?,
        user_agent: row.text("user_agent")?,
    })
}

fn unsigned<T: TryFrom<i64>>(value: i64, what: &str) -> StoreResult<T> {
    T::try_from(value).map_err(|_| StoreError::Corrupt(format!("media {what} {value} is out of range")))
}

pub(super) fn media_from_row(row: &Row) -> StoreResult<MediaRecord> {
    Ok(MediaRecord {
        id: MediaId(row.int("id")?),
        hash: row.text("hash")?,
        format: parse_image_format(&row.text("format")?)?,
        width: unsigned(row.int("width")?, "width")?,
        height: unsigned(row.int("height")?, "height")?,
        bytes: unsigned(row.int("bytes")?, "size")?,
        original_name: row.text("original_name")?,
        alt: row.text("alt")?,
        caption: row.text("caption")?,
        credit: row.text("credit")?,
        focal: FocalPoint { x: row.real("focal_x")?, y: row.real("focal_y")? },
        variants: row.opt_text("variants")?.as_deref().map(parse_variants).transpose()?,
        uploaded_by: row.opt_int("uploaded_by")?.map(UserId),
        created_at: from_unix(row.int("created_at")?)?,
        variant_attempts: unsigned(row.int("variant_attempts")?, "variant attempts")?,
    })
}

pub(super) fn correction_from_row(row: &Row) -> StoreResult<Correction> {
    let kind = row.text("kind")?;
    Ok(Correction {
        id: row.int("id")?,
        article_id: ArticleId(row.int("article_id")?),
        kind: CorrectionKind::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown correction kind {kind}")))?,
        body: row.text("body")?,
        created_at: from_unix(row.int("created_at")?)?,
        headline: row.text("headline")?,
        section_slug: row.text("section_slug")?,
        slug: row.text("slug")?,
    })
}

/// The editor's view of an article: the row from the editable-article query, with its byline and
/// tags read separately.
pub(super) fn editable_from_row(
    id: ArticleId,
    row: &Row,
    author_ids: Vec<AuthorId>,
    tags: Vec<String>,
) -> StoreResult<EditableArticle> {
    let image = match row.opt_int("image_media_id")? {
        Some(media_id) => Some(ImageChoice {
            media_id: MediaId(media_id),
            alt: row.opt_text("image_alt")?.unwrap_or_default(),
            caption: row.opt_text("image_caption")?.unwrap_or_default(),
            credit: row.opt_text("image_credit")?.unwrap_or_default(),
        }),
        None => None,
    };
    Ok(EditableArticle {
        id,
        fields: ArticleFields {
            section_id: SectionId(row.int("section_id")?),
            slug: row.text("slug")?,
            headline: row.text("headline")?,
            dek: row.text("dek")?,
            body_markdown: row.text("body_markdown")?,
            author_ids,
            tags,
            image,
            seo_title: row.text("seo_title")?,
            seo_description: row.text("seo_description")?,
        },
        section_slug: row.text("section_slug")?,
        status: parse_status(&row.text("status")?)?,
        publish_at: opt_time(row.opt_int("publish_at")?)?,
        unpublish_at: opt_time(row.opt_int("unpublish_at")?)?,
        published_at: opt_time(row.opt_int("published_at")?)?,
        updated_at: from_unix(row.int("updated_at")?)?,
        created_at: from_unix(row.int("created_at")?)?,
        created_by: row.opt_int("created_by")?.map(UserId),
        version: row.int("version")?,
    })
}

pub(super) fn newsroom_item_from_row(row: &Row) -> StoreResult<NewsroomListItem> {
    Ok(NewsroomListItem {
        id: ArticleId(row.int("id")?),
        headline: row.text("headline")?,
        slug: row.text("slug")?,
        section_slug: row.text("section_slug")?,
        section_name: row.text("section_name")?,
        status: parse_status(&row.text("status")?)?,
        bylines: row.opt_text("bylines")?.unwrap_or_default(),
        updated_at: from_unix(row.int("updated_at")?)?,
        publish_at: opt_time(row.opt_int("publish_at")?)?,
        published_at: opt_time(row.opt_int("published_at")?)?,
    })
}

pub(super) fn workflow_event_from_row(row: &Row) -> StoreResult<WorkflowEvent> {
    Ok(WorkflowEvent {
        from: parse_status(&row.text("from_status")?)?,
        to: parse_status(&row.text("to_status")?)?,
        user_name: row.opt_text("user_name")?,
        at: from_unix_ms(row.int("at_ms")?)?,
    })
}

pub(super) fn revision_summary_from_row(row: &Row) -> StoreResult<RevisionSummary> {
    Ok(RevisionSummary {
        id: row.int("id")?,
        user_name: row.opt_text("user_name")?,
        autosave: row.flag("autosave")?,
        created_at: from_unix_ms(row.int("created_at_ms")?)?,
    })
}

pub(super) fn revision_from_row(row: &Row) -> StoreResult<Revision> {
    let id = row.int("id")?;
    Ok(Revision {
        id,
        article_id: ArticleId(row.int("article_id")?),
        fields: serde_json::from_str(&row.text("snapshot")?)
            .map_err(|e| StoreError::Corrupt(format!("revision {id} snapshot: {e}")))?,
        created_at: from_unix_ms(row.int("created_at_ms")?)?,
    })
}

pub(super) fn curated_entry_from_row(row: &Row) -> StoreResult<CuratedEntry> {
    Ok(CuratedEntry {
        article_id: ArticleId(row.int("article_id")?),
        headline: row.text("headline")?,
        section_name: row.text("section_name")?,
        status: parse_status(&row.text("status")?)?,
        expires_at: opt_time(row.opt_int("expires_at")?)?,
    })
}

pub(super) fn moderation_item_from_row(row: &Row) -> StoreResult<ModerationItem> {
    Ok(ModerationItem {
        id: CommentId(row.int("id")?),
        article_id: ArticleId(row.int("article_id")?),
        headline: row.text("headline")?,
        section_slug: row.text("section_slug")?,
        slug: row.text("slug")?,
        author_name: row.text("author_name")?,
        body: row.text("body")?,
        status: parse_comment_status(&row.text("status")?)?,
        fingerprint: row.text("fingerprint")?,
        fingerprint_blocked: row.flag("fingerprint_blocked")?,
        created_at: from_unix(row.int("created_at")?)?,
    })
}

pub(super) fn audit_entry_from_row(row: &Row) -> StoreResult<AuditEntry> {
    Ok(AuditEntry {
        id: row.int("id")?,
        at: from_unix_ms(row.int("at_ms")?)?,
        user_name: row.opt_text("user_name")?,
        action: row.text("action")?,
        target_kind: row.text("target_kind")?,
        target_id: row.opt_int("target_id")?,
        detail: row.text("detail")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_spell_each_status_as_the_schema_stores_it() {
        let quoted = |s: &str| format!("'{s}'");
        let articles = [
            (ArticleStatus::Draft, article_status!(draft)),
            (ArticleStatus::InReview, article_status!(in_review)),
            (ArticleStatus::Scheduled, article_status!(scheduled)),
            (ArticleStatus::Published, article_status!(published)),
            (ArticleStatus::Unpublished, article_status!(unpublished)),
        ];
        for (status, in_sql) in articles {
            assert_eq!(in_sql, quoted(status.as_str()));
            assert_eq!(ArticleStatus::parse(in_sql.trim_matches('\'')), Some(status));
        }
        let comments = [
            (CommentStatus::Published, comment_status!(published)),
            (CommentStatus::Held, comment_status!(held)),
            (CommentStatus::Rejected, comment_status!(rejected)),
            (CommentStatus::Spam, comment_status!(spam)),
        ];
        for (status, in_sql) in comments {
            assert_eq!(in_sql, quoted(status.as_str()));
            assert_eq!(CommentStatus::parse(in_sql.trim_matches('\'')), Some(status));
        }
    }
}
