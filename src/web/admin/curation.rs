//! Curation: the Must-Reads list (order and expiry), the home page's lead and top stories, and the
//! site-wide breaking-news banner.

use axum::extract::{Query, State};
use axum::response::Response;
use chrono::Utc;
use serde::{Deserialize, Serialize};

use super::session::{Member, Submitted};
use super::{AdminChrome, AdminError, audit, notice_text, page, require, see_other};
use crate::domain::{Action, ArticleCard, Ownership};
use crate::newsroom::profile::{BREAKING_KEY, Breaking};
use crate::newsroom::workflow::parse_local_time;
use crate::store::ListFilter;
use crate::store::newsroom::CuratedEntry;
use crate::web::AppState;

const MAX_PICKS: usize = 20;

/// A curated list as edited: article ids in order, each with an optional expiry.
type PickRows = Vec<(i64, Option<chrono::DateTime<Utc>>)>;

#[derive(Serialize)]
struct CurationPage {
    chrome: AdminChrome,
    must_reads: Vec<CuratedEntry>,
    home: Vec<CuratedEntry>,
    candidates: Vec<ArticleCard>,
    breaking: Option<Breaking>,
    time_zone: String,
    notice: Option<&'static str>,
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
    let context = CurationPage {
        chrome: AdminChrome::new(&state, Some(&member), "Curation"),
        must_reads: state.store.must_read_entries().await?,
        home: state.store.home_slot_entries().await?,
        candidates: state.store.list_articles(ListFilter::All, 100, 0).await?,
        breaking: state.breaking(),
        time_zone: state.profile().time_zone.clone(),
        notice: notice_text(query.notice.as_deref()),
    };
    page(&state, "admin/curation.html", &context)
}

/// The list as the form sends it: `article` fields in order, each with an `expires` beside it;
/// `move_up`/`move_down`/`remove` name one row, `add` appends an article.
fn edited_list(form: &super::session::FormData, zone: chrono_tz::Tz) -> Result<PickRows, AdminError> {
    let ids = form.all("article");
    let expiries = form.all("expires");
    let mut rows = Vec::new();
    for (index, id) in ids.iter().enumerate() {
        let Ok(id) = id.parse::<i64>() else { continue };
        let expires = match expiries.get(index).map(|s| s.trim()).filter(|s| !s.is_empty()) {
            Some(text) => {
                Some(parse_local_time(text, zone).map_err(|e| AdminError::BadRequest(format!("Expiry: {e}.")))?)
            }
            None => None,
        };
        rows.push((id, expires));
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
    if let Ok(id) = form.text("add").parse::<i64>()
        && !rows.iter().any(|(existing, _)| *existing == id)
    {
        rows.push((id, None));
    }
    rows.truncate(MAX_PICKS);
    Ok(rows)
}

pub async fn save_must_reads(
    State(state): State<AppState>,
    Submitted { member, form }: Submitted,
) -> Result<Response, AdminError> {
    require(&member, Action::Curate, Ownership::Newsroom)?;
    let rows = edited_list(&form, state.profile().zone())?;
    state.store.set_must_read_entries(&rows).await?;
    let ids: Vec<String> = rows.iter().map(|(id, _)| id.to_string()).collect();
    audit(&state, Some(&member), "must_reads_set", "curation", None, ids.join(",")).await;
    state.lists_changed();
    Ok(see_other("/admin/curation", "saved"))
}

pub async fn save_home(
    State(state): State<AppState>,
    Submitted { member, form }: Submitted,
) -> Result<Response, AdminError> {
    require(&member, Action::Curate, Ownership::Newsroom)?;
    let rows = edited_list(&form, state.profile().zone())?;
    let ids: Vec<i64> = rows.iter().map(|(id, _)| *id).collect();
    state.store.set_home_slots(&ids).await?;
    let listed: Vec<String> = ids.iter().map(i64::to_string).collect();
    audit(&state, Some(&member), "home_set", "curation", None, listed.join(",")).await;
    state.lists_changed();
    Ok(see_other("/admin/curation", "saved"))
}

pub async fn save_breaking(
    State(state): State<AppState>,
    Submitted { member, form }: Submitted,
) -> Result<Response, AdminError> {
    require(&member, Action::Curate, Ownership::Newsroom)?;
    let text = form.text("text").trim().chars().take(300).collect::<String>();
    let expires_at = match form.text("expires").trim() {
        "" => None,
        value => Some(
            parse_local_time(value, state.profile().zone())
                .map_err(|e| AdminError::BadRequest(format!("Expiry: {e}.")))?,
        ),
    };
    let banner = Breaking { text, link: form.text("link").trim().to_owned(), expires_at };
    if !banner.link_is_valid() {
        return Err(AdminError::BadRequest("The banner link must start with / or https://.".into()));
    }
    let value = if form.flag("clear") || banner.text.is_empty() { None } else { Some(banner) };
    let json = serde_json::to_string(&value).map_err(|e| AdminError::Internal(e.to_string()))?;
    state.store.set_setting(BREAKING_KEY, &json, Utc::now()).await?;
    audit(
        &state,
        Some(&member),
        "breaking_set",
        "curation",
        None,
        value.as_ref().map(|b| b.text.clone()).unwrap_or_else(|| "cleared".into()),
    )
    .await;
    state.reload_profile().await?;
    state.changed(crate::web::changes::Change::Everything);
    Ok(see_other("/admin/curation", "saved"))
}
