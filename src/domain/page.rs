//! A list's page number as it arrives in `?page=`. Lists multiply it by their page size to get an
//! offset, so an unbounded number overflowed: `?page=9223372036854775807` was a 500 on PostgreSQL
//! (a negative offset) and wrapped to another page on SQLite. Parsed here once, it is bounded.

use std::fmt;

/// A page number from 1 to [`PageNumber::MAX`]; no list of ours is that long, and the bound keeps
/// every offset (`MAX` × a page size in the hundreds) far inside `i64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageNumber(i64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("“{0}” is not a page number. Page numbers are whole numbers from 1 to {max}.", max = PageNumber::MAX)]
pub struct PageNumberError(String);

impl PageNumber {
    pub const MAX: i64 = 1_000_000;
    pub const FIRST: PageNumber = PageNumber(1);

    /// The page asked for; no value, or an empty one, is the first page.
    pub fn parse(raw: Option<&str>) -> Result<Self, PageNumberError> {
        let Some(text) = raw.map(str::trim).filter(|t| !t.is_empty()) else { return Ok(Self::FIRST) };
        let invalid = || PageNumberError(text.chars().take(40).collect());
        // Digits only: `i64::from_str` would also take a sign.
        if !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid());
        }
        match text.parse::<i64>() {
            Ok(n) if (1..=Self::MAX).contains(&n) => Ok(Self(n)),
            _ => Err(invalid()),
        }
    }

    pub fn get(self) -> i64 {
        self.0
    }

    /// Rows to skip for this page.
    pub fn offset(self, per_page: i64) -> i64 {
        (self.0 - 1).saturating_mul(per_page)
    }
}

impl fmt::Display for PageNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_or_empty_is_the_first_page() {
        assert_eq!(PageNumber::parse(None), Ok(PageNumber::FIRST));
        assert_eq!(PageNumber::parse(Some("")), Ok(PageNumber::FIRST));
        assert_eq!(PageNumber::parse(Some("3")).map(PageNumber::get), Ok(3));
        assert_eq!(PageNumber::parse(Some("1000000")).map(PageNumber::get), Ok(1_000_000));
    }

    #[test]
    fn out_of_range_and_garbage_are_refused() {
        for raw in ["0", "-1", "+2", "1000001", "9223372036854775807", "99999999999999999999", "abc", "1e3", "2.5"] {
            assert!(PageNumber::parse(Some(raw)).is_err(), "{raw}");
        }
    }

    #[test]
    fn offsets_cannot_overflow() {
        let last = PageNumber::parse(Some("1000000")).expect("valid");
        assert_eq!(last.offset(100), 99_999_900);
        assert_eq!(PageNumber::FIRST.offset(50), 0);
    }
}
