//! Newsroom accounts: who may sign in to the CMS and with which role.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::Role;

pub use super::ids::{AuthorId, UserId};

/// A newsroom member. Every account writes under a byline (an author page on the reader site).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub author_id: AuthorId,
    pub author_slug: String,
    pub has_password: bool,
    pub totp_enabled: bool,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
}

/// A person's display name: trimmed, 1 to 100 characters, no control characters.
pub fn parse_person_name(input: &str) -> Result<String, &'static str> {
    let name = input.trim();
    // A byline made only of zero-width characters shows nothing; a direction override makes it
    // read differently from what it is.
    if super::text::clean_line(name).is_ok_and(|cleaned| cleaned.is_empty()) {
        return Err("a name is required");
    }
    if name.chars().any(super::text::is_bidi_control) {
        return Err("a name cannot contain direction-override characters");
    }
    if super::text::clean_line(name).is_err() {
        return Err("a name cannot have a character with more than 8 accents or marks stacked on it");
    }
    if name.chars().count() > 100 {
        return Err("a name can be at most 100 characters long");
    }
    if name.chars().any(char::is_control) {
        return Err("a name cannot contain control characters");
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(parse_person_name("  Daniel Kim "), Ok("Daniel Kim".to_owned()));
        assert!(parse_person_name("   ").is_err());
        assert!(parse_person_name(&"x".repeat(101)).is_err());
        assert!(parse_person_name("a\u{7}b").is_err());
        assert_eq!(parse_person_name("\u{200B}\u{FEFF}"), Err("a name is required"));
        assert!(parse_person_name("Kim\u{202E}miK").is_err());
        assert!(parse_person_name(&format!("Z{}", "\u{0301}".repeat(9))).is_err());
        assert_eq!(parse_person_name("Nguyễn Thị Minh Khai"), Ok("Nguyễn Thị Minh Khai".to_owned()));
    }
}
