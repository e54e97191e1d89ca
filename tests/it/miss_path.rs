//! What an uncached page costs the database: the long tail of article pages is served from the
//! store on every first visit, so each one is held to a budget of statements.

use axum::http::StatusCode;

use crate::helpers::{REFERENCE_PATH, TestApp, attrs};

/// Article pages of the reference article's section, as its section front links them.
async fn asia_articles(app: &TestApp) -> Vec<String> {
    let front = app.get("/asia").await;
    assert_eq!(front.status, StatusCode::OK);
    let mut paths: Vec<String> = attrs(&front.html(), "a", "href")
        .into_iter()
        .filter(|href| href.starts_with("/asia/") && href.as_str() != REFERENCE_PATH)
        .collect();
    paths.dedup();
    paths
}

#[tokio::test]
async fn an_uncached_article_page_costs_at_most_three_statements() {
    let app = TestApp::spawn().await;
    // The shared modules (sections, the section's latest stories, Must-Reads, Popular Now) are
    // cached fragments: the first article page of the section fills them.
    assert_eq!(app.get(REFERENCE_PATH).await.status, StatusCode::OK);
    let others = asia_articles(&app).await;
    assert!(others.len() >= 2, "the demo has several Asia stories: {others:?}");

    for path in &others[..2] {
        let before = app.state.store.statements_run();
        let page = app.get(path).await;
        let cost = app.state.store.statements_run() - before;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert!(page.text().contains("class=\"byline"), "{path} is a whole article page");
        assert!(cost <= 3, "{path} cost {cost} statements on a cache miss (article, related stories, comments)");

        // Served again from the page cache: no statement at all.
        let before = app.state.store.statements_run();
        assert_eq!(app.get(path).await.status, StatusCode::OK);
        assert_eq!(app.state.store.statements_run() - before, 0, "{path} from the page cache");
    }
}
