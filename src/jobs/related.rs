//! Recomputes related articles around a newly published one, off the request path. A one-off task
//! per publication rather than a loop: it runs in the span of the request or job that published
//! the story, so its errors carry that request id.

use tracing::Instrument;

use crate::domain::ArticleId;
use crate::web::AppState;
use crate::web::changes::Change;

/// Starts the refresh and returns at once; the article's cached page is dropped when it is done.
pub fn refresh_soon(state: &AppState, id: ArticleId) {
    let state = state.clone();
    tokio::spawn(
        async move {
            if let Err(e) = crate::ranking::related::refresh_around(state.store.as_ref(), id, state.clock.now()).await {
                tracing::error!(error = %e, article = %id, "cannot refresh related articles");
            }
            state.changed(Change::Article(id));
        }
        .in_current_span(),
    );
}
