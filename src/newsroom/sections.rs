//! The newsroom's sections as a use case without HTTP: one form for the whole list (rename, a new
//! address, reorder, archive, and a new section when one is named). Every row is checked before
//! anything is written, so the list is saved whole or not at all, in one transaction with its
//! audit line; then every page is told, since the sections show on all of them.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::articles::{Actor, Newsroom, audit_line};
use crate::domain::{Action, Ownership, Section, SectionId, Slug, permits};
use crate::store::newsroom::SectionUpdate;
use crate::store::{NewSection, StoreError};

/// One section's row as the form sent it.
#[derive(Debug, Clone)]
pub struct SectionEdit {
    pub id: SectionId,
    pub name: String,
    pub slug: String,
    /// Its place in the list; empty keeps the stored one.
    pub position: String,
    pub archived: bool,
}

/// The sections form: the rows it sent (a section left out keeps its stored values, and its
/// address stays taken) and the name of a new section, if any.
#[derive(Debug, Clone, Default)]
pub struct SectionsInput {
    pub rows: Vec<SectionEdit>,
    pub new_name: String,
}

/// What is wrong with a sections form: messages for each row (by section), and for the new
/// section's name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SectionProblems {
    pub rows: BTreeMap<SectionId, Vec<String>>,
    pub new_section: Option<String>,
}

impl SectionProblems {
    fn is_empty(&self) -> bool {
        self.new_section.is_none() && self.rows.values().all(Vec::is_empty)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SectionsError {
    #[error("not allowed")]
    Forbidden,
    #[error("invalid input")]
    Invalid(SectionProblems),
    /// Another save took an address between the check and the write; the message names it.
    #[error("{0} is already used")]
    Taken(String),
    #[error("storage failed: {0}")]
    Store(#[from] StoreError),
}

/// What a valid form writes.
#[derive(Debug, Default)]
struct Plan {
    updates: Vec<(SectionId, SectionUpdate)>,
    new_section: Option<NewSection>,
}

/// Checks the whole form against the `existing` sections (each with whether it is archived).
fn check(existing: &[(Section, bool)], input: &SectionsInput) -> (Plan, SectionProblems) {
    let mut plan = Plan::default();
    let mut problems = SectionProblems::default();
    // Every section's address as it would be after the save, with its name, for the clash check.
    let mut addresses: Vec<(SectionId, String, String)> = Vec::new();
    for (section, _) in existing {
        let Some(edit) = input.rows.iter().find(|r| r.id == section.id) else {
            addresses.push((section.id, section.slug.clone(), section.name.clone()));
            continue;
        };
        let errors = problems.rows.entry(section.id).or_default();
        let (name, typed_slug, typed_position) = (edit.name.trim(), edit.slug.trim(), edit.position.trim());
        addresses.push((section.id, typed_slug.to_owned(), section.name.clone()));
        if name.is_empty() {
            errors.push("Every section needs a name.".to_owned());
        }
        let slug =
            Slug::parse_top_level(typed_slug).map_err(|e| errors.push(format!("The address is not usable: {e}."))).ok();
        let position = if typed_position.is_empty() {
            Some(section.position)
        } else {
            typed_position.parse::<i64>().map_err(|_| errors.push("The order must be a whole number.".to_owned())).ok()
        };
        if let (Some(slug), Some(position), true) = (slug, position, errors.is_empty()) {
            let update = SectionUpdate {
                name: name.to_owned(),
                slug: slug.as_str().to_owned(),
                position,
                archived: edit.archived,
            };
            plan.updates.push((section.id, update));
        }
    }
    // Two rows asking for one address: both are told, since either may be the one to change.
    for (id, slug, _) in &addresses {
        let clashes: Vec<&str> = addresses
            .iter()
            .filter(|(other, other_slug, _)| other != id && other_slug == slug && !slug.is_empty())
            .map(|(_, _, name)| name.as_str())
            .collect();
        if !clashes.is_empty() {
            let message = format!("The address “{slug}” is also asked for by {}.", clashes.join(", "));
            problems.rows.entry(*id).or_default().push(message);
        }
    }
    let new_name = input.new_name.trim();
    if !new_name.is_empty() {
        match Slug::from_title(new_name).and_then(|s| Slug::parse_top_level(s.as_str())) {
            Ok(slug) if addresses.iter().any(|(_, taken, _)| taken == slug.as_str()) => {
                problems.new_section = Some(format!("A section with the address “{}” already exists.", slug.as_str()));
            }
            Ok(slug) => {
                // Last in the list as it will be, moved rows included.
                let stored = existing.iter().map(|(s, _)| s.position);
                let moved = plan.updates.iter().map(|(_, u)| u.position);
                let position = stored.chain(moved).max().unwrap_or(0).saturating_add(1);
                plan.new_section =
                    Some(NewSection { slug: slug.as_str().to_owned(), name: new_name.to_owned(), position });
            }
            Err(e) => problems.new_section = Some(format!("“{new_name}” cannot become an address: {e}.")),
        }
    }
    (plan, problems)
}

/// Saves the sections form whole, or nothing of it.
pub async fn save_sections(
    newsroom: Newsroom<'_>,
    actor: &Actor,
    input: &SectionsInput,
    now: DateTime<Utc>,
) -> Result<(), SectionsError> {
    if !permits(actor.role, Action::ManageTaxonomy, Ownership::Newsroom, None) {
        return Err(SectionsError::Forbidden);
    }
    let existing = newsroom.store.all_sections().await?;
    let (plan, problems) = check(&existing, input);
    if !problems.is_empty() {
        return Err(SectionsError::Invalid(problems));
    }
    let line = audit_line(actor, "sections_changed", "section", None, input.new_name.trim().to_owned(), now);
    match newsroom.store.save_sections(&plan.updates, plan.new_section.as_ref(), &line).await {
        Err(StoreError::Conflict(what)) => return Err(SectionsError::Taken(what)),
        other => other?,
    }
    newsroom.changes.sections_changed();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(id: i64, slug: &str, position: i64) -> (Section, bool) {
        (Section { id: SectionId(id), slug: slug.into(), name: slug.to_uppercase(), position }, false)
    }

    fn edit(id: i64, name: &str, slug: &str, position: &str) -> SectionEdit {
        SectionEdit {
            id: SectionId(id),
            name: name.into(),
            slug: slug.into(),
            position: position.into(),
            archived: false,
        }
    }

    #[test]
    fn every_row_is_checked_and_a_clash_is_told_to_both_rows() {
        let existing = [section(1, "world", 1), section(2, "asia", 2), section(3, "sports", 3)];
        let input = SectionsInput {
            rows: vec![edit(1, " ", "asia", "x"), edit(2, "Asia", "asia", ""), edit(3, "Sports", "Not a slug!", "3")],
            new_name: "Sports".into(),
        };
        let (plan, problems) = check(&existing, &input);
        let one = &problems.rows[&SectionId(1)];
        assert!(one.iter().any(|m| m.contains("needs a name")), "{one:?}");
        assert!(one.iter().any(|m| m.contains("whole number")), "{one:?}");
        assert!(one.iter().any(|m| m.contains("also asked for by ASIA")), "{one:?}");
        assert!(problems.rows[&SectionId(2)].iter().any(|m| m.contains("also asked for by WORLD")));
        assert!(problems.rows[&SectionId(3)].iter().any(|m| m.contains("not usable")));
        assert_eq!(problems.new_section, None, "the new name's address is free once Sports moves away");
        assert_eq!(plan.updates.len(), 1, "only the row without its own errors is planned");
    }

    #[test]
    fn a_row_left_out_keeps_its_address_taken_and_a_new_section_goes_last() {
        let existing = [section(1, "world", 4), section(2, "asia", 9)];
        let input = SectionsInput { rows: vec![edit(2, "Asia", "asia", "")], new_name: "World".into() };
        let (_, problems) = check(&existing, &input);
        assert!(problems.new_section.as_deref().is_some_and(|m| m.contains("already exists")), "{problems:?}");
        let rows = vec![edit(1, "World", "world", "12"), edit(2, "Asia", "asia", "")];
        let input = SectionsInput { rows, new_name: "Culture".into() };
        let (plan, problems) = check(&existing, &input);
        assert!(problems.is_empty(), "{problems:?}");
        let new = plan.new_section.expect("a new section");
        assert_eq!((new.slug.as_str(), new.position), ("culture", 13), "after World, moved down in the same save");
        assert_eq!(plan.updates[1].1.position, 9, "an empty order keeps the stored one");
    }
}
