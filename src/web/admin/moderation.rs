//! The moderation queue: held comments (and the published, rejected and spam lists), with approve,
//! reject, spam, delete and block-the-commenter actions.

use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::articles::{actor, newsroom};
use super::session::{Member, Submitted};
use super::{AdminChrome, AdminError, notice_text, page, page_number, require, see_other};
use crate::domain::{Action, CommentStatus, Ownership};
use crate::newsroom::moderation::moderate;
use crate::store::newsroom::ModerationItem;
use crate::web::AppState;

const PAGE_SIZE: i64 = 50;

#[derive(Deserialize)]
pub struct QueueQuery {
    status: Option<String>,
    page: Option<String>,
    notice: Option<String>,
}

#[derive(Serialize)]
struct QueuePage {
    chrome: AdminChrome,
    status: CommentStatus,
    counts: Vec<(CommentStatus, &'static str, i64)>,
    comments: Vec<ModerationItem>,
    page: i64,
    has_more: bool,
    notice: Option<&'static str>,
}

pub async fn queue(
    State(state): State<AppState>,
    member: Member,
    Query(query): Query<QueueQuery>,
) -> Result<Response, AdminError> {
    require(&member, Action::Moderate, Ownership::Newsroom)?;
    let status = query.status.as_deref().and_then(CommentStatus::parse).unwrap_or(CommentStatus::Held);
    let page_number = page_number(query.page.as_deref())?;
    let mut comments = state.store.comments_by_status(status, PAGE_SIZE + 1, page_number.offset(PAGE_SIZE)).await?;
    let has_more = comments.len() as i64 > PAGE_SIZE;
    comments.truncate(PAGE_SIZE as usize);
    let mut counts = Vec::new();
    for (s, label) in [
        (CommentStatus::Held, "Held"),
        (CommentStatus::Published, "Published"),
        (CommentStatus::Rejected, "Rejected"),
        (CommentStatus::Spam, "Spam"),
    ] {
        counts.push((s, label, state.store.count_comments_by_status(s).await?));
    }
    let context = QueuePage {
        chrome: AdminChrome::new(&state, Some(&member), "Comments"),
        status,
        counts,
        comments,
        page: page_number.get(),
        has_more,
        notice: notice_text(query.notice.as_deref()),
    };
    page(&state, "admin/comments.html", &context)
}

pub async fn act(
    State(state): State<AppState>,
    Path(id): Path<crate::domain::CommentId>,
    Submitted { member, form }: Submitted,
) -> Result<Response, AdminError> {
    moderate(newsroom(&state), &actor(&member), id, &form.text("action"), &form.text("fingerprint"), state.clock.now())
        .await?;
    let back = match form.get("back") {
        Some(status) if CommentStatus::parse(status).is_some() => format!("/admin/comments?status={status}"),
        _ => "/admin/comments".to_owned(),
    };
    Ok(see_other(&back, "saved"))
}
