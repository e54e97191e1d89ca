//! Corrections, clarifications and updates appended to a published article: the record a newsroom
//! keeps of what it changed after publication, shown under the story and on `/corrections`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ArticleId;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CorrectionKind {
    Correction,
    Clarification,
    Update,
}

impl CorrectionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Correction => "correction",
            Self::Clarification => "clarification",
            Self::Update => "update",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "correction" => Self::Correction,
            "clarification" => Self::Clarification,
            "update" => Self::Update,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Correction {
    pub id: i64,
    pub article_id: ArticleId,
    pub kind: CorrectionKind,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub headline: String,
    pub section_slug: String,
    pub slug: String,
}
