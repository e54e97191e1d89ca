//! Scheduled publishing and unpublishing. Each due change is a conditional update in the store that
//! only one caller can win, so a change fires exactly once however many nodes run this loop, and one
//! that fell due while every node was down fires on the first pass after start.

use chrono::{DateTime, Utc};

use crate::domain::ArticleId;
use crate::store::{Store, StoreResult};

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Fired {
    pub published: Vec<ArticleId>,
    pub unpublished: Vec<ArticleId>,
}

impl Fired {
    pub fn is_empty(&self) -> bool {
        self.published.is_empty() && self.unpublished.is_empty()
    }
}

/// Fires everything due by `now`.
pub async fn run_due(store: &dyn Store, now: DateTime<Utc>) -> StoreResult<Fired> {
    let published = store.publish_due(now).await?;
    let unpublished = store.unpublish_due(now).await?;
    Ok(Fired { published, unpublished })
}

/// How long the loop may sleep: until the next due change, but at least every `max` so changes
/// scheduled by another node (or the clock jumping) are noticed.
pub fn sleep_for(next_due: Option<DateTime<Utc>>, now: DateTime<Utc>, max: std::time::Duration) -> std::time::Duration {
    match next_due {
        Some(due) if due <= now => std::time::Duration::ZERO,
        Some(due) => (due - now).to_std().map_or(max, |d| d.min(max)),
        None => max,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn sleeps_until_the_next_change_but_never_longer_than_the_cap() {
        let now = Utc::now();
        let cap = Duration::from_secs(1);
        assert_eq!(sleep_for(None, now, cap), cap);
        assert_eq!(sleep_for(Some(now - chrono::Duration::seconds(5)), now, cap), Duration::ZERO);
        assert_eq!(sleep_for(Some(now + chrono::Duration::milliseconds(300)), now, cap), Duration::from_millis(300));
        assert_eq!(sleep_for(Some(now + chrono::Duration::hours(3)), now, cap), cap);
    }
}
