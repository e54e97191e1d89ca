//! Makes the resized variants of new uploads, one at a time, off the request path: uploads store
//! only the checked original and wake this worker. A variant job that fails for a passing reason
//! (disk full, folder unreachable) stays pending with a growing retry delay kept in the database,
//! so it is picked up again once there is room, also after a restart. The worker also removes the
//! `.part` files a crash left behind, at start and then hourly.

use std::time::{Duration, Instant};

use tracing::Instrument;

use crate::media::{self, CancelOnDrop, Ingested, Limits, MediaError};
use crate::store::StoreError;
use crate::store::newsroom::MediaRecord;
use crate::web::AppState;

/// How often the worker looks for `.part` files left by a crash, besides at start.
const SWEEP_EVERY: Duration = Duration::from_secs(3600);
/// Longest the worker sleeps without looking for work (uploads wake it at once).
const IDLE_WAIT: Duration = Duration::from_secs(30);
/// How long the worker waits after the store failed it before trying again.
const AFTER_STORE_FAILURE: Duration = Duration::from_secs(10);

pub fn spawn(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(
        async move {
            let mut last_sweep: Option<Instant> = None;
            // The soonest retry this worker scheduled and has not tried yet. An upload's wake-up may end a
            // wait early, and the pass it starts finds nothing due: the retry must still come on time.
            let mut next_due: Option<Instant> = None;
            loop {
                if last_sweep.is_none_or(|at| at.elapsed() >= SWEEP_EVERY) {
                    sweep_partial_files(&state).await;
                    last_sweep = Some(Instant::now());
                }
                if next_due.is_some_and(|due| due <= Instant::now()) {
                    next_due = None;
                }
                let wait = match make_pending_variants(&state).await {
                    Ok(pass) => {
                        if let Some(delay) = pass.next_retry {
                            let due = Instant::now() + delay;
                            next_due = Some(next_due.map_or(due, |next| next.min(due)));
                        }
                        if pass.made + pass.given_up > 0 {
                            continue;
                        }
                        next_due.map_or(IDLE_WAIT, |due| due.saturating_duration_since(Instant::now()).min(IDLE_WAIT))
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "making image variants failed; will retry");
                        AFTER_STORE_FAILURE
                    }
                };
                let _ = tokio::time::timeout(wait, state.media_work.notified()).await;
            }
        }
        .instrument(tracing::info_span!("background", job = %"media_variants")),
    )
}

/// Removes stale `.part` files from the media folder, logging what it did.
pub async fn sweep_partial_files(state: &AppState) {
    let dir = state.settings.media_dir();
    let swept = tokio::task::spawn_blocking(move || {
        media::sweep_partial_files(&dir, media::PARTIAL_FILE_MAX_AGE, std::time::SystemTime::now())
    })
    .await;
    match swept {
        Ok(Ok(0)) => {}
        Ok(Ok(removed)) => tracing::info!(removed, "removed unfinished media files left by an earlier run"),
        Ok(Err(e)) => tracing::warn!(error = %e, "could not clean unfinished files from the media folder"),
        Err(e) => tracing::error!(error = %e, "cleaning the media folder panicked"),
    }
}

/// What one pass of the worker did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct VariantPass {
    /// Images whose variants were made.
    pub made: usize,
    /// Images left pending after a failure that may pass, to be tried again later.
    pub deferred: usize,
    /// Images that can never get variants (damaged, missing): they keep the original only.
    pub given_up: usize,
    /// The soonest retry this pass scheduled.
    pub next_retry: Option<Duration>,
}

/// Processes a few pending uploads whose retry time has come.
pub async fn make_pending_variants(state: &AppState) -> Result<VariantPass, StoreError> {
    let pending = state.store.media_without_variants(4, state.clock.now()).await?;
    let mut pass = VariantPass::default();
    // Dropped when the worker is aborted at shutdown: the blocking work then stops early.
    let guard = CancelOnDrop::default();
    for item in pending {
        match make_variants(state, &item, guard.token()).await {
            Ok(variants) => {
                state.store.set_media_variants(item.id, &variants).await?;
                state.lists_changed();
                pass.made += 1;
            }
            Err(e) if e.is_transient() => {
                let delay = media::retry_delay(item.variant_attempts.saturating_add(1));
                tracing::warn!(
                    error = %e, media = %item.id, retry_in_secs = delay.as_secs(),
                    "cannot make variants now; will try again"
                );
                let retry_at = state.clock.now() + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX);
                state.store.defer_media_variants(item.id, retry_at).await?;
                pass.deferred += 1;
                pass.next_retry = Some(pass.next_retry.map_or(delay, |next| next.min(delay)));
            }
            Err(e) => {
                // A file that cannot be processed would otherwise be retried forever.
                tracing::error!(error = %e, media = %item.id, "cannot make variants; keeping the original only");
                state.store.set_media_variants(item.id, &[]).await?;
                pass.given_up += 1;
            }
        }
    }
    Ok(pass)
}

/// Reads the stored original and renders its variants within the decode budget.
async fn make_variants(
    state: &AppState,
    item: &MediaRecord,
    cancel: media::Cancel,
) -> Result<Vec<media::Variant>, MediaError> {
    let dir = state.settings.media_dir();
    let path = dir.join(media::original_file_name(&item.hash, item.format));
    let budget = state.decode_budget.total_bytes();
    // Stored originals were checked on upload; only the memory they need is looked at again, as
    // the budget may have been lowered since.
    let limits = Limits { max_bytes: usize::MAX, max_pixels: u64::MAX, max_side: u32::MAX, max_decode_bytes: budget };
    let (bytes, probe) = tokio::task::spawn_blocking(move || {
        let bytes = std::fs::read(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => {
                MediaError::Corrupt(format!("the stored original {} is missing", path.display()))
            }
            _ => MediaError::Io(e),
        })?;
        let probe = media::probe(&bytes, &limits)?;
        Ok::<_, MediaError>((bytes, probe))
    })
    .await
    .map_err(MediaError::panicked)??;
    let permit = state.decode_budget.acquire(probe.working_bytes(), probe.width, probe.height).await?;
    let (hash, format, width, height, focal) = (item.hash.clone(), item.format, item.width, item.height, item.focal);
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let original = Ingested { hash, format, width, height, bytes };
        media::render_variants(&original, focal, &dir, budget, &cancel)
    })
    .await
    .map_err(MediaError::panicked)?
}
