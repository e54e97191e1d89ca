//! Static assets (CSS, JS, icons), embedded in the binary and served under content-hashed URLs so
//! browsers and CDNs may keep them for a year.

use std::collections::HashMap;

use axum::http::HeaderValue;
use bytes::Bytes;
use serde::Serialize;

use crate::cache::{Encodings, brotli, gzip};

const FILES: &[(&str, &str, &[u8])] = &[
    ("site.css", "text/css; charset=utf-8", include_bytes!("../../static/site.css")),
    ("site.js", "text/javascript; charset=utf-8", include_bytes!("../../static/site.js")),
    ("favicon.svg", "image/svg+xml", include_bytes!("../../static/favicon.svg")),
    ("admin.css", "text/css; charset=utf-8", include_bytes!("../../static/admin.css")),
    ("admin.js", "text/javascript; charset=utf-8", include_bytes!("../../static/admin.js")),
];

pub struct Asset {
    pub content_type: &'static str,
    pub identity: Bytes,
    pub gzip: Bytes,
    pub brotli: Bytes,
    pub etag: HeaderValue,
}

impl Encodings for Asset {
    fn identity(&self) -> Bytes {
        self.identity.clone()
    }
    fn gzip(&self) -> Bytes {
        self.gzip.clone()
    }
    fn brotli(&self) -> Bytes {
        self.brotli.clone()
    }
}

/// The hashed URL of each asset, for templates.
#[derive(Debug, Clone, Serialize)]
pub struct AssetUrls {
    pub css: String,
    pub js: String,
    pub favicon: String,
    pub admin_css: String,
    pub admin_js: String,
}

pub struct Assets {
    by_hashed_name: HashMap<String, Asset>,
    pub urls: AssetUrls,
}

impl Assets {
    pub fn load() -> Self {
        let mut by_hashed_name = HashMap::new();
        let mut urls = HashMap::new();
        for (name, content_type, data) in FILES {
            let hash = blake3::hash(data).to_hex();
            let short = &hash[..12];
            let hashed = match name.rsplit_once('.') {
                Some((stem, ext)) => format!("{stem}.{short}.{ext}"),
                None => format!("{name}.{short}"),
            };
            urls.insert(*name, format!("/static/{hashed}"));
            by_hashed_name.insert(
                hashed,
                Asset {
                    content_type,
                    identity: Bytes::from_static(data),
                    gzip: gzip(data),
                    brotli: brotli(data),
                    // Hex digits in quotes: always a valid header value.
                    etag: HeaderValue::from_str(&format!("\"{short}\"")).unwrap_or(HeaderValue::from_static("\"0\"")),
                },
            );
        }
        let url = |name: &str| urls.get(name).cloned().unwrap_or_default();
        let urls = AssetUrls {
            css: url("site.css"),
            js: url("site.js"),
            favicon: url("favicon.svg"),
            admin_css: url("admin.css"),
            admin_js: url("admin.js"),
        };
        Self { by_hashed_name, urls }
    }

    pub fn get(&self, hashed_name: &str) -> Option<&Asset> {
        self.by_hashed_name.get(hashed_name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_url_resolves_to_its_asset() {
        let assets = Assets::load();
        for url in
            [&assets.urls.css, &assets.urls.js, &assets.urls.favicon, &assets.urls.admin_css, &assets.urls.admin_js]
        {
            let name = url.trim_start_matches("/static/");
            assert!(assets.get(name).is_some(), "{url}");
        }
        assert!(assets.get("site.css").is_none(), "unhashed names are not served");
    }
}
