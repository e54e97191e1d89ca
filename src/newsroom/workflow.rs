//! The editorial workflow: draft → in review → scheduled → published → unpublished, and which
//! member may move an article along which edge.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::{Action, ArticleStatus, Ownership, Role, permits};

/// A step a member can ask for from the editor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// Writer hands a draft to the editors.
    Submit,
    /// Back to draft: a writer withdraws, or an editor returns it, or a schedule is cancelled.
    #[serde(rename = "return")]
    ReturnToDraft,
    /// Go live now.
    Publish,
    /// Go live at a given time (embargo until then).
    Schedule,
    /// Take down a published article.
    Unpublish,
}

impl Step {
    pub const ALL: [Step; 5] = [Step::Submit, Step::ReturnToDraft, Step::Publish, Step::Schedule, Step::Unpublish];

    pub fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "submit" => Self::Submit,
            "return" => Self::ReturnToDraft,
            "publish" => Self::Publish,
            "schedule" => Self::Schedule,
            "unpublish" => Self::Unpublish,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Submit => "submit",
            Self::ReturnToDraft => "return",
            Self::Publish => "publish",
            Self::Schedule => "schedule",
            Self::Unpublish => "unpublish",
        }
    }

    /// The step in a sentence for members ("… cannot be published now").
    pub fn past_participle(self) -> &'static str {
        match self {
            Self::Submit => "submitted for review",
            Self::ReturnToDraft => "returned to draft",
            Self::Publish => "published",
            Self::Schedule => "scheduled",
            Self::Unpublish => "unpublished",
        }
    }

    /// The statuses this step may start from, and where it leads.
    pub fn edge(self) -> (&'static [ArticleStatus], ArticleStatus) {
        use ArticleStatus as S;
        match self {
            Self::Submit => (&[S::Draft], S::InReview),
            Self::ReturnToDraft => (&[S::InReview, S::Scheduled, S::Unpublished], S::Draft),
            Self::Publish => (&[S::Draft, S::InReview, S::Scheduled, S::Unpublished], S::Published),
            Self::Schedule => (&[S::Draft, S::InReview, S::Scheduled], S::Scheduled),
            Self::Unpublish => (&[S::Published], S::Unpublished),
        }
    }

    /// The right this step needs.
    pub fn action(self) -> Action {
        match self {
            Self::Submit => Action::SubmitForReview,
            // Withdrawing one's own submission is part of writing it; cancelling a schedule or
            // taking an article down is a publishing decision.
            Self::ReturnToDraft => Action::SubmitForReview,
            Self::Publish | Self::Schedule | Self::Unpublish => Action::Publish,
        }
    }
}

/// Whether `role` may take `step` on an article in `status` with the given ownership.
pub fn may_take(role: Role, step: Step, ownership: Ownership, status: ArticleStatus) -> bool {
    let (from, _) = step.edge();
    if !from.contains(&status) {
        return false;
    }
    // Cancelling a schedule needs publishing rights, whoever wrote the article.
    let action =
        if step == Step::ReturnToDraft && status == ArticleStatus::Scheduled { Action::Publish } else { step.action() };
    permits(role, action, ownership, Some(status))
}

/// The steps offered in the editor for this member and article.
pub fn available_steps(role: Role, ownership: Ownership, status: ArticleStatus) -> Vec<Step> {
    Step::ALL.into_iter().filter(|step| may_take(role, *step, ownership, status)).collect()
}

/// Why a schedule request was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ScheduleError {
    #[error("choose a date and time to publish at")]
    Missing,
    #[error("the publication time is not a valid date and time")]
    Invalid,
}

/// Parses a `datetime-local` value (`2026-11-27T14:30`) as wall-clock time in the newsroom's time
/// zone. In the hour a daylight-saving change repeats, the earlier instant is taken.
pub fn parse_local_time(value: &str, zone: chrono_tz::Tz) -> Result<DateTime<Utc>, ScheduleError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(ScheduleError::Missing);
    }
    let naive = chrono::NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S"))
        .map_err(|_| ScheduleError::Invalid)?;
    naive.and_local_timezone(zone).earliest().map(|t| t.with_timezone(&Utc)).ok_or(ScheduleError::Invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contributors_submit_but_cannot_schedule_or_publish() {
        let steps = available_steps(Role::Contributor, Ownership::Own, ArticleStatus::Draft);
        assert_eq!(steps, vec![Step::Submit]);
        let steps = available_steps(Role::Contributor, Ownership::Own, ArticleStatus::InReview);
        assert_eq!(steps, vec![Step::ReturnToDraft]);
        assert!(available_steps(Role::Contributor, Ownership::Own, ArticleStatus::Scheduled).is_empty());
    }

    #[test]
    fn editors_review_schedule_and_take_down() {
        let steps = available_steps(Role::Editor, Ownership::Others, ArticleStatus::InReview);
        assert_eq!(steps, vec![Step::ReturnToDraft, Step::Publish, Step::Schedule]);
        let steps = available_steps(Role::Editor, Ownership::Others, ArticleStatus::Published);
        assert_eq!(steps, vec![Step::Unpublish]);
    }

    #[test]
    fn authors_cannot_publish_a_colleagues_story() {
        assert!(may_take(Role::Author, Step::Publish, Ownership::Own, ArticleStatus::Draft));
        assert!(!may_take(Role::Author, Step::Publish, Ownership::Others, ArticleStatus::InReview));
    }

    #[test]
    fn local_times_convert_with_the_newsroom_offset() {
        let t = parse_local_time("2026-11-27T09:00", chrono_tz::Asia::Seoul).expect("valid");
        assert_eq!(t.to_rfc3339(), "2026-11-27T00:00:00+00:00");
        let summer = parse_local_time("2026-07-01T12:00", chrono_tz::America::New_York).expect("valid");
        assert_eq!(summer.to_rfc3339(), "2026-07-01T16:00:00+00:00");
        assert_eq!(parse_local_time("", chrono_tz::UTC), Err(ScheduleError::Missing));
        assert_eq!(parse_local_time("tomorrow", chrono_tz::UTC), Err(ScheduleError::Invalid));
        // 02:30 does not exist in New York on the morning clocks go forward.
        assert_eq!(parse_local_time("2026-03-08T02:30", chrono_tz::America::New_York), Err(ScheduleError::Invalid));
    }
}
