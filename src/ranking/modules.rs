//! The article page's four story modules. Each draws from its own candidates; an article may appear
//! in at most one module and never beside itself. Modules are filled in a fixed order of priority:
//! Latest Stories (the section's own news), then Must-Reads (editors' choice, in their order), then
//! Popular Now, then You May Also Like, which has the deepest list of candidates to fall back on.
//! The first three are chosen from lists every article page shares ([`choose_shared`]), the last
//! from the article's own related stories ([`choose_related`]).

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

/// The three modules whose candidates every article page shares (Latest Stories of a section,
/// Must-Reads, Popular Now), chosen before You May Also Like.
#[derive(Debug, Clone, Default)]
pub struct SharedModules<'a> {
    pub latest_in_section: Vec<ModuleStory<'a>>,
    pub must_reads: Vec<ModuleStory<'a>>,
    pub popular: Vec<ModuleStory<'a>>,
    /// What they show.
    shown: HashSet<ArticleId>,
}

impl SharedModules<'_> {
    /// The articles the three show, which You May Also Like leaves out.
    pub fn shown(&self) -> &HashSet<ArticleId> {
        &self.shown
    }
}

/// The shared modules, skipping `current` (if any) and repeats, in their order of priority.
///
/// Chosen for no article in particular, the three are also exactly what any article they do not
/// show gets: a module skips the current article only where it would have taken it, so leaving
/// out an article none of them took changes nothing. A page can therefore reuse one rendering of
/// them per section, unless they show the page's own article.
pub fn choose_shared(current: Option<ArticleId>, candidates: Candidates<'_>) -> SharedModules<'_> {
    let mut used: HashSet<ArticleId> = current.into_iter().collect();
    let latest_in_section = take(&mut used, candidates.latest_in_section);
    let must_reads = take(&mut used, candidates.must_reads);
    let popular = take(&mut used, candidates.popular);
    if let Some(current) = current {
        // Never taken: it was in `used` from the start.
        used.remove(&current);
    }
    SharedModules { latest_in_section, must_reads, popular, shown: used }
}

/// You May Also Like: up to [`MODULE_SIZE`] related stories, skipping the current article and
/// what the shared modules show.
pub fn choose_related<'a>(
    current: ArticleId,
    shown: &HashSet<ArticleId>,
    related: &'a [StoryLink],
) -> Vec<ModuleStory<'a>> {
    let mut used = shown.clone();
    used.insert(current);
    take(&mut used, related)
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
        let shared = choose_shared(
            Some(ArticleId(1)),
            Candidates { latest_in_section: &latest, must_reads: &must_reads, popular: &popular },
        );
        assert_eq!(ids(&shared.latest_in_section), vec![2, 3, 4, 5, 6]);
        assert_eq!(ids(&shared.must_reads), vec![8, 9, 10, 11, 12], "editors' order kept");
        assert_eq!(ids(&shared.popular), vec![14, 15, 16, 17, 18]);
        assert_eq!(ids(&choose_related(ArticleId(1), shared.shown(), &related)), vec![20, 21, 22, 23, 24]);
    }

    #[test]
    fn shared_modules_chosen_for_no_article_are_those_of_every_article_they_do_not_show() {
        let (latest, must_reads) = (cards(&[1, 2, 3, 4, 5, 6, 7]), cards(&[2, 8, 9, 10, 11, 12, 13]));
        let popular = cards(&[1, 8, 14, 15, 16, 17, 18, 19]);
        let candidates = Candidates { latest_in_section: &latest, must_reads: &must_reads, popular: &popular };
        let general = choose_shared(None, candidates);
        let mut shown_by_general = 0;
        for current in (0..=20).map(ArticleId) {
            let own = choose_shared(Some(current), candidates);
            let lists = |m: &SharedModules<'_>| [ids(&m.latest_in_section), ids(&m.must_reads), ids(&m.popular)];
            if general.shown().contains(&current) {
                shown_by_general += 1;
                assert!(lists(&own).iter().flatten().all(|&id| id != current.0), "{current:?} beside itself");
                assert_ne!(lists(&own), lists(&general));
            } else {
                assert_eq!(lists(&own), lists(&general), "{current:?} gets the general modules");
            }
        }
        assert_eq!(shown_by_general, 15, "three full modules, no repeats");
    }

    #[test]
    fn you_may_also_like_skips_what_the_shared_modules_show_and_the_article() {
        let latest = cards(&[1, 2, 3, 4, 5]);
        let related = links(&[2, 9, 3, 10, 11, 12, 13, 14]);
        let shared = choose_shared(None, Candidates { latest_in_section: &latest, ..Candidates::default() });
        assert_eq!(ids(&choose_related(ArticleId(9), shared.shown(), &related)), vec![10, 11, 12, 13, 14]);
    }

    #[test]
    fn short_candidate_lists_give_short_modules() {
        let popular = cards(&[1, 2]);
        let shared = choose_shared(Some(ArticleId(1)), Candidates { popular: &popular, ..Candidates::default() });
        assert_eq!(ids(&shared.popular), vec![2]);
        assert!(choose_related(ArticleId(1), shared.shown(), &[]).is_empty());
    }
}
