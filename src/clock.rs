//! The application's clock. Everything that stamps or compares wall-clock time in requests and
//! background jobs asks the [`Clock`] in the application state instead of the system, so a test
//! can move the site's time forward (an embargo lifting, a session ageing, a later edit) without
//! sleeping. In production it is the system clock: the offset stays zero.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Duration, Utc};

/// The system time plus an offset that only tests change. Clones share the offset.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset_micros: Arc<AtomicI64>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self::default()
    }

    pub fn now(&self) -> DateTime<Utc> {
        let offset = self.offset_micros.load(Ordering::Relaxed);
        if offset == 0 {
            return Utc::now();
        }
        Utc::now().checked_add_signed(Duration::microseconds(offset)).unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    /// Moves this clock (and every clone of it) forward by `by`; time goes on from there.
    pub fn advance(&self, by: Duration) {
        let step = by.num_microseconds().unwrap_or(i64::MAX);
        let _ = self.offset_micros.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |o| Some(o.saturating_add(step)));
    }

    /// Sets this clock (and every clone of it) so that it reads `at` now; time goes on from there.
    pub fn set(&self, at: DateTime<Utc>) {
        let offset = (at - Utc::now()).num_microseconds().unwrap_or(i64::MAX);
        self.offset_micros.store(offset, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_system_clock_reads_the_system_time() {
        let before = Utc::now();
        let read = Clock::system().now();
        assert!(before <= read && read <= Utc::now());
    }

    #[test]
    fn an_advanced_clock_is_ahead_by_the_step_and_its_clones_follow() {
        let clock = Clock::system();
        let shared = clock.clone();
        clock.advance(Duration::hours(3));
        let ahead = shared.now() - Utc::now();
        assert!(ahead > Duration::minutes(179) && ahead <= Duration::hours(3), "{ahead}");
    }

    #[test]
    fn a_set_clock_reads_the_time_it_was_set_to_and_goes_on() {
        let clock = Clock::system();
        let at = Utc::now() + Duration::days(400);
        clock.set(at);
        let read = clock.now();
        assert!(read >= at && read - at < Duration::seconds(5), "{read} vs {at}");
        clock.set(at - Duration::days(800));
        assert!(clock.now() < Utc::now(), "a clock can be set into the past");
    }
}
