//! Article bodies: Markdown rendered to HTML, then cleaned with an allow-list so that nothing a
//! writer pastes (or an importer brings in) can run script on a reader's page.

use std::borrow::Cow;
use std::sync::LazyLock;

use pulldown_cmark::{Options, Parser, html};

/// The sanitiser is built once: its allow-list does not change at run time.
static SANITISER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut builder = ammonia::Builder::default();
    builder
        .link_rel(Some("noopener noreferrer"))
        .url_schemes(["http", "https", "mailto"].into_iter().collect())
        .url_relative(ammonia::UrlRelative::Custom(Box::new(same_host_only)))
        .add_tags(["figure", "figcaption"]);
    builder
});

/// Keeps a relative link or image address only if a browser resolves it on this site: `//host`,
/// `/\host` and `\\host` name another host (browsers read a backslash as a slash and drop tabs
/// and line breaks inside addresses), so they are removed.
fn same_host_only(url: &str) -> Option<Cow<'_, str>> {
    let squeezed: String = url.trim().chars().filter(|c| !matches!(c, '\t' | '\n' | '\r')).collect();
    (!squeezed.contains('\\') && !squeezed.starts_with("//")).then_some(Cow::Borrowed(url))
}

/// Renders a Markdown body to sanitised HTML.
pub fn render(markdown: &str) -> String {
    plain_paragraphs(markdown).unwrap_or_else(|| render_fully(markdown))
}

/// The HTML of a body that is nothing but paragraphs of plain prose, or `None` when it may be
/// anything else. Such a body renders to `<p>…</p>` per paragraph with its text as written (no
/// character in it means anything to Markdown, smart punctuation or HTML; a lone `&` is escaped),
/// which is what the parser and the sanitiser would produce, at a fraction of their cost:
/// generated datasets render millions of bodies.
fn plain_paragraphs(markdown: &str) -> Option<String> {
    let mut html = String::with_capacity(markdown.len() + markdown.len() / 8);
    // Paragraphs are single lines with one empty line between them.
    let mut lines = markdown.split('\n');
    loop {
        push_plain_paragraph(&mut html, lines.next()?)?;
        match lines.next() {
            None => return Some(html),
            Some("") => {}
            Some(_) => return None,
        }
    }
}

/// ASCII characters that are text wherever they stand in a paragraph: no emphasis, code, links,
/// HTML or escapes, and no straight quotes (smart punctuation turns those into curly ones).
const ASCII_INERT: [bool; 128] = {
    let mut table = [false; 128];
    let mut c = 0;
    while c < 128 {
        let ch = c as u8;
        table[c] = ch.is_ascii_alphanumeric()
            || matches!(
                ch,
                b' ' | b'.' | b',' | b';' | b':' | b'?' | b'!' | b'(' | b')' | b'%' | b'/' | b'#' | b'$' | b'-'
            );
        c += 1;
    }
    table
};

fn push_plain_paragraph(html: &mut String, paragraph: &str) -> Option<()> {
    // Digits, `#` and `-` may open a list or a heading; spaces around a line are not its text.
    let first = paragraph.chars().next()?;
    if first.is_ascii_digit() || matches!(first, ' ' | '#' | '-') || paragraph.ends_with(' ') {
        return None;
    }
    html.push_str("<p>");
    let mut copied = 0;
    let mut previous = ' ';
    for (at, c) in paragraph.char_indices() {
        let inert = if c.is_ascii() {
            ASCII_INERT[c as usize]
        } else {
            // Curly quotes and dashes first: they are common, and Unicode's letter tables slow.
            matches!(c, '‘' | '’' | '“' | '”' | '–' | '—') || c.is_alphanumeric()
        };
        if !inert {
            // An ampersand is text unless it could start a character reference (`&amp;`, `&#38;`).
            let after = &paragraph[at + c.len_utf8()..];
            let name = after.trim_start_matches(|c: char| c.is_ascii_alphanumeric());
            if c != '&' || after.starts_with('#') || (name.len() < after.len() && name.starts_with(';')) {
                return None;
            }
            html.push_str(&paragraph[copied..at]);
            html.push_str("&amp;");
            copied = at + 1;
        }
        // `--` and `...` are smart punctuation (dashes, an ellipsis).
        if (c == '-' || c == '.') && previous == c {
            return None;
        }
        previous = c;
    }
    html.push_str(&paragraph[copied..]);
    html.push_str("</p>\n");
    Some(())
}

/// Markdown through the parser, then the sanitiser.
fn render_fully(markdown: &str) -> String {
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_SMART_PUNCTUATION;
    let parser = Parser::new_ext(markdown, options);
    let mut unsafe_html = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut unsafe_html, parser);
    SANITISER.clean(&unsafe_html).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_paragraphs_and_emphasis() {
        let html = render("First **bold** line.\n\nSecond.");
        assert_eq!(html, "<p>First <strong>bold</strong> line.</p>\n<p>Second.</p>\n");
    }

    #[test]
    fn plain_prose_takes_the_short_way() {
        let body = "The port reopened on Monday, officials said (after 40% of R&D repairs).\n\n“It’s alive” – again: yes!\n\n”, she said. $5 & #1.";
        assert!(plain_paragraphs(body).is_some());
        assert_eq!(render(body), render_fully(body));
        for special in [
            "a *b*",
            "a 'b'",
            "a \"b\"",
            "a -- b",
            "a... b",
            "1. a",
            "a <b>",
            "a [b](c)",
            "a  \nb",
            "a ",
            "# a",
            "- a",
            "a &amp; b",
            "a &#38; b",
            "a\tb",
        ] {
            assert!(plain_paragraphs(special).is_none(), "{special:?}");
        }
    }

    /// The short way must give exactly what the parser and sanitiser give, for any text made of
    /// plain prose with Markdown, HTML and odd characters thrown in.
    #[test]
    fn the_short_way_renders_as_the_parser_does() {
        const PLAIN: &[&str] = &[
            " word",
            " Été",
            " 42",
            ",",
            ".",
            ";",
            ":",
            "?",
            "!",
            " (word)",
            "%",
            "/word",
            "-word",
            " –",
            " —",
            " ‘word’",
            " “word”",
            "’s",
            "\n\nWord",
            "\n\n“Word",
            "\n\n”, word",
            " #1",
            " $5",
            " & ",
            " R&D",
            "&",
            " &c;",
            "\n\n(word",
        ];
        const HOSTILE: &[&str] = &[
            " ",
            "\n",
            "\n\n",
            "\n\n ",
            "*",
            "_",
            "'",
            "\"",
            "&",
            "<",
            ">",
            "[",
            "]",
            "`",
            "\\",
            "#",
            "|",
            "~",
            "=",
            "+",
            "$",
            "\t",
            "\u{a0}",
            "\n\n1. ",
            "\n\n- ",
            "--",
            "...",
            "http://x.example",
            "<b>",
            "&amp;",
            "![i](x)",
            "[^1]",
            "\n\n[x]: /y",
            "\u{301}",
            "\u{0}",
            "\r",
            " _word_",
            " *word*",
            " **word**",
            " `word`",
            " ~~word~~",
            " 'word'",
            " \"word\"",
            " <http://x.example>",
            " word\\.",
            "\n\n> word",
            "\n\n***",
            "\n\n| a | b |",
        ];
        let mut dice = crate::demo::Dice::seeded("markdown");
        let mut short = 0;
        for _ in 0..20_000 {
            let mut text = String::from("Word");
            for _ in 0..1 + dice.below(12) {
                // Mostly plain prose, so that many texts take the short way.
                let piece = if dice.below(40) > 0 {
                    PLAIN[dice.below(PLAIN.len() as u64) as usize]
                } else {
                    HOSTILE[dice.below(HOSTILE.len() as u64) as usize]
                };
                text.push_str(piece);
            }
            if let Some(html) = plain_paragraphs(&text) {
                short += 1;
                assert_eq!(html, render_fully(&text), "{text:?}");
            }
        }
        assert!(short > 2_000, "only {short} texts took the short way");
    }

    #[test]
    fn strips_script_and_event_handlers() {
        let html = render("<script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n\n[x](javascript:alert(1))");
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("onerror"), "{html}");
        assert!(!html.contains("javascript:"), "{html}");
    }

    #[test]
    fn links_that_a_browser_takes_to_another_host_lose_their_address() {
        let html = render(
            "[a](/\\evil.example) [b](//evil.example) <a href=\"/\t/evil.example\">c</a> ![d](\\\\evil.example/i.png)",
        );
        // pulldown-cmark already writes a Markdown backslash as %5C (a path on this site); the
        // scheme-relative link and the raw HTML one with a tab in it would leave the site.
        assert!(!html.contains(r#"="//"#) && !html.contains('\\') && !html.contains('\t'), "{html}");
        assert_eq!(html.matches("evil.example").count(), 2, "only the two %5C paths remain: {html}");
        let html = render("[about](/about) [anchor](#notes) [web](https://example.com/x)");
        assert!(html.contains(r#"href="/about""#) && html.contains(r##"href="#notes""##), "{html}");
        assert!(html.contains(r#"href="https://example.com/x""#), "{html}");
    }

    #[test]
    fn links_get_a_safe_rel() {
        let html = render("[site](https://example.com)");
        assert!(html.contains(r#"rel="noopener noreferrer""#), "{html}");
    }
}
