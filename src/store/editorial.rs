//! The editorial side of [`super::newsroom::Newsroom`]: the editor's saves and their revisions, the
//! workflow's compare-and-set transitions, the scheduler, and corrections. A save or a transition
//! reads the article's row and then writes it; on PostgreSQL the read locks the row
//! (`FOR UPDATE`), which SQLite's single writer (`BEGIN IMMEDIATE`) gives its transactions for free.

use std::collections::HashSet;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::articles::sync_links;
use super::audit::{commit_with, record_in};
use super::newsroom::{
    ArticleFields, Correction, CorrectionKind, EditableArticle, ImageChoice, NewAuditEntry, NewsroomListItem,
    NewsroomQuery, Revision, RevisionSummary, Saving, Transition, VersionedWrite, WorkflowEvent,
};
use super::shared::{
    CORRECTION_COLUMNS, article_status, correction_from_row, editable_from_row, from_unix, is_foreign_key_violation,
    is_unique_violation, media_url, newsroom_item_from_row, nonempty, opt_time, parse_status, revision_from_row,
    revision_summary_from_row, snapshot_json, to_unix, to_unix_ms, touched, workflow_event_from_row,
};
use super::sql::{Db, Statement, Tx, sql, sql_built};
use super::{SqlStore, StoreError, StoreResult};
use crate::domain::{ArticleId, ArticleStatus, AuthorId, Slug, UserId};

/// The featured image as the articles table keeps it: the choice, plus the file's address and size
/// copied from the media library so the reader's queries need no join for them.
pub(super) struct ImageColumns<'a> {
    choice: &'a ImageChoice,
    url: String,
    width: i64,
    height: i64,
}

pub(super) async fn image_columns<'a>(
    tx: &mut Tx,
    image: Option<&'a ImageChoice>,
) -> StoreResult<Option<ImageColumns<'a>>> {
    let Some(choice) = image else { return Ok(None) };
    let row = sql("SELECT hash, format, width, height FROM media WHERE id = $1")
        .bind(choice.media_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StoreError::Missing(format!("media {}", choice.media_id)))?;
    Ok(Some(ImageColumns {
        choice,
        url: media_url(&row.text("hash")?, &row.text("format")?)?,
        width: row.int("width")?,
        height: row.int("height")?,
    }))
}

/// Binds the thirteen edited columns of the article row in the order both the insert and the
/// update list them: section_id, slug, headline, dek, seo_title, seo_description, image_media_id,
/// image_alt, image_caption, image_credit, image_url, image_width, image_height. The body goes to
/// its own table, `article_bodies`.
fn bind_fields(query: Statement, fields: &ArticleFields, image: Option<&ImageColumns<'_>>) -> Statement {
    query
        .bind(fields.section_id)
        .bind(fields.slug.clone())
        .bind(fields.headline.clone())
        .bind(fields.dek.clone())
        .bind(fields.seo_title.clone())
        .bind(fields.seo_description.clone())
        .bind(image.map(|i| i.choice.media_id))
        .bind(image.map(|i| i.choice.alt.clone()))
        .bind(image.and_then(|i| nonempty(&i.choice.caption)))
        .bind(image.and_then(|i| nonempty(&i.choice.credit)))
        .bind(image.map(|i| i.url.clone()))
        .bind(image.map(|i| i.width))
        .bind(image.map(|i| i.height))
}

pub(super) fn article_write_error(err: sqlx::Error, fields: &ArticleFields) -> StoreError {
    if is_unique_violation(&err) {
        StoreError::Conflict("slug".into())
    } else if is_foreign_key_violation(&err) {
        StoreError::Missing(format!("section {}", fields.section_id))
    } else {
        err.into()
    }
}

/// Replaces the byline and tags. `listed_at` is the publication time while the article is
/// published (the author and tag pages list by it), otherwise none.
async fn replace_links(tx: &mut Tx, id: ArticleId, fields: &ArticleFields, listed_at: Option<i64>) -> StoreResult<()> {
    sql("DELETE FROM article_authors WHERE article_id = $1").bind(id).execute(&mut *tx).await?;
    sql("DELETE FROM article_tags WHERE article_id = $1").bind(id).execute(&mut *tx).await?;
    let mut authors = HashSet::new();
    for &author_id in &fields.author_ids {
        if !authors.insert(author_id) {
            continue;
        }
        sql("INSERT INTO article_authors (article_id, author_id, position, published_at) VALUES ($1, $2, $3, $4)")
            .bind(id)
            .bind(author_id)
            .bind(authors.len() as i64 - 1)
            .bind(listed_at)
            .execute(&mut *tx)
            .await
            .map_err(|e| {
                if is_foreign_key_violation(&e) { StoreError::Missing(format!("author {author_id}")) } else { e.into() }
            })?;
    }
    // Names whose slug would be empty (punctuation only) are not tags.
    let mut tags = HashSet::new();
    for name in &fields.tags {
        let Ok(slug) = Slug::from_title(name).map(Slug::into_inner) else { continue };
        if !tags.insert(slug.clone()) {
            continue;
        }
        sql("INSERT INTO tags (slug, name) VALUES ($1, $2) ON CONFLICT (slug) DO NOTHING")
            .bind(&slug)
            .bind(name.trim())
            .execute(&mut *tx)
            .await?;
        sql("INSERT INTO article_tags (article_id, tag_id, position, published_at) \
             SELECT $1, id, $2, $3 FROM tags WHERE slug = $4")
        .bind(id)
        .bind(tags.len() as i64 - 1)
        .bind(listed_at)
        .bind(&slug)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

pub(super) async fn insert_revision(
    tx: &mut Tx,
    id: ArticleId,
    fields: &ArticleFields,
    user_id: Option<UserId>,
    autosave: bool,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    let snapshot = snapshot_json(fields)?;
    sql("INSERT INTO revisions (article_id, user_id, autosave, snapshot, created_at_ms) VALUES ($1, $2, $3, $4, $5)")
        .bind(id)
        .bind(user_id)
        .bind(i64::from(autosave))
        .bind(snapshot)
        .bind(to_unix_ms(at))
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Whether `slug` is an old address of an article other than `id`. Taking it would shadow that
/// article's redirect, and renaming the taker later would repoint the redirect to the taker: an old
/// address stays with the article it belonged to.
async fn redirects_elsewhere(tx: &mut Tx, slug: &str, id: Option<ArticleId>) -> StoreResult<bool> {
    let owner: Option<ArticleId> =
        sql("SELECT article_id FROM slug_redirects WHERE old_slug = $1").bind(slug).scalar_optional(&mut *tx).await?;
    Ok(owner.is_some_and(|owner| Some(owner) != id))
}

pub(super) async fn create_article(
    db: &Db,
    fields: &ArticleFields,
    body_html: &str,
    user_id: Option<UserId>,
    at: DateTime<Utc>,
    audit: &NewAuditEntry,
) -> StoreResult<ArticleId> {
    let mut tx = db.begin().await?;
    if redirects_elsewhere(&mut tx, &fields.slug, None).await? {
        return Err(StoreError::Conflict("slug".into()));
    }
    let image = image_columns(&mut tx, fields.image.as_ref()).await?;
    let insert = sql(concat!(
        "INSERT INTO articles (section_id, slug, headline, dek, seo_title, seo_description, image_media_id, \
         image_alt, image_caption, image_credit, image_url, image_width, image_height, status, updated_at, \
         created_at, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, ",
        article_status!(draft),
        ", $14, $15, $16) RETURNING id"
    ));
    let id: ArticleId = bind_fields(insert, fields, image.as_ref())
        .bind(to_unix(at))
        .bind(to_unix(at))
        .bind(user_id)
        .fetch_one(&mut tx)
        .await
        .map_err(|e| article_write_error(e, fields))?
        .try_get("id")?;
    sql("INSERT INTO article_bodies (article_id, html, markdown) VALUES ($1, $2, $3)")
        .bind(id)
        .bind(body_html.to_owned())
        .bind(fields.body_markdown.clone())
        .execute(&mut tx)
        .await?;
    replace_links(&mut tx, id, fields, None).await?;
    insert_revision(&mut tx, id, fields, user_id, false, at).await?;
    commit_with(tx, &audit.about(id.0)).await?;
    Ok(id)
}

// The arguments of `EditorialRepo::save_article`, passed through as they are.
#[allow(clippy::too_many_arguments)]
pub(super) async fn save_article(
    db: &Db,
    id: ArticleId,
    fields: &ArticleFields,
    body_html: &str,
    user_id: Option<UserId>,
    saving: Saving<'_>,
    at: DateTime<Utc>,
    base_version: i64,
) -> StoreResult<VersionedWrite> {
    let autosave = matches!(saving, Saving::Autosave);
    let mut tx = db.begin().await?;
    let current = sql_built(format!(
        "SELECT slug, status, published_at, version FROM articles WHERE id = $1{}",
        tx.dialect().for_update()
    ))
    .bind(id)
    .fetch_optional(&mut tx)
    .await?
    .ok_or_else(|| StoreError::Missing(format!("article {id}")))?;
    let old_slug = current.text("slug")?;
    let published = parse_status(&current.text("status")?)? == ArticleStatus::Published;
    let listed_at: Option<i64> = if published { current.opt_int("published_at")? } else { None };
    // Someone saved since this edit was loaded: writing now would silently drop their work.
    if current.int("version")? != base_version {
        return Ok(VersionedWrite::Stale);
    }
    if redirects_elsewhere(&mut tx, &fields.slug, Some(id)).await? {
        return Err(StoreError::Conflict("slug".into()));
    }
    let image = image_columns(&mut tx, fields.image.as_ref()).await?;
    let update = sql("UPDATE articles SET section_id = $1, slug = $2, headline = $3, dek = $4, seo_title = $5, \
         seo_description = $6, image_media_id = $7, image_alt = $8, image_caption = $9, image_credit = $10, \
         image_url = $11, image_width = $12, image_height = $13, \
         updated_at = CASE WHEN $14 THEN updated_at ELSE $15 END, version = version + 1 \
         WHERE id = $16 AND version = $17");
    // An autosave of a live article is not an edit readers are told about.
    let updated = bind_fields(update, fields, image.as_ref())
        .bind(autosave && published)
        .bind(to_unix(at))
        .bind(id)
        .bind(base_version)
        .execute(&mut tx)
        .await
        .map_err(|e| article_write_error(e, fields))?;
    if updated == 0 {
        return Ok(VersionedWrite::Stale);
    }
    sql("UPDATE article_bodies SET html = $1, markdown = $2 WHERE article_id = $3")
        .bind(body_html.to_owned())
        .bind(fields.body_markdown.clone())
        .bind(id)
        .execute(&mut tx)
        .await?;
    if old_slug != fields.slug {
        // The article takes back an old address of its own: it is no longer a redirect.
        sql("DELETE FROM slug_redirects WHERE old_slug = $1 AND article_id = $2")
            .bind(&fields.slug)
            .bind(id)
            .execute(&mut tx)
            .await?;
        // Only an address readers have seen needs to keep working; a draft's or a scheduled story's
        // old slug must not lead anyone to its new one before publication.
        if published {
            sql("INSERT INTO slug_redirects (old_slug, article_id) VALUES ($1, $2) ON CONFLICT (old_slug) DO NOTHING")
                .bind(&old_slug)
                .bind(id)
                .execute(&mut tx)
                .await?;
        }
    }
    replace_links(&mut tx, id, fields, listed_at).await?;
    insert_revision(&mut tx, id, fields, user_id, autosave, at).await?;
    if let Saving::Deliberate(audit) = saving {
        record_in(&mut tx, audit).await?;
    }
    tx.commit().await?;
    Ok(VersionedWrite::Written)
}

pub(super) async fn editable_article(db: &Db, id: ArticleId) -> StoreResult<Option<EditableArticle>> {
    let Some(row) = sql("SELECT a.section_id, a.slug, a.headline, a.dek, b.markdown AS body_markdown, a.seo_title, \
         a.seo_description, a.image_media_id, a.image_alt, a.image_caption, a.image_credit, s.slug AS section_slug, \
         a.status, a.publish_at, a.unpublish_at, a.published_at, a.updated_at, a.created_at, a.created_by, a.version \
         FROM articles a JOIN sections s ON s.id = a.section_id JOIN article_bodies b ON b.article_id = a.id \
         WHERE a.id = $1")
    .bind(id)
    .fetch_optional(db)
    .await?
    else {
        return Ok(None);
    };
    let author_ids: Vec<AuthorId> =
        sql("SELECT author_id FROM article_authors WHERE article_id = $1 ORDER BY position")
            .bind(id)
            .scalar_all(db)
            .await?;
    let tags: Vec<String> = sql(
        "SELECT t.name FROM article_tags at JOIN tags t ON t.id = at.tag_id WHERE at.article_id = $1 ORDER BY at.position",
    )
    .bind(id)
    .scalar_all(db)
    .await?;
    Ok(Some(editable_from_row(id, &row, author_ids, tags)?))
}

pub(super) async fn newsroom_articles(db: &Db, query: NewsroomQuery) -> StoreResult<Vec<NewsroomListItem>> {
    let bylines = db.dialect().string_agg("au.name", "', '", "aa.position");
    let rows = sql_built(format!(
        "SELECT a.id, a.headline, a.slug, s.slug AS section_slug, s.name AS section_name, a.status, \
         (SELECT {bylines} FROM article_authors aa \
           JOIN authors au ON au.id = aa.author_id WHERE aa.article_id = a.id) AS bylines, \
         a.updated_at, a.publish_at, a.published_at \
         FROM articles a JOIN sections s ON s.id = a.section_id \
         WHERE ($1 IS NULL OR a.status = $1) \
           AND ($2 IS NULL OR a.created_by = $3 \
                OR EXISTS (SELECT 1 FROM article_authors o WHERE o.article_id = a.id AND o.author_id = $2)) \
         ORDER BY a.updated_at DESC, a.id DESC LIMIT $4 OFFSET $5"
    ))
    .bind(query.status.map(ArticleStatus::as_str))
    .bind(query.owner.map(|(author_id, _)| author_id))
    .bind(query.owner.map(|(_, user_id)| user_id))
    .bind(query.limit)
    .bind(query.offset)
    .fetch_all(db)
    .await?;
    rows.iter().map(newsroom_item_from_row).collect()
}

pub(super) async fn insert_event(
    tx: &mut Tx,
    id: ArticleId,
    from: ArticleStatus,
    to: ArticleStatus,
    user_id: Option<UserId>,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    sql("INSERT INTO workflow_events (article_id, from_status, to_status, user_id, at_ms) VALUES ($1, $2, $3, $4, $5)")
        .bind(id)
        .bind(from)
        .bind(to)
        .bind(user_id)
        .bind(to_unix_ms(at))
        .execute(&mut *tx)
        .await?;
    Ok(())
}

pub(super) async fn transition(db: &Db, id: ArticleId, t: &Transition<'_>, audit: &NewAuditEntry) -> StoreResult<bool> {
    let publish_at = match (t.to, t.publish_at) {
        (ArticleStatus::Scheduled, None) => {
            return Err(StoreError::WriteFailed("scheduling needs a publication time".into()));
        }
        (ArticleStatus::Scheduled, Some(when)) => Some(to_unix(when)),
        _ => None,
    };
    if t.from.is_empty() {
        return Ok(false);
    }
    let mut tx = db.begin().await?;
    let old: String = sql_built(format!("SELECT status FROM articles WHERE id = $1{}", tx.dialect().for_update()))
        .bind(id)
        .scalar_optional(&mut tx)
        .await?
        .ok_or_else(|| StoreError::Missing(format!("article {id}")))?;
    let old = parse_status(&old)?;
    // The IN list is made from the enum's own names, never from request text.
    let from = t.from.iter().map(|s| format!("'{}'", s.as_str())).collect::<Vec<_>>().join(", ");
    let done = sql_built(format!(
        concat!(
            "UPDATE articles SET status = $1, publish_at = $2, \
         published_at = CASE WHEN $1 = ",
            article_status!(published),
            " THEN COALESCE(published_at, $3) ELSE published_at END, \
         unpublish_at = CASE WHEN $1 = ",
            article_status!(published),
            " THEN unpublish_at END, updated_at = $3 \
         WHERE id = $4 AND status IN ({from})"
        ),
        from = from
    ))
    .bind(t.to)
    .bind(publish_at)
    .bind(to_unix(t.at))
    .bind(id)
    .execute(&mut tx)
    .await?;
    if done == 0 {
        return Ok(false);
    }
    if t.to == ArticleStatus::Published || old == ArticleStatus::Published {
        sync_links(&mut tx, id).await?;
    }
    insert_event(&mut tx, id, old, t.to, t.user_id, t.at).await?;
    commit_with(tx, audit).await?;
    Ok(true)
}

pub(super) async fn workflow_events(db: &Db, id: ArticleId) -> StoreResult<Vec<WorkflowEvent>> {
    let rows = sql("SELECT w.from_status, w.to_status, u.name AS user_name, w.at_ms FROM workflow_events w \
         LEFT JOIN users u ON u.id = w.user_id WHERE w.article_id = $1 ORDER BY w.id")
    .bind(id)
    .fetch_all(db)
    .await?;
    rows.iter().map(workflow_event_from_row).collect()
}

#[derive(Debug, Clone, Copy)]
pub(super) enum Due {
    Publish,
    Unpublish,
}

/// Fires every due publication or take-down. Each article gets its own transaction whose first
/// statement is the conditional update: of several schedulers (threads or processes) only the one
/// whose update matched records the event, so each change happens exactly once. The event's time is
/// the scheduled time, not the moment the scheduler got to it. (A second scheduler's update waits
/// on the first one's row lock and then re-checks its condition against the committed row, which
/// is no longer due; read committed is enough for that.)
pub(super) async fn fire_due(db: &Db, due: Due, now: DateTime<Utc>) -> StoreResult<Vec<ArticleId>> {
    const BATCH: i64 = 100;
    let (index, select, update, from, to) = match due {
        Due::Publish => (
            "articles_due_to_publish",
            concat!(
                "WHERE status = ",
                article_status!(scheduled),
                " AND publish_at <= $1 ORDER BY publish_at, id LIMIT $2"
            ),
            concat!(
                "UPDATE articles SET status = ",
                article_status!(published),
                ", published_at = COALESCE(published_at, publish_at), \
             updated_at = publish_at, publish_at = NULL \
             WHERE id = $1 AND status = ",
                article_status!(scheduled),
                " AND publish_at <= $2 RETURNING updated_at"
            ),
            ArticleStatus::Scheduled,
            ArticleStatus::Published,
        ),
        Due::Unpublish => (
            "articles_due_to_unpublish",
            concat!(
                "WHERE status = ",
                article_status!(published),
                " AND unpublish_at <= $1 ORDER BY unpublish_at, id LIMIT $2"
            ),
            concat!(
                "UPDATE articles SET status = ",
                article_status!(unpublished),
                ", updated_at = unpublish_at, unpublish_at = NULL \
             WHERE id = $1 AND status = ",
                article_status!(published),
                " AND unpublish_at <= $2 RETURNING updated_at"
            ),
            ArticleStatus::Published,
            ArticleStatus::Unpublished,
        ),
    };
    // Read through the partial index of due times, not the status index (see `indexed_by`).
    let select = format!("SELECT id FROM articles {} {select}", db.dialect().indexed_by(index));
    let mut fired = Vec::new();
    loop {
        let ids: Vec<ArticleId> = sql_built(select.clone()).bind(to_unix(now)).bind(BATCH).scalar_all(db).await?;
        for &id in &ids {
            let mut tx = db.begin().await?;
            let at: Option<i64> = sql(update).bind(id).bind(to_unix(now)).scalar_optional(&mut tx).await?;
            // Another scheduler got there first (or an editor changed the article meanwhile).
            let Some(at) = at else { continue };
            insert_event(&mut tx, id, from, to, None, from_unix(at)?).await?;
            sync_links(&mut tx, id).await?;
            tx.commit().await?;
            fired.push(id);
        }
        // Whatever was fired or lost no longer matches, so a full batch means there may be more.
        if (ids.len() as i64) < BATCH {
            return Ok(fired);
        }
    }
}

pub(super) async fn revisions(db: &Db, id: ArticleId) -> StoreResult<Vec<RevisionSummary>> {
    let rows =
        sql("SELECT r.id, u.name AS user_name, r.autosave, r.created_at_ms FROM revisions r LEFT JOIN users u ON u.id = r.user_id \
         WHERE r.article_id = $1 ORDER BY r.id DESC")
        .bind(id)
        .fetch_all(db)
        .await?;
    rows.iter().map(revision_summary_from_row).collect()
}

pub(super) async fn revision(db: &Db, revision_id: i64) -> StoreResult<Option<Revision>> {
    let row = sql("SELECT id, article_id, snapshot, created_at_ms FROM revisions WHERE id = $1")
        .bind(revision_id)
        .fetch_optional(db)
        .await?;
    row.as_ref().map(revision_from_row).transpose()
}

pub(super) async fn add_correction(
    db: &Db,
    article_id: ArticleId,
    kind: CorrectionKind,
    body: &str,
    user_id: Option<UserId>,
    at: DateTime<Utc>,
    audit: &NewAuditEntry,
) -> StoreResult<Correction> {
    let mut tx = db.begin().await?;
    let id: i64 = sql(
        "INSERT INTO corrections (article_id, kind, body, user_id, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(article_id)
    .bind(kind)
    .bind(body)
    .bind(user_id)
    .bind(to_unix(at))
    .scalar_one(&mut tx)
    .await
    .map_err(|e| {
        if is_foreign_key_violation(&e) { StoreError::Missing(format!("article {article_id}")) } else { e.into() }
    })?;
    sql("UPDATE articles SET updated_at = $1 WHERE id = $2")
        .bind(to_unix(at))
        .bind(article_id)
        .execute(&mut tx)
        .await?;
    let row = sql_built(format!("{CORRECTION_COLUMNS} WHERE c.id = $1")).bind(id).fetch_one(&mut tx).await?;
    let correction = correction_from_row(&row)?;
    commit_with(tx, audit).await?;
    Ok(correction)
}

/// One article's notes oldest first, or (for `None`) the published articles' notes newest first.
pub(super) async fn corrections(
    db: &Db,
    article_id: Option<ArticleId>,
    limit: i64,
    offset: i64,
) -> StoreResult<Vec<Correction>> {
    let rows = match article_id {
        Some(id) => {
            sql_built(format!(
                "{CORRECTION_COLUMNS} WHERE c.article_id = $1 ORDER BY c.created_at, c.id LIMIT $2 OFFSET $3"
            ))
            .bind(id)
            .bind(limit)
            .bind(offset)
            .fetch_all(db)
            .await?
        }
        None => {
            sql_built(format!(
                concat!(
                    "{CORRECTION_COLUMNS} WHERE a.status = ",
                    article_status!(published),
                    " \
                 ORDER BY c.created_at DESC, c.id DESC LIMIT $1 OFFSET $2"
                ),
                CORRECTION_COLUMNS = CORRECTION_COLUMNS
            ))
            .bind(limit)
            .bind(offset)
            .fetch_all(db)
            .await?
        }
    };
    rows.iter().map(correction_from_row).collect()
}

#[async_trait]
pub trait EditorialRepo: Send + Sync {
    // Articles in the newsroom.
    /// Creates a draft from `fields`, with its first revision and `audit` (about the new id), in one
    /// transaction. A slug another article has or once had (a redirect to it) is a `Conflict`.
    async fn create_article(
        &self,
        fields: &ArticleFields,
        body_html: &str,
        user_id: Option<UserId>,
        at: DateTime<Utc>,
        audit: &NewAuditEntry,
    ) -> StoreResult<ArticleId>;

    /// Saves the fields, a revision and (for a deliberate save) its audit line in one transaction, if
    /// the article is still at `base_version` (and bumps it); otherwise writes nothing and answers
    /// `Stale`. A changed slug of a published
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
        saving: Saving<'_>,
        at: DateTime<Utc>,
        base_version: i64,
    ) -> StoreResult<VersionedWrite>;

    async fn editable_article(&self, id: ArticleId) -> StoreResult<Option<EditableArticle>>;

    async fn newsroom_articles(&self, query: NewsroomQuery) -> StoreResult<Vec<NewsroomListItem>>;

    /// Applies the transition if the article is in one of `from`; returns whether it did. Records a
    /// workflow event and `audit` in the same transaction (neither when it did not apply).
    async fn transition(&self, id: ArticleId, transition: Transition<'_>, audit: &NewAuditEntry) -> StoreResult<bool>;

    /// Sets (or with `None` clears) when a published article comes down, with `audit`, in one
    /// transaction.
    async fn set_unpublish_at(
        &self,
        id: ArticleId,
        at: Option<DateTime<Utc>>,
        audit: &NewAuditEntry,
    ) -> StoreResult<()>;

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

    // Corrections.
    /// Adds the note, bumps the article's updated time and records `audit`, in one transaction.
    async fn add_correction(
        &self,
        article_id: ArticleId,
        kind: CorrectionKind,
        body: &str,
        user_id: Option<UserId>,
        at: DateTime<Utc>,
        audit: &NewAuditEntry,
    ) -> StoreResult<Correction>;

    /// Oldest first.
    async fn corrections_for(&self, article_id: ArticleId) -> StoreResult<Vec<Correction>>;

    /// Newest first, published articles only.
    async fn all_corrections(&self, limit: i64, offset: i64) -> StoreResult<Vec<Correction>>;
}

#[async_trait]
impl EditorialRepo for SqlStore {
    async fn create_article(
        &self,
        fields: &ArticleFields,
        body_html: &str,
        user_id: Option<UserId>,
        at: DateTime<Utc>,
        audit: &NewAuditEntry,
    ) -> StoreResult<ArticleId> {
        create_article(&self.db, fields, body_html, user_id, at, audit).await
    }

    async fn save_article(
        &self,
        id: ArticleId,
        fields: &ArticleFields,
        body_html: &str,
        user_id: Option<UserId>,
        saving: Saving<'_>,
        at: DateTime<Utc>,
        base_version: i64,
    ) -> StoreResult<VersionedWrite> {
        save_article(&self.db, id, fields, body_html, user_id, saving, at, base_version).await
    }

    async fn editable_article(&self, id: ArticleId) -> StoreResult<Option<EditableArticle>> {
        editable_article(&self.db, id).await
    }

    async fn newsroom_articles(&self, query: NewsroomQuery) -> StoreResult<Vec<NewsroomListItem>> {
        newsroom_articles(&self.db, query).await
    }

    async fn transition(&self, id: ArticleId, step: Transition<'_>, audit: &NewAuditEntry) -> StoreResult<bool> {
        transition(&self.db, id, &step, audit).await
    }

    async fn set_unpublish_at(
        &self,
        id: ArticleId,
        at: Option<DateTime<Utc>>,
        audit: &NewAuditEntry,
    ) -> StoreResult<()> {
        let mut tx = self.db.begin().await?;
        let done = sql("UPDATE articles SET unpublish_at = $1 WHERE id = $2")
            .bind(at.map(to_unix))
            .bind(id)
            .execute(&mut tx)
            .await?;
        touched(done, || format!("article {id}"))?;
        commit_with(tx, audit).await?;
        Ok(())
    }

    async fn workflow_events(&self, id: ArticleId) -> StoreResult<Vec<WorkflowEvent>> {
        workflow_events(&self.db, id).await
    }

    async fn publish_due(&self, now: DateTime<Utc>) -> StoreResult<Vec<ArticleId>> {
        fire_due(&self.db, Due::Publish, now).await
    }

    async fn unpublish_due(&self, now: DateTime<Utc>) -> StoreResult<Vec<ArticleId>> {
        fire_due(&self.db, Due::Unpublish, now).await
    }

    async fn next_due(&self) -> StoreResult<Option<DateTime<Utc>>> {
        // Each half reads its partial index of due times (see `Dialect::indexed_by`).
        let dialect = self.db.dialect();
        let next: Option<i64> = sql_built(format!(
            concat!(
                "SELECT MIN(t) FROM ( \
               SELECT MIN(publish_at) AS t FROM articles {} WHERE status = ",
                article_status!(scheduled),
                " AND publish_at IS NOT NULL \
               UNION ALL \
               SELECT MIN(unpublish_at) FROM articles {} WHERE status = ",
                article_status!(published),
                " AND unpublish_at IS NOT NULL) due"
            ),
            dialect.indexed_by("articles_due_to_publish"),
            dialect.indexed_by("articles_due_to_unpublish"),
        ))
        .scalar_one(&self.db)
        .await?;
        opt_time(next)
    }

    async fn revisions(&self, id: ArticleId) -> StoreResult<Vec<RevisionSummary>> {
        revisions(&self.db, id).await
    }

    async fn revision(&self, revision_id: i64) -> StoreResult<Option<Revision>> {
        revision(&self.db, revision_id).await
    }

    async fn add_correction(
        &self,
        article_id: ArticleId,
        kind: CorrectionKind,
        body: &str,
        user_id: Option<UserId>,
        at: DateTime<Utc>,
        audit: &NewAuditEntry,
    ) -> StoreResult<Correction> {
        add_correction(&self.db, article_id, kind, body, user_id, at, audit).await
    }

    async fn corrections_for(&self, article_id: ArticleId) -> StoreResult<Vec<Correction>> {
        corrections(&self.db, Some(article_id), i64::MAX, 0).await
    }

    async fn all_corrections(&self, limit: i64, offset: i64) -> StoreResult<Vec<Correction>> {
        corrections(&self.db, None, limit, offset).await
    }
}
