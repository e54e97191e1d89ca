//! What an uncached page costs the database: the long tail of article pages is served from the
//! store on every first visit, so each one is held to a budget of statements.

use axum::http::StatusCode;

use broadsheet::store::ListFilter;

use crate::helpers::{REFERENCE_PATH, TestApp, attrs};

/// Article pages of the reference article's section, as its section front links them.
async fn asia_articles(app: &TestApp) -> Vec<String> {
    let front = app.get("/asia").await;
    assert_eq!(front.status, StatusCode::OK);
    let mut paths: Vec<String> = attrs(&front.html(), "a", "href")
        .into_iter()
        .filter(|href| href.starts_with("/asia/") && !href.contains('#') && href.as_str() != REFERENCE_PATH)
        .collect();
    paths.sort();
    paths.dedup();
    paths
}

#[tokio::test]
async fn an_uncached_article_page_is_one_statement() {
    let app = TestApp::spawn().await;
    // No editors' picks, so that the modules above You May Also Like leave the eight related
    // stories read with the article enough free, as they do in a large archive; on the demo's
    // sixty stories they often do not, and the page then reads deeper (`modules.rs` tests that).
    app.state.store.set_must_reads(&[]).await.expect("no picks");
    app.state.lists_changed();
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
        assert_eq!(cost, 1, "{path} cost {cost} statements on a cache miss (article, related stories, comments)");

        // Served again from the page cache: no statement at all.
        let before = app.state.store.statements_run();
        assert_eq!(app.get(path).await.status, StatusCode::OK);
        assert_eq!(app.state.store.statements_run() - before, 0, "{path} from the page cache");
    }
}

/// The article page's one statement returns what the separate reads return: the article, its
/// related stories (published only, best first, as links) and its newest published comments, with
/// every field (the article's image, byline and counts; the comments' times) decoded the same way
/// from the aggregated records.
#[tokio::test]
async fn the_one_statement_reading_matches_the_separate_reads() {
    let app = TestApp::spawn().await;
    let store = &app.state.store;
    let mut compared_related = 0;
    let mut compared_comments = 0;
    for card in store.list_articles(ListFilter::All, 200, 0).await.expect("list") {
        let reading = store.article_reading(&card.slug, 15, 50).await.expect("reading").expect("article exists");
        let article = store.article_by_slug(&card.slug).await.expect("article").expect("exists");
        assert_eq!(format!("{:?}", reading.article), format!("{article:?}"));
        let related = store.related_articles(article.id, 15).await.expect("related");
        assert_eq!(format!("{:?}", reading.related), format!("{related:?}"), "related of {}", card.path);
        let comments = store.published_comments(article.id, 50, 0).await.expect("comments");
        assert_eq!(format!("{:?}", reading.comments), format!("{comments:?}"), "comments of {}", card.path);
        compared_related += related.len();
        compared_comments += comments.len();
    }
    assert!(compared_related > 100, "the demo's related lists were compared ({compared_related} cards)");
    assert!(compared_comments > 10, "the demo's comments were compared ({compared_comments})");
    assert!(store.article_reading("no-such-story", 15, 50).await.expect("reading").is_none());
}

/// Limits hold: never more related stories or comments than asked for, the newest comments first.
#[tokio::test]
async fn the_reading_keeps_to_its_limits() {
    let app = TestApp::spawn().await;
    let store = &app.state.store;
    let most_discussed = store
        .list_articles(ListFilter::All, 200, 0)
        .await
        .expect("list")
        .into_iter()
        .max_by_key(|card| card.comment_count)
        .expect("the demo has articles");
    let all_comments = store.published_comments(most_discussed.id, 1000, 0).await.expect("comments");
    assert!(all_comments.len() >= 3, "the most discussed demo story has comments: {}", all_comments.len());
    let reading = store.article_reading(&most_discussed.slug, 2, 2).await.expect("reading").expect("exists");
    assert_eq!(reading.related.len(), 2);
    assert_eq!(reading.comments.len(), 2);
    assert_eq!(reading.comments[0].id, all_comments[0].id, "newest first");
    assert_eq!(reading.comments[1].id, all_comments[1].id);
}
