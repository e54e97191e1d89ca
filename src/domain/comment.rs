//! Readers' comments. Lengths are counted in user-perceived characters (extended grapheme clusters),
//! so an emoji with a skin-tone modifier or a ZWJ family counts as one, as the reader sees it.

use chrono::{DateTime, Utc};
use serde::Serialize;
use unicode_segmentation::UnicodeSegmentation;

use super::ids::{ArticleId, CommentId};
use super::text::{TextError, clean_line, clean_text};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommentError {
    #[error("Please enter your name.")]
    NameMissing,
    #[error("Your name can be at most {max} characters long; it has {actual}.", max = CommenterName::MAX_CHARS)]
    NameTooLong { actual: usize },
    #[error("Please write a comment before sending it.")]
    BodyMissing,
    #[error("Comments can be at most {max} characters long; yours has {actual}.", max = CommentBody::MAX_CHARS)]
    BodyTooLong { actual: usize },
    #[error("Your name {0}.")]
    NameUnreadable(TextError),
    #[error("Your comment {0}.")]
    BodyUnreadable(TextError),
}

impl CommentError {
    /// A stable machine-readable code, for the API and for tests.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NameMissing => "comment_name_missing",
            Self::NameTooLong { .. } => "comment_name_too_long",
            Self::BodyMissing => "comment_body_missing",
            Self::BodyTooLong { .. } => "comment_body_too_long",
            Self::NameUnreadable(_) => "comment_name_unreadable",
            Self::BodyUnreadable(_) => "comment_body_unreadable",
        }
    }
}

/// Counts user-perceived characters.
pub fn grapheme_count(text: &str) -> usize {
    text.graphemes(true).count()
}

/// The name a commenter gives: 1 to 50 characters, on one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommenterName(String);

impl CommenterName {
    pub const MAX_CHARS: usize = 50;

    pub fn parse(input: &str) -> Result<Self, CommentError> {
        // Invisible-only input comes back empty, so it is "missing", not an invisible name.
        let name = clean_line(input).map_err(CommentError::NameUnreadable)?;
        let count = grapheme_count(&name);
        if count == 0 {
            return Err(CommentError::NameMissing);
        }
        if count > Self::MAX_CHARS {
            return Err(CommentError::NameTooLong { actual: count });
        }
        Ok(Self(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The text of a comment: 1 to 300 characters of plain text, line breaks kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentBody(String);

impl CommentBody {
    pub const MAX_CHARS: usize = 300;

    pub fn parse(input: &str) -> Result<Self, CommentError> {
        let body = clean_text(input).map_err(CommentError::BodyUnreadable)?;
        let count = grapheme_count(&body);
        if count == 0 {
            return Err(CommentError::BodyMissing);
        }
        if count > Self::MAX_CHARS {
            return Err(CommentError::BodyTooLong { actual: count });
        }
        Ok(Self(body))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CommentStatus {
    /// Visible on the article.
    Published,
    /// Waiting for a moderator.
    Held,
    Rejected,
    Spam,
}

impl CommentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Published => "published",
            Self::Held => "held",
            Self::Rejected => "rejected",
            Self::Spam => "spam",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "published" => Self::Published,
            "held" => Self::Held,
            "rejected" => Self::Rejected,
            "spam" => Self::Spam,
            _ => return None,
        })
    }
}

/// A stored comment as readers see it.
#[derive(Debug, Clone, Serialize)]
pub struct Comment {
    pub id: CommentId,
    pub article_id: ArticleId,
    pub author_name: String,
    pub body: String,
    pub status: CommentStatus,
    pub created_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_counts_grapheme_clusters_not_bytes_or_scalars() {
        let thumbs = "👍🏽"; // two scalars, one grapheme
        let family = "👨‍👩‍👧‍👦"; // seven scalars joined by ZWJ, one grapheme
        let exactly_300 = format!("{}{}{}", "a".repeat(298), thumbs, family);
        assert_eq!(grapheme_count(&exactly_300), 300);
        assert!(CommentBody::parse(&exactly_300).is_ok());

        let too_long = format!("{exactly_300}{thumbs}");
        assert_eq!(CommentBody::parse(&too_long), Err(CommentError::BodyTooLong { actual: 301 }));
    }

    #[test]
    fn body_is_trimmed_before_counting_and_keeps_line_breaks() {
        let padded = format!("  {}  \r\n", "b".repeat(300));
        assert!(CommentBody::parse(&padded).is_ok());
        let body = CommentBody::parse("first line\r\nsecond line").map(|b| b.as_str().to_owned());
        assert_eq!(body, Ok("first line\nsecond line".to_owned()));
    }

    #[test]
    fn empty_or_blank_input_is_refused() {
        assert_eq!(CommentBody::parse("   \n "), Err(CommentError::BodyMissing));
        assert_eq!(CommenterName::parse(""), Err(CommentError::NameMissing));
    }

    #[test]
    fn name_is_one_line_of_at_most_50_characters() {
        assert_eq!(CommenterName::parse("Ana\nLee").map(|n| n.as_str().to_owned()), Ok("Ana Lee".to_owned()));
        assert!(CommenterName::parse(&"n".repeat(50)).is_ok());
        assert_eq!(CommenterName::parse(&"n".repeat(51)), Err(CommentError::NameTooLong { actual: 51 }));
    }

    #[test]
    fn invisible_bidi_and_stacked_marks_are_handled() {
        assert_eq!(CommentBody::parse("\u{200B}\u{200B}\u{FEFF}"), Err(CommentError::BodyMissing));
        assert_eq!(CommenterName::parse("\u{200D}\u{2060}"), Err(CommentError::NameMissing));
        let body = CommentBody::parse("abc\u{202E}cba").map(|b| b.as_str().to_owned());
        assert_eq!(body, Ok("abccba".to_owned()));
        let zalgo = format!("a{}", "\u{0301}".repeat(5000));
        assert!(matches!(CommentBody::parse(&zalgo), Err(CommentError::BodyUnreadable(_))));
        let message = CommentBody::parse(&zalgo).expect_err("refused").to_string();
        assert!(message.starts_with("Your comment has a character with"), "{message}");
    }

    #[test]
    fn control_characters_are_dropped() {
        let body = CommentBody::parse("bell\u{7} and null\u{0}").map(|b| b.as_str().to_owned());
        assert_eq!(body, Ok("bell and null".to_owned()));
    }
}
