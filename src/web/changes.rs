//! What to do when content changes: drop this node's cached pages, tell the other nodes sharing the
//! database (PostgreSQL NOTIFY), and ask the CDN to purge exactly the pages that depend on it
//! (surrogate keys). Handlers call [`AppState::changed`] and nothing else.

use std::time::Duration;

use tokio::sync::mpsc;
use tracing::Instrument;

use super::AppState;
use crate::cache::Dependency;
use crate::config::CdnSettings;
use crate::domain::ArticleId;

/// A change that pages may depend on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// One article's page (its text, comments, corrections).
    Article(ArticleId),
    /// Anything shown in lists: fronts, modules, author and tag pages.
    Lists,
    /// Site-wide chrome: settings, navigation, the breaking banner.
    Everything,
}

impl Change {
    /// The surrogate keys of the cached pages this change makes stale.
    pub fn surrogate_keys(self) -> Vec<String> {
        match self {
            Self::Article(id) => vec![article_key(id)],
            Self::Lists => vec![LISTS_KEY.to_owned()],
            Self::Everything => vec![SITE_KEY.to_owned()],
        }
    }

    /// The form sent between nodes.
    pub fn encode(self) -> String {
        match self {
            Self::Article(id) => format!("article:{id}"),
            Self::Lists => "lists".to_owned(),
            Self::Everything => "all".to_owned(),
        }
    }

    pub fn decode(text: &str) -> Option<Self> {
        match text {
            "lists" => Some(Self::Lists),
            "all" => Some(Self::Everything),
            other => other.strip_prefix("article:")?.parse().ok().map(|id| Self::Article(ArticleId(id))),
        }
    }
}

/// Every cached page carries this key, so one purge can clear the whole site.
pub const SITE_KEY: &str = "site";
pub const LISTS_KEY: &str = "lists";

pub fn article_key(id: ArticleId) -> String {
    format!("article-{id}")
}

/// The surrogate keys of a page with these dependencies.
pub fn keys_for(depends_on: &[Dependency]) -> String {
    let mut keys = vec![SITE_KEY.to_owned()];
    for dependency in depends_on {
        keys.push(match dependency {
            Dependency::Lists => LISTS_KEY.to_owned(),
            Dependency::Article(id) => article_key(*id),
        });
    }
    keys.join(" ")
}

impl AppState {
    /// Applies a change here, announces it to the other nodes and queues the CDN purge.
    pub fn changed(&self, change: Change) {
        self.apply_change(change);
        let state = self.clone();
        tokio::spawn(
            async move {
                if let Err(e) = state.store.announce(&change.encode()).await {
                    tracing::warn!(error = %e, ?change, "cannot tell the other nodes about a change; they catch up by max-age");
                }
            }
            .in_current_span(),
        );
        if let Some(purger) = &self.purger {
            purger.purge(change.surrogate_keys());
        }
    }

    /// Drops what this node has cached that the change makes stale. Also run for changes announced
    /// by other nodes.
    pub fn apply_change(&self, change: Change) {
        match change {
            Change::Article(id) => self.cache.invalidate(&Dependency::Article(id)),
            Change::Lists => {
                self.cache.invalidate(&Dependency::Lists);
                self.popular.forget();
            }
            Change::Everything => {
                self.cache.clear();
                self.popular.forget();
                // Settings or the banner may have changed on another node: read them again, then
                // drop pages rendered meanwhile with the old ones.
                let state = self.clone();
                tokio::spawn(
                    async move {
                        match state.reload_profile().await {
                            Ok(()) => state.cache.clear(),
                            Err(e) => tracing::warn!(error = %e, "cannot reload site settings; keeping the old ones"),
                        }
                    }
                    .in_current_span(),
                );
            }
        }
    }
}

/// The newsroom's use cases report what they changed here; what readers can see is invalidated
/// and announced like any other change.
impl crate::newsroom::articles::ChangeSink for AppState {
    fn article_changed(&self, event: crate::newsroom::articles::ArticleEvent) {
        use crate::newsroom::articles::ArticleEvent;
        match event {
            ArticleEvent::Public { id, went_live } => {
                self.changed(Change::Article(id));
                self.lists_changed();
                if went_live {
                    crate::jobs::related::refresh_soon(self, id);
                }
            }
            // No reader's page shows a draft, a schedule or an autosave.
            ArticleEvent::Internal { .. } => {}
        }
    }

    fn curated_list_changed(&self, _list: crate::newsroom::curation::CuratedList) {
        self.lists_changed();
    }

    fn banner_changed(&self, banner: Option<crate::newsroom::profile::Breaking>) {
        // This node shows the new banner from the next page on; the change then reloads the
        // settings from the store (here and on the other nodes) and drops every cached page.
        self.set_breaking(banner);
        self.changed(Change::Everything);
    }

    fn settings_changed(&self, profile: crate::newsroom::profile::SiteProfile) {
        self.set_profile(profile);
        self.changed(Change::Everything);
    }

    fn sections_changed(&self) {
        self.changed(Change::Everything);
    }

    fn media_changed(&self, _id: crate::domain::MediaId, crops_reset: bool) {
        // Captions and alt text show on every page with the image; which those are is not tracked.
        self.lists_changed();
        if crops_reset {
            self.media_work.notify_one();
        }
    }

    fn media_added(&self, _id: crate::domain::MediaId) {
        self.media_work.notify_one();
    }
}

/// Sends purge requests to the CDN from a background task, batching the keys of changes that come
/// close together into one request.
#[derive(Clone)]
pub struct Purger {
    queue: mpsc::UnboundedSender<Vec<String>>,
}

impl Purger {
    pub fn spawn(settings: CdnSettings) -> Option<Self> {
        let url = settings.purge_url.clone()?;
        let (queue, mut incoming) = mpsc::unbounded_channel::<Vec<String>>();
        tokio::spawn(
            async move {
                while let Some(first) = incoming.recv().await {
                    let mut keys = first;
                    // Changes arrive in bursts (a save touches an article and the lists): wait a moment
                    // and send them together.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    while let Ok(more) = incoming.try_recv() {
                        keys.extend(more);
                    }
                    keys.sort();
                    keys.dedup();
                    send_purge(&settings, &url, &keys).await;
                }
            }
            .instrument(tracing::info_span!("background", job = %"cdn_purge")),
        );
        Some(Self { queue })
    }

    pub fn purge(&self, keys: Vec<String>) {
        if self.queue.send(keys).is_err() {
            tracing::error!("the CDN purge task has stopped; cached copies expire by s-maxage only");
        }
    }
}

async fn send_purge(settings: &CdnSettings, url: &str, keys: &[String]) {
    let joined = keys.join(" ");
    for attempt in 1..=3u32 {
        let request = ureq_request(settings, url, &joined);
        match tokio::task::spawn_blocking(request).await {
            Ok(Ok(status)) if (200..300).contains(&status) => {
                tracing::info!(keys = %joined, "CDN purge sent");
                return;
            }
            Ok(Ok(status)) => tracing::warn!(status, attempt, keys = %joined, "CDN refused the purge"),
            Ok(Err(e)) => tracing::warn!(error = %e, attempt, keys = %joined, "CDN purge failed"),
            Err(e) => tracing::warn!(error = %e, "CDN purge task failed"),
        }
        tokio::time::sleep(Duration::from_millis(500 * u64::from(attempt))).await;
    }
    tracing::error!(keys = %joined, "giving up on a CDN purge; those pages expire by s-maxage");
}

fn ureq_request(
    settings: &CdnSettings,
    url: &str,
    keys: &str,
) -> impl FnOnce() -> Result<u16, String> + Send + 'static {
    let (url, keys, method, key_header, extra) = (
        url.to_owned(),
        keys.to_owned(),
        settings.purge_method.clone(),
        settings.purge_key_header.clone(),
        settings.purge_headers.clone(),
    );
    move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(10)))
            .http_status_as_error(false)
            .build()
            .into();
        let mut request = http::Request::builder().method(method.as_str()).uri(&url).header(key_header.as_str(), &keys);
        for line in &extra {
            if let Some((name, value)) = line.split_once(':') {
                request = request.header(name.trim(), value.trim());
            }
        }
        let request = request.body(keys.clone()).map_err(|e| e.to_string())?;
        agent.run(request).map(|response| response.status().as_u16()).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_travel_between_nodes_intact() {
        for change in [Change::Article(ArticleId(42)), Change::Lists, Change::Everything] {
            assert_eq!(Change::decode(&change.encode()), Some(change));
        }
        assert_eq!(Change::decode("article:x"), None);
        assert_eq!(Change::decode("nonsense"), None);
    }

    #[test]
    fn pages_carry_the_keys_of_what_they_show() {
        assert_eq!(keys_for(&[Dependency::Lists, Dependency::Article(ArticleId(7))]), "site lists article-7");
        assert_eq!(Change::Article(ArticleId(7)).surrogate_keys(), vec!["article-7"]);
    }
}
