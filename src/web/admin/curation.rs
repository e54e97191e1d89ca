//! Curation: the Must-Reads list (order and expiry), the home page's lead and top stories, and the
//! site-wide breaking-news banner.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::articles::{actor, newsroom};
use super::session::{Member, Submitted};
use super::{AdminChrome, AdminError, notice_text, page, page_with_status, require, see_other};
use crate::domain::{Action, ArticleCard, ArticleId, Ownership};
use crate::newsroom::curation::{self, BannerInput, CuratedList, Pick};
use crate::newsroom::profile::{BREAKING_KEY, Breaking};
use crate::newsroom::workflow::parse_local_time;
use crate::store::ListFilter;
use crate::store::newsroom::{CuratedEntry, Edited, VersionedWrite};
use crate::web::AppState;

#[derive(Serialize)]
struct CurationPage {
    chrome: AdminChrome,
    must_reads: Vec<CuratedEntry>,
    home: Vec<CuratedEntry>,
    candidates: Vec<ArticleCard>,
    breaking: Option<Breaking>,
    time_zone: String,
    notice: Option<&'static str>,
    /// The version of each list and of the banner this page shows; each form sends its own back.
    must_reads_version: i64,
    home_version: i64,
    breaking_version: i64,
    conflict: Option<CurationConflict>,
}

/// A save refused because someone else saved the same list or banner meanwhile. Their version is
/// shown here; the member's is in the form (based on the stored version now).
#[derive(Serialize)]
struct CurationConflict {
    /// The form it concerns: `must-reads`, `home` or `breaking`.
    form: &'static str,
    /// Their list (headlines in order) or banner, as stored.
    theirs: Vec<String>,
}

/// What the page shows: the stored lists and banner, each read after its version (so a save in
/// between makes the form look stale, never current).
async fn curation_page(state: &AppState, member: &Member) -> Result<CurationPage, AdminError> {
    let store = &state.store;
    let must_reads_version = store.edit_version(Edited::MustReads).await?;
    let home_version = store.edit_version(Edited::HomeSlots).await?;
    let breaking_version = store.edit_version(Edited::Setting(BREAKING_KEY)).await?;
    Ok(CurationPage {
        chrome: AdminChrome::new(state, Some(member), "Curation"),
        must_reads: store.must_read_entries().await?,
        home: store.home_slot_entries().await?,
        candidates: store.list_articles(ListFilter::All, 100, 0).await?,
        breaking: stored_breaking(state).await?,
        time_zone: state.profile().time_zone.clone(),
        notice: None,
        must_reads_version,
        home_version,
        breaking_version,
        conflict: None,
    })
}

/// The banner as stored (the in-memory copy may lag another node's save), if still live.
async fn stored_breaking(state: &AppState) -> Result<Option<Breaking>, AdminError> {
    let Some(json) = state.store.setting(BREAKING_KEY).await? else { return Ok(None) };
    let banner = serde_json::from_str::<Option<Breaking>>(&json).map_err(|e| AdminError::Internal(e.to_string()))?;
    Ok(banner.filter(|b| b.is_live(state.clock.now())))
}

/// The member's edited list as the page shows entries, for the form after a refused save.
async fn entries_for(state: &AppState, picks: &[Pick]) -> Result<Vec<CuratedEntry>, AdminError> {
    let sections = state.store.all_sections().await?;
    let mut entries = Vec::new();
    for &Pick { article_id: id, expires_at } in picks {
        let Some(article) = state.store.editable_article(id).await? else { continue };
        let section_name = sections
            .iter()
            .find(|(s, _)| s.id == article.fields.section_id)
            .map(|(s, _)| s.name.clone())
            .unwrap_or_default();
        entries.push(CuratedEntry {
            article_id: id,
            headline: article.fields.headline,
            section_name,
            status: article.status,
            expires_at,
        });
    }
    Ok(entries)
}

fn conflict_response(state: &AppState, page: &CurationPage) -> Result<Response, AdminError> {
    page_with_status(state, StatusCode::CONFLICT, "admin/curation.html", page)
}

fn base_version(form: &super::session::FormData) -> i64 {
    // Missing counts as -1, which no stored version is: such a save is refused as stale.
    form.text("version").trim().parse().unwrap_or(-1)
}

#[derive(Deserialize)]
pub struct CurationQuery {
    notice: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    member: Member,
    Query(query): Query<CurationQuery>,
) -> Result<Response, AdminError> {
    require(&member, Action::Curate, Ownership::Newsroom)?;
    let context =
        CurationPage { notice: notice_text(query.notice.as_deref()), ..curation_page(&state, &member).await? };
    page(&state, "admin/curation.html", &context)
}

/// The list as the form sends it: `article` fields in order, each with an `expires` beside it;
/// `move_up`/`move_down`/`remove` name one row, `add` appends an article.
fn edited_list(form: &super::session::FormData, zone: chrono_tz::Tz) -> Result<Vec<Pick>, AdminError> {
    let ids = form.all("article");
    let expiries = form.all("expires");
    let mut rows = Vec::new();
    for (index, id) in ids.iter().enumerate() {
        let Ok(id) = id.parse::<i64>().map(ArticleId) else { continue };
        let expires = match expiries.get(index).map(|s| s.trim()).filter(|s| !s.is_empty()) {
            Some(text) => {
                Some(parse_local_time(text, zone).map_err(|e| AdminError::BadRequest(format!("Expiry: {e}.")))?)
            }
            None => None,
        };
        rows.push(Pick { article_id: id, expires_at: expires });
    }
    if let Ok(index) = form.text("remove").parse::<usize>()
        && index < rows.len()
    {
        rows.remove(index);
    }
    if let Ok(index) = form.text("move_up").parse::<usize>()
        && index > 0
        && index < rows.len()
    {
        rows.swap(index, index - 1);
    }
    if let Ok(index) = form.text("move_down").parse::<usize>()
        && index + 1 < rows.len()
    {
        rows.swap(index, index + 1);
    }
    if let Ok(id) = form.text("add").parse::<i64>().map(ArticleId)
        && !rows.iter().any(|pick| pick.article_id == id)
    {
        rows.push(Pick { article_id: id, expires_at: None });
    }
    // Not cut to the longest list: a list one too long is refused with the reason, rather than
    // dropping the story just added without a word.
    Ok(rows)
}

pub async fn save_must_reads(State(state): State<AppState>, submitted: Submitted) -> Result<Response, AdminError> {
    save_list(&state, submitted, CuratedList::MustReads).await
}

pub async fn save_home(State(state): State<AppState>, submitted: Submitted) -> Result<Response, AdminError> {
    save_list(&state, submitted, CuratedList::Home).await
}

/// Saves one curated list; a save based on an older version shows the form again with both.
async fn save_list(
    state: &AppState,
    Submitted { member, form }: Submitted,
    list: CuratedList,
) -> Result<Response, AdminError> {
    let picks = edited_list(&form, state.profile().zone())?;
    let saved =
        curation::set_list(newsroom(state), &actor(&member), list, &picks, base_version(&form), state.clock.now())
            .await?;
    if saved == VersionedWrite::Stale {
        let mut context = curation_page(state, &member).await?;
        let (shown, form_name) = match list {
            CuratedList::MustReads => (&mut context.must_reads, "must-reads"),
            CuratedList::Home => (&mut context.home, "home"),
        };
        let theirs = shown.iter().map(|e| e.headline.clone()).collect();
        *shown = entries_for(state, &picks).await?;
        context.conflict = Some(CurationConflict { form: form_name, theirs });
        return conflict_response(state, &context);
    }
    Ok(see_other("/admin/curation", "saved"))
}

pub async fn save_breaking(
    State(state): State<AppState>,
    Submitted { member, form }: Submitted,
) -> Result<Response, AdminError> {
    let expires_at = match form.text("expires").trim() {
        "" => None,
        value => Some(
            parse_local_time(value, state.profile().zone())
                .map_err(|e| AdminError::BadRequest(format!("Expiry: {e}.")))?,
        ),
    };
    let input = BannerInput { text: form.text("text"), link: form.text("link"), expires_at, clear: form.flag("clear") };
    let (saved, banner) =
        curation::set_breaking(newsroom(&state), &actor(&member), &input, base_version(&form), state.clock.now())
            .await?;
    if saved == VersionedWrite::Stale {
        let mut context = curation_page(&state, &member).await?;
        let theirs = match &context.breaking {
            Some(b) if b.link.is_empty() => vec![b.text.clone()],
            Some(b) => vec![format!("{} ({})", b.text, b.link)],
            None => vec!["(no banner)".to_owned()],
        };
        context.breaking = banner;
        context.conflict = Some(CurationConflict { form: "breaking", theirs });
        return conflict_response(&state, &context);
    }
    Ok(see_other("/admin/curation", "saved"))
}
