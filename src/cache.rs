//! The in-memory page cache. A rendered page is stored once with its gzip and brotli forms and an
//! ETag, so a hit costs a map look-up and a copy of bytes. Writes that change what a page shows
//! invalidate it; view counts do not, but every entry expires after `max_age` so the view count
//! and Popular Now on a cached page are never older than that.

use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant};

use axum::http::{HeaderValue, StatusCode};
use bytes::Bytes;

/// A rendered page. Its gzip and brotli forms are made the first time a reader asks for them and
/// kept, so a page is compressed at most once per encoding and never for clients that do not want it.
pub struct CachedPage {
    pub status: StatusCode,
    /// A quoted hash of the identity bytes, ready to send.
    pub etag: HeaderValue,
    /// Surrogate keys of what the page shows, for CDN purges (`site lists article-12`).
    pub surrogate_keys: HeaderValue,
    /// When it was rendered, as an HTTP date.
    pub last_modified: HeaderValue,
    pub identity: Bytes,
    /// The key it is cached under, which the door in front of the router learns addresses by
    /// (`web::door`); empty for a page that is not in the cache.
    pub key: Arc<str>,
    gzip: OnceLock<Bytes>,
    brotli: OnceLock<Bytes>,
    created: Instant,
}

impl CachedPage {
    pub fn new(status: StatusCode, html: String) -> Self {
        let identity = Bytes::from(html);
        let quoted = format!("\"{}\"", &blake3::hash(&identity).to_hex()[..20]);
        // Hex digits in quotes are always a valid header value.
        let etag = HeaderValue::from_str(&quoted).unwrap_or_else(|_| HeaderValue::from_static("\"0\""));
        Self {
            status,
            etag,
            identity,
            surrogate_keys: HeaderValue::from_static(""),
            // An IMF-fixdate is always a valid header value. (httpdate, as hyper writes its Date
            // header with: chrono's `format` parses its pattern on every call.)
            last_modified: HeaderValue::from_str(&httpdate::fmt_http_date(std::time::SystemTime::now()))
                .unwrap_or_else(|_| HeaderValue::from_static("Thu, 01 Jan 1970 00:00:00 GMT")),
            key: Arc::from(""),
            gzip: OnceLock::new(),
            brotli: OnceLock::new(),
            created: Instant::now(),
        }
    }

    /// The page as it is stored under `key`.
    pub fn with_key(mut self, key: &str) -> Self {
        self.key = Arc::from(key);
        self
    }

    pub fn with_surrogate_keys(mut self, keys: String) -> Self {
        if let Ok(value) = HeaderValue::from_str(&keys) {
            self.surrogate_keys = value;
        }
        self
    }

    /// Memory the entry may come to hold, counting compressed forms it may grow.
    fn weight(&self) -> usize {
        self.identity.len() * 3 / 2 + self.etag.len() + 128
    }
}

impl Encodings for CachedPage {
    fn identity(&self) -> Bytes {
        self.identity.clone()
    }
    fn gzip(&self) -> Bytes {
        self.gzip.get_or_init(|| gzip(&self.identity)).clone()
    }
    fn brotli(&self) -> Bytes {
        self.brotli.get_or_init(|| brotli(&self.identity)).clone()
    }
}

/// A body available in several encodings; an empty result means "not available in that one".
pub trait Encodings {
    fn identity(&self) -> Bytes;
    fn gzip(&self) -> Bytes;
    fn brotli(&self) -> Bytes;
}

pub fn gzip(data: &[u8]) -> Bytes {
    let mut encoder = flate2::write::GzEncoder::new(Vec::with_capacity(data.len() / 3), flate2::Compression::new(6));
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(data);
    Bytes::from(encoder.finish().unwrap_or_default())
}

pub fn brotli(data: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(data.len() / 4);
    let params = brotli::enc::BrotliEncoderParams { quality: 6, lgwin: 22, ..Default::default() };
    let mut input = data;
    if brotli::BrotliCompress(&mut input, &mut out, &params).is_err() {
        return Bytes::new();
    }
    Bytes::from(out)
}

/// What a cached page depends on, so a write can invalidate exactly the pages it changes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Dependency {
    /// Any list of articles (fronts, modules): changes on publish, unpublish and edits.
    Lists,
    /// One article's own page: changes with its comments.
    Article(crate::domain::ArticleId),
}

struct Entry {
    page: Arc<CachedPage>,
    depends_on: Vec<Dependency>,
}

struct Entries {
    map: HashMap<String, Entry>,
    bytes: usize,
}

/// Something shared by many pages, kept so that rendering a page on a cache miss does not query
/// or render it again: a list (sections, Must-Reads, a section's latest stories) or HTML made
/// from such lists (the article page's shared modules, [`PageCache::fragment_where`]).
type Fragment = (Instant, Arc<dyn Any + Send + Sync>);

/// What the cache holds for a key.
pub enum Lookup {
    Fresh(Arc<CachedPage>),
    /// Past its age but within the grace period: send it, and render a new one in the background.
    Stale(Arc<CachedPage>),
    Missing,
}

pub struct PageCache {
    entries: RwLock<Entries>,
    /// One render per key at a time: concurrent misses wait for the first instead of piling on.
    gates: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    fragments: Mutex<HashMap<String, Fragment>>,
    max_age: Duration,
    max_bytes: usize,
}

impl PageCache {
    pub fn new(max_age: Duration, max_bytes: usize) -> Self {
        Self {
            entries: RwLock::new(Entries { map: HashMap::new(), bytes: 0 }),
            gates: Mutex::new(HashMap::new()),
            fragments: Mutex::new(HashMap::new()),
            max_age,
            max_bytes,
        }
    }

    /// A shared list, loaded on first use and kept like a page: until it expires or a write
    /// invalidates [`Dependency::Lists`]. Concurrent first callers may each load it once.
    pub async fn fragment<T, E, F>(&self, key: &str, load: F) -> Result<Arc<T>, E>
    where
        T: Send + Sync + 'static,
        F: Future<Output = Result<T, E>>,
    {
        if let Some(value) = self.fresh_fragment(key, |_: &T| true) {
            return Ok(value);
        }
        Ok(self.keep_fragment(key, load.await?))
    }

    /// A fragment made from other fragments: kept like one, and made again as soon as `current`
    /// says that what it was made from has changed.
    pub fn fragment_where<T, E>(
        &self,
        key: &str,
        current: impl Fn(&T) -> bool,
        make: impl FnOnce() -> Result<T, E>,
    ) -> Result<Arc<T>, E>
    where
        T: Send + Sync + 'static,
    {
        if let Some(value) = self.fresh_fragment(key, current) {
            return Ok(value);
        }
        Ok(self.keep_fragment(key, make()?))
    }

    fn fresh_fragment<T: Send + Sync + 'static>(&self, key: &str, current: impl Fn(&T) -> bool) -> Option<Arc<T>> {
        let fragments = self.fragments.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        fragments
            .get(key)
            .filter(|(created, _)| created.elapsed() < self.max_age)
            .and_then(|(_, value)| Arc::clone(value).downcast::<T>().ok())
            .filter(|value| current(value))
    }

    fn keep_fragment<T: Send + Sync + 'static>(&self, key: &str, value: T) -> Arc<T> {
        let value = Arc::new(value);
        let mut fragments = self.fragments.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if fragments.len() >= 1024 {
            fragments.clear();
        }
        fragments.insert(key.to_owned(), (Instant::now(), Arc::clone(&value) as Arc<dyn Any + Send + Sync>));
        value
    }

    fn clear_fragments(&self) {
        self.fragments.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clear();
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Entries> {
        self.entries.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Entries> {
        self.entries.write().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Looks a page up, telling fresh from stale.
    pub fn lookup(&self, key: &str) -> Lookup {
        let entries = self.read();
        let Some(entry) = entries.map.get(key) else { return Lookup::Missing };
        let age = entry.page.created.elapsed();
        if age < self.max_age {
            Lookup::Fresh(Arc::clone(&entry.page))
        } else if age < self.max_age + self.max_age / 3 {
            // A third of the age again (15 s of the default 45 s) keeps anything a page shows,
            // such as its view count, under a minute old.
            Lookup::Stale(Arc::clone(&entry.page))
        } else {
            Lookup::Missing
        }
    }

    /// The gate that serialises renders of `key`.
    pub fn gate(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut gates = self.gates.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        Arc::clone(gates.entry(key.to_owned()).or_default())
    }

    /// Forgets the gate of `key` once its render is stored (or failed).
    pub fn release_gate(&self, key: &str) {
        self.gates.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(key);
    }

    /// A fresh page, if there is one.
    pub fn get(&self, key: &str) -> Option<Arc<CachedPage>> {
        let entries = self.read();
        let entry = entries.map.get(key)?;
        (entry.page.created.elapsed() < self.max_age).then(|| Arc::clone(&entry.page))
    }

    pub fn insert(&self, key: String, page: Arc<CachedPage>, depends_on: Vec<Dependency>) {
        let weight = page.weight();
        if weight > self.max_bytes {
            return;
        }
        let mut entries = self.write();
        if let Some(old) = entries.map.insert(key, Entry { page, depends_on }) {
            entries.bytes -= old.page.weight();
        }
        entries.bytes += weight;
        if entries.bytes > self.max_bytes {
            self.evict(&mut entries);
        }
    }

    /// Drops expired pages, then the oldest, until the cache is back under 80% of its budget.
    fn evict(&self, entries: &mut Entries) {
        let max_age = self.max_age;
        entries.map.retain(|_, e| e.page.created.elapsed() < max_age);
        let mut by_age: Vec<(Instant, String, usize)> =
            entries.map.iter().map(|(k, e)| (e.page.created, k.clone(), e.page.weight())).collect();
        let mut bytes: usize = by_age.iter().map(|(_, _, w)| w).sum();
        by_age.sort_unstable_by_key(|(created, _, _)| *created);
        let target = self.max_bytes / 10 * 8;
        for (_, key, weight) in by_age {
            if bytes <= target {
                break;
            }
            entries.map.remove(&key);
            bytes -= weight;
        }
        entries.bytes = bytes;
    }

    /// Drops every page that depends on `dependency` (and, for lists, every shared list).
    pub fn invalidate(&self, dependency: &Dependency) {
        if *dependency == Dependency::Lists {
            self.clear_fragments();
        }
        let mut entries = self.write();
        let mut freed = 0;
        entries.map.retain(|_, e| {
            let keep = !e.depends_on.contains(dependency);
            if !keep {
                freed += e.page.weight();
            }
            keep
        });
        entries.bytes -= freed;
    }

    /// Drops one page.
    pub fn remove(&self, key: &str) {
        let mut entries = self.write();
        if let Some(old) = entries.map.remove(key) {
            entries.bytes -= old.page.weight();
        }
    }

    pub fn clear(&self) {
        self.clear_fragments();
        let mut entries = self.write();
        entries.map.clear();
        entries.bytes = 0;
    }

    pub fn len(&self) -> usize {
        self.read().map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Memory the cache accounts for, in bytes.
    pub fn bytes(&self) -> usize {
        self.read().bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(html: &str) -> Arc<CachedPage> {
        Arc::new(CachedPage::new(StatusCode::OK, html.to_owned()))
    }

    #[test]
    fn invalidation_drops_only_dependent_pages() {
        let cache = PageCache::new(Duration::from_secs(60), 1 << 20);
        cache.insert(
            "/asia/a".into(),
            page("a"),
            vec![Dependency::Lists, Dependency::Article(crate::domain::ArticleId(1))],
        );
        cache.insert(
            "/asia/b".into(),
            page("b"),
            vec![Dependency::Lists, Dependency::Article(crate::domain::ArticleId(2))],
        );
        cache.invalidate(&Dependency::Article(crate::domain::ArticleId(1)));
        assert!(cache.get("/asia/a").is_none());
        assert!(cache.get("/asia/b").is_some());
        cache.invalidate(&Dependency::Lists);
        assert!(cache.is_empty());
    }

    #[test]
    fn the_byte_budget_evicts_the_oldest_pages_first() {
        let page_weight = page(&"x".repeat(1000)).weight();
        let cache = PageCache::new(Duration::from_secs(60), page_weight * 10);
        for n in 0..11 {
            cache.insert(format!("/p{n}"), page(&"x".repeat(1000)), vec![]);
        }
        assert!(cache.bytes() <= page_weight * 10);
        assert!(cache.get("/p0").is_none(), "oldest evicted");
        assert!(cache.get("/p10").is_some(), "newest kept");
        cache.invalidate(&Dependency::Lists);
        cache.clear();
        assert_eq!(cache.bytes(), 0);
    }

    #[test]
    fn fragments_are_kept_until_lists_change() {
        let cache = PageCache::new(Duration::from_secs(60), 1 << 20);
        let run = |cache: &PageCache, value: u32| {
            let future = cache.fragment("/lists/x", async move { Ok::<_, ()>(value) });
            futures_lite_block_on(future).map(|v| *v)
        };
        assert_eq!(run(&cache, 1), Ok(1));
        assert_eq!(run(&cache, 2), Ok(1), "kept");
        cache.invalidate(&Dependency::Article(crate::domain::ArticleId(9)));
        assert_eq!(run(&cache, 3), Ok(1), "an article's page change leaves lists alone");
        cache.invalidate(&Dependency::Lists);
        assert_eq!(run(&cache, 4), Ok(4), "reloaded after lists change");
    }

    #[test]
    fn a_fragment_made_from_others_is_made_again_when_they_change() {
        let cache = PageCache::new(Duration::from_secs(60), 1 << 20);
        let source = std::cell::Cell::new(1);
        let made = std::cell::Cell::new(0);
        let get = |cache: &PageCache| {
            let from = source.get();
            cache
                .fragment_where(
                    "modules",
                    |kept: &(u32, u32)| kept.0 == from,
                    || {
                        made.set(made.get() + 1);
                        Ok::<_, ()>((from, from * 10))
                    },
                )
                .map(|kept| kept.1)
        };
        assert_eq!(get(&cache), Ok(10));
        assert_eq!(get(&cache), Ok(10));
        assert_eq!(made.get(), 1, "kept while what it was made from is unchanged");
        source.set(2);
        assert_eq!(get(&cache), Ok(20), "made again from the new source");
        assert_eq!(made.get(), 2);
        cache.invalidate(&Dependency::Lists);
        assert_eq!(get(&cache), Ok(20));
        assert_eq!(made.get(), 3, "dropped with the lists like any fragment");
    }

    fn futures_lite_block_on<F: Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread().build().expect("runtime").block_on(future)
    }

    #[test]
    fn entries_expire() {
        let cache = PageCache::new(Duration::ZERO, 1 << 20);
        cache.insert("/".into(), page("home"), vec![]);
        assert!(cache.get("/").is_none());
    }

    #[test]
    fn compressed_forms_decode_to_the_page() {
        let html = "<p>hello</p>".repeat(100);
        let cached = CachedPage::new(StatusCode::OK, html.clone());
        let mut decoded = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&cached.gzip()[..]), &mut decoded)
            .expect("gzip decodes");
        assert_eq!(decoded, html);
        let mut out = Vec::new();
        brotli::BrotliDecompress(&mut &cached.brotli()[..], &mut out).expect("brotli decodes");
        assert_eq!(out, html.as_bytes());
        assert!(cached.etag.as_bytes().starts_with(b"\"") && cached.etag.len() == 22);
    }
}
