//! Writes buffered views every `views.flush_interval_secs`, forgets idle comment rate-limit
//! entries, and prunes expired sessions and old sign-in failures on the same beat.

use std::time::Duration;

use tracing::Instrument;

use crate::web::AppState;

/// Flushes on a fixed beat; a failed flush keeps its views in memory for the next one.
pub fn spawn(state: AppState) -> tokio::task::JoinHandle<()> {
    let every = Duration::from_secs(state.settings.views.flush_interval_secs.max(1));
    tokio::spawn(
        async move {
            let mut ticker = tokio::time::interval(every);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                if let Err(e) = state.views.flush(state.store.as_ref(), state.clock.now()).await {
                    tracing::error!(error = %e, pending = state.views.pending_total(), "view flush failed; will retry");
                }
                state.comment_limiter.retain_recent();
                prune_newsroom_records(&state).await;
            }
        }
        .instrument(tracing::info_span!("background", job = %"view_flusher")),
    )
}

/// Writes the views still buffered, once the flusher has stopped (at shutdown).
pub async fn flush_remaining(state: &AppState) {
    match state.views.flush(state.store.as_ref(), state.clock.now()).await {
        Ok(n) => tracing::info!(views = n, "flushed buffered views at shutdown"),
        Err(e) => tracing::error!(error = %e, "could not flush buffered views at shutdown"),
    }
}

/// Deletes expired sessions and sign-in failures that no longer count, so neither table grows
/// without bound. Cheap (two indexed deletes), so it simply runs with every view flush.
async fn prune_newsroom_records(state: &AppState) {
    let now = state.clock.now();
    let limits = &state.settings.newsroom;
    let idle_before = now - chrono::Duration::minutes(limits.session_idle_minutes);
    let created_before = now - chrono::Duration::hours(limits.session_absolute_hours);
    if let Err(e) = state.store.delete_expired_sessions(idle_before, created_before).await {
        tracing::warn!(error = %e, "cannot prune expired sessions");
    }
    let window_start = now - chrono::Duration::minutes(limits.login_window_minutes);
    if let Err(e) = state.store.prune_login_failures(window_start).await {
        tracing::warn!(error = %e, "cannot prune old sign-in failures");
    }
}
