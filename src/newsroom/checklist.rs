//! The pre-publish checklist: what an article still lacks for readers and search engines. These are
//! warnings; the editor may publish anyway.

use serde::Serialize;

use crate::store::newsroom::ArticleFields;

/// Google Discover shows large previews only for images at least this wide.
pub const DISCOVER_MIN_WIDTH: u32 = 1200;
/// Search results cut titles at about 60 characters; a headline under 20 says too little.
pub const HEADLINE_RANGE: std::ops::RangeInclusive<usize> = 20..=110;
pub const SEO_TITLE_MAX: usize = 60;
pub const DEK_RANGE: std::ops::RangeInclusive<usize> = 50..=300;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckItem {
    /// Stable identifier, for tests and styling.
    pub code: &'static str,
    pub passed: bool,
    pub message: String,
}

/// What the checklist needs to know about the chosen featured image.
#[derive(Debug, Clone, Copy)]
pub struct ImageFacts {
    pub width: u32,
}

pub fn check(fields: &ArticleFields, section_exists: bool, image: Option<ImageFacts>) -> Vec<CheckItem> {
    let headline_len = fields.headline.trim().chars().count();
    let dek_len = fields.dek.trim().chars().count();
    let mut items = Vec::new();
    let mut add = |code, passed, message: String| items.push(CheckItem { code, passed, message });

    add(
        "headline_length",
        HEADLINE_RANGE.contains(&headline_len),
        format!(
            "Headline is {headline_len} characters; {}–{} reads well in lists and search results.",
            HEADLINE_RANGE.start(),
            HEADLINE_RANGE.end()
        ),
    );
    add(
        "dek",
        DEK_RANGE.contains(&dek_len),
        if dek_len == 0 {
            "No dek (summary): lists and search results will show the first lines of the body instead.".to_owned()
        } else {
            format!("Dek is {dek_len} characters; {}–{} works best.", DEK_RANGE.start(), DEK_RANGE.end())
        },
    );
    add(
        "section",
        section_exists,
        if section_exists { "Section chosen.".to_owned() } else { "Choose a section.".to_owned() },
    );
    let image_choice = fields.image.as_ref();
    add(
        "featured_image",
        image_choice.is_some(),
        if image_choice.is_some() {
            "Featured image chosen.".to_owned()
        } else {
            "No featured image: shares and Google Discover show articles with images far more often.".to_owned()
        },
    );
    if let Some(choice) = image_choice {
        let has_alt = !choice.alt.trim().is_empty();
        add(
            "image_alt",
            has_alt,
            if has_alt {
                "The featured image has alt text.".to_owned()
            } else {
                "The featured image needs alt text describing it for readers who cannot see it.".to_owned()
            },
        );
        let width = image.map_or(0, |i| i.width);
        add(
            "image_width",
            width >= DISCOVER_MIN_WIDTH,
            format!("Featured image is {width} px wide; Google Discover wants at least {DISCOVER_MIN_WIDTH} px."),
        );
    }
    let seo_title_len = fields.seo_title.trim().chars().count();
    let effective_title = if seo_title_len == 0 { headline_len } else { seo_title_len };
    let title_fits = effective_title <= SEO_TITLE_MAX;
    add(
        "seo_title",
        title_fits,
        if title_fits {
            format!("The title search engines show is {effective_title} characters, within {SEO_TITLE_MAX}.")
        } else {
            format!(
                "The title search engines show is {effective_title} characters; above {SEO_TITLE_MAX} it is cut \
                 off. Set a shorter SEO title."
            )
        },
    );
    let has_body = !fields.body_markdown.trim().is_empty();
    add("body", has_body, if has_body { "The body has text." } else { "The body is empty." }.to_owned());
    items
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::newsroom::ImageChoice;

    fn fields() -> ArticleFields {
        ArticleFields {
            section_id: crate::domain::SectionId(1),
            slug: "s".into(),
            headline: "Kishida's aim for US visit: a summit with Kim".into(),
            dek: "The prime minister wants a meeting that no Japanese leader has had in twenty years.".into(),
            body_markdown: "Text.".into(),
            author_ids: vec![crate::domain::AuthorId(1)],
            tags: vec![],
            image: Some(ImageChoice {
                media_id: crate::domain::MediaId(1),
                alt: "Kishida at a podium".into(),
                caption: String::new(),
                credit: String::new(),
            }),
            seo_title: String::new(),
            seo_description: String::new(),
        }
    }

    fn failing(items: &[CheckItem]) -> Vec<&'static str> {
        items.iter().filter(|i| !i.passed).map(|i| i.code).collect()
    }

    #[test]
    fn a_complete_article_passes_everything() {
        let items = check(&fields(), true, Some(ImageFacts { width: 1600 }));
        assert_eq!(failing(&items), Vec::<&str>::new());
    }

    #[test]
    fn missing_alt_small_image_and_no_dek_are_flagged() {
        let mut f = fields();
        f.dek.clear();
        if let Some(image) = f.image.as_mut() {
            image.alt = "  ".into();
        }
        let items = check(&f, true, Some(ImageFacts { width: 800 }));
        assert_eq!(failing(&items), vec!["dek", "image_alt", "image_width"]);
    }

    #[test]
    fn no_image_no_section_and_long_headline_are_flagged() {
        let mut f = fields();
        f.image = None;
        f.headline = "x".repeat(120);
        let items = check(&f, false, None);
        assert_eq!(failing(&items), vec!["headline_length", "section", "featured_image", "seo_title"]);
    }
}
