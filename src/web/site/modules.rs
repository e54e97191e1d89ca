//! The article page's story modules as HTML.
//!
//! Three of the four modules (Latest Stories of the article's section, Must-Reads, Popular Now)
//! are drawn from lists every article page shares, so they are rendered once per section and
//! reused until one of those lists changes; only You May Also Like is rendered for each article.
//! On an uncached article page the modules had been a quarter of the template's work (callgrind:
//! 160k of 595k instructions per page at 100k articles), most of it calling the same macros over
//! the same twenty stories.

use std::collections::HashSet;
use std::sync::Arc;

use minijinja::Value;
use serde::Serialize;

use super::{latest, must_reads, popular_now, sections};
use crate::domain::{ArticleCard, ArticleId, StoryLink};
use crate::ranking::modules::{Candidates, MODULE_SIZE, ModuleStory, choose_related, choose_shared};
use crate::store::ListFilter;
use crate::web::AppState;
use crate::web::error::SiteError;

/// How many candidates each shared module fetches, so that skipping repeats still leaves five.
pub const CANDIDATES: usize = 4 * MODULE_SIZE;

/// The shared modules rendered for one section, with what they were drawn from.
pub struct SharedModuleHtml {
    /// The lists they were chosen from (Latest Stories, Must-Reads, Popular Now), for telling
    /// whether any has been loaded again since.
    drawn_from: [Arc<Vec<ArticleCard>>; 3],
    /// What they show, which You May Also Like leaves out.
    shown: HashSet<ArticleId>,
    latest_in_section: Value,
    must_reads: Value,
    popular: Value,
}

impl SharedModuleHtml {
    fn drawn_from(&self, lists: &[Arc<Vec<ArticleCard>>; 3]) -> bool {
        self.drawn_from.iter().zip(lists).all(|(kept, now)| Arc::ptr_eq(kept, now))
    }

    /// Whether any of the three shows this article.
    pub fn shows(&self, id: ArticleId) -> bool {
        self.shown.contains(&id)
    }

    /// You May Also Like from `related`, leaving out the article itself and what the others show.
    pub fn related<'a>(&self, current: ArticleId, related: &'a [StoryLink]) -> Vec<ModuleStory<'a>> {
        choose_related(current, &self.shown, related)
    }

    /// All four, ready for the article template.
    pub fn with_related(&self, state: &AppState, related: &[ModuleStory<'_>]) -> Result<ArticleModules, SiteError> {
        Ok(ArticleModules {
            latest_in_section: self.latest_in_section.clone(),
            related: render(state, Module::Ranked("related-heading", "You May Also Like"), related)?,
            popular: self.popular.clone(),
            must_reads: self.must_reads.clone(),
        })
    }
}

/// The four modules as HTML, in the order the page shows them.
#[derive(Serialize)]
pub struct ArticleModules {
    latest_in_section: Value,
    related: Value,
    popular: Value,
    must_reads: Value,
}

/// The shared modules for an article page: the section's rendering when it does not show this
/// article (for the long tail, nearly always), otherwise one chosen without it.
pub async fn shared_for(
    state: &AppState,
    article: ArticleId,
    section_slug: &str,
    section_name: &str,
) -> Result<Arc<SharedModuleHtml>, SiteError> {
    // An article in an archived section has no section front any more; its section's latest
    // stories become the whole site's.
    let filter = sections(state)
        .await?
        .iter()
        .find(|s| s.slug == section_slug)
        .map_or(ListFilter::All, |s| ListFilter::Section(s.id));
    let lists = [
        latest(state, filter, MODULE_SIZE + 1).await?,
        must_reads(state, CANDIDATES).await?,
        popular_now(state).await?,
    ];
    let key = format!("article-modules:{filter:?}:{section_name}");
    let for_section = state.cache.fragment_where(
        &key,
        |kept: &SharedModuleHtml| kept.drawn_from(&lists),
        || render_shared(state, None, section_name, &lists),
    )?;
    if !for_section.shows(article) {
        return Ok(for_section);
    }
    Ok(Arc::new(render_shared(state, Some(article), section_name, &lists)?))
}

/// Chosen without the current article, the shared modules are also exactly what every article
/// they do not show gets (`ranking::modules::choose_shared`).
fn render_shared(
    state: &AppState,
    current: Option<ArticleId>,
    section_name: &str,
    lists: &[Arc<Vec<ArticleCard>>; 3],
) -> Result<SharedModuleHtml, SiteError> {
    let [latest, must_reads, popular] = lists;
    let candidates =
        Candidates { latest_in_section: latest, must_reads, popular: &popular[..popular.len().min(CANDIDATES)] };
    let chosen = choose_shared(current, candidates);
    Ok(SharedModuleHtml {
        latest_in_section: render(state, Module::Latest(section_name), &chosen.latest_in_section)?,
        must_reads: render(state, Module::Ranked("must-reads-heading", "Must-Reads"), &chosen.must_reads)?,
        popular: render(state, Module::Ranked("popular-heading", "Popular Now"), &chosen.popular)?,
        shown: chosen.shown().clone(),
        drawn_from: lists.clone(),
    })
}

/// Which module `site/module.html` renders.
enum Module<'a> {
    /// Latest Stories, headed with the section's name.
    Latest(&'a str),
    /// A numbered module: the id of its heading, and the heading.
    Ranked(&'static str, &'static str),
}

#[derive(Serialize)]
struct ModuleContext<'a> {
    kind: &'static str,
    id: &'static str,
    heading: &'static str,
    section_name: &'a str,
    stories: &'a [ModuleStory<'a>],
}

fn render(state: &AppState, module: Module<'_>, stories: &[ModuleStory<'_>]) -> Result<Value, SiteError> {
    let context = match module {
        Module::Latest(section_name) => ModuleContext { kind: "latest", id: "", heading: "", section_name, stories },
        Module::Ranked(id, heading) => ModuleContext { kind: "ranked", id, heading, section_name: "", stories },
    };
    Ok(Value::from_safe_string(state.templates.render("site/module.html", &context)?))
}
