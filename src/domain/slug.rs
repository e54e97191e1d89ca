//! URL slugs: lowercase ASCII letters, digits and single hyphens.

use std::fmt;

/// Path segments the router owns; a section may not take one of these as its slug.
pub const RESERVED: &[&str] = &[
    "admin",
    "api",
    "authors",
    "comments",
    "corrections",
    "feeds",
    "healthz",
    "media",
    "metrics",
    "preview",
    "readyz",
    "search",
    "static",
    "tags",
    "views",
];

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Slug(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SlugError {
    #[error("a slug cannot be empty")]
    Empty,
    #[error("a slug can be at most 120 characters long")]
    TooLong,
    #[error("a slug may contain only lowercase letters, digits and single hyphens, not at either end")]
    InvalidCharacters,
    #[error("“{0}” is reserved for the site's own pages")]
    Reserved(String),
}

impl Slug {
    pub const MAX_LEN: usize = 120;

    /// Accepts an already well-formed slug.
    pub fn parse(input: &str) -> Result<Self, SlugError> {
        if input.is_empty() {
            return Err(SlugError::Empty);
        }
        if input.len() > Self::MAX_LEN {
            return Err(SlugError::TooLong);
        }
        let well_formed = input.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !input.starts_with('-')
            && !input.ends_with('-')
            && !input.contains("--");
        if !well_formed {
            return Err(SlugError::InvalidCharacters);
        }
        Ok(Self(input.to_owned()))
    }

    /// Like [`Slug::parse`], and also refuses the router's reserved words (for section slugs, which
    /// sit at the top of the URL space).
    pub fn parse_top_level(input: &str) -> Result<Self, SlugError> {
        let slug = Self::parse(input)?;
        if RESERVED.contains(&input) {
            return Err(SlugError::Reserved(input.to_owned()));
        }
        Ok(slug)
    }

    /// Derives a slug from free text such as a headline: letters and digits kept (accents folded
    /// for common Latin letters), everything else becomes a single hyphen.
    pub fn from_title(title: &str) -> Result<Self, SlugError> {
        let mut out = String::with_capacity(title.len());
        for ch in title.chars().flat_map(char::to_lowercase) {
            let folded = fold_latin(ch);
            match folded {
                Some(s) => out.push_str(s),
                None if ch.is_ascii_alphanumeric() => out.push(ch),
                // Apostrophes join words: “Kishida’s” becomes “kishidas”, not “kishida-s”.
                None if matches!(ch, '\'' | '’') => {}
                None => {
                    if !out.is_empty() && !out.ends_with('-') {
                        out.push('-');
                    }
                }
            }
        }
        let trimmed = out.trim_end_matches('-');
        let mut cut = trimmed.to_owned();
        if cut.len() > Self::MAX_LEN {
            cut.truncate(Self::MAX_LEN);
            cut = cut.trim_end_matches('-').to_owned();
        }
        Self::parse(&cut)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

fn fold_latin(ch: char) -> Option<&'static str> {
    Some(match ch {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' => "a",
        'æ' => "ae",
        'ç' | 'č' | 'ć' => "c",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ě' => "e",
        'ì' | 'í' | 'î' | 'ï' | 'ī' => "i",
        'ñ' | 'ń' | 'ň' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' => "o",
        'œ' => "oe",
        'ř' => "r",
        'š' | 'ś' => "s",
        'ß' => "ss",
        'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' => "u",
        'ý' | 'ÿ' => "y",
        'ž' | 'ź' | 'ż' => "z",
        _ => return None,
    })
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_well_formed_slugs() {
        assert_eq!(Slug::parse("asia").map(Slug::into_inner), Ok("asia".to_owned()));
        assert!(Slug::parse("ev3-wins-2025").is_ok());
    }

    #[test]
    fn refuses_malformed_slugs() {
        assert_eq!(Slug::parse(""), Err(SlugError::Empty));
        assert_eq!(Slug::parse("Asia"), Err(SlugError::InvalidCharacters));
        assert_eq!(Slug::parse("-asia"), Err(SlugError::InvalidCharacters));
        assert_eq!(Slug::parse("a--b"), Err(SlugError::InvalidCharacters));
        assert_eq!(Slug::parse("a/b"), Err(SlugError::InvalidCharacters));
        assert_eq!(Slug::parse(&"a".repeat(121)), Err(SlugError::TooLong));
    }

    #[test]
    fn reserved_words_are_refused_at_top_level_only() {
        assert!(Slug::parse("static").is_ok());
        assert_eq!(Slug::parse_top_level("static"), Err(SlugError::Reserved("static".into())));
    }

    #[test]
    fn derives_slug_from_headline() {
        let slug = Slug::from_title("Kishida’s Aim for U.S. Visit: A Summit with North Korea’s Kim Jong Un");
        assert_eq!(
            slug.map(Slug::into_inner),
            Ok("kishidas-aim-for-u-s-visit-a-summit-with-north-koreas-kim-jong-un".to_owned())
        );
        assert_eq!(Slug::from_title("Tomás Novák").map(Slug::into_inner), Ok("tomas-novak".to_owned()));
        assert_eq!(Slug::from_title("!!!"), Err(SlugError::Empty));
    }
}
