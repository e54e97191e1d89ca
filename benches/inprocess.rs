//! In-process micro-benchmarks: the article page rendered from the store (a cache miss), Markdown
//! rendering, related-article computation and a view-bucket flush. Prints p50, p99 and mean for
//! each; the page-render figure is the one the long-tail target holds to (p99 < 2 ms).
//!
//!   cargo bench --bench inprocess                        # on the demo newsroom
//!   BROADSHEET_BENCH_DATA=bench/datasets/100000 cargo bench --bench inprocess
//!   BROADSHEET_BENCH_ONLY=render ...     # only the page renders (for profiling under callgrind)
//!
//! A plain harness rather than criterion or divan: we want tail percentiles, which those do not
//! report, and no extra dependencies.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use broadsheet::config::Settings;
use broadsheet::store::{ListFilter, Store};
use broadsheet::store::{SqlStore, sqlite};
use broadsheet::web::{self, AppState};
use http_body_util::BodyExt;
use tower::ServiceExt;

struct Timings(Vec<Duration>);

impl Timings {
    fn report(mut self, name: &str) {
        self.0.sort();
        let n = self.0.len();
        let at = |q: f64| self.0[((n as f64 * q) as usize).min(n - 1)];
        let mean = self.0.iter().sum::<Duration>() / n as u32;
        println!(
            "{name:<34} n={n:<6} p50 {:>9.1} µs   p99 {:>9.1} µs   mean {:>9.1} µs",
            at(0.50).as_secs_f64() * 1e6,
            at(0.99).as_secs_f64() * 1e6,
            mean.as_secs_f64() * 1e6
        );
    }
}

fn time<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let out = f();
    (out, start.elapsed())
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(run());
}

async fn run() {
    let temp = tempfile::tempdir().expect("temp dir");
    let data_dir = std::env::var_os("BROADSHEET_BENCH_DATA").map(PathBuf::from).unwrap_or_else(|| temp.path().into());
    let store: Arc<dyn Store> = Arc::new(SqlStore::new(sqlite::open(&data_dir).await.expect("open store")));
    broadsheet::demo::load_if_empty(store.as_ref(), &data_dir.join("media")).await.expect("demo");
    let mut settings = Settings::default();
    settings.server.data_dir = data_dir.clone();
    let state = AppState::new(settings, Arc::clone(&store)).await.expect("state");
    let router = web::router(state.clone());
    let total = store.count_articles(ListFilter::All).await.expect("count");
    println!("dataset: {} ({total} published articles)", data_dir.display());

    // Article pages, each rendered from the store: the long-tail (cache miss) path. Shared lists
    // (sections, Popular Now, Must-Reads, a section's latest) stay warm, as on a running site.
    let samples = 2000.min(total as usize * 4);
    let mut paths = Vec::with_capacity(samples);
    let mut dice = 0x2545_f491_4f6c_dd1d_u64;
    while paths.len() < samples {
        dice ^= dice << 13;
        dice ^= dice >> 7;
        dice ^= dice << 17;
        // Ids run from 1 in both the demo and generated datasets.
        let id = 1 + (dice % total as u64) as i64;
        if let Some(article) = store.article_by_id(broadsheet::domain::ArticleId(id)).await.expect("store") {
            paths.push(article.path());
        }
    }
    let mut timings = Vec::with_capacity(samples);
    for path in &paths {
        state.cache.remove(path);
        let request = Request::get(path.as_str())
            .extension(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 1))))
            .body(Body::empty())
            .expect("request");
        let start = Instant::now();
        let response = router.clone().oneshot(request).await.expect("response");
        let status = response.status();
        let _ = response.into_body().collect().await.expect("body");
        timings.push(start.elapsed());
        assert_eq!(status, StatusCode::OK, "{path}");
    }
    Timings(timings).report("article page render (cache miss)");

    // The same pages from the cache.
    let mut timings = Vec::with_capacity(samples);
    for path in paths.iter().take(200) {
        let request = || {
            Request::get(path.as_str())
                .extension(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 1))))
                .body(Body::empty())
                .expect("request")
        };
        let _ = router.clone().oneshot(request()).await.expect("warm");
        for _ in 0..10 {
            let start = Instant::now();
            let response = router.clone().oneshot(request()).await.expect("response");
            let _ = response.into_body().collect().await.expect("body");
            timings.push(start.elapsed());
        }
    }
    Timings(timings).report("article page (cache hit)");
    if std::env::var("BROADSHEET_BENCH_ONLY").is_ok_and(|only| only == "render") {
        return;
    }

    // Markdown: a 600-word body with some emphasis and a list.
    let paragraph = "The port reopened on **Monday** after repairs, and officials said the cranes were ready. \
                     Residents said the harbour felt alive again, and the mayor promised more jobs. ";
    let body = format!("{}\n\n- one\n- two\n\n{}", paragraph.repeat(10), paragraph.repeat(10));
    let timings = (0..2000).map(|_| time(|| broadsheet::markdown::render(&body)).1).collect();
    Timings(timings).report("markdown render (600 words)");

    // Related articles over the corpus in the store (the demo, or a dataset capped at 20k).
    let docs = store.related_corpus().await.expect("corpus");
    let docs: Vec<_> = docs.into_iter().take(20_000).collect();
    let (corpus, built) = time(|| broadsheet::ranking::related::Corpus::build(&docs));
    println!("{:<34} {} documents in {:.1} ms", "related: corpus build", docs.len(), built.as_secs_f64() * 1e3);
    let now = chrono::Utc::now();
    let timings = corpus.ids().iter().take(500).map(|&id| time(|| corpus.related_to(id, now)).1).collect();
    Timings(timings).report("related: one article's list");

    // A view flush of 10,000 views over 1,000 articles.
    let ids: Vec<broadsheet::domain::ArticleId> =
        store.list_articles(ListFilter::All, 1000, 0).await.expect("list").iter().map(|c| c.id).collect();
    let mut timings = Vec::new();
    for round in 0..20u32 {
        for n in 0..10_000u32 {
            let ip = std::net::Ipv4Addr::from(round << 16 | n);
            state.views.record(
                ids[n as usize % ids.len()],
                ip.into(),
                "Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0",
                now,
            );
        }
        let start = Instant::now();
        state.views.flush(store.as_ref(), now).await.expect("flush");
        timings.push(start.elapsed());
    }
    Timings(timings).report("view flush (10k views, 1k articles)");
}
