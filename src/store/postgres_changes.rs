//! Telling every node about changes, through PostgreSQL's LISTEN/NOTIFY: a node that changes
//! content announces it on one channel; every node listens and drops the cached pages it affects.
//! After a lost connection a node cannot know what it missed, so once it is listening again it
//! reports a gap and the caller clears everything (the catch-up). Until then it keeps what it has:
//! while the database is down, cached pages are still served.

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgListener;

use super::StoreResult;

pub const CHANNEL: &str = "broadsheet_changes";

/// What a node hears: a change announced by some node, or a gap after which anything may have
/// changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Heard {
    Change(String),
    Gap,
}

pub async fn announce(pool: &PgPool, change: &str) -> StoreResult<()> {
    sqlx::query("SELECT pg_notify($1, $2)").bind(CHANNEL).bind(change).execute(pool).await?;
    Ok(())
}

/// Listens until the task is aborted, reconnecting with a pause after failures.
pub fn watch(pool: PgPool, on_heard: Arc<dyn Fn(Heard) + Send + Sync>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        // The first connection misses nothing: the node starts with nothing cached.
        let mut first = true;
        loop {
            match PgListener::connect_with(&pool).await {
                Ok(mut listener) => {
                    if let Err(e) = listener.listen(CHANNEL).await {
                        tracing::warn!(error = %e, "cannot listen for changes from other nodes");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        continue;
                    }
                    // Whatever happened while not listening is unknown.
                    if !first {
                        on_heard(Heard::Gap);
                    }
                    first = false;
                    loop {
                        match listener.try_recv().await {
                            Ok(Some(notification)) => on_heard(Heard::Change(notification.payload().to_owned())),
                            // The connection was lost: listen again on a fresh connection, and report
                            // the gap once that works.
                            Ok(None) => {
                                tracing::warn!("lost the change feed from other nodes; reconnecting");
                                break;
                            }
                            Err(e) => {
                                tracing::warn!(error = %e, "change feed failed; reconnecting");
                                break;
                            }
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "cannot connect the change feed; retrying"),
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    })
}
