//! Row ids as distinct types: an article's id cannot be passed where a user's is wanted, and a
//! function taking both cannot have them swapped by accident. Each is the database's integer key;
//! it serializes as that bare number (JSON, templates) and prints as it.

use serde::{Deserialize, Serialize};

macro_rules! id_types {
    ($($(#[$doc:meta])* $name:ident;)+) => {
        $(
            $(#[$doc])*
            #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
            #[serde(transparent)]
            pub struct $name(pub i64);

            impl std::fmt::Display for $name {
                fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    self.0.fmt(f)
                }
            }
        )+
    };
}

id_types! {
    /// An article (story) of the newsroom.
    ArticleId;
    /// A newsroom member's account.
    UserId;
    /// A byline: the author page an account or a contributor writes under.
    AuthorId;
    /// A section of the site (Asia, Business…).
    SectionId;
    /// A tag grouping articles across sections.
    TagId;
    /// An uploaded image in the media library.
    MediaId;
    /// A reader's comment.
    CommentId;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_its_number_in_json_and_text() {
        assert_eq!(serde_json::to_string(&ArticleId(42)).expect("serializes"), "42");
        assert_eq!(serde_json::from_str::<UserId>("7").expect("parses"), UserId(7));
        assert_eq!(AuthorId(3).to_string(), "3");
        assert!(serde_json::from_str::<ArticleId>("\"7\"").is_err(), "text is not an id");
    }
}
