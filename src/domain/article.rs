//! Articles, and the short "card" form in which they appear in lists and modules.

use chrono::{DateTime, Utc};
use serde::Serialize;

pub use super::ids::ArticleId;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ArticleStatus {
    Draft,
    /// Submitted by its writer; waiting for an editor.
    InReview,
    /// Approved and waiting for its publication time; invisible to readers until then (embargo).
    Scheduled,
    Published,
    /// Was public and has been taken down; its URL answers 410 Gone.
    Unpublished,
}

impl ArticleStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::InReview => "in_review",
            Self::Scheduled => "scheduled",
            Self::Published => "published",
            Self::Unpublished => "unpublished",
        }
    }

    /// The status in a sentence for members ("This article is in review").
    pub fn label(self) -> &'static str {
        match self {
            Self::Draft => "a draft",
            Self::InReview => "in review",
            Self::Scheduled => "scheduled",
            Self::Published => "published",
            Self::Unpublished => "unpublished",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "draft" => Self::Draft,
            "in_review" => Self::InReview,
            "scheduled" => Self::Scheduled,
            "published" => Self::Published,
            "unpublished" => Self::Unpublished,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FeaturedImage {
    pub url: String,
    pub alt: String,
    pub caption: Option<String>,
    pub credit: Option<String>,
    pub width: u32,
    pub height: u32,
    /// Responsive sources for an image from the media library: `srcset` in the original format and
    /// in WebP. Empty for images that came from elsewhere (demo art, imports) or are still being made.
    pub srcset: String,
    pub srcset_webp: String,
    /// A 1200 × 630 crop around the editor's focal point, for link previews on social networks;
    /// empty when there is none.
    pub card_url: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AuthorRef {
    pub slug: String,
    pub name: String,
    pub email: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TagRef {
    pub slug: String,
    pub name: String,
}

/// A full article, as the article page shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Article {
    pub id: ArticleId,
    pub slug: String,
    pub section_slug: String,
    pub section_name: String,
    pub headline: String,
    pub dek: String,
    /// Sanitised HTML rendered from the Markdown body when the article was saved.
    pub body_html: String,
    pub image: Option<FeaturedImage>,
    pub status: ArticleStatus,
    pub published_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    pub authors: Vec<AuthorRef>,
    pub tags: Vec<TagRef>,
    pub view_count: i64,
    pub comment_count: i64,
    /// Corrections and updates, oldest first.
    pub corrections: Vec<super::Correction>,
}

impl Article {
    /// The article's canonical path on the reader site.
    pub fn path(&self) -> String {
        article_path(&self.section_slug, &self.slug)
    }
}

/// An article as it appears in lists and modules: enough to link to it and label it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ArticleCard {
    pub id: ArticleId,
    pub slug: String,
    pub section_slug: String,
    pub section_name: String,
    pub headline: String,
    pub dek: String,
    pub published_at: DateTime<Utc>,
    pub image: Option<FeaturedImage>,
    pub lead_author: Option<String>,
    pub comment_count: i64,
    pub path: String,
}

/// A story as a ranked module lists it (You May Also Like): its headline, address and section.
/// The related candidates of an article page are read in this form, which is all that module
/// shows, so the page's one read does not fetch images, bylines and counts for its eight (or, on
/// a deeper read, fifteen) stories.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct StoryLink {
    pub id: ArticleId,
    pub headline: String,
    pub section_name: String,
    pub path: String,
}

pub fn article_path(section_slug: &str, slug: &str) -> String {
    format!("/{section_slug}/{slug}")
}
