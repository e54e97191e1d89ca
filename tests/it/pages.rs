//! Every page type renders with its parts, with JavaScript off (plain server HTML).

use axum::http::{StatusCode, header};
use broadsheet::domain::ArticleStatus;

use crate::helpers::{REFERENCE_PATH, TestApp, attrs, texts};

#[tokio::test]
async fn reference_article_page_shows_every_part_in_order() {
    let app = TestApp::spawn().await;
    let page = app.get(REFERENCE_PATH).await;
    assert_eq!(page.status, StatusCode::OK);
    let doc = page.html();
    let html = page.text();

    // Skip links first, and a link back to the front page at the bottom.
    assert_eq!(attrs(&doc, ".skip-links a", "href"), vec!["#main", "/"]);
    assert_eq!(texts(&doc, ".skip-links a")[0], "Skip to main content");
    assert!(attrs(&doc, "footer.site-footer a", "href").contains(&"/".to_owned()));
    assert_eq!(attrs(&doc, "main", "id"), vec!["main"]);

    // One h1, the headline.
    assert_eq!(texts(&doc, "h1"), vec!["Kishida’s Aim for U.S. Visit: A Summit with North Korea’s Kim Jong Un"]);
    assert_eq!(texts(&doc, ".article-header .kicker"), vec!["Asia"]);
    assert_eq!(attrs(&doc, ".byline-authors a", "href"), vec!["/authors/daniel-kim"]);
    assert_eq!(texts(&doc, ".byline-authors a"), vec!["Daniel Kim"]);
    assert_eq!(attrs(&doc, ".byline-emails a", "href"), vec!["mailto:content@viewusglobal.com"]);
    let times = attrs(&doc, ".byline-times time", "datetime");
    assert_eq!(times.len(), 2, "published and updated");
    assert!(times[0] < times[1], "updated after publication: {times:?}");
    assert!(texts(&doc, ".byline-times")[0].contains("Updated"));
    assert!(texts(&doc, ".views")[0].ends_with("views"));
    assert_eq!(attrs(&doc, ".featured-image img", "alt").len(), 1);

    // The body: the eight paragraphs word for word, nothing of the outlet's boilerplate.
    let paragraphs = texts(&doc, ".article-body p");
    assert_eq!(paragraphs.len(), 8);
    assert!(paragraphs[0].starts_with("Ahead of his official visit to the United States"));
    assert!(paragraphs[7].ends_with("with the US and the Philippines on the 11th."));
    for boilerplate in ["Comments0", "Quick access to main page", "Direct access to main contents"] {
        assert!(!html.contains(boilerplate), "{boilerplate}");
    }

    // Tags, share links (plain links, no third-party script), comments.
    assert_eq!(attrs(&doc, ".tags a", "href"), vec!["/tags/japan", "/tags/north-korea", "/tags/diplomacy"]);
    let share = attrs(&doc, ".share a", "href");
    assert!(share[0].starts_with("https://x.com/intent/post?url=http%3A%2F%2Fnews.test%2Fasia%2Fkishidas"));
    assert!(share[1].starts_with("https://www.facebook.com/sharer/sharer.php?u="));
    assert!(share[2].starts_with("https://www.linkedin.com/sharing/share-offsite/?url="));
    assert!(share[3].starts_with("mailto:?subject="));
    assert_eq!(share[4], format!("http://news.test{REFERENCE_PATH}"));
    assert_eq!(attrs(&doc, "script", "src").len(), 1);
    assert!(attrs(&doc, "script", "src")[0].starts_with("/static/site."));
    assert_eq!(attrs(&doc, "#comment-form textarea", "maxlength"), vec!["300"]);

    // The reference page's order: article, share, comments, then the four modules.
    let order = [
        "<h1>",
        "class=\"share\"",
        "id=\"comments\"",
        "Latest Stories",
        "You May Also Like",
        "Popular Now",
        "Must-Reads",
    ];
    let positions: Vec<usize> = order.iter().map(|m| html.find(m).unwrap_or_else(|| panic!("missing {m}"))).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "parts out of order: {positions:?}");

    // Landmarks and language.
    for landmark in ["header", "nav", "main", "aside", "footer"] {
        assert!(!texts(&doc, landmark).is_empty(), "{landmark} landmark");
    }
    assert_eq!(attrs(&doc, "html", "lang"), vec!["en"]);
}

#[tokio::test]
async fn headings_never_skip_a_level() {
    let app = TestApp::spawn().await;
    for path in ["/", REFERENCE_PATH, "/asia", "/authors/daniel-kim", "/tags/japan", "/missing-page"] {
        let doc = app.get(path).await.html();
        let sel = scraper::Selector::parse("h1, h2, h3, h4, h5, h6").expect("selector");
        let levels: Vec<u8> = doc.select(&sel).map(|e| e.value().name().as_bytes()[1] - b'0').collect();
        assert_eq!(levels.first(), Some(&1), "{path} starts with h1");
        assert_eq!(levels.iter().filter(|&&l| l == 1).count(), 1, "{path} has one h1");
        assert!(levels.windows(2).all(|w| w[1] <= w[0] + 1), "{path} skips a level: {levels:?}");
    }
}

#[tokio::test]
async fn home_front_shows_lead_top_sections_latest_popular_and_must_reads() {
    let app = TestApp::spawn().await;
    let page = app.get("/").await;
    assert_eq!(page.status, StatusCode::OK);
    let doc = page.html();
    assert_eq!(texts(&doc, ".lead .story-headline").len(), 1);
    assert_eq!(texts(&doc, ".top-grid .story-headline").len(), 4);
    let blocks = texts(&doc, ".section-block > h2");
    assert_eq!(blocks, vec!["Asia", "World", "Business", "Technology", "Lifestyle", "Debate"]);
    for block in attrs(&doc, ".section-block", "aria-labelledby") {
        let items = texts(&doc, &format!("[aria-labelledby='{block}'] .story-headline"));
        assert!(!items.is_empty() && items.len() <= 4, "{block}: {items:?}");
    }
    assert_eq!(texts(&doc, "#latest-heading + ul li").len(), 10);
    assert_eq!(texts(&doc, "[aria-labelledby='popular-heading'] li").len(), 5);
    assert_eq!(texts(&doc, "[aria-labelledby='must-reads-heading'] li").len(), 5);

    // Nothing on the home front appears twice among lead, top stories and section blocks.
    let mut links = attrs(&doc, ".top-stories .story-headline a", "href");
    links.extend(attrs(&doc, ".section-blocks .story-headline a", "href"));
    let unique: std::collections::HashSet<_> = links.iter().collect();
    assert_eq!(unique.len(), links.len());
}

#[tokio::test]
async fn section_front_lists_newest_first_and_paginates() {
    let app = TestApp::spawn().await;
    let doc = app.get("/asia").await.html();
    assert_eq!(texts(&doc, "h1"), vec!["Asia"]);
    let times = attrs(&doc, ".story-list .story-meta time", "datetime");
    assert_eq!(times.len(), 10);
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first");
    assert!(texts(&doc, ".pagination").is_empty(), "one page only");

    // Add enough stories to need a second page.
    let section = app.state.store.sections().await.expect("sections")[0].clone();
    for n in 0..15 {
        insert_article(&app, section.id, &format!("extra-story-{n}"), ArticleStatus::Published).await;
    }
    app.state.lists_changed();
    let first = app.get("/asia").await.html();
    assert_eq!(texts(&first, ".story-list .story").len(), 20);
    assert_eq!(attrs(&first, ".pagination a[rel=next]", "href"), vec!["/asia?page=2"]);
    let second = app.get("/asia?page=2").await.html();
    assert_eq!(texts(&second, ".story-list .story").len(), 5);
    assert_eq!(attrs(&second, ".pagination a[rel=prev]", "href"), vec!["/asia"]);
    assert_eq!(app.get("/asia?page=3").await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/asia?page=0").await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/asia?page=abc").await.status, StatusCode::BAD_REQUEST);
}

pub async fn insert_article(
    app: &TestApp,
    section_id: broadsheet::domain::SectionId,
    slug: &str,
    status: ArticleStatus,
) -> broadsheet::domain::ArticleId {
    let now = chrono::Utc::now();
    let author = app.state.store.author_by_slug("daniel-kim").await.expect("store").expect("author");
    app.state
        .store
        .insert_article(broadsheet::store::NewArticle {
            section_id,
            slug: slug.into(),
            headline: format!("Extra story {slug}"),
            dek: "A story added by a test.".into(),
            body_markdown: "Body text.".into(),
            body_html: "<p>Body text.</p>".into(),
            image: None,
            status,
            published_at: (status == ArticleStatus::Published).then_some(now),
            updated_at: now,
            author_ids: vec![author.id],
            tags: vec![],
        })
        .await
        .expect("insert article")
}

#[tokio::test]
async fn author_page_shows_bio_email_and_articles() {
    let app = TestApp::spawn().await;
    let page = app.get("/authors/daniel-kim").await;
    assert_eq!(page.status, StatusCode::OK);
    let doc = page.html();
    assert_eq!(texts(&doc, "h1"), vec!["Daniel Kim"]);
    assert!(texts(&doc, ".bio")[0].contains("Korea"));
    assert_eq!(attrs(&doc, ".author-email a", "href"), vec!["mailto:content@viewusglobal.com"]);
    let stories = attrs(&doc, ".story-list .story-headline a", "href");
    assert!(stories.contains(&crate::helpers::REFERENCE_PATH.to_owned()));
    assert_eq!(app.get("/authors/nobody").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn tag_page_lists_tagged_articles_across_sections() {
    let app = TestApp::spawn().await;
    let doc = app.get("/tags/japan").await.html();
    assert_eq!(texts(&doc, "h1"), vec!["Japan"]);
    assert!(attrs(&doc, ".story-list .story-headline a", "href").contains(&crate::helpers::REFERENCE_PATH.to_owned()));
    assert_eq!(app.get("/tags/no-such-tag").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn unknown_pages_get_a_helpful_404() {
    let app = TestApp::spawn().await;
    for path in ["/no-such-section", "/asia/no-such-story", "/a/b/c/d"] {
        let page = app.get(path).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
        assert!(page.header(header::CONTENT_TYPE).is_some_and(|v| v.starts_with("text/html")));
        let doc = page.html();
        assert_eq!(texts(&doc, "h1"), vec!["We can’t find that page"]);
        assert_eq!(texts(&doc, ".error-sections li").len(), 6, "links to every section");
        assert_eq!(texts(&doc, "#latest-heading + ul li").len(), 5, "latest stories to go on with");
    }
}

#[tokio::test]
async fn unpublished_article_is_gone_and_drafts_are_not_found() {
    let app = TestApp::spawn().await;
    let id = app.article_id("kishidas-aim-for-us-visit-a-summit-with-north-koreas-kim-jong-un").await;
    app.state.store.set_article_status(id, ArticleStatus::Unpublished, chrono::Utc::now()).await.expect("unpublish");
    let page = app.get(REFERENCE_PATH).await;
    assert_eq!(page.status, StatusCode::GONE);
    assert_eq!(texts(&page.html(), "h1"), vec!["This article has been withdrawn"]);

    let section = app.state.store.sections().await.expect("sections")[0].clone();
    insert_article(&app, section.id, "a-draft", ArticleStatus::Draft).await;
    assert_eq!(app.get("/asia/a-draft").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn article_under_the_wrong_section_redirects_to_its_address() {
    let app = TestApp::spawn().await;
    let page = app.get("/business/kishidas-aim-for-us-visit-a-summit-with-north-koreas-kim-jong-un").await;
    assert_eq!(page.status, StatusCode::PERMANENT_REDIRECT);
    assert_eq!(page.header(header::LOCATION).as_deref(), Some(REFERENCE_PATH));
}

#[tokio::test]
async fn an_empty_site_still_renders_its_fronts() {
    let app = TestApp::spawn_empty().await;
    let home = app.get("/").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(texts(&home.html(), ".story").is_empty());
}

#[tokio::test]
async fn demo_load_twice_changes_nothing() {
    let app = TestApp::spawn().await;
    let before = app.state.store.count_articles(broadsheet::store::ListFilter::All).await.expect("count");
    let again = broadsheet::demo::load_if_empty(app.state.store.as_ref(), &app.state.settings.media_dir()).await;
    assert!(matches!(again, Ok(None)));
    let after = app.state.store.count_articles(broadsheet::store::ListFilter::All).await.expect("count");
    assert_eq!(before, after);
    assert!(before >= 60);
    assert!(app.state.store.sections().await.expect("sections").len() >= 6);
    assert!(app.state.store.authors().await.expect("authors").len() >= 8);
}

#[tokio::test]
async fn an_unpublished_article_leaves_author_and_tag_pages() {
    let app = TestApp::spawn().await;
    let listed = |doc: &scraper::Html| attrs(doc, ".story-list .story-headline a", "href");
    assert!(listed(&app.get("/authors/daniel-kim").await.html()).contains(&REFERENCE_PATH.to_owned()));
    let before = texts(&app.get("/tags/japan").await.html(), ".list-count");

    let id = app.article_id("kishidas-aim-for-us-visit-a-summit-with-north-koreas-kim-jong-un").await;
    app.state.store.set_article_status(id, ArticleStatus::Unpublished, chrono::Utc::now()).await.expect("unpublish");
    app.state.lists_changed();

    assert!(!listed(&app.get("/authors/daniel-kim").await.html()).contains(&REFERENCE_PATH.to_owned()));
    let tag = app.get("/tags/japan").await.html();
    assert!(!listed(&tag).contains(&REFERENCE_PATH.to_owned()));
    assert_ne!(texts(&tag, ".list-count"), before, "the count drops too");
}
