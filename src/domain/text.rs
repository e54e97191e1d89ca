//! Plain text and links typed by people (comments, headlines, link fields), made safe to store and
//! show.
//!
//! Text loses what no reader can see but what changes how the rest is shown: control characters
//! (other than line breaks and tabs where several lines are allowed), a byte-order mark, and the
//! bidirectional embedding, override and isolate controls that can make a comment read backwards
//! or a headline hide its real words. Text with nothing visible left is empty, so "required"
//! checks refuse it. A character carrying a tower of combining marks ("Zalgo" text, or 10 KB of
//! marks on one letter) is refused with a message, not silently cut, so the author can fix it.
//!
//! A link is either a path on this site or an `http(s)` address: nothing a browser would read as
//! another host (`//host`, `/\host`, `\\host`) or another scheme (`javascript:`).

use unicode_segmentation::UnicodeSegmentation;

/// Combining marks one character may carry. Real writing stacks two or three (Vietnamese,
/// Devanagari, IPA); more than this is decoration that spills over neighbouring lines.
pub const MAX_MARKS_PER_CHARACTER: usize = 8;

/// Code points one user-perceived character may hold at all. The longest emoji sequences have ten.
const MAX_CODE_POINTS_PER_CHARACTER: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error(
        "has a character with {marks} accents or marks stacked on it (at most {max} are allowed); please remove the extra marks",
        max = MAX_MARKS_PER_CHARACTER
    )]
    TooManyMarks { marks: usize },
}

/// The bidirectional formatting controls: embeddings and overrides (U+202A–U+202E) and isolates
/// (U+2066–U+2069).
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Characters that draw nothing: zero-width spaces and joiners, the word joiner and other
/// invisible operators, the BOM, soft hyphen, variation selectors, filler characters and
/// direction marks. They may be kept inside text (a joiner makes an emoji family), but text made
/// only of them is empty.
pub fn is_invisible(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{034F}'
                | '\u{061C}'
                | '\u{115F}'
                | '\u{1160}'
                | '\u{17B4}'
                | '\u{17B5}'
                | '\u{180B}'..='\u{180F}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2060}'..='\u{2064}'
                | '\u{206A}'..='\u{206F}'
                | '\u{3164}'
                | '\u{FE00}'..='\u{FE0F}'
                | '\u{FEFF}'
                | '\u{FFA0}'
                | '\u{E0000}'..='\u{E007F}'
        )
        || is_bidi_control(c)
}

/// Whether `c` is a combining mark of the kinds stacked in "Zalgo" text: the combining
/// diacritical blocks, and the general-purpose combining ranges of Cyrillic and symbols.
fn is_stackable_mark(c: char) -> bool {
    matches!(
        c,
        '\u{0300}'..='\u{036F}'
            | '\u{0483}'..='\u{0489}'
            | '\u{0591}'..='\u{05BD}'
            | '\u{0610}'..='\u{061A}'
            | '\u{064B}'..='\u{065F}'
            | '\u{1AB0}'..='\u{1AFF}'
            | '\u{1DC0}'..='\u{1DFF}'
            | '\u{20D0}'..='\u{20FF}'
            | '\u{FE20}'..='\u{FE2F}'
    )
}

/// Text of several lines (a comment, an article body): line breaks made LF, surrounding space
/// trimmed, controls other than line feed and tab dropped, bidi controls and BOMs dropped.
pub fn clean_text(input: &str) -> Result<String, TextError> {
    clean(input, true)
}

/// Text on one line (a headline, a name, a caption): as [`clean_text`], with line breaks and
/// tabs turned into spaces.
pub fn clean_line(input: &str) -> Result<String, TextError> {
    clean(input, false)
}

fn clean(input: &str, multiline: bool) -> Result<String, TextError> {
    let unified = input.replace("\r\n", "\n").replace('\r', "\n");
    let kept: String = unified
        .chars()
        .filter_map(|c| match c {
            '\n' | '\t' if multiline => Some(c),
            '\n' | '\t' => Some(' '),
            '\u{FEFF}' => None,
            c if c.is_control() || is_bidi_control(c) => None,
            c => Some(c),
        })
        .collect();
    if kept.chars().all(is_invisible) {
        return Ok(String::new());
    }
    // Only spacing is trimmed: a variation selector or joiner at the end belongs to an emoji.
    let trimmed = kept.trim_matches(|c: char| c.is_whitespace() || matches!(c, '\u{200B}' | '\u{2060}' | '\u{00AD}'));
    for grapheme in trimmed.graphemes(true) {
        let marks = grapheme.chars().filter(|&c| is_stackable_mark(c)).count();
        let code_points = grapheme.chars().count();
        if marks > MAX_MARKS_PER_CHARACTER || code_points > MAX_CODE_POINTS_PER_CHARACTER {
            return Err(TextError::TooManyMarks { marks: marks.max(code_points - 1) });
        }
    }
    Ok(trimmed.to_owned())
}

/// For forms that collect every problem at once: the cleaned line, or, when it is refused, the
/// text as typed (trimmed) so nothing is lost, with `"{label} {problem}."` added to `errors`.
pub fn clean_field(errors: &mut Vec<String>, label: &str, input: &str, multiline: bool) -> String {
    match clean(input, multiline) {
        Ok(text) => text,
        Err(e) => {
            errors.push(format!("{label} {e}."));
            input.trim().to_owned()
        }
    }
}

/// Whether `url` is safe where a link is expected: a path on this site (`/about`) or an absolute
/// `http://` or `https://` address with a host. Refused: `//host` and `/\host` (a browser goes to
/// another host), any backslash, whitespace or control character, and every other scheme.
pub fn is_site_or_web_url(url: &str) -> bool {
    if url.is_empty() || url.chars().any(|c| c.is_control() || c.is_whitespace() || c == '\\' || is_invisible(c)) {
        return false;
    }
    if let Some(rest) = url.strip_prefix('/') {
        return !rest.starts_with('/');
    }
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    let rest = if lower.starts_with("https://") {
        &url[8..]
    } else if lower.starts_with("http://") {
        &url[7..]
    } else {
        return false;
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    !host.is_empty() && !host.starts_with(':') && !rest.starts_with('/')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invisible_only_text_is_empty() {
        for input in ["\u{200B}\u{200B}", "\u{FEFF}", "\u{200D}\u{2060}\u{00AD}", " \u{202E} ", "\u{3164}", "\u{E0020}"]
        {
            assert_eq!(clean_text(input), Ok(String::new()), "{input:?}");
            assert_eq!(clean_line(input), Ok(String::new()), "{input:?}");
        }
    }

    #[test]
    fn bidi_controls_bom_and_control_characters_are_dropped() {
        assert_eq!(clean_line("abc\u{202E}fdp.exe").as_deref(), Ok("abcfdp.exe"));
        assert_eq!(clean_line("\u{2066}isolated\u{2069}").as_deref(), Ok("isolated"));
        assert_eq!(clean_line("\u{FEFF}Headline\u{0007}\u{0085}\u{009B}").as_deref(), Ok("Headline"));
        assert_eq!(clean_line("two\nlines\tand tab").as_deref(), Ok("two lines and tab"));
        assert_eq!(clean_text("two\r\nlines\rand\ttab\u{0000}").as_deref(), Ok("two\nlines\nand\ttab"));
    }

    #[test]
    fn real_writing_and_emoji_are_kept() {
        for text in [
            "Tiếng Việt có dấu",
            "नमस्ते दुनिया",
            "שָׁלוֹם",
            "مرحبا بالعالم",
            "👩🏻‍❤️‍💋‍👨🏼 family 👨‍👩‍👧‍👦 flag 🇰🇷 keycap 1️⃣",
            "e\u{0301}\u{0302}",
            "zero\u{200B}width inside",
        ] {
            assert_eq!(clean_text(text).as_deref(), Ok(text), "{text}");
        }
    }

    #[test]
    fn a_tower_of_combining_marks_is_refused() {
        let zalgo = format!("a{}", "\u{0301}".repeat(9));
        assert_eq!(clean_line(&zalgo), Err(TextError::TooManyMarks { marks: 9 }));
        let huge = format!("x{}", "\u{0300}\u{0316}".repeat(5000));
        assert!(clean_text(&huge).is_err());
        assert!(clean_line(&format!("a{}", "\u{0301}".repeat(8))).is_ok());
        let message = clean_line(&zalgo).expect_err("refused").to_string();
        assert!(message.contains("at most 8"), "{message}");
    }

    #[test]
    fn a_refused_field_keeps_what_was_typed_and_names_the_field() {
        let mut errors = Vec::new();
        let typed = format!(" a{} ", "\u{0301}".repeat(20));
        assert_eq!(clean_field(&mut errors, "The headline", &typed, false), typed.trim());
        assert_eq!(errors.len(), 1);
        assert!(errors[0].starts_with("The headline has a character with 20 accents"), "{}", errors[0]);
        assert_eq!(clean_field(&mut errors, "The dek", "ok\u{202E}", false), "ok");
        assert_eq!(errors.len(), 1);
    }

    #[test]
    fn links_are_paths_or_web_addresses() {
        for good in ["/about", "/", "/a/b?c=d#e", "https://example.com", "http://example.com/x", "HTTPS://Example.com"]
        {
            assert!(is_site_or_web_url(good), "{good}");
        }
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "\\/evil.example",
            "/\\/evil.example",
            "javascript:alert(1)",
            "data:text/html,x",
            "mailto:a@b",
            "https://",
            "https:///evil.example",
            "https://:80",
            "https://evil.example\\@good.example",
            "/about\nx",
            "/ab\u{0000}",
            "/\t/evil.example",
            " //evil.example",
            "example.com",
            "",
        ] {
            assert!(!is_site_or_web_url(bad), "{bad:?} must be refused");
        }
    }
}
