//! Fires due publications and take-downs: at start (catching up on any that fell due while the
//! site was down), then as they fall due. Each pass is [`crate::newsroom::scheduler::run_due`];
//! this file decides when passes run and what follows one.

use std::time::Duration;

use tracing::Instrument;

use super::related;
use crate::web::AppState;
use crate::web::changes::Change;

/// Sleeps until the next change is due, but never longer than this, so a change scheduled by
/// another node (or while the store could not say) is not missed for long.
const CHECK_AT_LEAST_EVERY: Duration = Duration::from_secs(1);

pub fn spawn(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(
        async move {
            loop {
                let now = state.clock.now();
                match crate::newsroom::scheduler::run_due(state.store.as_ref(), now).await {
                    Ok(fired) => {
                        for id in fired.published.iter().chain(&fired.unpublished) {
                            state.changed(Change::Article(*id));
                        }
                        if !fired.is_empty() {
                            tracing::info!(published = ?fired.published, unpublished = ?fired.unpublished, "scheduled changes fired");
                            state.lists_changed();
                            for id in &fired.published {
                                related::refresh_soon(&state, *id);
                            }
                        }
                    }
                    Err(e) => tracing::error!(error = %e, "scheduler pass failed; will retry"),
                }
                let next = match state.store.next_due().await {
                    Ok(next) => next,
                    Err(e) => {
                        tracing::error!(error = %e, "cannot read the next scheduled change; checking again shortly");
                        None
                    }
                };
                let wait = crate::newsroom::scheduler::sleep_for(next, state.clock.now(), CHECK_AT_LEAST_EVERY);
                tokio::time::sleep(wait).await;
            }
        }
        .instrument(tracing::info_span!("background", job = %"scheduler")),
    )
}
