//! What editors and the ranking choose: Must-Reads, home-page slots, related-story lists, and the
//! newsroom settings, with the versions that stop two editors overwriting each other.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::audit::commit_with;
use super::newsroom::{CuratedEntry, Edited, NewAuditEntry, VersionedWrite};
use super::shared::{
    article_status, card_columns, cards, curated_entry_from_row, is_foreign_key_violation, is_unique_violation,
    link_columns, media_join, related_doc_from_row, story_link_from_row, to_unix,
};
use super::sql::{Db, Tx, UNIT_SEPARATOR, in_lists, insert_rows, sql, sql_built};
use super::{RelatedDoc, SqlStore, StoreError, StoreResult};
use crate::domain::{ArticleCard, ArticleId, StoryLink};

/// Moves a named version counter from `base` to `base + 1` inside the caller's transaction; false
/// (and nothing changed) when it was no longer at `base`. The first save of a thing is based on 0.
/// A concurrent save waits on the row (or the key) and then finds the counter moved.
pub(super) async fn bump_version(tx: &mut Tx, what: Edited<'_>, base: i64) -> StoreResult<bool> {
    let done = if base == 0 {
        sql("INSERT INTO edit_versions (name, version) VALUES ($1, 1) ON CONFLICT (name) DO NOTHING")
            .bind(what.name())
            .execute(&mut *tx)
            .await?
    } else {
        sql("UPDATE edit_versions SET version = version + 1 WHERE name = $1 AND version = $2")
            .bind(what.name())
            .bind(base)
            .execute(&mut *tx)
            .await?
    };
    Ok(done == 1)
}

pub(super) async fn edit_version(db: &Db, what: Edited<'_>) -> StoreResult<i64> {
    let version: Option<i64> =
        sql("SELECT version FROM edit_versions WHERE name = $1").bind(what.name()).scalar_optional(db).await?;
    Ok(version.unwrap_or(0))
}

/// Stores a setting, with `audit`, if it is still at `base_version`.
pub(super) async fn set_setting(
    db: &Db,
    key: &str,
    value: &str,
    at: DateTime<Utc>,
    base_version: i64,
    audit: &NewAuditEntry,
) -> StoreResult<VersionedWrite> {
    let mut tx = db.begin().await?;
    if !bump_version(&mut tx, Edited::Setting(key), base_version).await? {
        return Ok(VersionedWrite::Stale);
    }
    sql("INSERT INTO site_settings (key, value, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at")
    .bind(key)
    .bind(value)
    .bind(to_unix(at))
    .execute(&mut tx)
    .await?;
    commit_with(tx, audit).await?;
    Ok(VersionedWrite::Written)
}

/// The two editor-ordered lists of articles.
#[derive(Debug, Clone, Copy)]
pub(super) enum List {
    MustReads,
    HomeSlots,
}

pub(super) async fn curated_entries(db: &Db, list: List) -> StoreResult<Vec<CuratedEntry>> {
    let (table, expires_at) = match list {
        List::MustReads => ("must_reads", "l.expires_at"),
        List::HomeSlots => ("home_slots", "CAST(NULL AS BIGINT)"),
    };
    let rows = sql_built(format!(
        "SELECT l.article_id, a.headline, s.name AS section_name, a.status, {expires_at} AS expires_at FROM {table} l \
         {} articles a ON a.id = l.article_id JOIN sections s ON s.id = a.section_id ORDER BY l.position",
        db.dialect().driving_join()
    ))
    .fetch_all(db)
    .await?;
    rows.iter().map(curated_entry_from_row).collect()
}

/// Replaces a list, in order, in one transaction.
pub(super) async fn set_curated(
    db: &Db,
    list: List,
    entries: &[(ArticleId, Option<DateTime<Utc>>)],
    base_version: i64,
    audit: &NewAuditEntry,
) -> StoreResult<VersionedWrite> {
    let (table, clear, insert) = match list {
        List::MustReads => (
            "must_reads",
            "DELETE FROM must_reads",
            "INSERT INTO must_reads (position, article_id, expires_at) VALUES ($1, $2, $3)",
        ),
        List::HomeSlots => {
            ("home_slots", "DELETE FROM home_slots", "INSERT INTO home_slots (position, article_id) VALUES ($1, $2)")
        }
    };
    let mut tx = db.begin().await?;
    // One replacement at a time; readers still read.
    tx.lock_table(table).await?;
    let versioned = match list {
        List::MustReads => Edited::MustReads,
        List::HomeSlots => Edited::HomeSlots,
    };
    if !bump_version(&mut tx, versioned, base_version).await? {
        return Ok(VersionedWrite::Stale);
    }
    sql(clear).execute(&mut tx).await?;
    for (position, &(id, expires_at)) in entries.iter().enumerate() {
        let mut query = sql(insert).bind(position as i64).bind(id);
        if let List::MustReads = list {
            query = query.bind(expires_at.map(to_unix));
        }
        query.execute(&mut tx).await.map_err(|e| match &e {
            _ if is_unique_violation(&e) => StoreError::Conflict(format!("article {id} in the list")),
            _ if is_foreign_key_violation(&e) => StoreError::Missing(format!("article {id}")),
            _ => e.into(),
        })?;
    }
    commit_with(tx, audit).await?;
    Ok(VersionedWrite::Written)
}

pub(super) async fn home_slots(db: &Db) -> StoreResult<Vec<ArticleCard>> {
    let rows = sql_built(format!(
        concat!("SELECT {} FROM home_slots h {} articles a ON a.id = h.article_id JOIN sections s ON s.id = a.section_id {} \
         WHERE a.status = ", article_status!(published), " ORDER BY h.position"),
        card_columns!(),
        db.dialect().driving_join(),
        media_join!(),
    ))
    .fetch_all(db)
    .await?;
    cards(&rows)
}

#[async_trait]
pub trait CurationRepo: Send + Sync {
    /// The editors' picks that are published and not expired at `now`, in the editors' order.
    async fn must_reads(&self, limit: i64, now: DateTime<Utc>) -> StoreResult<Vec<ArticleCard>>;

    async fn set_must_reads(&self, ids: &[ArticleId]) -> StoreResult<()>;

    // Curation.
    /// Every pick, in order, with its expiry, whatever the article's status.
    async fn must_read_entries(&self) -> StoreResult<Vec<CuratedEntry>>;

    /// Replaces the list, with `audit`, if it is still at `base_version` (see
    /// [`CurationRepo::edit_version`]).
    async fn set_must_read_entries(
        &self,
        entries: &[(ArticleId, Option<DateTime<Utc>>)],
        base_version: i64,
        audit: &NewAuditEntry,
    ) -> StoreResult<VersionedWrite>;

    /// The home page's lead (first) and top stories, in order.
    async fn home_slot_entries(&self) -> StoreResult<Vec<CuratedEntry>>;

    /// Replaces the slots, with `audit`, if they are still at `base_version`.
    async fn set_home_slots(
        &self,
        ids: &[ArticleId],
        base_version: i64,
        audit: &NewAuditEntry,
    ) -> StoreResult<VersionedWrite>;

    /// The published home slots as cards, in order (the reader's home page).
    async fn home_slots(&self) -> StoreResult<Vec<crate::domain::ArticleCard>>;

    /// Published related articles, best first.
    async fn related_articles(&self, id: ArticleId, limit: i64) -> StoreResult<Vec<StoryLink>>;

    /// Replaces the stored related-article lists of the given articles, in one transaction.
    async fn set_related(&self, lists: &[(ArticleId, Vec<(ArticleId, f32)>)]) -> StoreResult<()>;

    async fn related_corpus(&self) -> StoreResult<Vec<RelatedDoc>>;

    /// A settings value (JSON text) by key.
    async fn setting(&self, key: &str) -> StoreResult<Option<String>>;

    /// Stores the value, with `audit`, if the setting is still at `base_version`.
    async fn set_setting(
        &self,
        key: &str,
        value: &str,
        at: DateTime<Utc>,
        base_version: i64,
        audit: &NewAuditEntry,
    ) -> StoreResult<VersionedWrite>;

    /// The version a curated list or setting is at: 0 before its first save. Read it before the
    /// content it guards, so a save in between makes the edit look stale rather than current.
    async fn edit_version(&self, what: Edited<'_>) -> StoreResult<i64>;
}

#[async_trait]
impl CurationRepo for SqlStore {
    async fn must_reads(&self, limit: i64, now: DateTime<Utc>) -> StoreResult<Vec<ArticleCard>> {
        let rows = sql_built(format!(
            concat!("SELECT {} FROM must_reads m {} articles a ON a.id = m.article_id JOIN sections s ON s.id = a.section_id {} \
             WHERE a.status = ", article_status!(published), " AND (m.expires_at IS NULL OR m.expires_at > $2) \
             ORDER BY m.position LIMIT $1"),
            card_columns!(),
            self.db.dialect().driving_join(),
            media_join!(),
        ))
        .bind(limit)
        .bind(to_unix(now))
        .fetch_all(&self.db)
        .await?;
        cards(&rows)
    }

    async fn set_must_reads(&self, ids: &[ArticleId]) -> StoreResult<()> {
        let mut tx = self.db.begin().await?;
        // One replacement at a time; readers still read.
        tx.lock_table("must_reads").await?;
        sql("DELETE FROM must_reads").execute(&mut tx).await?;
        for (position, id) in ids.iter().enumerate() {
            sql("INSERT INTO must_reads (position, article_id) VALUES ($1, $2)")
                .bind(position as i64)
                .bind(id)
                .execute(&mut tx)
                .await
                .map_err(|e| {
                    if is_unique_violation(&e) { StoreError::Conflict(format!("must-read {id}")) } else { e.into() }
                })?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn must_read_entries(&self) -> StoreResult<Vec<CuratedEntry>> {
        curated_entries(&self.db, List::MustReads).await
    }

    async fn set_must_read_entries(
        &self,
        entries: &[(ArticleId, Option<DateTime<Utc>>)],
        base_version: i64,
        audit: &NewAuditEntry,
    ) -> StoreResult<VersionedWrite> {
        set_curated(&self.db, List::MustReads, entries, base_version, audit).await
    }

    async fn home_slot_entries(&self) -> StoreResult<Vec<CuratedEntry>> {
        curated_entries(&self.db, List::HomeSlots).await
    }

    async fn set_home_slots(
        &self,
        ids: &[ArticleId],
        base_version: i64,
        audit: &NewAuditEntry,
    ) -> StoreResult<VersionedWrite> {
        let entries: Vec<_> = ids.iter().map(|&id| (id, None)).collect();
        set_curated(&self.db, List::HomeSlots, &entries, base_version, audit).await
    }

    async fn home_slots(&self) -> StoreResult<Vec<ArticleCard>> {
        home_slots(&self.db).await
    }

    async fn related_articles(&self, id: ArticleId, limit: i64) -> StoreResult<Vec<StoryLink>> {
        let rows = sql_built(format!(
            concat!(
                "SELECT {} FROM related_articles r {} articles a ON a.id = r.related_id \
             JOIN sections s ON s.id = a.section_id \
             WHERE r.article_id = $1 AND a.status = ",
                article_status!(published),
                " ORDER BY r.rank LIMIT $2"
            ),
            link_columns!(),
            self.db.dialect().driving_join(),
        ))
        .bind(id)
        .bind(limit)
        .fetch_all(&self.db)
        .await?;
        rows.iter().map(story_link_from_row).collect()
    }

    async fn set_related(&self, lists: &[(ArticleId, Vec<(ArticleId, f32)>)]) -> StoreResult<()> {
        let mut tx = self.db.begin().await?;
        // Nodes recomputing the lists at once replace them one after the other.
        tx.lock_table("related_articles").await?;
        let dialect = tx.dialect();
        for chunk in in_lists(lists) {
            let mut delete = sql_built(format!(
                "DELETE FROM related_articles WHERE article_id IN ({})",
                dialect.placeholders(chunk.len(), 1)
            ));
            for (id, _) in chunk {
                delete = delete.bind(id);
            }
            delete.execute(&mut tx).await?;
        }
        let rows: Vec<(ArticleId, usize, ArticleId, f32)> = lists
            .iter()
            .flat_map(|(id, related)| {
                related.iter().enumerate().map(move |(rank, &(related_id, score))| (*id, rank, related_id, score))
            })
            .collect();
        insert_rows(
            &mut tx,
            "INSERT INTO related_articles (article_id, rank, related_id, score)",
            4,
            "",
            rows,
            |statement, (id, rank, related_id, score)| statement.bind(id).bind(rank).bind(related_id).bind(score),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn related_corpus(&self) -> StoreResult<Vec<RelatedDoc>> {
        let tags = self.db.dialect().string_agg("t.name", &format!("'{UNIT_SEPARATOR}'"), "at.position");
        let rows = sql_built(format!(
            concat!(
                "SELECT a.id, a.published_at, a.headline, b.markdown AS body_markdown, \
             (SELECT {tags} FROM article_tags at JOIN tags t ON t.id = at.tag_id WHERE at.article_id = a.id) \
             AS tags FROM articles a JOIN article_bodies b ON b.article_id = a.id WHERE a.status = ",
                article_status!(published)
            ),
            tags = tags
        ))
        .fetch_all(&self.db)
        .await?;
        rows.iter()
            .map(|r| {
                let tags = r.opt_text("tags")?;
                related_doc_from_row(
                    r,
                    tags.map(|t| t.split(UNIT_SEPARATOR).map(str::to_owned).collect()).unwrap_or_default(),
                )
            })
            .collect()
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
        audit: &NewAuditEntry,
    ) -> StoreResult<VersionedWrite> {
        set_setting(&self.db, key, value, at, base_version, audit).await
    }

    async fn edit_version(&self, what: Edited<'_>) -> StoreResult<i64> {
        edit_version(&self.db, what).await
    }
}
