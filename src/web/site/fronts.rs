//! The home front and the list pages: section fronts, author pages and tag pages.

use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::{Chrome, cached_page, latest, must_reads, popular_now, sections};
use crate::cache::Dependency;
use crate::domain::{ArticleCard, ArticleId, Author, Section};
use crate::ranking::modules::MODULE_SIZE;
use crate::store::ListFilter;
use crate::web::AppState;
use crate::web::error::SiteError;
use crate::web::respond::RequestHeaders;

pub const PAGE_SIZE: i64 = 20;

#[derive(Serialize)]
struct SectionBlock {
    section: Section,
    items: Vec<ArticleCard>,
}

#[derive(Serialize)]
struct HomePage {
    chrome: Chrome,
    lead: Option<ArticleCard>,
    top: Vec<ArticleCard>,
    section_blocks: Vec<SectionBlock>,
    latest: Vec<ArticleCard>,
    popular: Vec<ArticleCard>,
    must_reads: Vec<ArticleCard>,
}

pub async fn home(
    State(state): State<AppState>,
    RequestHeaders(headers): RequestHeaders,
) -> Result<Response, SiteError> {
    let st = state.clone();
    cached_page(&state, &headers, "/".into(), vec![Dependency::Lists], move || async move { render_home(&st).await })
        .await
}

async fn render_home(state: &AppState) -> Result<String, SiteError> {
    let newest = latest(state, ListFilter::All, 15).await?.as_ref().clone();
    // Editors may set the lead and top stories; otherwise the lead is the newest story with a
    // picture and the next four are the top stories. Curated slots come first, and the newest
    // stories fill the rest.
    let curated =
        state.cache.fragment("home-slots", async { Ok::<_, SiteError>(state.store.home_slots().await?) }).await?;
    let (lead, top) = if curated.is_empty() {
        let lead_index = newest.iter().position(|c| c.image.is_some()).unwrap_or(0);
        let mut rest = newest.clone();
        let lead = (!rest.is_empty()).then(|| rest.remove(lead_index));
        (lead, rest.iter().take(4).cloned().collect::<Vec<_>>())
    } else {
        let mut picks: Vec<ArticleCard> = curated.as_ref().clone();
        for card in &newest {
            if picks.len() >= 5 {
                break;
            }
            if !picks.iter().any(|p| p.id == card.id) {
                picks.push(card.clone());
            }
        }
        let lead = Some(picks.remove(0));
        (lead, picks.into_iter().take(4).collect())
    };
    let mut shown: Vec<ArticleId> = lead.iter().chain(top.iter()).map(|c| c.id).collect();

    let mut section_blocks = Vec::new();
    for section in sections(state).await?.iter().cloned() {
        let items: Vec<ArticleCard> = latest(state, ListFilter::Section(section.id), 8)
            .await?
            .iter()
            .filter(|c| !shown.contains(&c.id))
            .take(4)
            .cloned()
            .collect();
        shown.extend(items.iter().map(|c| c.id));
        if !items.is_empty() {
            section_blocks.push(SectionBlock { section, items });
        }
    }
    let page = HomePage {
        chrome: Chrome::build(state, "", Some("/")).await,
        lead,
        top,
        section_blocks,
        latest: newest.into_iter().take(10).collect(),
        popular: popular_now(state).await?.iter().take(MODULE_SIZE).cloned().collect(),
        must_reads: must_reads(state, MODULE_SIZE).await?.as_ref().clone(),
    };
    Ok(state.templates.render("site/home.html", &page)?)
}

#[derive(Debug, Deserialize)]
pub struct PageQuery {
    page: Option<u32>,
}

#[derive(Serialize)]
struct Pagination {
    page: i64,
    pages: i64,
    previous: Option<String>,
    next: Option<String>,
}

impl Pagination {
    fn new(path: &str, page: i64, total: i64) -> Self {
        let pages = ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
        let link = |p: i64| if p == 1 { path.to_owned() } else { format!("{path}?page={p}") };
        Self { page, pages, previous: (page > 1).then(|| link(page - 1)), next: (page < pages).then(|| link(page + 1)) }
    }
}

#[derive(Serialize)]
struct ListPage {
    chrome: Chrome,
    kind: &'static str,
    heading: String,
    author: Option<Author>,
    items: Vec<ArticleCard>,
    total: i64,
    pagination: Pagination,
    popular: Vec<ArticleCard>,
    must_reads: Vec<ArticleCard>,
}

/// What a list page is a list of.
enum Listing {
    Section(Section),
    Author(Author),
    Tag { id: crate::domain::TagId, name: String },
}

async fn render_list(state: &AppState, listing: Listing, path: String, page: i64) -> Result<String, SiteError> {
    let (filter, kind, heading, author, current_section) = match listing {
        Listing::Section(s) => (ListFilter::Section(s.id), "section", s.name.clone(), None, Some(s.slug)),
        Listing::Author(a) => (ListFilter::Author(a.id), "author", a.name.clone(), Some(a), None),
        Listing::Tag { id, name } => (ListFilter::Tag(id), "tag", name, None, None),
    };
    let items = state.store.list_articles(filter, PAGE_SIZE, (page - 1) * PAGE_SIZE).await?;
    if items.is_empty() && page > 1 {
        return Err(SiteError::NotFound);
    }
    let total = state.store.count_articles(filter).await?;
    let title = if page > 1 { format!("{heading} (page {page})") } else { heading.clone() };
    let canonical = if page > 1 { format!("{path}?page={page}") } else { path.clone() };
    let mut chrome = Chrome::build(state, &title, Some(&canonical)).await;
    chrome.current_section = current_section;
    if let Some(author) = &author {
        chrome.meta_description = author.bio.clone();
    }
    let page = ListPage {
        chrome,
        kind,
        heading,
        author,
        total,
        pagination: Pagination::new(&path, page, total),
        items,
        popular: popular_now(state).await?.iter().take(MODULE_SIZE).cloned().collect(),
        must_reads: must_reads(state, MODULE_SIZE).await?.as_ref().clone(),
    };
    Ok(state.templates.render("site/list.html", &page)?)
}

fn page_number(query: &PageQuery) -> Result<i64, SiteError> {
    match query.page {
        None => Ok(1),
        Some(0) => Err(SiteError::NotFound),
        Some(n) => Ok(i64::from(n)),
    }
}

pub async fn section(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(query): Query<PageQuery>,
    RequestHeaders(headers): RequestHeaders,
) -> Result<Response, SiteError> {
    let page = page_number(&query)?;
    let path = format!("/{slug}");
    let key = format!("{path}?page={page}");
    let st = state.clone();
    cached_page(&state, &headers, key, vec![Dependency::Lists], move || async move {
        let section = sections(&st).await?.iter().find(|s| s.slug == slug).cloned().ok_or(SiteError::NotFound)?;
        render_list(&st, Listing::Section(section), path, page).await
    })
    .await
}

pub async fn author(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(query): Query<PageQuery>,
    RequestHeaders(headers): RequestHeaders,
) -> Result<Response, SiteError> {
    let page = page_number(&query)?;
    let path = format!("/authors/{slug}");
    let key = format!("{path}?page={page}");
    let st = state.clone();
    cached_page(&state, &headers, key, vec![Dependency::Lists], move || async move {
        let author = st.store.author_by_slug(&slug).await?.ok_or(SiteError::NotFound)?;
        render_list(&st, Listing::Author(author), path, page).await
    })
    .await
}

pub async fn tag(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(query): Query<PageQuery>,
    RequestHeaders(headers): RequestHeaders,
) -> Result<Response, SiteError> {
    let page = page_number(&query)?;
    let path = format!("/tags/{slug}");
    let key = format!("{path}?page={page}");
    let st = state.clone();
    cached_page(&state, &headers, key, vec![Dependency::Lists], move || async move {
        let tag = st.store.tag_by_slug(&slug).await?.ok_or(SiteError::NotFound)?;
        render_list(&st, Listing::Tag { id: tag.id, name: tag.name }, path, page).await
    })
    .await
}
