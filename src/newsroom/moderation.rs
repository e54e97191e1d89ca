//! Comment moderation without HTTP: approve, reject, mark as spam, delete, or block the commenter.
//! Like the article use cases, [`moderate`] does the permission check, validation, the store
//! write together with its audit line, and the change event, in that order, so the handler only
//! reads the form and renders the outcome.

use chrono::{DateTime, Utc};

use super::articles::{Actor, ArticleEvent, Newsroom, ServiceError, ValidationErrors, audit_line};
use crate::domain::{Action, ArticleId, CommentId, CommentStatus, Ownership, permits};
use crate::store::CommentChange;

/// Longest commenter fingerprint we store: ours are 32 hex digits; imported ones may be longer.
const MAX_FINGERPRINT_CHARS: usize = 64;

/// What a moderator does to one comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Moderation {
    Approve,
    Reject,
    Spam,
    Delete,
    /// Blocks the commenter's fingerprint (their later comments go straight to spam) and marks
    /// this comment as spam.
    Block {
        fingerprint: String,
    },
}

impl Moderation {
    /// The queue form's `action` and, for a block, the comment's `fingerprint`.
    pub fn parse(action: &str, fingerprint: &str) -> Result<Self, ServiceError> {
        match action {
            "approve" => Ok(Self::Approve),
            "reject" => Ok(Self::Reject),
            "spam" => Ok(Self::Spam),
            "delete" => Ok(Self::Delete),
            "block" => {
                let well_formed = !fingerprint.is_empty()
                    && fingerprint.len() <= MAX_FINGERPRINT_CHARS
                    && fingerprint.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
                if well_formed {
                    Ok(Self::Block { fingerprint: fingerprint.to_owned() })
                } else {
                    let mut errors = ValidationErrors::default();
                    errors.add("fingerprint", "This comment has no commenter to block.");
                    Err(ServiceError::Invalid(errors))
                }
            }
            _ => Err(ServiceError::Refused("Unknown moderation action.".into())),
        }
    }

    /// The audit log's name for it, as the log has always written it.
    pub fn audit_action(&self) -> &'static str {
        match self {
            Self::Approve => "comment_approve",
            Self::Reject => "comment_reject",
            Self::Spam => "comment_spam",
            Self::Delete => "comment_delete",
            Self::Block { .. } => "comment_block",
        }
    }
}

/// Applies the queue form's `action` (with the comment's `fingerprint` for a block) to comment
/// `comment_id`; returns the article it belongs to. Someone who may not moderate is refused before
/// their input is looked at. A missing comment is [`ServiceError::NotFound`]; a refusal writes,
/// logs and announces nothing.
pub async fn moderate(
    newsroom: Newsroom<'_>,
    actor: &Actor,
    comment_id: CommentId,
    action: &str,
    fingerprint: &str,
    now: DateTime<Utc>,
) -> Result<ArticleId, ServiceError> {
    if !permits(actor.role, Action::Moderate, Ownership::Newsroom, None) {
        return Err(ServiceError::Forbidden);
    }
    let moderation = &Moderation::parse(action, fingerprint)?;
    let change = match moderation {
        Moderation::Approve => CommentChange::Status(CommentStatus::Published),
        Moderation::Reject => CommentChange::Status(CommentStatus::Rejected),
        Moderation::Spam => CommentChange::Status(CommentStatus::Spam),
        Moderation::Delete => CommentChange::Delete,
        // One transaction: a comment that does not exist leaves no block nobody asked for.
        Moderation::Block { fingerprint } => CommentChange::Block { fingerprint, by: Some(actor.user_id), at: now },
    };
    let line = audit_line(actor, moderation.audit_action(), "comment", Some(comment_id.0), String::new(), now);
    let article_id = match newsroom.store.moderate_comment(comment_id, change, &line).await {
        Ok(id) => id,
        Err(crate::store::StoreError::Missing(_)) => return Err(ServiceError::NotFound),
        Err(e) => return Err(e.into()),
    };
    // The article's page shows its comments, and every card its comment count.
    newsroom.changes.article_changed(ArticleEvent::Public { id: article_id, went_live: false });
    Ok(article_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_parse_and_keep_their_audit_names() {
        for (action, audit) in [
            ("approve", "comment_approve"),
            ("reject", "comment_reject"),
            ("spam", "comment_spam"),
            ("delete", "comment_delete"),
        ] {
            assert_eq!(Moderation::parse(action, "").expect(action).audit_action(), audit);
        }
        let block = Moderation::parse("block", "0123abcd").expect("block");
        assert_eq!(block, Moderation::Block { fingerprint: "0123abcd".into() });
        assert_eq!(block.audit_action(), "comment_block");
    }

    #[test]
    fn unknown_actions_and_hostile_fingerprints_are_refused() {
        assert!(matches!(Moderation::parse("publish", ""), Err(ServiceError::Refused(_))));
        assert!(matches!(Moderation::parse("APPROVE", ""), Err(ServiceError::Refused(_))));
        for fingerprint in ["", "a b", "x'; DROP TABLE comments; --", "é", &"f".repeat(65), "a\nb"] {
            match Moderation::parse("block", fingerprint) {
                Err(ServiceError::Invalid(errors)) => assert_eq!(errors.for_field("fingerprint").len(), 1),
                other => panic!("{fingerprint:?} gave {other:?}"),
            }
        }
        assert!(Moderation::parse("block", &"f".repeat(64)).is_ok());
    }
}
