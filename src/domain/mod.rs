//! The newsroom's words as types. Input from outside is parsed into these newtypes once, at the edge,
//! so the rest of the code can rely on it being valid.

pub mod article;
pub mod comment;
pub mod correction;
pub mod email;
pub mod ids;
pub mod page;
pub mod role;
pub mod slug;
pub mod text;
pub mod user;

pub use article::{Article, ArticleCard, ArticleStatus, AuthorRef, FeaturedImage, StoryLink, TagRef};
pub use comment::{Comment, CommentBody, CommentError, CommentStatus, CommenterName};
pub use correction::{Correction, CorrectionKind};
pub use email::{Email, EmailError};
pub use ids::{ArticleId, AuthorId, CommentId, MediaId, SectionId, TagId, UserId};
pub use page::{PageNumber, PageNumberError};
pub use role::{Action, Ownership, Role, permits};
pub use slug::{Slug, SlugError};
pub use user::User;

use serde::Serialize;

/// A section of the site (Asia, Business, ...), in navigation order.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Section {
    pub id: SectionId,
    pub slug: String,
    pub name: String,
    pub position: i64,
}

/// A person who writes for the newsroom; shown in bylines and on the author page.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Author {
    pub id: AuthorId,
    pub slug: String,
    pub name: String,
    pub email: String,
    pub bio: String,
    pub photo_url: Option<String>,
}

/// A tag that groups articles across sections.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Tag {
    pub id: TagId,
    pub slug: String,
    pub name: String,
}
