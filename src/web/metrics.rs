//! Request metrics kept in plain atomics: counts by route and status, a latency histogram per route
//! with fixed buckets, and page-cache lookups. Recording costs a map read under a shared lock and a
//! few atomic adds, so it can sit on the cache-hit path (tens of thousands of requests a second on
//! two cores); memory stays fixed however long nobody scrapes. Rendered in Prometheus text format.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 13] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

#[derive(Default)]
struct RouteStats {
    /// Requests by status code (index = code - 100; codes outside 100..600 are counted as 599).
    by_status: Vec<AtomicU64>,
    /// Cumulative-free bucket counts; the last slot is +Inf.
    buckets: [AtomicU64; BUCKETS.len() + 1],
    sum_micros: AtomicU64,
    count: AtomicU64,
}

impl RouteStats {
    fn new() -> Self {
        Self { by_status: (100..600).map(|_| AtomicU64::new(0)).collect(), ..Self::default() }
    }
}

#[derive(Default)]
pub struct Metrics {
    routes: RwLock<HashMap<Arc<str>, Arc<RouteStats>>>,
    cache_hit: AtomicU64,
    cache_stale: AtomicU64,
    cache_miss: AtomicU64,
    /// Hits answered at the door, before the router (`web::door`); counted among the hits too.
    door_answers: AtomicU64,
}

#[derive(Debug, Clone, Copy)]
pub enum CacheOutcome {
    Hit,
    Stale,
    Miss,
}

impl Metrics {
    fn route(&self, route: &str) -> Arc<RouteStats> {
        if let Some(stats) = self.routes.read().unwrap_or_else(std::sync::PoisonError::into_inner).get(route) {
            return Arc::clone(stats);
        }
        let mut routes = self.routes.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        Arc::clone(routes.entry(Arc::from(route)).or_insert_with(|| Arc::new(RouteStats::new())))
    }

    pub fn record_request(&self, route: &str, status: u16, took: Duration) {
        let stats = self.route(route);
        let index = usize::from(status.clamp(100, 599) - 100);
        stats.by_status[index].fetch_add(1, Ordering::Relaxed);
        let seconds = took.as_secs_f64();
        let bucket = BUCKETS.iter().position(|bound| seconds <= *bound).unwrap_or(BUCKETS.len());
        stats.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        stats.sum_micros.fetch_add(took.as_micros().min(u128::from(u64::MAX)) as u64, Ordering::Relaxed);
        stats.count.fetch_add(1, Ordering::Relaxed);
    }

    pub fn record_cache(&self, outcome: CacheOutcome) {
        let counter = match outcome {
            CacheOutcome::Hit => &self.cache_hit,
            CacheOutcome::Stale => &self.cache_stale,
            CacheOutcome::Miss => &self.cache_miss,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// A cache hit answered at the door (`web::door`).
    pub fn record_door_answer(&self) {
        self.cache_hit.fetch_add(1, Ordering::Relaxed);
        self.door_answers.fetch_add(1, Ordering::Relaxed);
    }

    /// The Prometheus text exposition, with the given counters and gauges (name, help, value),
    /// read elsewhere at scrape time, appended.
    pub fn render(&self, counters: &[(&str, &str, f64)], gauges: &[(&str, &str, f64)]) -> String {
        let mut out = String::new();
        let routes: Vec<(Arc<str>, Arc<RouteStats>)> = {
            let map = self.routes.read().unwrap_or_else(std::sync::PoisonError::into_inner);
            let mut routes: Vec<_> = map.iter().map(|(k, v)| (Arc::clone(k), Arc::clone(v))).collect();
            routes.sort_by(|a, b| a.0.cmp(&b.0));
            routes
        };
        out.push_str("# HELP broadsheet_http_requests_total HTTP requests by route pattern and status.\n");
        out.push_str("# TYPE broadsheet_http_requests_total counter\n");
        for (route, stats) in &routes {
            for (index, count) in stats.by_status.iter().enumerate() {
                let count = count.load(Ordering::Relaxed);
                if count > 0 {
                    let status = index + 100;
                    let _ = writeln!(
                        out,
                        "broadsheet_http_requests_total{{route=\"{}\",status=\"{status}\"}} {count}",
                        escape(route)
                    );
                }
            }
        }
        out.push_str("# HELP broadsheet_http_request_duration_seconds Time to answer, by route pattern.\n");
        out.push_str("# TYPE broadsheet_http_request_duration_seconds histogram\n");
        for (route, stats) in &routes {
            let route = escape(route);
            let mut cumulative = 0;
            for (i, bound) in BUCKETS.iter().enumerate() {
                cumulative += stats.buckets[i].load(Ordering::Relaxed);
                let _ = writeln!(
                    out,
                    "broadsheet_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {cumulative}"
                );
            }
            cumulative += stats.buckets[BUCKETS.len()].load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "broadsheet_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {cumulative}"
            );
            let sum = stats.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
            let _ = writeln!(out, "broadsheet_http_request_duration_seconds_sum{{route=\"{route}\"}} {sum}");
            let _ = writeln!(
                out,
                "broadsheet_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                stats.count.load(Ordering::Relaxed)
            );
        }
        out.push_str("# HELP broadsheet_page_cache_lookups_total Page-cache lookups by outcome.\n");
        out.push_str("# TYPE broadsheet_page_cache_lookups_total counter\n");
        for (name, counter) in [("hit", &self.cache_hit), ("stale", &self.cache_stale), ("miss", &self.cache_miss)] {
            let _ = writeln!(
                out,
                "broadsheet_page_cache_lookups_total{{outcome=\"{name}\"}} {}",
                counter.load(Ordering::Relaxed)
            );
        }
        out.push_str(
            "# HELP broadsheet_page_cache_door_answers_total Page-cache hits answered before the router (also counted as hits).\n",
        );
        out.push_str("# TYPE broadsheet_page_cache_door_answers_total counter\n");
        let _ = writeln!(out, "broadsheet_page_cache_door_answers_total {}", self.door_answers.load(Ordering::Relaxed));
        for (kind, values) in [("counter", counters), ("gauge", gauges)] {
            for (name, help, value) in values {
                let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}");
            }
        }
        out
    }
}

/// Label values are route patterns from our own router; escape what the format requires anyway.
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_counted_by_route_status_and_bucket() {
        let metrics = Metrics::default();
        metrics.record_request("/{section}/{slug}", 200, Duration::from_micros(300));
        metrics.record_request("/{section}/{slug}", 200, Duration::from_millis(3));
        metrics.record_request("/{section}/{slug}", 404, Duration::from_secs(9));
        metrics.record_cache(CacheOutcome::Hit);
        let text = metrics.render(
            &[("broadsheet_x_total", "Things done.", 3.0)],
            &[("broadsheet_views_buffered", "Views not yet written.", 7.0)],
        );
        assert!(text.contains("broadsheet_http_requests_total{route=\"/{section}/{slug}\",status=\"200\"} 2\n"));
        assert!(text.contains("broadsheet_http_requests_total{route=\"/{section}/{slug}\",status=\"404\"} 1\n"));
        assert!(text.contains("_bucket{route=\"/{section}/{slug}\",le=\"0.0005\"} 1\n"));
        assert!(text.contains("_bucket{route=\"/{section}/{slug}\",le=\"0.005\"} 2\n"));
        assert!(text.contains("_bucket{route=\"/{section}/{slug}\",le=\"5\"} 2\n"));
        assert!(text.contains("_bucket{route=\"/{section}/{slug}\",le=\"+Inf\"} 3\n"));
        assert!(text.contains("_count{route=\"/{section}/{slug}\"} 3\n"));
        assert!(text.contains("broadsheet_page_cache_lookups_total{outcome=\"hit\"} 1\n"));
        assert!(text.contains("# TYPE broadsheet_views_buffered gauge\nbroadsheet_views_buffered 7\n"));
        assert!(text.contains("# TYPE broadsheet_x_total counter\nbroadsheet_x_total 3\n"));
    }
}
