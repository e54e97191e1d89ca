//! The comment policy: what is published at once and what waits for a moderator.

use crate::domain::CommentStatus;

/// Top-level domains commonly used in comment spam written without a scheme ("cheap-pills.xyz").
const LINK_TLDS: &[&str] = &[
    "com", "net", "org", "info", "biz", "io", "co", "xyz", "top", "ru", "cn", "me", "ly", "gl", "site", "online",
    "shop", "app", "link", "click",
];

#[derive(Debug, Clone)]
pub struct CommentPolicy {
    /// Hold every comment, whatever it says.
    pub hold_all: bool,
    /// Words that send a comment to moderation, matched whole and case-insensitively.
    pub blocked_words: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldReason {
    Policy,
    Link,
    BlockedWord,
}

impl CommentPolicy {
    /// Decides whether a comment goes up now or waits for a moderator.
    pub fn decide(&self, name: &str, body: &str) -> (CommentStatus, Option<HoldReason>) {
        let reason = if self.hold_all {
            Some(HoldReason::Policy)
        } else if contains_link(body) || contains_link(name) {
            Some(HoldReason::Link)
        } else if self.has_blocked_word(name) || self.has_blocked_word(body) {
            Some(HoldReason::BlockedWord)
        } else {
            None
        };
        match reason {
            Some(reason) => (CommentStatus::Held, Some(reason)),
            None => (CommentStatus::Published, None),
        }
    }

    fn has_blocked_word(&self, text: &str) -> bool {
        if self.blocked_words.is_empty() {
            return false;
        }
        let lower = text.to_lowercase();
        let words: Vec<&str> = lower.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
        self.blocked_words.iter().any(|blocked| {
            let blocked = blocked.to_lowercase();
            let parts: Vec<&str> = blocked.split_whitespace().collect();
            !parts.is_empty() && words.windows(parts.len()).any(|window| window == parts.as_slice())
        })
    }
}

/// True when the text holds something a reader could follow as a link.
pub fn contains_link(text: &str) -> bool {
    let lower = text.to_lowercase();
    if lower.contains("http://") || lower.contains("https://") || lower.contains("www.") {
        return true;
    }
    lower.split(|c: char| c.is_whitespace() || matches!(c, '(' | ')' | '<' | '>' | '"' | '\'')).any(|word| {
        let word = word.trim_end_matches(['.', ',', '!', '?', ';', ':']);
        match word.rsplit_once('.') {
            Some((host, tld)) => {
                let tld = tld.split('/').next().unwrap_or(tld);
                !host.is_empty()
                    && host.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
                    && LINK_TLDS.contains(&tld)
            }
            None => false,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(blocked: &[&str]) -> CommentPolicy {
        CommentPolicy { hold_all: false, blocked_words: blocked.iter().map(|w| (*w).to_owned()).collect() }
    }

    #[test]
    fn plain_comment_is_published() {
        assert_eq!(policy(&[]).decide("Ana", "Good reporting. Thanks!").0, CommentStatus::Published);
    }

    #[test]
    fn links_in_any_form_are_held() {
        for text in
            ["see https://spam.example", "visit www.spam.example", "cheap-pills.xyz now", "go to spam.com/offer"]
        {
            assert!(contains_link(text), "{text}");
            assert_eq!(policy(&[]).decide("Ana", text), (CommentStatus::Held, Some(HoldReason::Link)));
        }
        for text in ["I agree. The end.", "U.S. policy", "3.5 percent", "e.g. this"] {
            assert!(!contains_link(text), "{text}");
        }
    }

    #[test]
    fn blocked_words_match_whole_words_case_insensitively() {
        let p = policy(&["casino", "free money"]);
        assert_eq!(p.decide("Ana", "Best CASINO here").1, Some(HoldReason::BlockedWord));
        assert_eq!(p.decide("Ana", "get free  money").1, Some(HoldReason::BlockedWord));
        assert_eq!(p.decide("Ana", "casinos are a debate").0, CommentStatus::Published);
    }

    #[test]
    fn hold_all_holds_everything() {
        let p = CommentPolicy { hold_all: true, blocked_words: vec![] };
        assert_eq!(p.decide("Ana", "hello").1, Some(HoldReason::Policy));
    }
}
