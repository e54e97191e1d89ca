//! The article page's four story modules. Each draws from its own candidates; an article may appear
//! in at most one module and never beside itself. Modules are filled in a fixed order of priority:
//! Latest Stories (the section's own news), then Must-Reads (editors' choice, in their order), then
//! Popular Now, then You May Also Like, which has the deepest list of candidates to fall back on.

use std::collections::HashSet;

use crate::domain::{ArticleCard, ArticleId, StoryLink};

pub const MODULE_SIZE: usize = 5;

/// What the modules are chosen from. The shared lists are borrowed from where they are kept (the
/// fragment cache, Popular Now), so choosing five of each copies nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Candidates<'a> {
    pub latest_in_section: &'a [ArticleCard],
    pub must_reads: &'a [ArticleCard],
    pub popular: &'a [ArticleCard],
    pub related: &'a [StoryLink],
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ArticleModules<'a> {
    pub latest_in_section: Vec<ModuleStory<'a>>,
    pub related: Vec<ModuleStory<'a>>,
    pub popular: Vec<ModuleStory<'a>>,
    pub must_reads: Vec<ModuleStory<'a>>,
}

/// A story as a module lists it: its address, headline and section label, borrowed from the card
/// or link it was chosen from. A module shows nothing else, so nothing else goes to the template:
/// a whole card is a dozen values to convert on every uncached page, its times formatted as text.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct ModuleStory<'a> {
    #[serde(skip)]
    pub id: ArticleId,
    pub path: &'a str,
    pub headline: &'a str,
    pub section_name: &'a str,
}

/// Picks up to [`MODULE_SIZE`] articles for each module, skipping `current` and anything already
/// placed in a module of higher priority.
pub fn assemble(current: ArticleId, candidates: Candidates<'_>) -> ArticleModules<'_> {
    let mut used: HashSet<ArticleId> = HashSet::from([current]);
    let latest_in_section = take(&mut used, candidates.latest_in_section);
    let must_reads = take(&mut used, candidates.must_reads);
    let popular = take(&mut used, candidates.popular);
    let related = take(&mut used, candidates.related);
    ArticleModules { latest_in_section, related, popular, must_reads }
}

/// A story a module can list.
trait Listed {
    fn listed(&self) -> ModuleStory<'_>;
}

impl Listed for ArticleCard {
    fn listed(&self) -> ModuleStory<'_> {
        ModuleStory { id: self.id, path: &self.path, headline: &self.headline, section_name: &self.section_name }
    }
}

impl Listed for StoryLink {
    fn listed(&self) -> ModuleStory<'_> {
        ModuleStory { id: self.id, path: &self.path, headline: &self.headline, section_name: &self.section_name }
    }
}

/// The first [`MODULE_SIZE`] stories of `list` not yet `used`, which they then are.
fn take<'a, T: Listed>(used: &mut HashSet<ArticleId>, list: &'a [T]) -> Vec<ModuleStory<'a>> {
    let mut chosen = Vec::with_capacity(MODULE_SIZE);
    for story in list {
        if chosen.len() == MODULE_SIZE {
            break;
        }
        let story = story.listed();
        if used.insert(story.id) {
            chosen.push(story);
        }
    }
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn cards(ids: &[i64]) -> Vec<ArticleCard> {
        ids.iter()
            .map(|&id| ArticleCard {
                id: ArticleId(id),
                slug: format!("a{id}"),
                section_slug: "asia".into(),
                section_name: "Asia".into(),
                headline: format!("Story {id}"),
                dek: String::new(),
                published_at: Utc::now(),
                image: None,
                lead_author: None,
                comment_count: 0,
                path: format!("/asia/a{id}"),
            })
            .collect()
    }

    fn links(ids: &[i64]) -> Vec<StoryLink> {
        ids.iter()
            .map(|&id| StoryLink {
                id: ArticleId(id),
                headline: format!("Story {id}"),
                section_name: "Asia".into(),
                path: format!("/asia/a{id}"),
            })
            .collect()
    }

    fn ids(list: &[ModuleStory<'_>]) -> Vec<i64> {
        list.iter().map(|c| c.id.0).collect()
    }

    #[test]
    fn no_article_repeats_and_the_current_one_is_excluded() {
        let (latest, must_reads) = (cards(&[1, 2, 3, 4, 5, 6, 7]), cards(&[2, 8, 9, 10, 11, 12, 13]));
        let (popular, related) = (cards(&[1, 8, 14, 15, 16, 17, 18, 19]), links(&[3, 9, 14, 20, 21, 22, 23, 24, 25]));
        let modules = assemble(
            ArticleId(1),
            Candidates { latest_in_section: &latest, must_reads: &must_reads, popular: &popular, related: &related },
        );
        assert_eq!(ids(&modules.latest_in_section), vec![2, 3, 4, 5, 6]);
        assert_eq!(ids(&modules.must_reads), vec![8, 9, 10, 11, 12], "editors' order kept");
        assert_eq!(ids(&modules.popular), vec![14, 15, 16, 17, 18]);
        assert_eq!(modules.related.iter().map(|l| l.id.0).collect::<Vec<_>>(), vec![20, 21, 22, 23, 24]);
    }

    #[test]
    fn short_candidate_lists_give_short_modules() {
        let popular = cards(&[1, 2]);
        let modules = assemble(ArticleId(1), Candidates { popular: &popular, ..Candidates::default() });
        assert_eq!(ids(&modules.popular), vec![2]);
        assert!(modules.related.is_empty());
    }
}
