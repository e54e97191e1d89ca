//! Sections, bylines (authors) and tags.

use async_trait::async_trait;

use super::audit::commit_with;
use super::newsroom::{NewAuditEntry, SectionUpdate};
use super::shared::{
    author_from_row, is_unique_violation, section_from_row, section_with_archived, tag_from_row, touched,
};
use super::sql::{Db, sql};
use super::{NewAuthor, NewSection, SqlStore, StoreError, StoreResult};
use crate::domain::{Author, Section, SectionId, Tag, TagId};

pub(super) async fn all_sections(db: &Db) -> StoreResult<Vec<(Section, bool)>> {
    let rows =
        sql("SELECT id, slug, name, position, archived FROM sections ORDER BY position, id").fetch_all(db).await?;
    rows.iter().map(section_with_archived).collect()
}

/// Every row, the new section and the audit line in one transaction: all or nothing.
pub(super) async fn save_sections(
    db: &Db,
    updates: &[(SectionId, SectionUpdate)],
    new: Option<&NewSection>,
    audit: &NewAuditEntry,
) -> StoreResult<()> {
    let mut tx = db.begin().await?;
    // Two sections may trade addresses in one save. Each changed row first gets a placeholder that
    // no real slug can be ('~' is not allowed in one), so no step in between breaks uniqueness.
    for (id, _) in updates {
        sql("UPDATE sections SET slug = $1 WHERE id = $2").bind(format!("~{id}")).bind(id).execute(&mut tx).await?;
    }
    for (id, update) in updates {
        let done = sql("UPDATE sections SET name = $1, slug = $2, position = $3, archived = $4 WHERE id = $5")
            .bind(&update.name)
            .bind(&update.slug)
            .bind(update.position)
            .bind(i64::from(update.archived))
            .bind(id)
            .execute(&mut tx)
            .await
            .map_err(|e| {
                if is_unique_violation(&e) {
                    StoreError::Conflict(format!("section {}", update.slug))
                } else {
                    e.into()
                }
            })?;
        touched(done, || format!("section {id}"))?;
    }
    if let Some(section) = new {
        sql("INSERT INTO sections (slug, name, position) VALUES ($1, $2, $3)")
            .bind(&section.slug)
            .bind(&section.name)
            .bind(section.position)
            .execute(&mut tx)
            .await
            .map_err(|e| {
                if is_unique_violation(&e) {
                    StoreError::Conflict(format!("section {}", section.slug))
                } else {
                    e.into()
                }
            })?;
    }
    commit_with(tx, audit).await?;
    Ok(())
}

pub(super) async fn tags_with_counts(db: &Db) -> StoreResult<Vec<(Tag, i64)>> {
    let rows =
        sql("SELECT t.id, t.slug, t.name, (SELECT COUNT(*) FROM article_tags at WHERE at.tag_id = t.id) AS articles \
         FROM tags t ORDER BY t.name, t.id")
        .fetch_all(db)
        .await?;
    rows.iter().map(|r| Ok((tag_from_row(r)?, r.int("articles")?))).collect()
}

#[async_trait]
pub trait TaxonomyRepo: Send + Sync {
    async fn sections(&self) -> StoreResult<Vec<Section>>;

    async fn insert_section(&self, section: NewSection) -> StoreResult<Section>;

    async fn authors(&self) -> StoreResult<Vec<Author>>;

    async fn author_by_slug(&self, slug: &str) -> StoreResult<Option<Author>>;

    async fn insert_author(&self, author: NewAuthor) -> StoreResult<Author>;

    async fn tag_by_slug(&self, slug: &str) -> StoreResult<Option<Tag>>;

    // Sections and tags.
    /// All sections, archived ones included, in order.
    async fn all_sections(&self) -> StoreResult<Vec<(crate::domain::Section, bool)>>;

    /// Applies every row, adds `new` (if any) and records `audit` in one transaction: all or
    /// nothing. Slugs may be swapped between sections within one call.
    async fn save_sections(
        &self,
        updates: &[(SectionId, SectionUpdate)],
        new: Option<&crate::store::NewSection>,
        audit: &NewAuditEntry,
    ) -> StoreResult<()>;

    /// Tags with how many articles use each, by name.
    async fn tags_with_counts(&self) -> StoreResult<Vec<(crate::domain::Tag, i64)>>;

    /// Renames the tag and records `audit`, in one transaction.
    async fn rename_tag(&self, id: TagId, name: &str, audit: &NewAuditEntry) -> StoreResult<()>;
}

#[async_trait]
impl TaxonomyRepo for SqlStore {
    async fn sections(&self) -> StoreResult<Vec<Section>> {
        let rows = sql("SELECT id, slug, name, position FROM sections WHERE archived = 0 ORDER BY position, name")
            .fetch_all(&self.db)
            .await?;
        rows.iter().map(section_from_row).collect()
    }

    async fn insert_section(&self, section: NewSection) -> StoreResult<Section> {
        let row =
            sql("INSERT INTO sections (slug, name, position) VALUES ($1, $2, $3) RETURNING id, slug, name, position")
                .bind(&section.slug)
                .bind(&section.name)
                .bind(section.position)
                .fetch_one(&self.db)
                .await
                .map_err(|e| {
                    if is_unique_violation(&e) {
                        StoreError::Conflict(format!("section {}", section.slug))
                    } else {
                        e.into()
                    }
                })?;
        section_from_row(&row)
    }

    async fn authors(&self) -> StoreResult<Vec<Author>> {
        let rows =
            sql("SELECT id, slug, name, email, bio, photo_url FROM authors ORDER BY name").fetch_all(&self.db).await?;
        rows.iter().map(author_from_row).collect()
    }

    async fn author_by_slug(&self, slug: &str) -> StoreResult<Option<Author>> {
        let row = sql("SELECT id, slug, name, email, bio, photo_url FROM authors WHERE slug = $1")
            .bind(slug)
            .fetch_optional(&self.db)
            .await?;
        row.as_ref().map(author_from_row).transpose()
    }

    async fn insert_author(&self, author: NewAuthor) -> StoreResult<Author> {
        let row = sql("INSERT INTO authors (slug, name, email, bio, photo_url) VALUES ($1, $2, $3, $4, $5) \
             RETURNING id, slug, name, email, bio, photo_url")
        .bind(&author.slug)
        .bind(&author.name)
        .bind(&author.email)
        .bind(&author.bio)
        .bind(&author.photo_url)
        .fetch_one(&self.db)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) { StoreError::Conflict(format!("author {}", author.slug)) } else { e.into() }
        })?;
        author_from_row(&row)
    }

    async fn tag_by_slug(&self, slug: &str) -> StoreResult<Option<Tag>> {
        let row = sql("SELECT id, slug, name FROM tags WHERE slug = $1").bind(slug).fetch_optional(&self.db).await?;
        row.as_ref().map(tag_from_row).transpose()
    }

    async fn all_sections(&self) -> StoreResult<Vec<(Section, bool)>> {
        all_sections(&self.db).await
    }

    async fn save_sections(
        &self,
        updates: &[(SectionId, SectionUpdate)],
        new: Option<&super::NewSection>,
        audit: &NewAuditEntry,
    ) -> StoreResult<()> {
        save_sections(&self.db, updates, new, audit).await
    }

    async fn tags_with_counts(&self) -> StoreResult<Vec<(Tag, i64)>> {
        tags_with_counts(&self.db).await
    }

    async fn rename_tag(&self, id: TagId, name: &str, audit: &NewAuditEntry) -> StoreResult<()> {
        let mut tx = self.db.begin().await?;
        let done = sql("UPDATE tags SET name = $1 WHERE id = $2").bind(name).bind(id).execute(&mut tx).await?;
        touched(done, || format!("tag {id}"))?;
        commit_with(tx, audit).await?;
        Ok(())
    }
}
