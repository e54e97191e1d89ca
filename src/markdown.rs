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
