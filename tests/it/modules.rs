//! The article page's four modules: content, order, labels, and no repeats.

use std::collections::HashSet;

use broadsheet::store::{ListFilter, ViewIncrement};

use crate::helpers::{REFERENCE_PATH, TestApp, attrs, texts};

fn module_links(doc: &scraper::Html, heading_id: &str) -> Vec<String> {
    attrs(doc, &format!("[aria-labelledby='{heading_id}'] li a"), "href")
}

#[tokio::test]
async fn latest_stories_are_the_five_newest_in_the_section_labelled_with_it() {
    let app = TestApp::spawn().await;
    let doc = app.get(REFERENCE_PATH).await.html();
    assert_eq!(texts(&doc, "#latest-heading"), vec!["[ASIA] Latest Stories"]);
    let shown = module_links(&doc, "latest-heading");
    let asia =
        app.state.store.sections().await.expect("sections").into_iter().find(|s| s.slug == "asia").expect("asia");
    let expected: Vec<String> = app
        .state
        .store
        .list_articles(ListFilter::Section(asia.id), 6, 0)
        .await
        .expect("list")
        .into_iter()
        .map(|c| c.path)
        .filter(|p| p != REFERENCE_PATH)
        .take(5)
        .collect();
    assert_eq!(shown, expected);
    assert!(texts(&doc, "[aria-labelledby='latest-heading'] .section-label").iter().all(|l| l == "Asia"));
}

#[tokio::test]
async fn must_reads_follow_the_editors_order() {
    let app = TestApp::spawn().await;
    let store = &app.state.store;
    // The editors choose five specific stories from other sections, in a deliberate order.
    let all = store.list_articles(ListFilter::All, 100, 0).await.expect("list");
    let picks: Vec<_> = all.iter().filter(|c| c.section_slug == "lifestyle").take(5).collect();
    let order: Vec<broadsheet::domain::ArticleId> = picks.iter().rev().map(|c| c.id).collect();
    store.set_must_reads(&order).await.expect("set picks");
    app.state.lists_changed();

    let doc = app.get(REFERENCE_PATH).await.html();
    let expected: Vec<String> = picks.iter().rev().map(|c| c.path.clone()).collect();
    assert_eq!(module_links(&doc, "must-reads-heading"), expected);
    assert_eq!(texts(&doc, "[aria-labelledby='must-reads-heading'] .rank"), vec!["1", "2", "3", "4", "5"]);
    assert!(texts(&doc, "[aria-labelledby='must-reads-heading'] .section-label").iter().all(|l| l == "Lifestyle"));
}

/// The shared modules' HTML, rendered once per section, follows its lists: after the editors
/// change their picks, the next article rendered shows the new ones.
#[tokio::test]
async fn an_article_rendered_after_the_picks_change_shows_the_new_picks() {
    let app = TestApp::spawn().await;
    let store = &app.state.store;
    let all = store.list_articles(ListFilter::All, 100, 0).await.expect("list");
    let in_asia: Vec<_> = all.iter().filter(|c| c.section_slug == "asia" && c.path != REFERENCE_PATH).collect();
    let (first_page, second_page) = (&in_asia[in_asia.len() - 1].path, &in_asia[in_asia.len() - 2].path);
    let picks = |section: &str| -> Vec<_> { all.iter().filter(|c| c.section_slug == section).take(5).collect() };

    let (before, after) = (picks("lifestyle"), picks("business"));
    store.set_must_reads(&before.iter().map(|c| c.id).collect::<Vec<_>>()).await.expect("set picks");
    app.state.lists_changed();
    let doc = app.get(first_page).await.html();
    assert_eq!(module_links(&doc, "must-reads-heading"), before.iter().map(|c| c.path.clone()).collect::<Vec<_>>());

    store.set_must_reads(&after.iter().map(|c| c.id).collect::<Vec<_>>()).await.expect("set picks");
    app.state.lists_changed();
    let doc = app.get(second_page).await.html();
    assert_eq!(module_links(&doc, "must-reads-heading"), after.iter().map(|c| c.path.clone()).collect::<Vec<_>>());
}

#[tokio::test]
async fn popular_now_ranks_the_most_viewed_of_the_last_day() {
    let app = TestApp::spawn().await;
    let store = &app.state.store;
    let business = store.list_articles(ListFilter::All, 100, 0).await.expect("list");
    let business: Vec<_> = business.into_iter().filter(|c| c.section_slug == "business").take(5).collect();
    let now = chrono::Utc::now().timestamp();
    let hour = now - now.rem_euclid(3600);
    // Far more views than any demo story, in the current hour, in a known order.
    let batch: Vec<ViewIncrement> = business
        .iter()
        .enumerate()
        .map(|(i, c)| ViewIncrement { article_id: c.id, hour, views: 10_000_000 - i as i64 * 1_000_000 })
        .collect();
    store.record_views(&batch).await.expect("views");
    // Views from a week ago do not count towards today's ranking.
    let old = business.last().expect("five stories").id;
    store
        .record_views(&[ViewIncrement { article_id: old, hour: hour - 3 * 86_400, views: 100_000_000 }])
        .await
        .expect("views");
    store.set_must_reads(&[]).await.expect("no picks so nothing is taken first");
    app.state.lists_changed();

    let doc = app.get(REFERENCE_PATH).await.html();
    let expected: Vec<String> = business.iter().map(|c| c.path.clone()).collect();
    assert_eq!(module_links(&doc, "popular-heading"), expected);
    assert_eq!(texts(&doc, "[aria-labelledby='popular-heading'] .rank"), vec!["1", "2", "3", "4", "5"]);
    assert!(texts(&doc, "[aria-labelledby='popular-heading'] .section-label").iter().all(|l| l == "Business"));
}

#[tokio::test]
async fn popular_now_is_filled_even_when_the_first_reader_gives_up_waiting() {
    let app = TestApp::spawn().await;
    let store = &app.state.store;
    let newest = store.list_articles(ListFilter::All, 3, 0).await.expect("list");
    let now = chrono::Utc::now().timestamp();
    let hour = now - now.rem_euclid(3600);
    let batch: Vec<ViewIncrement> = newest
        .iter()
        .enumerate()
        .map(|(i, c)| ViewIncrement { article_id: c.id, hour, views: 50_000_000 - i as i64 * 1_000_000 })
        .collect();
    store.record_views(&batch).await.expect("views");
    app.state.popular.forget();

    // The first reader after start-up goes away (a client that gives up, a dropped connection)
    // at the first moment the list is not there yet: its request is cancelled mid-way.
    let mut first = Box::pin(app.state.popular.get(store));
    let polled = std::future::poll_fn(|cx| std::task::Poll::Ready(first.as_mut().poll(cx).is_pending())).await;
    assert!(polled, "the list is being summed when the first reader gives up");
    drop(first);
    // The summing it started goes on without it, so those who come next find the list made.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let list = loop {
        if let Some(list) = app.state.popular.peek() {
            break list;
        }
        assert!(std::time::Instant::now() < deadline, "nobody made the list after the first reader left");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    };
    let ids: Vec<broadsheet::domain::ArticleId> = list.iter().take(3).map(|c| c.id).collect();
    assert_eq!(ids, newest.iter().map(|c| c.id).collect::<Vec<_>>());
}

#[tokio::test]
async fn you_may_also_like_shows_five_related_stories_labelled_by_section() {
    let app = TestApp::spawn().await;
    let doc = app.get(REFERENCE_PATH).await.html();
    let links = module_links(&doc, "related-heading");
    assert_eq!(links.len(), 5);
    let labels = texts(&doc, "[aria-labelledby='related-heading'] .section-label");
    assert_eq!(labels.len(), 5);
    let sections: HashSet<&str> = ["Asia", "World", "Business", "Technology", "Lifestyle", "Debate"].into();
    assert!(labels.iter().all(|l| sections.contains(l.as_str())), "{labels:?}");
    // The stored similarity ranking drives the module: what is shown comes from it, in its order.
    let id = app.article_id("kishidas-aim-for-us-visit-a-summit-with-north-koreas-kim-jong-un").await;
    let related: Vec<String> =
        app.state.store.related_articles(id, 20).await.expect("related").into_iter().map(|c| c.path).collect();
    let positions: Vec<usize> =
        links.iter().map(|l| related.iter().position(|r| r == l).expect("shown story is related")).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
}

/// The page reads the first eight related stories with the article. When the modules above You
/// May Also Like have taken so many of them that fewer than five are left, it reads deeper into the
/// ranking (a second statement) rather than show a short module.
#[tokio::test]
async fn you_may_also_like_reads_deeper_when_other_modules_took_its_first_stories() {
    let app = TestApp::spawn().await;
    let store = &app.state.store;
    let id = app.article_id("kishidas-aim-for-us-visit-a-summit-with-north-koreas-kim-jong-un").await;
    let related = store.related_articles(id, 20).await.expect("related");
    assert!(related.len() >= 15, "the demo's ranking is deeper than the page's deeper read: {}", related.len());
    // The editors pick the five best related stories: Must-Reads comes first, so they are taken.
    let picks: Vec<broadsheet::domain::ArticleId> = related[..5].iter().map(|c| c.id).collect();
    store.set_must_reads(&picks).await.expect("set picks");
    app.state.lists_changed();

    // Another Asia story first, so that the shared lists are cached again and the reference page's
    // miss costs only its own reads.
    let asia = store.sections().await.expect("sections").into_iter().find(|s| s.slug == "asia").expect("asia");
    let neighbour = store.list_articles(ListFilter::Section(asia.id), 2, 0).await.expect("list");
    let neighbour = neighbour.iter().find(|c| c.id != id).expect("another Asia story");
    assert_eq!(app.get(&neighbour.path).await.status, axum::http::StatusCode::OK);
    let before = store.statements_run();
    let doc = app.get(REFERENCE_PATH).await.html();
    let cost = store.statements_run() - before;
    let mut elsewhere = HashSet::new();
    for heading in ["latest-heading", "popular-heading", "must-reads-heading"] {
        elsewhere.extend(module_links(&doc, heading));
    }
    assert!(related[..5].iter().all(|c| elsewhere.contains(&c.path)), "the picks are in Must-Reads");
    // The deeper read is fifteen stories deep.
    let expected: Vec<String> =
        related[..15].iter().map(|c| c.path.clone()).filter(|p| !elsewhere.contains(p)).take(5).collect();
    assert_eq!(expected.len(), 5, "the demo's ranking has five free stories within fifteen");
    assert_eq!(module_links(&doc, "related-heading"), expected);
    // The article, its first related stories and its comments are one statement; the deeper
    // ranking is one more.
    assert_eq!(cost, 2, "statements for the page with the deeper read");
}

#[tokio::test]
async fn no_story_appears_twice_across_modules_nor_the_article_itself_on_any_article() {
    let app = TestApp::spawn().await;
    let all = app.state.store.list_articles(ListFilter::All, 100, 0).await.expect("list");
    assert!(all.len() >= 60);
    for card in all {
        let doc = app.get(&card.path).await.html();
        let mut seen = HashSet::new();
        for heading in ["latest-heading", "related-heading", "popular-heading", "must-reads-heading"] {
            let links = module_links(&doc, heading);
            assert_eq!(links.len(), 5, "{} module {heading} is not full", card.path);
            for link in links {
                assert_ne!(link, card.path, "{} lists itself in {heading}", card.path);
                assert!(seen.insert(link.clone()), "{} repeats {link}", card.path);
            }
        }
    }
}
