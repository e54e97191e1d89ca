//! Newsroom roles and what each may do. Every admin handler asks [`permits`] before acting, so the
//! rules live in one table that a test walks completely.

use serde::Serialize;

use super::ArticleStatus;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Writes their own drafts and submits them for review.
    Contributor,
    /// Also publishes their own articles.
    Author,
    /// Edits and publishes anyone's articles; runs sections, tags, curation and comments.
    Editor,
    /// Also manages accounts and site settings.
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Contributor, Role::Author, Role::Editor, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Contributor => "contributor",
            Self::Author => "author",
            Self::Editor => "editor",
            Self::Admin => "admin",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Some(match value.trim().to_ascii_lowercase().as_str() {
            "contributor" => Self::Contributor,
            "author" => Self::Author,
            "editor" => Self::Editor,
            "admin" => Self::Admin,
            _ => return None,
        })
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Contributor => "Contributor",
            Self::Author => "Author",
            Self::Editor => "Editor",
            Self::Admin => "Administrator",
        }
    }
}

/// Something a newsroom member asks to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    CreateArticle,
    /// Open an article in the editor and see its revisions.
    ViewArticle,
    EditArticle,
    SubmitForReview,
    /// Publish, schedule, unpublish or schedule an unpublishing.
    Publish,
    SharePreview,
    AddCorrection,
    UploadMedia,
    EditMedia,
    ManageTaxonomy,
    Curate,
    Moderate,
    ManageUsers,
    ManageSettings,
    ViewAudit,
}

impl Action {
    pub const ALL: [Action; 15] = [
        Action::CreateArticle,
        Action::ViewArticle,
        Action::EditArticle,
        Action::SubmitForReview,
        Action::Publish,
        Action::SharePreview,
        Action::AddCorrection,
        Action::UploadMedia,
        Action::EditMedia,
        Action::ManageTaxonomy,
        Action::Curate,
        Action::Moderate,
        Action::ManageUsers,
        Action::ManageSettings,
        Action::ViewAudit,
    ];
}

/// Whose thing the action touches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Ownership {
    /// The member created it or is on its byline.
    Own,
    /// Someone else's.
    Others,
    /// The action is not about one person's thing (settings, curation, ...).
    Newsroom,
}

/// The one rule book. `status` is the article's current status where the action is about an
/// article: contributors lose the right to change their work once it has gone public.
pub fn permits(role: Role, action: Action, ownership: Ownership, status: Option<ArticleStatus>) -> bool {
    use Action as A;
    let at_least = |min: Role| role >= min;
    let own = ownership == Ownership::Own;
    match action {
        A::CreateArticle | A::UploadMedia => true,
        A::ViewArticle | A::SubmitForReview | A::SharePreview => own || at_least(Role::Editor),
        A::EditArticle => {
            if at_least(Role::Editor) {
                return true;
            }
            let still_private = matches!(status, None | Some(ArticleStatus::Draft | ArticleStatus::InReview));
            own && (role >= Role::Author || still_private)
        }
        A::Publish => at_least(Role::Editor) || (own && at_least(Role::Author)),
        A::EditMedia => own || at_least(Role::Editor),
        A::AddCorrection | A::ManageTaxonomy | A::Curate | A::Moderate => at_least(Role::Editor),
        A::ManageUsers | A::ManageSettings | A::ViewAudit => at_least(Role::Admin),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contributors_write_and_submit_but_never_publish() {
        let c = Role::Contributor;
        assert!(permits(c, Action::CreateArticle, Ownership::Newsroom, None));
        assert!(permits(c, Action::EditArticle, Ownership::Own, Some(ArticleStatus::Draft)));
        assert!(permits(c, Action::SubmitForReview, Ownership::Own, Some(ArticleStatus::Draft)));
        assert!(!permits(c, Action::EditArticle, Ownership::Own, Some(ArticleStatus::Published)));
        assert!(!permits(c, Action::EditArticle, Ownership::Others, Some(ArticleStatus::Draft)));
        assert!(!permits(c, Action::Publish, Ownership::Own, Some(ArticleStatus::Draft)));
        assert!(!permits(c, Action::ViewArticle, Ownership::Others, Some(ArticleStatus::Draft)));
    }

    #[test]
    fn authors_publish_only_their_own() {
        let a = Role::Author;
        assert!(permits(a, Action::Publish, Ownership::Own, Some(ArticleStatus::InReview)));
        assert!(permits(a, Action::EditArticle, Ownership::Own, Some(ArticleStatus::Published)));
        assert!(!permits(a, Action::Publish, Ownership::Others, Some(ArticleStatus::InReview)));
        assert!(!permits(a, Action::Moderate, Ownership::Newsroom, None));
    }

    #[test]
    fn editors_run_the_newsroom_and_admins_also_run_accounts() {
        for action in Action::ALL {
            let admin_only = matches!(action, Action::ManageUsers | Action::ManageSettings | Action::ViewAudit);
            assert_eq!(permits(Role::Editor, action, Ownership::Others, Some(ArticleStatus::Published)), !admin_only);
            assert!(permits(Role::Admin, action, Ownership::Others, Some(ArticleStatus::Published)));
        }
    }

    #[test]
    fn a_higher_role_never_has_fewer_rights() {
        let statuses = [
            None,
            Some(ArticleStatus::Draft),
            Some(ArticleStatus::InReview),
            Some(ArticleStatus::Scheduled),
            Some(ArticleStatus::Published),
        ];
        for pair in Role::ALL.windows(2) {
            for action in Action::ALL {
                for ownership in [Ownership::Own, Ownership::Others, Ownership::Newsroom] {
                    for status in statuses {
                        if permits(pair[0], action, ownership, status) {
                            assert!(
                                permits(pair[1], action, ownership, status),
                                "{:?} may {action:?} ({ownership:?}, {status:?}) but {:?} may not",
                                pair[0],
                                pair[1]
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn roles_parse_from_their_names() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse(" Editor "), Some(Role::Editor));
        assert_eq!(Role::parse("owner"), None);
    }
}
