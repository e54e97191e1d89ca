//! Typed settings: built-in defaults, then a TOML file, then `BROADSHEET__*` environment variables
//! (`BROADSHEET__SERVER__ADDR=0.0.0.0:80`), then command-line flags. `broadsheet.example.toml`
//! documents every key.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    pub server: ServerSettings,
    pub site: SiteSettings,
    pub cache: CacheSettings,
    pub views: ViewSettings,
    pub comments: CommentSettings,
    pub newsroom: NewsroomSettings,
    pub database: DatabaseSettings,
    pub cdn: CdnSettings,
    pub storage: StorageSettings,
    /// A folder whose templates override the built-in ones file by file.
    pub theme_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSettings {
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    /// Deprecated: `proxy_hops = 1`. Kept so older settings files keep working; warns at start.
    pub trust_forwarded_for: bool,
    /// How many reverse proxies stand in front of the site, the connecting one included. The
    /// reader's address is then read from `X-Forwarded-For`, from the right, past that many hops.
    pub proxy_hops: u32,
    /// Addresses or networks of our own reverse proxies (`["10.0.0.0/8", "127.0.0.1/32"]`). When
    /// set, `X-Forwarded-For` counts only from a peer in them, and only entries in them are skipped.
    pub trusted_proxies: Vec<crate::web::client::IpNetwork>,
    pub request_timeout_secs: u64,
    pub max_body_bytes: usize,
    /// Where uploaded images and their variants live. Several nodes must share it (a network
    /// file system or a volume every node mounts). Unset: `media` inside `data_dir`.
    pub media_dir: Option<PathBuf>,
    /// A second listener for `/metrics` and the detailed `/readyz`, kept off the public port.
    /// Unset: no metrics are served, and readiness answers only on the public port, without detail.
    pub ops_addr: Option<SocketAddr>,
    /// `Strict-Transport-Security` max-age sent on every response when `site.base_url` is https;
    /// 0 sends none.
    pub hsts_max_age_secs: u64,
    /// Adds `includeSubDomains` to `Strict-Transport-Security`.
    pub hsts_include_subdomains: bool,
}

impl ServerSettings {
    /// `proxy_hops`, or one hop for the deprecated `trust_forwarded_for = true`.
    pub fn effective_proxy_hops(&self) -> u32 {
        if self.proxy_hops == 0 && self.trust_forwarded_for && self.trusted_proxies.is_empty() {
            1
        } else {
            self.proxy_hops
        }
    }
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./data"),
            trust_forwarded_for: false,
            proxy_hops: 0,
            trusted_proxies: Vec::new(),
            request_timeout_secs: 15,
            max_body_bytes: 64 * 1024,
            media_dir: None,
            ops_addr: None,
            hsts_max_age_secs: 365 * 24 * 60 * 60,
            hsts_include_subdomains: true,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageSettings {
    /// Below this much free space (MiB) on the disk of the data directory or the media folder,
    /// new writes are refused with 503 "storage full" while reading goes on; 0 turns it off.
    pub min_free_mib: u64,
    /// How often free space is measured, in milliseconds.
    pub check_interval_ms: u64,
}

impl Default for StorageSettings {
    fn default() -> Self {
        Self { min_free_mib: 100, check_interval_ms: 1000 }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SiteSettings {
    pub name: String,
    pub description: String,
    /// The public address of the site, used in share links and canonical URLs. Defaults to
    /// `http://` and the listening address.
    pub base_url: Option<String>,
    pub language: String,
}

impl Default for SiteSettings {
    fn default() -> Self {
        Self {
            name: "Broadsheet".into(),
            description: "Independent news, analysis and opinion.".into(),
            base_url: None,
            language: "en".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CacheSettings {
    /// Seconds a rendered page is served from memory before it is rendered again (and, for a third
    /// of that again, while its replacement renders). Bounds how old the view count and Popular
    /// Now on a page can be: 4/3 of this.
    pub max_age_secs: u64,
    /// Memory for rendered pages, in MiB; the oldest pages go first when it is full.
    pub max_mib: usize,
}

impl Default for CacheSettings {
    fn default() -> Self {
        Self { max_age_secs: 45, max_mib: 32 }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ViewSettings {
    /// Seconds between writes of buffered views to the database.
    pub flush_interval_secs: u64,
    /// A repeat view by the same reader (address) within this many seconds is not counted.
    pub dedupe_window_secs: i64,
    /// Views one address can add to one article in a UTC day (0: no limit).
    pub per_address_per_article_per_day: u32,
    /// Views one address can add across all articles in an hour (0: no limit). Readers behind one
    /// office or campus address share it.
    pub per_address_per_hour: u32,
}

impl Default for ViewSettings {
    fn default() -> Self {
        Self {
            flush_interval_secs: 10,
            dedupe_window_secs: 30 * 60,
            per_address_per_article_per_day: 3,
            per_address_per_hour: 120,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CommentSettings {
    pub hold_all: bool,
    pub blocked_words: Vec<String>,
    /// Comments one address may post per minute.
    pub per_ip_per_minute: u32,
}

impl Default for CommentSettings {
    fn default() -> Self {
        Self { hold_all: false, blocked_words: vec!["casino".into(), "viagra".into()], per_ip_per_minute: 5 }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct CdnSettings {
    /// Seconds a shared cache (CDN, reverse proxy) may keep a public page (`s-maxage`). Browsers
    /// always revalidate (`max-age=0` with an ETag), so readers see changes at once once purged.
    pub s_maxage_secs: u64,
    /// Seconds a shared cache may serve an expired page while it fetches a fresh one.
    pub stale_while_revalidate_secs: u64,
    /// Seconds a shared cache may serve an expired page when the origin is failing.
    pub stale_if_error_secs: u64,
    /// The response header naming a page's surrogate keys (Fastly and Varnish: Surrogate-Key;
    /// Cloudflare: Cache-Tag).
    pub surrogate_key_header: String,
    /// Where to send purge requests; unset: no purging (pages expire by `s_maxage_secs`).
    pub purge_url: Option<String>,
    pub purge_method: String,
    /// The request header that names the keys to purge (space-separated).
    pub purge_key_header: String,
    /// Extra request headers for the purge request, as "Name: value" (for example an API token).
    pub purge_headers: Vec<String>,
}

impl Default for CdnSettings {
    fn default() -> Self {
        Self {
            s_maxage_secs: 60,
            stale_while_revalidate_secs: 30,
            stale_if_error_secs: 86_400,
            surrogate_key_header: "Surrogate-Key".into(),
            purge_url: None,
            purge_method: "POST".into(),
            purge_key_header: "Surrogate-Key".into(),
            purge_headers: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `postgres://user:password@host/database` to use PostgreSQL (several nodes can share it).
    /// Unset: the embedded SQLite database in `server.data_dir`.
    pub url: Option<String>,
    /// PostgreSQL connections per node.
    pub max_connections: u32,
    /// How long a request waits for a free connection before failing with 503, in milliseconds.
    pub acquire_timeout_ms: u64,
    /// Any one SQL statement is cancelled after this many milliseconds.
    pub statement_timeout_ms: u64,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self { url: None, max_connections: 16, acquire_timeout_ms: 3000, statement_timeout_ms: 5000 }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct NewsroomSettings {
    /// A session unused for this many minutes ends.
    pub session_idle_minutes: i64,
    /// A session ends this many hours after sign-in, however active.
    pub session_absolute_hours: i64,
    /// Changing a password or email needs the password entered within this many minutes.
    pub reauth_minutes: i64,
    /// Failed sign-ins within the window after which an account is refused for the window.
    pub login_failures_per_account: i64,
    /// Failed sign-ins from one address within the window after which it is refused.
    pub login_failures_per_ip: i64,
    pub login_window_minutes: i64,
    /// Memory password checks may use at once, in MiB. Each check takes 19 MiB, so with the number
    /// of cores this sets how many run in parallel (at least one).
    pub password_hashing_memory_mib: u64,
    /// How long a sign-in waits for a free check before it is answered 503 with `Retry-After`.
    pub password_hashing_wait_ms: u64,
    /// Mark the session cookie `Secure`. Unset: on when base_url starts with https://.
    pub secure_cookies: Option<bool>,
    /// How long a shared draft preview link works.
    pub preview_link_hours: i64,
    /// How long a one-time set-password link works.
    pub password_link_hours: i64,
    /// Largest image upload, in MiB.
    pub max_upload_mib: usize,
    /// Largest image, in millions of pixels (refuses decompression bombs).
    pub max_image_megapixels: u64,
    /// Memory, in MiB, that decoding images (uploads and their resized copies) may use at once.
    /// Work that would not fit waits; an image that alone needs more is refused.
    pub decode_memory_mib: u64,
    /// Images decoded at the same time, at most. 0: one per CPU core.
    pub parallel_decodes: usize,
}

impl NewsroomSettings {
    /// The limits an upload is checked against.
    pub fn upload_limits(&self) -> crate::media::Limits {
        crate::media::Limits {
            max_bytes: self.max_upload_mib.saturating_mul(1 << 20),
            max_pixels: self.max_image_megapixels.saturating_mul(1_000_000),
            max_decode_bytes: self.decode_memory_mib.saturating_mul(1 << 20),
            ..crate::media::Limits::default()
        }
    }

    /// The shared budget every decode takes its share of.
    pub fn decode_budget(&self) -> crate::media::DecodeBudget {
        let parallel = match self.parallel_decodes {
            0 => std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get),
            n => n,
        };
        crate::media::DecodeBudget::new(self.decode_memory_mib.saturating_mul(1 << 20), parallel)
    }
}

impl Default for NewsroomSettings {
    fn default() -> Self {
        Self {
            session_idle_minutes: 30,
            session_absolute_hours: 12,
            reauth_minutes: 10,
            login_failures_per_account: 5,
            login_failures_per_ip: 20,
            login_window_minutes: 15,
            password_hashing_memory_mib: 64,
            password_hashing_wait_ms: 2000,
            secure_cookies: None,
            preview_link_hours: 72,
            password_link_hours: 72,
            max_upload_mib: 20,
            max_image_megapixels: 40,
            decode_memory_mib: crate::media::DEFAULT_DECODE_MEMORY_MIB,
            parallel_decodes: 0,
        }
    }
}

impl Settings {
    /// The folder of uploaded images and their variants.
    pub fn media_dir(&self) -> PathBuf {
        self.server.media_dir.clone().unwrap_or_else(|| self.server.data_dir.join("media"))
    }

    /// Whether cookies get the `Secure` flag.
    pub fn secure_cookies(&self) -> bool {
        self.newsroom.secure_cookies.unwrap_or_else(|| self.base_url().starts_with("https://"))
    }

    /// The `Strict-Transport-Security` value to send, when the site is served over https (a
    /// browser ignores the header on plain http, and sending it there would promise what the
    /// site does not do).
    pub fn strict_transport_security(&self) -> Option<String> {
        let https = self.base_url().get(..8).is_some_and(|scheme| scheme.eq_ignore_ascii_case("https://"));
        if !https || self.server.hsts_max_age_secs == 0 {
            return None;
        }
        let mut value = format!("max-age={}", self.server.hsts_max_age_secs);
        if self.server.hsts_include_subdomains {
            value.push_str("; includeSubDomains");
        }
        Some(value)
    }

    /// Loads defaults, then `file` if given, then the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, Box<figment::Error>> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(file) = file {
            figment = figment.merge(Toml::file_exact(file));
        }
        figment.merge(Env::prefixed("BROADSHEET__").split("__")).extract().map_err(Box::new)
    }

    /// The public base URL without a trailing slash.
    pub fn base_url(&self) -> String {
        match &self.site.base_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("http://{}", self.server.addr),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_file_parses_and_matches_the_defaults() {
        let example: Settings =
            toml::from_str(include_str!("../broadsheet.example.toml")).expect("example config parses");
        let defaults = Settings::default();
        assert_eq!(example.server.addr, defaults.server.addr);
        assert_eq!(example.server.ops_addr, defaults.server.ops_addr);
        assert_eq!(example.server.hsts_max_age_secs, defaults.server.hsts_max_age_secs);
        assert_eq!(example.server.hsts_include_subdomains, defaults.server.hsts_include_subdomains);
        assert_eq!(example.cache.max_age_secs, defaults.cache.max_age_secs);
        assert_eq!(example.views.dedupe_window_secs, defaults.views.dedupe_window_secs);
        assert_eq!(example.views.per_address_per_article_per_day, defaults.views.per_address_per_article_per_day);
        assert_eq!(example.views.per_address_per_hour, defaults.views.per_address_per_hour);
        assert_eq!(example.server.proxy_hops, defaults.server.proxy_hops);
        assert_eq!(example.server.trusted_proxies, defaults.server.trusted_proxies);
        assert_eq!(example.comments.per_ip_per_minute, defaults.comments.per_ip_per_minute);
        assert_eq!(example.comments.blocked_words, defaults.comments.blocked_words);
        assert_eq!(example.newsroom, defaults.newsroom);
        assert_eq!(example.database, defaults.database);
        assert_eq!(example.cdn, defaults.cdn);
    }

    #[test]
    fn hsts_is_sent_only_for_an_https_site() {
        let mut settings = Settings::default();
        assert_eq!(settings.strict_transport_security(), None, "no base_url: plain http");
        settings.site.base_url = Some("http://news.example.com".into());
        assert_eq!(settings.strict_transport_security(), None);
        settings.site.base_url = Some("HTTPS://news.example.com/".into());
        assert_eq!(settings.strict_transport_security().as_deref(), Some("max-age=31536000; includeSubDomains"));
        settings.server.hsts_include_subdomains = false;
        assert_eq!(settings.strict_transport_security().as_deref(), Some("max-age=31536000"));
        settings.server.hsts_max_age_secs = 0;
        assert_eq!(settings.strict_transport_security(), None);
    }

    #[test]
    fn proxies_parse_and_the_old_switch_means_one_hop() {
        let old: Settings = toml::from_str("[server]\ntrust_forwarded_for = true").expect("parses");
        assert_eq!(old.server.effective_proxy_hops(), 1);
        let listed: Settings = toml::from_str("[server]\ntrusted_proxies = [\"10.0.0.0/8\", \"::1\"]").expect("parses");
        assert_eq!(listed.server.trusted_proxies.len(), 2);
        assert_eq!(listed.server.effective_proxy_hops(), 0);
        assert_eq!(Settings::default().server.effective_proxy_hops(), 0);
        assert!(toml::from_str::<Settings>("[server]\ntrusted_proxies = [\"10.0.0.0/33\"]").is_err());
    }

    #[test]
    fn unknown_keys_are_errors() {
        assert!(toml::from_str::<Settings>("[server]\nadress = \"x\"").is_err());
    }
}
