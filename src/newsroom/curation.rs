//! The curation use cases: the Must-Reads list (order and expiry), the home page's lead and top
//! stories, and the site-wide breaking-news banner. Each checks the member's right to curate,
//! validates, writes with the version its form was based on, records one audit line and reports
//! one change, like the article use cases.

use chrono::{DateTime, Utc};

use super::articles::{Actor, Newsroom, ServiceError, ValidationErrors, audit_line};
use super::profile::{BREAKING_KEY, Breaking};
use crate::domain::{Action, ArticleId, Ownership, permits};
use crate::store::newsroom::VersionedWrite;

/// Longest curated list: more than any page shows, few enough to order by hand.
pub const MAX_PICKS: usize = 20;

/// Longest banner text, in characters: one line on a phone.
pub const MAX_BANNER_CHARS: usize = 300;

/// One story on a curated list, and when it drops off by itself (`None`: when an editor takes it
/// off).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pick {
    pub article_id: ArticleId,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Which curated list a use case changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CuratedList {
    MustReads,
    Home,
}

/// The banner as the form sends it. `expires_at` has been read from the member's time zone
/// already; `clear` takes the banner down whatever the other fields say.
#[derive(Debug, Clone, Default)]
pub struct BannerInput {
    pub text: String,
    pub link: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub clear: bool,
}

/// Replaces a curated list with `picks`, in the order given (on the home page the first is the
/// lead). A write based on an older version of the list than the stored one changes nothing and
/// answers [`VersionedWrite::Stale`].
pub async fn set_list(
    newsroom: Newsroom<'_>,
    actor: &Actor,
    list: CuratedList,
    picks: &[Pick],
    base_version: i64,
    now: DateTime<Utc>,
) -> Result<VersionedWrite, ServiceError> {
    may_curate(actor)?;
    if list == CuratedList::Home && picks.iter().any(|p| p.expires_at.is_some()) {
        let mut errors = ValidationErrors::default();
        errors.add("expires", "The home page’s stories stay until an editor changes them; they have no expiry.");
        return Err(ServiceError::Invalid(errors));
    }
    check_picks(newsroom, picks).await?;
    let store = newsroom.store;
    let written = match list {
        CuratedList::MustReads => {
            let rows: Vec<(ArticleId, Option<DateTime<Utc>>)> =
                picks.iter().map(|p| (p.article_id, p.expires_at)).collect();
            let line = audit_line(actor, "must_reads_set", "curation", None, listed(picks), now);
            store.set_must_read_entries(&rows, base_version, &line).await?
        }
        CuratedList::Home => {
            let ids: Vec<ArticleId> = picks.iter().map(|p| p.article_id).collect();
            let line = audit_line(actor, "home_set", "curation", None, listed(picks), now);
            store.set_home_slots(&ids, base_version, &line).await?
        }
    };
    if written == VersionedWrite::Stale {
        return Ok(VersionedWrite::Stale);
    }
    newsroom.changes.curated_list_changed(list);
    Ok(VersionedWrite::Written)
}

/// Sets or takes down the breaking-news banner. Returns what was stored (`None`: no banner), or
/// [`VersionedWrite::Stale`] with nothing stored.
pub async fn set_breaking(
    newsroom: Newsroom<'_>,
    actor: &Actor,
    input: &BannerInput,
    base_version: i64,
    now: DateTime<Utc>,
) -> Result<(VersionedWrite, Option<Breaking>), ServiceError> {
    may_curate(actor)?;
    let text = input.text.trim();
    let banner = Breaking { text: text.to_owned(), link: input.link.trim().to_owned(), expires_at: input.expires_at };
    let value = if input.clear || text.is_empty() {
        None
    } else {
        let mut errors = ValidationErrors::default();
        let length = text.chars().count();
        if length > MAX_BANNER_CHARS {
            errors.add("text", format!("The banner is {length} characters; it can be at most {MAX_BANNER_CHARS}."));
        }
        if text.chars().any(char::is_control) {
            errors.add("text", "The banner is one line of text, without line breaks or control characters.");
        }
        if !banner.link_is_valid() {
            errors.add("link", "The banner link must start with / or https://.");
        }
        if banner.expires_at.is_some_and(|at| at <= now) {
            errors.add("expires", "That expiry time has already passed.");
        }
        if !errors.is_empty() {
            return Err(ServiceError::Invalid(errors));
        }
        Some(banner)
    };
    let json = serde_json::to_string(&value).map_err(|e| ServiceError::Refused(e.to_string()))?;
    let detail = value.as_ref().map(|b| b.text.clone()).unwrap_or_else(|| "cleared".into());
    let line = audit_line(actor, "breaking_set", "curation", None, detail, now);
    if newsroom.store.set_setting(BREAKING_KEY, &json, now, base_version, &line).await? == VersionedWrite::Stale {
        return Ok((VersionedWrite::Stale, value));
    }
    newsroom.changes.banner_changed(value.clone());
    Ok((VersionedWrite::Written, value))
}

fn may_curate(actor: &Actor) -> Result<(), ServiceError> {
    if permits(actor.role, Action::Curate, Ownership::Newsroom, None) { Ok(()) } else { Err(ServiceError::Forbidden) }
}

/// A list names each story once, at most [`MAX_PICKS`] of them, all of which exist. An expiry
/// already past is accepted: the list sent back may hold a pick that has just expired, which
/// simply no longer shows.
async fn check_picks(newsroom: Newsroom<'_>, picks: &[Pick]) -> Result<(), ServiceError> {
    let mut errors = ValidationErrors::default();
    if picks.len() > MAX_PICKS {
        errors.add("article", format!("A list holds at most {MAX_PICKS} stories; this one has {}.", picks.len()));
    }
    for (index, pick) in picks.iter().enumerate() {
        if picks[..index].iter().any(|p| p.article_id == pick.article_id) {
            errors.add("article", format!("Article {} is on the list twice.", pick.article_id));
        } else if newsroom.store.editable_article(pick.article_id).await?.is_none() {
            errors.add("article", format!("There is no article {}.", pick.article_id));
        }
    }
    if errors.is_empty() { Ok(()) } else { Err(ServiceError::Invalid(errors)) }
}

fn listed(picks: &[Pick]) -> String {
    picks.iter().map(|p| p.article_id.to_string()).collect::<Vec<_>>().join(",")
}
