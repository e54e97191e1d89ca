//! Article bodies: Markdown rendered to HTML, then cleaned with an allow-list so that nothing a
//! writer pastes (or an importer brings in) can run script on a reader's page.

use std::sync::LazyLock;

use pulldown_cmark::{Options, Parser, html};

/// The sanitiser is built once: its allow-list does not change at run time.
static SANITISER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut builder = ammonia::Builder::default();
    builder
        .link_rel(Some("noopener noreferrer"))
        .url_schemes(["http", "https", "mailto"].into_iter().collect())
        .add_tags(["figure", "figcaption"]);
    builder
});

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
    fn links_get_a_safe_rel() {
        let html = render("[site](https://example.com)");
        assert!(html.contains(r#"rel="noopener noreferrer""#), "{html}");
    }
}
