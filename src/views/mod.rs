//! Counting page views without cookies and without a database write per view.
//!
//! A reader's page sends a small beacon. We drop known bots, then drop a repeat of the same visitor
//! on the same article within the dedupe window. The visitor is identified by a keyed hash of IP
//! address and user agent under a salt that rotates daily and is never stored, so raw addresses
//! never reach memory beyond the request, nor disk. Accepted views are summed in memory per article
//! and hour, and [`ViewCounter::flush`] writes the sums in one transaction into hourly buckets.

pub mod popular;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use chrono::{DateTime, Utc};

use crate::domain::ArticleId;
use crate::store::{Store, StoreResult, ViewIncrement};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewOutcome {
    Counted,
    Bot,
    Repeat,
}

/// The daily salt and when it was made; replaced when the UTC day changes.
struct Salt {
    day: i64,
    key: [u8; 32],
}

pub struct ViewCounter {
    bots: isbot::Bots,
    /// Verdicts of the bot filter by user agent. Readers share a few hundred user agents, and the
    /// filter is a large regular expression, so remembering beats re-running it per view.
    bot_verdicts: Mutex<HashMap<String, bool>>,
    dedupe_window_secs: i64,
    salt: Mutex<Salt>,
    /// Visitor-and-article hashes seen recently, with the time they were last counted.
    seen: Mutex<HashMap<[u8; 16], i64>>,
    /// Views accepted but not yet written, per (article, hour).
    pending: Mutex<HashMap<(ArticleId, i64), i64>>,
    /// Totals the store reported at the last flush, for articles viewed since start-up.
    flushed_totals: Mutex<HashMap<ArticleId, i64>>,
}

fn fresh_salt() -> [u8; 32] {
    let mut key = [0u8; 32];
    // Without randomness we still must not stop counting; a zero salt only weakens the hash.
    if getrandom::fill(&mut key).is_err() {
        tracing::error!("no randomness for the view-counting salt");
    }
    key
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding one of these locks leaves plain counters behind, still usable.
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl ViewCounter {
    pub fn new(dedupe_window_secs: i64) -> Self {
        Self {
            bots: isbot::Bots::default(),
            bot_verdicts: Mutex::new(HashMap::new()),
            dedupe_window_secs,
            salt: Mutex::new(Salt { day: i64::MIN, key: [0; 32] }),
            seen: Mutex::new(HashMap::new()),
            pending: Mutex::new(HashMap::new()),
            flushed_totals: Mutex::new(HashMap::new()),
        }
    }

    fn visitor_key(&self, article_id: ArticleId, ip: IpAddr, user_agent: &str, now: i64) -> [u8; 16] {
        let day = now.div_euclid(86_400);
        let key = {
            let mut salt = lock(&self.salt);
            if salt.day != day {
                salt.day = day;
                salt.key = fresh_salt();
            }
            salt.key
        };
        let mut hasher = blake3::Hasher::new_keyed(&key);
        match ip {
            IpAddr::V4(v4) => hasher.update(&v4.octets()),
            IpAddr::V6(v6) => hasher.update(&v6.octets()),
        };
        hasher.update(&[0]);
        hasher.update(user_agent.as_bytes());
        hasher.update(&[0]);
        hasher.update(&article_id.to_le_bytes());
        let mut out = [0u8; 16];
        out.copy_from_slice(&hasher.finalize().as_bytes()[..16]);
        out
    }

    /// Decides whether a beacon counts, and buffers it if so.
    pub fn record(&self, article_id: ArticleId, ip: IpAddr, user_agent: &str, now: DateTime<Utc>) -> ViewOutcome {
        if self.is_bot(user_agent) {
            return ViewOutcome::Bot;
        }
        let now = now.timestamp();
        let key = self.visitor_key(article_id, ip, user_agent, now);
        {
            let mut seen = lock(&self.seen);
            match seen.get(&key) {
                Some(&last) if now - last < self.dedupe_window_secs => return ViewOutcome::Repeat,
                _ => {
                    seen.insert(key, now);
                }
            }
        }
        let hour = now - now.rem_euclid(3600);
        *lock(&self.pending).entry((article_id, hour)).or_default() += 1;
        ViewOutcome::Counted
    }

    fn is_bot(&self, user_agent: &str) -> bool {
        if user_agent.trim().is_empty() {
            return true;
        }
        if let Some(&verdict) = lock(&self.bot_verdicts).get(user_agent) {
            return verdict;
        }
        let verdict = self.bots.is_bot(user_agent);
        let mut verdicts = lock(&self.bot_verdicts);
        // Bounded: a flood of made-up agents only costs the regular expression again.
        if verdicts.len() >= 4096 {
            verdicts.clear();
        }
        verdicts.insert(user_agent.to_owned(), verdict);
        verdict
    }

    /// Views accepted for an article and not yet flushed.
    pub fn pending_for(&self, article_id: ArticleId) -> i64 {
        lock(&self.pending).iter().filter(|((id, _), _)| *id == article_id).map(|(_, v)| v).sum()
    }

    /// The best current total for an article: the last flushed total plus what is buffered, or
    /// `None` if the article has not been flushed since start-up.
    pub fn live_total(&self, article_id: ArticleId) -> Option<i64> {
        let flushed = lock(&self.flushed_totals).get(&article_id).copied()?;
        Some(flushed + self.pending_for(article_id))
    }

    /// Views waiting in memory, across all articles.
    pub fn pending_total(&self) -> i64 {
        lock(&self.pending).values().sum()
    }

    /// Writes buffered views to the store in one transaction. On failure the views go back into the
    /// buffer, so a database hiccup delays counts but never loses them. Returns how many views
    /// were written.
    pub async fn flush(&self, store: &dyn Store, now: DateTime<Utc>) -> StoreResult<i64> {
        let taken: HashMap<(ArticleId, i64), i64> = std::mem::take(&mut *lock(&self.pending));
        self.forget_old_visitors(now.timestamp());
        if taken.is_empty() {
            return Ok(0);
        }
        let batch: Vec<ViewIncrement> =
            taken.iter().map(|(&(article_id, hour), &views)| ViewIncrement { article_id, hour, views }).collect();
        match store.record_views(&batch).await {
            Ok(totals) => {
                let mut flushed = lock(&self.flushed_totals);
                for (id, total) in totals {
                    flushed.insert(id, total);
                }
                Ok(batch.iter().map(|inc| inc.views).sum())
            }
            Err(err) => {
                let mut pending = lock(&self.pending);
                for (key, views) in taken {
                    *pending.entry(key).or_default() += views;
                }
                Err(err)
            }
        }
    }

    fn forget_old_visitors(&self, now: i64) {
        let window = self.dedupe_window_secs;
        lock(&self.seen).retain(|_, last| now - *last < window);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const BROWSER: &str =
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36";

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + secs, 0).single().expect("valid time")
    }

    #[test]
    fn bots_and_empty_agents_are_not_counted() {
        let counter = ViewCounter::new(1800);
        let ip: IpAddr = [10, 0, 0, 1].into();
        let googlebot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";
        assert_eq!(counter.record(1, ip, googlebot, at(0)), ViewOutcome::Bot);
        assert_eq!(counter.record(1, ip, "", at(0)), ViewOutcome::Bot);
        assert_eq!(counter.pending_total(), 0);
    }

    #[test]
    fn repeat_within_window_is_ignored_and_counted_again_after() {
        let counter = ViewCounter::new(1800);
        let ip: IpAddr = [10, 0, 0, 1].into();
        assert_eq!(counter.record(1, ip, BROWSER, at(0)), ViewOutcome::Counted);
        assert_eq!(counter.record(1, ip, BROWSER, at(1799)), ViewOutcome::Repeat);
        assert_eq!(counter.record(2, ip, BROWSER, at(10)), ViewOutcome::Counted, "another article counts");
        let other_ip: IpAddr = [10, 0, 0, 2].into();
        assert_eq!(counter.record(1, other_ip, BROWSER, at(10)), ViewOutcome::Counted, "another visitor counts");
        assert_eq!(counter.record(1, ip, BROWSER, at(1800)), ViewOutcome::Counted);
        assert_eq!(counter.pending_for(1), 3);
    }
}
