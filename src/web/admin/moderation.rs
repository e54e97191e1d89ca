//! The moderation queue: held comments (and the published, rejected and spam lists), with approve,
//! reject, spam, delete and block-the-commenter actions.

use axum::extract::{Path, Query, State};
use axum::response::Response;
use chrono::Utc;
use serde::{Deserialize, Serialize};

use super::session::{Member, Submitted};
use super::{AdminChrome, AdminError, audit, notice_text, page, page_number, require, see_other};
use crate::domain::{Action, CommentStatus, Ownership};
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
    Path(id): Path<i64>,
    Submitted { member, form }: Submitted,
) -> Result<Response, AdminError> {
    require(&member, Action::Moderate, Ownership::Newsroom)?;
    let action = form.text("action");
    let article_id = match action.as_str() {
        "approve" => state.store.set_comment_status(id, CommentStatus::Published).await?,
        "reject" => state.store.set_comment_status(id, CommentStatus::Rejected).await?,
        "spam" => state.store.set_comment_status(id, CommentStatus::Spam).await?,
        "delete" => state.store.delete_comment(id).await?,
        "block" => {
            let fingerprint = form.text("fingerprint");
            if fingerprint.is_empty() {
                return Err(AdminError::BadRequest("Nothing to block.".into()));
            }
            state.store.block_fingerprint(&fingerprint, Some(member.user.id), Utc::now()).await?;
            state.store.set_comment_status(id, CommentStatus::Spam).await?
        }
        _ => return Err(AdminError::BadRequest("Unknown moderation action.".into())),
    };
    audit(&state, Some(&member), &format!("comment_{action}"), "comment", Some(id), format!("article {article_id}"))
        .await;
    super::articles::article_changed(&state, article_id);
    let back = match form.get("back") {
        Some(status) if CommentStatus::parse(status).is_some() => format!("/admin/comments?status={status}"),
        _ => "/admin/comments".to_owned(),
    };
    Ok(see_other(&back, "saved"))
}
