//! Background jobs: the loops that run beside the HTTP listeners for as long as the site serves.
//! One file per job; each holds the loop, its timing and its retries, and calls domain code that
//! lives elsewhere (`newsroom::scheduler::run_due`, `views::ViewCounter::flush`, `media`'s
//! renderers, `ranking::related`). [`start`](crate::jobs::start) starts the long-running ones, [`Jobs::stop`](crate::jobs::Jobs::stop) stops
//! them at shutdown. Each logs inside a `background{job=…}` span.

pub mod change_listener;
pub mod disk_monitor;
pub mod media_variants;
pub mod related;
pub mod scheduler;
pub mod view_flusher;

use crate::web::AppState;

/// The running jobs.
pub struct Jobs {
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// Starts every long-running job: the view flusher, the scheduler, the listener for other nodes'
/// changes (PostgreSQL only), the media variant worker and the free-space monitor.
pub fn start(state: &AppState) -> Jobs {
    let mut tasks = vec![view_flusher::spawn(state.clone()), scheduler::spawn(state.clone())];
    tasks.extend(change_listener::spawn(state));
    tasks.push(media_variants::spawn(state.clone()));
    tasks.push(disk_monitor::spawn(state));
    Jobs { tasks }
}

impl Jobs {
    /// Stops every job where it is. Their work is written as it goes (views excepted: see
    /// [`view_flusher::flush_remaining`]), and what a stopped job left undone is found again at
    /// the next start.
    pub fn stop(self) {
        for task in self.tasks {
            task.abort();
        }
    }
}
