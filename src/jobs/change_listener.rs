//! Applies the changes other nodes announce (PostgreSQL `LISTEN`) to this node's page cache. The
//! store owns the connection and its reconnects; this job decides what each announcement drops.

use crate::store::postgres_changes::Heard;
use crate::web::AppState;
use crate::web::changes::Change;

/// Starts listening. Returns `None` on a single-node backend, where there is nothing to hear.
pub fn spawn(state: &AppState) -> Option<tokio::task::JoinHandle<()>> {
    let target = state.clone();
    let span = tracing::info_span!("background", job = %"change_listener");
    state.store.watch_changes(std::sync::Arc::new(move |heard| {
        let _entered = span.enter();
        match heard {
            Heard::Change(text) => match Change::decode(&text) {
                Some(change) => target.apply_change(change),
                None => tracing::warn!(%text, "ignoring an unknown change announcement"),
            },
            // Announcements may have been missed while the connection was down.
            Heard::Gap => target.apply_change(Change::Everything),
        }
    }))
}
