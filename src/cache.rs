//! The in-memory page cache. A rendered page is stored once with its gzip and brotli forms and an
//! ETag, so a hit costs a map look-up and a copy of bytes. Writes that change what a page shows
//! invalidate it; view counts do not, but every entry expires after `max_age` so the view count
//! and Popular Now on a cached page are never older than that.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use bytes::Bytes;

/// A rendered page, ready to send in any of the encodings we offer.
pub struct CachedPage {
    pub status: StatusCode,
    pub etag: String,
    pub identity: Bytes,
    pub gzip: Bytes,
    pub brotli: Bytes,
    created: Instant,
}

impl CachedPage {
    pub fn new(status: StatusCode, html: String) -> Self {
        let identity = Bytes::from(html);
        let etag = format!("\"{}\"", &blake3::hash(&identity).to_hex()[..20]);
        Self { status, etag, gzip: gzip(&identity), brotli: brotli(&identity), identity, created: Instant::now() }
    }
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
    Article(i64),
}

struct Entry {
    page: Arc<CachedPage>,
    depends_on: Vec<Dependency>,
}

pub struct PageCache {
    entries: RwLock<HashMap<String, Entry>>,
    max_age: Duration,
    max_entries: usize,
}

impl PageCache {
    pub fn new(max_age: Duration, max_entries: usize) -> Self {
        Self { entries: RwLock::new(HashMap::new()), max_age, max_entries }
    }

    pub fn get(&self, key: &str) -> Option<Arc<CachedPage>> {
        let entries = self.entries.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = entries.get(key)?;
        (entry.page.created.elapsed() < self.max_age).then(|| Arc::clone(&entry.page))
    }

    pub fn insert(&self, key: String, page: Arc<CachedPage>, depends_on: Vec<Dependency>) {
        let mut entries = self.entries.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.len() >= self.max_entries && !entries.contains_key(&key) {
            // Expired entries go first; if the cache is still full of fresh pages, start over
            // rather than track recency on every hit.
            let max_age = self.max_age;
            entries.retain(|_, e| e.page.created.elapsed() < max_age);
            if entries.len() >= self.max_entries {
                entries.clear();
            }
        }
        entries.insert(key, Entry { page, depends_on });
    }

    /// Drops every page that depends on `dependency`.
    pub fn invalidate(&self, dependency: &Dependency) {
        let mut entries = self.entries.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        entries.retain(|_, e| !e.depends_on.contains(dependency));
    }

    pub fn clear(&self) {
        self.entries.write().unwrap_or_else(std::sync::PoisonError::into_inner).clear();
    }

    pub fn len(&self) -> usize {
        self.entries.read().unwrap_or_else(std::sync::PoisonError::into_inner).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
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
        let cache = PageCache::new(Duration::from_secs(60), 100);
        cache.insert("/asia/a".into(), page("a"), vec![Dependency::Lists, Dependency::Article(1)]);
        cache.insert("/asia/b".into(), page("b"), vec![Dependency::Lists, Dependency::Article(2)]);
        cache.invalidate(&Dependency::Article(1));
        assert!(cache.get("/asia/a").is_none());
        assert!(cache.get("/asia/b").is_some());
        cache.invalidate(&Dependency::Lists);
        assert!(cache.is_empty());
    }

    #[test]
    fn entries_expire() {
        let cache = PageCache::new(Duration::ZERO, 100);
        cache.insert("/".into(), page("home"), vec![]);
        assert!(cache.get("/").is_none());
    }

    #[test]
    fn compressed_forms_decode_to_the_page() {
        let html = "<p>hello</p>".repeat(100);
        let cached = CachedPage::new(StatusCode::OK, html.clone());
        let mut decoded = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&cached.gzip[..]), &mut decoded)
            .expect("gzip decodes");
        assert_eq!(decoded, html);
        let mut out = Vec::new();
        brotli::BrotliDecompress(&mut &cached.brotli[..], &mut out).expect("brotli decodes");
        assert_eq!(out, html.as_bytes());
        assert!(cached.etag.starts_with('"') && cached.etag.len() == 22);
    }
}
