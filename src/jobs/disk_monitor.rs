//! Measures free space every `storage.check_interval_ms` (at least every 100 ms), so the write
//! guard ([`crate::disk::DiskGuard`]) refuses writes once space runs low and lets them through
//! again when it returns, without a restart.

use std::sync::Arc;
use std::time::Duration;

use tracing::Instrument;

use crate::web::AppState;

pub fn spawn(state: &AppState) -> tokio::task::JoinHandle<()> {
    let guard = Arc::clone(&state.disk);
    let every = Duration::from_millis(state.settings.storage.check_interval_ms.max(100));
    tokio::spawn(
        async move {
            let mut ticker = tokio::time::interval(every);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                guard.refresh();
            }
        }
        .instrument(tracing::info_span!("background", job = %"disk_monitor")),
    )
}
