//! `broadsheet generate` and the bulk inserts under it: a batch stores what the one-row path
//! stores, a generated newsroom is consistent (counts, links, running totals, indexes), a store
//! that has articles is refused, and an unfinished SQLite load never leaves a database behind.
//! The shared tests run on PostgreSQL when `BROADSHEET_TEST_POSTGRES` is set.

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use broadsheet::config::Settings;
use broadsheet::domain::{ArticleStatus, CommentStatus, FeaturedImage};
use broadsheet::generate::{self, GenerateError, Options};
use broadsheet::store::prelude::*;
use broadsheet::store::{
    ArticleWithHistory, ListFilter, NewArticle, NewAuthor, NewComment, NewSection, PastComment, ViewIncrement, sqlite,
};
use chrono::{DateTime, Duration, TimeZone, Utc};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{PgPool, SqlitePool};

use crate::helpers::TestDb;

fn at(hours: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).single().expect("time") + Duration::hours(hours)
}

/// Three articles unlike each other: with and without an image, a draft, shared and new tags.
fn articles(
    section: broadsheet::domain::SectionId,
    authors: &[broadsheet::domain::AuthorId],
) -> Vec<ArticleWithHistory> {
    let comment = |name: &str, status, hours| PastComment {
        author_name: name.into(),
        body: format!("{name} says hello & welcome."),
        status,
        fingerprint: format!("fp-{name}"),
        created_at: at(hours),
    };
    let article =
        |n: i64, status, image: bool, tags: &[(&str, &str)], byline: Vec<broadsheet::domain::AuthorId>| NewArticle {
            section_id: section,
            slug: format!("story-{n}"),
            headline: format!("Story number {n}"),
            dek: format!("The dek of story {n}."),
            body_markdown: format!("Paragraph one of {n}.\n\nParagraph *two*."),
            body_html: format!("<p>Paragraph one of {n}.</p>\n<p>Paragraph <em>two</em>.</p>\n"),
            image: image.then(|| FeaturedImage {
                url: format!("/media/demo/generated-{n}.svg"),
                alt: "Abstract illustration".into(),
                caption: Some("A caption".into()),
                credit: Some("Illustration: Broadsheet".into()),
                width: 1600,
                height: 900,
                srcset: String::new(),
                srcset_webp: String::new(),
                card_url: String::new(),
            }),
            status,
            published_at: (status == ArticleStatus::Published).then(|| at(n)),
            updated_at: at(n + 1),
            author_ids: byline,
            tags: tags.iter().map(|(slug, name)| ((*slug).into(), (*name).into())).collect(),
        };
    vec![
        ArticleWithHistory {
            article: article(
                1,
                ArticleStatus::Published,
                true,
                &[("ports", "Ports"), ("trade", "Trade")],
                vec![authors[0], authors[1]],
            ),
            comments: vec![
                comment("Ana", CommentStatus::Published, 2),
                comment("Ben", CommentStatus::Held, 3),
                comment("Cy", CommentStatus::Published, 4),
            ],
            // The same hour twice adds up, as two flushes of the view beacon would.
            views: vec![(at(1).timestamp(), 5), (at(2).timestamp(), 7), (at(1).timestamp(), 3)],
        },
        ArticleWithHistory {
            article: article(2, ArticleStatus::Published, false, &[("trade", "Trade (again)")], vec![authors[1]]),
            comments: Vec::new(),
            views: vec![(at(2).timestamp(), 11)],
        },
        ArticleWithHistory {
            article: article(
                3,
                ArticleStatus::Draft,
                false,
                &[("ports", "Ports"), ("drafts", "Drafts")],
                vec![authors[0]],
            ),
            comments: Vec::new(),
            views: Vec::new(),
        },
    ]
}

async fn newsroom(store: &dyn Store) -> (broadsheet::domain::SectionId, Vec<broadsheet::domain::AuthorId>) {
    let section = store
        .insert_section(NewSection { slug: "world".into(), name: "World".into(), position: 0 })
        .await
        .expect("section");
    let mut authors = Vec::new();
    for name in ["ada", "ben"] {
        let author = store
            .insert_author(NewAuthor {
                slug: name.into(),
                name: name.into(),
                email: format!("{name}@newsroom.example"),
                bio: String::new(),
                photo_url: None,
            })
            .await
            .expect("author");
        authors.push(author.id);
    }
    (section.id, authors)
}

/// Everything the reader's side shows of the stored articles, read through the store.
async fn read_back(store: &dyn Store, ids: &[broadsheet::domain::ArticleId]) -> Vec<String> {
    let mut seen = Vec::new();
    for &id in ids {
        let article = store.article_by_id(id).await.expect("read").expect("stored");
        seen.push(serde_json::to_string(&article).expect("json"));
        let comments = store.published_comments(id, 100, 0).await.expect("comments");
        seen.push(serde_json::to_string(&comments).expect("json"));
        seen.push(format!("views {}", store.bucketed_views(id).await.expect("views")));
    }
    for filter in [ListFilter::All] {
        let cards = store.list_articles(filter, 100, 0).await.expect("list");
        seen.push(serde_json::to_string(&cards).expect("json"));
    }
    for slug in ["ports", "trade", "drafts"] {
        let tag = store.tag_by_slug(slug).await.expect("tag").expect("tag stored");
        // By name, not id: PostgreSQL's one-row path uses up a sequence number on every tag that
        // already existed, so its ids have gaps that a batch does not.
        seen.push(format!("{} {}", tag.slug, tag.name));
        let count = store.count_articles(ListFilter::Tag(tag.id)).await.expect("count");
        let cards = store.list_articles(ListFilter::Tag(tag.id), 100, 0).await.expect("list");
        seen.push(format!("tag {slug}: {count} {}", serde_json::to_string(&cards).expect("json")));
    }
    for slug in ["ada", "ben"] {
        let author = store.author_by_slug(slug).await.expect("author").expect("author stored");
        let cards = store.list_articles(ListFilter::Author(author.id), 100, 0).await.expect("list");
        seen.push(format!("author {slug}: {}", serde_json::to_string(&cards).expect("json")));
    }
    seen
}

#[tokio::test]
async fn a_bulk_insert_stores_what_the_one_row_path_stores() {
    let (one_by_one, bulk) = (TestDb::new().await, TestDb::new().await);

    let store = one_by_one.open().await;
    let (section, authors) = newsroom(store.as_ref()).await;
    let mut ids = Vec::new();
    for arriving in articles(section, &authors) {
        let id = store.insert_article(arriving.article).await.expect("insert");
        let comments: Vec<NewComment> = arriving
            .comments
            .into_iter()
            .map(|c| NewComment {
                article_id: id,
                author_name: c.author_name,
                body: c.body,
                status: c.status,
                fingerprint: c.fingerprint,
                created_at: c.created_at,
            })
            .collect();
        for stored in store.insert_comments(&comments).await.expect("comments") {
            stored.expect("comment");
        }
        let views: Vec<ViewIncrement> =
            arriving.views.iter().map(|&(hour, views)| ViewIncrement { article_id: id, hour, views }).collect();
        store.record_views(&views).await.expect("views");
        ids.push(id);
    }
    let expected = read_back(store.as_ref(), &ids).await;

    let store = bulk.open().await;
    let (section, authors) = newsroom(store.as_ref()).await;
    let bulk_ids = store.insert_articles_with_history(articles(section, &authors)).await.expect("bulk insert");
    assert_eq!(bulk_ids, ids, "the same ids, in order");
    let stored = read_back(store.as_ref(), &bulk_ids).await;
    for (bulk, one) in stored.iter().zip(&expected) {
        assert_eq!(bulk, one);
    }
    assert_eq!(stored.len(), expected.len());
    // The running totals the lists read were written with the rows.
    let first = store.article_by_id(bulk_ids[0]).await.expect("read").expect("stored");
    assert_eq!((first.comment_count, first.view_count), (2, 15));

    // A slug already stored fails the whole batch.
    let again = store.insert_articles_with_history(articles(section, &authors)).await;
    assert!(matches!(again, Err(broadsheet::store::StoreError::Conflict(_))), "{again:?}");
    assert_eq!(store.count_articles(ListFilter::All).await.expect("count"), 2);
}

/// Runs `SELECT`s that return one integer, on whichever database the test uses.
enum Check {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl Check {
    async fn open(db: &TestDb) -> Self {
        match db.postgres_url() {
            Some(url) => Self::Postgres(PgPool::connect(url).await.expect("connect")),
            None => {
                let options = SqliteConnectOptions::from_str("sqlite:")
                    .expect("options")
                    .filename(db.data_dir().join(sqlite::DATABASE_FILE));
                Self::Sqlite(SqlitePool::connect_with(options).await.expect("open"))
            }
        }
    }

    async fn int(&self, query: &str) -> i64 {
        match self {
            Self::Sqlite(pool) => sqlx::query_scalar(sqlx::AssertSqlSafe(query)).fetch_one(pool).await,
            Self::Postgres(pool) => sqlx::query_scalar(sqlx::AssertSqlSafe(query)).fetch_one(pool).await,
        }
        .unwrap_or_else(|e| panic!("{query}: {e}"))
    }

    async fn texts(&self, query: &str) -> Vec<String> {
        match self {
            Self::Sqlite(pool) => sqlx::query_scalar(sqlx::AssertSqlSafe(query)).fetch_all(pool).await,
            Self::Postgres(pool) => sqlx::query_scalar(sqlx::AssertSqlSafe(query)).fetch_all(pool).await,
        }
        .unwrap_or_else(|e| panic!("{query}: {e}"))
    }

    /// Every index, with its definition.
    async fn indexes(&self) -> Vec<String> {
        match self {
            Self::Sqlite(_) => {
                self.texts("SELECT name || ': ' || COALESCE(sql, 'automatic') FROM sqlite_master WHERE type = 'index' ORDER BY name")
                    .await
            }
            Self::Postgres(_) => {
                self.texts("SELECT indexname || ': ' || indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY indexname")
                    .await
            }
        }
    }
}

fn settings(db: &TestDb) -> Settings {
    let mut settings = Settings::default();
    db.configure(&mut settings);
    settings
}

const ARTICLES: usize = 450;

#[tokio::test]
async fn a_generated_newsroom_is_consistent() {
    let db = TestDb::new().await;
    let options = Options { articles: ARTICLES, seed: 7, batch: 100 };
    let last = std::sync::Mutex::new(None);
    let summary = generate::generate_into(&settings(&db), &options, |p| *last.lock().expect("lock") = Some(p))
        .await
        .expect("generate");
    assert!(last.lock().expect("lock").is_some());
    assert_eq!(summary.articles, ARTICLES);

    let check = Check::open(&db).await;
    assert_eq!(check.int("SELECT COUNT(*) FROM articles").await, ARTICLES as i64);
    assert_eq!(check.int("SELECT COUNT(*) FROM comments").await, summary.comments as i64);
    assert!(summary.comments > ARTICLES, "comments are skewed but plentiful: {}", summary.comments);
    assert_eq!(check.int("SELECT CAST(SUM(view_count) AS BIGINT) FROM articles").await, summary.views);
    assert_eq!(check.int("SELECT CAST(SUM(views) AS BIGINT) FROM view_buckets").await, summary.views);
    for (what, query) in [
        (
            "comment counts that differ from their comments",
            "SELECT COUNT(*) FROM articles a WHERE a.comment_count <> \
             (SELECT COUNT(*) FROM comments c WHERE c.article_id = a.id AND c.status = 'published')",
        ),
        (
            "view counts that differ from their buckets",
            "SELECT COUNT(*) FROM articles a WHERE a.view_count <> \
             (SELECT COALESCE(SUM(v.views), 0) FROM view_buckets v WHERE v.article_id = a.id)",
        ),
        (
            "articles without an author",
            "SELECT COUNT(*) FROM articles a WHERE NOT EXISTS (SELECT 1 FROM article_authors l WHERE l.article_id = a.id)",
        ),
        (
            "articles without a tag",
            "SELECT COUNT(*) FROM articles a WHERE NOT EXISTS (SELECT 1 FROM article_tags l WHERE l.article_id = a.id)",
        ),
        (
            "links not listed at the publication time",
            "SELECT (SELECT COUNT(*) FROM article_tags l JOIN articles a ON a.id = l.article_id \
               WHERE l.published_at IS DISTINCT FROM a.published_at) + \
             (SELECT COUNT(*) FROM article_authors l JOIN articles a ON a.id = l.article_id \
               WHERE l.published_at IS DISTINCT FROM a.published_at)",
        ),
        ("related stories that are not older", "SELECT COUNT(*) FROM related_articles WHERE related_id >= article_id"),
    ] {
        assert_eq!(check.int(query).await, 0, "{what}");
    }
    assert!(check.int("SELECT COUNT(*) FROM related_articles").await > ARTICLES as i64);
    assert_eq!(check.int("SELECT COUNT(*) FROM must_reads").await, 10);
    assert!(check.int("SELECT COUNT(*) FROM authors").await >= 200);
    assert_eq!(check.int("SELECT COUNT(*) FROM sections").await, 10);

    // The same indexes as a database the migrations made.
    let fresh = TestDb::new().await;
    fresh.open().await;
    let fresh_check = Check::open(&fresh).await;
    assert_eq!(check.indexes().await, fresh_check.indexes().await);

    if let Check::Sqlite(pool) = &check {
        let integrity: String = sqlx::query_scalar("PRAGMA integrity_check").fetch_one(pool).await.expect("check");
        assert_eq!(integrity, "ok");
        let orphans = sqlx::query("PRAGMA foreign_key_check").fetch_all(pool).await.expect("check");
        assert!(orphans.is_empty(), "{} rows point at nothing", orphans.len());
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(pool).await.expect("mode");
        assert_eq!(mode, "wal", "the site's journal mode");
        assert!(!db.data_dir().join("broadsheet.db.loading").exists());
    }
    if let Check::Postgres(pool) = &check {
        // The planner knows how big the tables are now (autovacuum may be off, or late).
        let never_analyzed: Vec<String> = sqlx::query_scalar(
            // ANALYZE sets reltuples; it is -1 for a table never analyzed (PostgreSQL 14 on).
            "SELECT relname::text FROM pg_class \
             WHERE relname IN ('articles', 'related_articles', 'comments', 'view_buckets') AND reltuples < 0",
        )
        .fetch_all(pool)
        .await
        .expect("statistics");
        assert!(never_analyzed.is_empty(), "never analyzed: {never_analyzed:?}");
    }

    // The site opens it as its own, and a second run is refused.
    let store = db.open().await;
    assert!(store.ready().await.expect("ready"));
    let refused = generate::generate_into(&settings(&db), &options, |_| {}).await;
    assert!(matches!(refused, Err(GenerateError::NotEmpty)), "{refused:?}");
}

#[tokio::test]
async fn the_same_seed_gives_the_same_newsroom() {
    let (first, second) = (TestDb::new().await, TestDb::new().await);
    let options = Options { articles: 60, seed: 3, batch: 25 };
    let mut seen = Vec::new();
    for db in [&first, &second] {
        generate::generate_into(&settings(db), &options, |_| {}).await.expect("generate");
        let check = Check::open(db).await;
        seen.push(
            check
                .texts(
                    "SELECT a.slug || ' ' || a.headline || ' ' || CAST(LENGTH(b.html) AS TEXT) \
                     FROM articles a JOIN article_bodies b ON b.article_id = a.id ORDER BY a.id",
                )
                .await,
        );
    }
    assert_eq!(seen[0].len(), 60);
    assert_eq!(seen[0], seen[1]);
}

#[tokio::test]
async fn a_store_with_articles_is_refused() {
    let db = TestDb::new().await;
    let store = db.open().await;
    let (section, authors) = newsroom(store.as_ref()).await;
    store.insert_articles_with_history(articles(section, &authors)).await.expect("insert");
    let refused = generate::generate_into(&settings(&db), &Options { articles: 10, seed: 1, batch: 10 }, |_| {}).await;
    assert!(matches!(refused, Err(GenerateError::NotEmpty)), "{refused:?}");
    assert_eq!(store.count_articles(ListFilter::All).await.expect("count"), 2, "nothing was added");
}

fn sqlite_only(db: &TestDb) -> bool {
    if db.postgres_url().is_some() {
        eprintln!("skipped: the loading file is SQLite's");
        return false;
    }
    true
}

#[tokio::test]
async fn a_leftover_loading_file_does_not_break_the_next_run() {
    let db = TestDb::new().await;
    if !sqlite_only(&db) {
        return;
    }
    let dir = db.data_dir();
    // What a killed run leaves: a half-written file and its journal, and no database.
    std::fs::write(dir.join("broadsheet.db.loading"), b"SQLite format 3\0 and then nothing").expect("write");
    std::fs::write(dir.join("broadsheet.db.loading-journal"), b"junk").expect("write");
    let summary = generate::generate_into(&settings(&db), &Options { articles: 40, seed: 1, batch: 16 }, |_| {})
        .await
        .expect("generate");
    assert_eq!(summary.articles, 40);
    let names = files(dir);
    assert_eq!(names, vec!["broadsheet.db".to_owned()], "only the database is left");
    let check = Check::open(&db).await;
    assert_eq!(check.int("SELECT COUNT(*) FROM articles").await, 40);
}

#[tokio::test]
async fn an_unfinished_load_leaves_no_database() {
    let db = TestDb::new().await;
    if !sqlite_only(&db) {
        return;
    }
    let loading = sqlite::Loading::start(db.data_dir()).await.expect("start").expect("no database yet");
    let store: Arc<dyn Store> = loading.store();
    let (section, authors) = newsroom(store.as_ref()).await;
    store.insert_articles_with_history(articles(section, &authors)).await.expect("insert");
    assert!(!db.data_dir().join("broadsheet.db").exists(), "nothing looks complete while loading");
    drop(store);
    drop(loading);
    assert!(files(db.data_dir()).is_empty(), "{:?}", files(db.data_dir()));
    // A directory with a database is not loaded into.
    db.open().await;
    assert!(sqlite::Loading::start(db.data_dir()).await.expect("start").is_none());
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}
