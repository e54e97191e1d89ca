//! Popular Now: the most viewed stories of the last 24 hours, topped up from the last 7 days when
//! a quiet day leaves the list short. Summing a day of hourly buckets is the heaviest read on the
//! site, so the list is kept in memory and refreshed in the background: a reader never waits for
//! it except the very first one after start-up.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tracing::Instrument;

use crate::clock::Clock;
use crate::domain::ArticleCard;
use crate::store::{Store, StoreResult};

/// How many stories the kept list holds: more than any page shows, so pages can skip repeats.
pub const DEPTH: usize = 20;

struct Kept {
    at: Instant,
    list: Arc<Vec<ArticleCard>>,
}

pub struct PopularNow {
    kept: RwLock<Option<Kept>>,
    /// One refresh at a time.
    refreshing: tokio::sync::Mutex<()>,
    /// Set while a background refresh is scheduled, so a busy site starts one, not one per page.
    background: AtomicBool,
    max_age: Duration,
    /// The site's clock, which sets the window summed.
    clock: Clock,
}

impl PopularNow {
    pub fn new(max_age: Duration, clock: Clock) -> Self {
        Self {
            kept: RwLock::new(None),
            refreshing: tokio::sync::Mutex::new(()),
            background: AtomicBool::new(false),
            max_age,
            clock,
        }
    }

    fn current(&self) -> Option<(bool, Arc<Vec<ArticleCard>>)> {
        let kept = self.kept.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        kept.as_ref().map(|k| (k.at.elapsed() < self.max_age, Arc::clone(&k.list)))
    }

    /// The list, refreshing it first only if there is none yet. A stale list is returned as is
    /// and refreshed in the background.
    pub async fn get(self: &Arc<Self>, store: &Arc<dyn Store>) -> StoreResult<Arc<Vec<ArticleCard>>> {
        match self.current() {
            Some((true, list)) => Ok(list),
            Some((false, list)) => {
                if self.background.compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire).is_ok() {
                    let this = Arc::clone(self);
                    let store = Arc::clone(store);
                    tokio::spawn(
                        async move {
                            if let Err(e) = this.refresh(&store).await {
                                tracing::error!(error = %e, "refreshing Popular Now failed; keeping the old list");
                            }
                            this.background.store(false, Ordering::Release);
                        }
                        .in_current_span(),
                    );
                }
                Ok(list)
            }
            None => {
                // In a task of its own, so that the reader who asked first going away (a client
                // that gives up after a second, on an archive where the sum takes longer) does not
                // cancel the work that everyone after them waits for.
                let this = Arc::clone(self);
                let store = Arc::clone(store);
                let refresh = tokio::spawn(async move { this.refresh(&store).await }.in_current_span());
                match refresh.await {
                    Ok(done) => done?,
                    // Only when the task panicked or the runtime is shutting down.
                    Err(e) => return Err(crate::store::StoreError::Unavailable(format!("Popular Now: {e}"))),
                }
                Ok(self.current().map(|(_, list)| list).unwrap_or_default())
            }
        }
    }

    /// Recomputes the list now, unless another caller is already doing so.
    pub async fn refresh(&self, store: &Arc<dyn Store>) -> StoreResult<()> {
        let Ok(_guard) = self.refreshing.try_lock() else {
            // Someone else is refreshing; wait for them rather than repeat the work.
            let _wait = self.refreshing.lock().await;
            return Ok(());
        };
        let list = load(store.as_ref(), self.clock.now()).await?;
        *self.kept.write().unwrap_or_else(std::sync::PoisonError::into_inner) =
            Some(Kept { at: Instant::now(), list: Arc::new(list) });
        Ok(())
    }

    /// The kept list as it is, fresh or stale, without refreshing it; `None` before the first
    /// refresh has finished.
    pub fn peek(&self) -> Option<Arc<Vec<ArticleCard>>> {
        self.current().map(|(_, list)| list)
    }

    /// Drops the list (after a publish or unpublish, which may change who belongs on it), so the
    /// next reader gets a fresh one.
    pub fn forget(&self) {
        *self.kept.write().unwrap_or_else(std::sync::PoisonError::into_inner) = None;
    }
}

async fn load(store: &dyn Store, now: DateTime<Utc>) -> StoreResult<Vec<ArticleCard>> {
    let mut list = store.popular_articles((now - chrono::Duration::hours(24)).timestamp(), DEPTH as i64).await?;
    if list.len() < DEPTH {
        for card in store.popular_articles((now - chrono::Duration::days(7)).timestamp(), DEPTH as i64).await? {
            if list.len() == DEPTH {
                break;
            }
            if !list.iter().any(|c| c.id == card.id) {
                list.push(card);
            }
        }
    }
    Ok(list)
}
