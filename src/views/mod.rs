//! Counting page views without cookies and without a database write per view.
//!
//! A reader's page sends a small beacon. We count only browser-like clients (a plausible browser
//! user agent that the bot filter does not recognise), then identify the reader by their address
//! alone: changing the user agent does not make a new reader. The address (for IPv6 its /64, the
//! block one household or phone gets) goes into a keyed hash under a salt that rotates daily and
//! is never stored, so raw addresses never reach memory beyond the request, nor disk. A repeat of
//! the same reader on the same article within the dedupe window is dropped, and two caps bound what
//! one address can add at all: views per article per day and views across the site per hour. So
//! one address can move neither an article's count nor Popular Now by more than a few views.
//! Accepted views are summed in memory per article and hour, and [`ViewCounter::flush`] writes the
//! sums in one transaction into hourly buckets.

pub mod popular;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use chrono::{DateTime, Utc};

use crate::config::ViewSettings;
use crate::domain::ArticleId;
use crate::store::{Store, StoreResult, ViewIncrement};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewOutcome {
    Counted,
    /// Not a browser: a known bot, or a user agent no browser sends.
    Bot,
    Repeat,
    /// The address has used up its views for the article today, or for the site this hour.
    Limited,
}

/// Reader-and-article pairs remembered per day, at about 40 bytes each. A flood of distinct
/// addresses beyond this is not counted rather than allowed to grow memory without bound.
const MAX_TRACKED: usize = 2_000_000;

/// Shortest user agent taken for a browser's: every browser sends far more than `Mozilla/5.0`.
const MIN_BROWSER_AGENT_CHARS: usize = 24;

/// What one reader did with one article today.
#[derive(Debug, Clone, Copy)]
struct Seen {
    last_counted: i64,
    counted_today: u32,
}

/// Everything keyed by the daily salt; all of it is dropped when the UTC day changes, since the
/// new salt makes yesterday's keys unmatchable anyway.
struct Today {
    day: i64,
    salt: [u8; 32],
    /// Per (reader, article): when it was last counted, and how often today.
    seen: HashMap<([u8; 16], ArticleId), Seen>,
    /// Per reader: the hour (start, in seconds) and the views counted in it.
    hourly: HashMap<[u8; 16], (i64, u32)>,
    /// Whether the overflow of [`MAX_TRACKED`] was logged today.
    overflow_logged: bool,
}

pub struct ViewCounter {
    bots: isbot::Bots,
    /// Verdicts of the bot filter by user agent. Readers share a few hundred user agents, and the
    /// filter is a large regular expression, so remembering beats re-running it per view.
    bot_verdicts: Mutex<HashMap<String, bool>>,
    dedupe_window_secs: i64,
    per_article_per_day: u32,
    per_hour: u32,
    today: Mutex<Today>,
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

/// Whether a user agent looks like a browser's: the `Mozilla/` token every browser sends, a
/// plausible length (not cut at our limit), and not a known bot (checked separately).
pub fn plausible_browser_agent(user_agent: &str) -> bool {
    let chars = user_agent.chars().count();
    (MIN_BROWSER_AGENT_CHARS..crate::web::client::MAX_USER_AGENT_CHARS).contains(&chars)
        && user_agent.starts_with("Mozilla/")
        && !user_agent.chars().any(char::is_control)
}

/// The bytes that identify a reader: an IPv4 address, or an IPv6 /64 (one host picks any of its
/// 2^64 addresses at will).
fn reader_bytes(ip: IpAddr) -> [u8; 8] {
    match crate::web::client::canonical(ip) {
        IpAddr::V4(v4) => {
            let mut out = [0u8; 8];
            out[..4].copy_from_slice(&v4.octets());
            out[4] = 4;
            out
        }
        IpAddr::V6(v6) => {
            let mut out = [0u8; 8];
            out.copy_from_slice(&v6.octets()[..8]);
            out
        }
    }
}

impl ViewCounter {
    pub fn new(settings: &ViewSettings) -> Self {
        Self {
            bots: isbot::Bots::default(),
            bot_verdicts: Mutex::new(HashMap::new()),
            dedupe_window_secs: settings.dedupe_window_secs,
            per_article_per_day: settings.per_address_per_article_per_day,
            per_hour: settings.per_address_per_hour,
            today: Mutex::new(Today {
                day: i64::MIN,
                salt: [0; 32],
                seen: HashMap::new(),
                hourly: HashMap::new(),
                overflow_logged: false,
            }),
            pending: Mutex::new(HashMap::new()),
            flushed_totals: Mutex::new(HashMap::new()),
        }
    }

    /// Decides whether a beacon counts, and buffers it if so.
    pub fn record(&self, article_id: ArticleId, ip: IpAddr, user_agent: &str, now: DateTime<Utc>) -> ViewOutcome {
        if !plausible_browser_agent(user_agent) || self.is_bot(user_agent) {
            return ViewOutcome::Bot;
        }
        let now = now.timestamp();
        let outcome = self.admit(article_id, ip, now);
        if outcome == ViewOutcome::Counted {
            let hour = now - now.rem_euclid(3600);
            *lock(&self.pending).entry((article_id, hour)).or_default() += 1;
        }
        outcome
    }

    /// The dedupe window and the caps, in one step under one lock so parallel beacons from one
    /// address cannot slip past a cap together.
    fn admit(&self, article_id: ArticleId, ip: IpAddr, now: i64) -> ViewOutcome {
        let day = now.div_euclid(86_400);
        let hour = now - now.rem_euclid(3600);
        let mut today = lock(&self.today);
        if today.day != day {
            *today =
                Today { day, salt: fresh_salt(), seen: HashMap::new(), hourly: HashMap::new(), overflow_logged: false };
        }
        let mut reader = [0u8; 16];
        reader.copy_from_slice(&blake3::keyed_hash(&today.salt, &reader_bytes(ip)).as_bytes()[..16]);

        let seen = today.seen.get(&(reader, article_id)).copied();
        if let Some(seen) = seen {
            if now - seen.last_counted < self.dedupe_window_secs {
                return ViewOutcome::Repeat;
            }
            if self.per_article_per_day != 0 && seen.counted_today >= self.per_article_per_day {
                return ViewOutcome::Limited;
            }
        } else if today.seen.len() >= MAX_TRACKED {
            if !today.overflow_logged {
                today.overflow_logged = true;
                tracing::warn!(
                    tracked = MAX_TRACKED,
                    "too many distinct readers today; further new readers are not counted"
                );
            }
            return ViewOutcome::Limited;
        }
        let (reader_hour, in_hour) = today.hourly.get(&reader).copied().unwrap_or((hour, 0));
        let in_hour = if reader_hour == hour { in_hour } else { 0 };
        if self.per_hour != 0 && in_hour >= self.per_hour {
            return ViewOutcome::Limited;
        }
        today.hourly.insert(reader, (hour, in_hour + 1));
        let counted_today = seen.map_or(0, |s| s.counted_today) + 1;
        today.seen.insert((reader, article_id), Seen { last_counted: now, counted_today });
        ViewOutcome::Counted
    }

    /// Frees yesterday's readers once the day has turned, even if no beacon has come since.
    fn forget_yesterday(&self, now: i64) {
        let mut today = lock(&self.today);
        if today.day != now.div_euclid(86_400) {
            today.seen = HashMap::new();
            today.hourly = HashMap::new();
        }
    }

    fn is_bot(&self, user_agent: &str) -> bool {
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
        self.forget_yesterday(now.timestamp());
        let taken: HashMap<(ArticleId, i64), i64> = std::mem::take(&mut *lock(&self.pending));
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
        let counter = ViewCounter::new(&ViewSettings::default());
        let ip: IpAddr = [10, 0, 0, 1].into();
        let googlebot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";
        assert_eq!(counter.record(ArticleId(1), ip, googlebot, at(0)), ViewOutcome::Bot);
        assert_eq!(counter.record(ArticleId(1), ip, "", at(0)), ViewOutcome::Bot);
        for not_a_browser in ["x", "curl/8.5.0", "Mozilla/5.0", "python-requests/2.31", &"Mozilla/5.0 ".repeat(60)] {
            assert_eq!(counter.record(ArticleId(1), ip, not_a_browser, at(0)), ViewOutcome::Bot, "{not_a_browser}");
        }
        assert_eq!(counter.pending_total(), 0);
    }

    #[test]
    fn a_new_user_agent_is_not_a_new_reader() {
        let counter = ViewCounter::new(&ViewSettings::default());
        let ip: IpAddr = [10, 0, 0, 1].into();
        for n in 0..500 {
            let agent = format!("{BROWSER} Build/{n}");
            let outcome = counter.record(ArticleId(1), ip, &agent, at(n));
            assert_eq!(outcome, if n == 0 { ViewOutcome::Counted } else { ViewOutcome::Repeat });
        }
        assert_eq!(counter.pending_for(ArticleId(1)), 1);
    }

    #[test]
    fn one_ipv6_slash_64_is_one_reader() {
        let counter = ViewCounter::new(&ViewSettings::default());
        for n in 0..50u16 {
            let ip: IpAddr = std::net::Ipv6Addr::new(0x2001, 0xdb8, 1, 2, n, n, n, n).into();
            counter.record(ArticleId(1), ip, BROWSER, at(i64::from(n)));
        }
        let other: IpAddr = std::net::Ipv6Addr::new(0x2001, 0xdb8, 1, 3, 0, 0, 0, 1).into();
        assert_eq!(counter.record(ArticleId(1), other, BROWSER, at(60)), ViewOutcome::Counted);
        assert_eq!(counter.pending_for(ArticleId(1)), 2);
    }

    #[test]
    fn an_address_is_capped_per_article_per_day_and_per_hour() {
        let settings =
            ViewSettings { per_address_per_article_per_day: 3, per_address_per_hour: 10, ..Default::default() };
        let counter = ViewCounter::new(&settings);
        let ip: IpAddr = [10, 0, 0, 1].into();
        // Every 31 minutes, past the dedupe window, for ten hours: three count.
        let counted = (0..20)
            .filter(|n| counter.record(ArticleId(1), ip, BROWSER, at(n * 31 * 60)) == ViewOutcome::Counted)
            .count();
        assert_eq!(counted, 3);
        // Many articles within one hour: ten count.
        let hour = 11 * 3600;
        let counted = (100..200)
            .filter(|&id| counter.record(ArticleId(id), ip, BROWSER, at(hour + id)) == ViewOutcome::Counted)
            .count();
        assert_eq!(counted, 10);
        assert_eq!(counter.record(ArticleId(500), ip, BROWSER, at(hour + 3600)), ViewOutcome::Counted, "a new hour");
        let unlimited =
            ViewSettings { per_address_per_article_per_day: 0, per_address_per_hour: 0, ..Default::default() };
        let counter = ViewCounter::new(&unlimited);
        let counted = (0..20)
            .filter(|n| counter.record(ArticleId(1), ip, BROWSER, at(n * 31 * 60)) == ViewOutcome::Counted)
            .count();
        assert_eq!(counted, 20, "0 means no limit");
    }

    #[test]
    fn repeat_within_window_is_ignored_and_counted_again_after() {
        let counter = ViewCounter::new(&ViewSettings::default());
        let ip: IpAddr = [10, 0, 0, 1].into();
        assert_eq!(counter.record(ArticleId(1), ip, BROWSER, at(0)), ViewOutcome::Counted);
        assert_eq!(counter.record(ArticleId(1), ip, BROWSER, at(1799)), ViewOutcome::Repeat);
        assert_eq!(counter.record(ArticleId(2), ip, BROWSER, at(10)), ViewOutcome::Counted, "another article counts");
        let other_ip: IpAddr = [10, 0, 0, 2].into();
        assert_eq!(
            counter.record(ArticleId(1), other_ip, BROWSER, at(10)),
            ViewOutcome::Counted,
            "another visitor counts"
        );
        assert_eq!(counter.record(ArticleId(1), ip, BROWSER, at(1800)), ViewOutcome::Counted);
        assert_eq!(counter.pending_for(ArticleId(1)), 3);
    }
}
