//! Several stores on one database at once, as several nodes (or a restarted process beside the old
//! one) would open it: their concurrent writes stay exact. On SQLite the single writer serialises
//! them; on PostgreSQL row locks and a fixed locking order have to.

use std::future::Future;
use std::sync::Arc;

use chrono::{TimeZone, Utc};

use broadsheet::domain::{ArticleId, ArticleStatus, CommentStatus};
use broadsheet::store::newsroom::Transition;
use broadsheet::store::{CommentChange, NewArticle, NewComment, NewSection, Store, ViewIncrement};

use crate::helpers::{TestDb, line};

const NODES: usize = 3;

async fn nodes(db: &TestDb) -> Vec<Arc<dyn Store>> {
    let mut stores = Vec::new();
    for _ in 0..NODES {
        stores.push(db.open().await);
    }
    stores
}

async fn articles(store: &dyn Store, count: usize, status: ArticleStatus) -> Vec<ArticleId> {
    let at = Utc.with_ymd_and_hms(2025, 3, 1, 9, 0, 0).single().expect("valid time");
    let section = store
        .insert_section(NewSection { slug: "asia".into(), name: "Asia".into(), position: 1 })
        .await
        .expect("section");
    let new = (0..count)
        .map(|n| NewArticle {
            section_id: section.id,
            slug: format!("story-{n}"),
            headline: format!("Story {n}"),
            dek: String::new(),
            body_markdown: "Body.".into(),
            body_html: "<p>Body.</p>".into(),
            image: None,
            status,
            published_at: (status == ArticleStatus::Published).then_some(at),
            updated_at: at,
            author_ids: vec![],
            tags: vec![],
        })
        .collect::<Vec<_>>();
    store.insert_articles(&new).await.expect("articles")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn view_flushes_from_several_nodes_at_once_add_up_exactly() {
    let db = TestDb::new().await;
    let stores = nodes(&db).await;
    let ids = articles(stores[0].as_ref(), 4, ArticleStatus::Published).await;
    const ROUNDS: i64 = 15;
    let hours = [1_740_000_000 / 3600 * 3600, 1_740_000_000 / 3600 * 3600 + 3600];
    // Each node sends every (article, hour) pair in every flush, each in its own order, so their
    // transactions want the same rows in different orders.
    on_every_node(&stores, |node, store| {
        let mut batch: Vec<ViewIncrement> = ids
            .iter()
            .flat_map(|&article_id| hours.map(|hour| ViewIncrement { article_id, hour, views: node as i64 + 1 }))
            .collect();
        batch.rotate_left(node * 3);
        if node % 2 == 1 {
            batch.reverse();
        }
        async move {
            for _ in 0..ROUNDS {
                store.record_views(&batch).await.expect("flush");
            }
        }
    })
    .await;

    // Every node adds 1, 2 or 3 views per hour bucket per round.
    let per_bucket: i64 = (1..=NODES as i64).sum::<i64>() * ROUNDS;
    for &id in &ids {
        assert_eq!(stores[1].bucketed_views(id).await.expect("buckets"), per_bucket * 2);
        let article = stores[2].article_by_id(id).await.expect("read").expect("exists");
        assert_eq!(article.view_count, per_bucket * 2);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_comment_moderated_from_several_nodes_at_once_is_counted_once() {
    let db = TestDb::new().await;
    let stores = nodes(&db).await;
    let id = articles(stores[0].as_ref(), 1, ArticleStatus::Published).await[0];
    let comment = NewComment {
        article_id: id,
        author_name: "Reader".into(),
        body: "A thought.".into(),
        status: CommentStatus::Held,
        fingerprint: "fp".into(),
        created_at: Utc::now(),
    };
    let stored = stores[0].insert_comments(&vec![comment; 6]).await.expect("insert");
    let comment_ids: Vec<broadsheet::domain::CommentId> = stored.into_iter().map(|c| c.expect("stored").id).collect();

    // Every node publishes every comment; then every node takes the first three down again.
    on_every_node(&stores, |_, store| {
        let comment_ids = comment_ids.clone();
        async move {
            for comment in comment_ids {
                let publish = CommentChange::Status(CommentStatus::Published);
                store.moderate_comment(comment, publish, &line("comment_approve")).await.expect("publish");
            }
        }
    })
    .await;
    let count = |store: Arc<dyn Store>| async move { store.article_by_id(id).await.expect("read").expect("exists") };
    assert_eq!(count(Arc::clone(&stores[1])).await.comment_count, 6);

    on_every_node(&stores, |node, store| {
        let comment_ids = comment_ids.clone();
        async move {
            for &comment in &comment_ids[..3] {
                let change = if node == 0 { CommentChange::Delete } else { CommentChange::Status(CommentStatus::Spam) };
                store.moderate_comment(comment, change, &line("comment_moderated")).await.ok();
            }
        }
    })
    .await;
    let published = stores[2].published_comments(id, 100, 0).await.expect("comments");
    assert_eq!(published.len(), 3);
    assert_eq!(count(Arc::clone(&stores[2])).await.comment_count, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_transition_wins_when_several_nodes_try_it_at_once() {
    let db = TestDb::new().await;
    let stores = nodes(&db).await;
    let ids = articles(stores[0].as_ref(), 5, ArticleStatus::Draft).await;
    let won = on_every_node(&stores, |_, store| {
        let ids = ids.clone();
        async move {
            let mut won = Vec::new();
            for id in ids {
                let from = [ArticleStatus::Draft];
                let transition = Transition {
                    from: &from,
                    to: ArticleStatus::InReview,
                    publish_at: None,
                    user_id: None,
                    at: Utc::now(),
                };
                if store.transition(id, transition, &line("article_step")).await.expect("transition") {
                    won.push(id);
                }
            }
            won
        }
    })
    .await;
    let mut won: Vec<ArticleId> = won.into_iter().flatten().collect();
    won.sort_unstable();
    assert_eq!(won, ids, "each article moved exactly once");
    for id in ids {
        assert_eq!(stores[1].workflow_events(id).await.expect("events").len(), 1);
    }
}

/// Runs `work` for every node at once, each on a task of its own, and returns what each returned.
async fn on_every_node<F, Fut, T>(stores: &[Arc<dyn Store>], work: F) -> Vec<T>
where
    F: Fn(usize, Arc<dyn Store>) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let tasks: Vec<_> =
        stores.iter().enumerate().map(|(node, store)| tokio::spawn(work(node, Arc::clone(store)))).collect();
    let mut outputs = Vec::with_capacity(tasks.len());
    for task in tasks {
        outputs.push(task.await.expect("node task"));
    }
    outputs
}
