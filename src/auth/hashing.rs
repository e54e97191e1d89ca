//! A bounded place to run password hashing. Each Argon2 check needs 19 MiB and tens of milliseconds
//! of a core; run one per request and 250 parallel sign-ins take gigabytes and every core, and the
//! rest of the site stalls. Here at most `slots` run at once, each on the blocking pool with a 19 MiB
//! buffer that is kept and reused, so hashing never holds more than `slots` × 19 MiB. A caller that
//! cannot get a slot within `wait` is told the server is busy instead of queueing without end.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use argon2::Block;
use tokio::sync::Semaphore;

use super::AuthError;
use super::password::{MEMORY_KIB, NewPassword, burn_verify_time_in, hash_password_in, verify_password_in};

/// Why a hashing request did not produce an answer.
#[derive(Debug, thiserror::Error)]
pub enum HashingError {
    /// Every slot stayed taken for the whole wait. Nothing was checked; the caller should answer
    /// "busy, try again shortly" and must not count this as a failed attempt.
    #[error("every password-hashing slot is busy")]
    Busy,
    #[error(transparent)]
    Failed(#[from] AuthError),
}

/// How many computations may run at once: one per core (more cannot finish sooner, they only share
/// the cores), and no more than the memory budget holds; never fewer than one.
pub fn slots_for(cores: usize, memory_budget_mib: u64) -> usize {
    let per_slot_mib = u64::from(MEMORY_KIB).div_ceil(1024);
    let by_memory = usize::try_from(memory_budget_mib / per_slot_mib).unwrap_or(usize::MAX);
    cores.min(by_memory).max(1)
}

/// The working buffers of idle slots, one per slot that has run.
type Buffers = Arc<Mutex<Vec<Vec<Block>>>>;

fn lock(buffers: &Buffers) -> MutexGuard<'_, Vec<Vec<Block>>> {
    // A panic while holding the lock cannot leave the list half-changed (push and pop are whole).
    buffers.lock().unwrap_or_else(PoisonError::into_inner)
}

pub struct PasswordHashing {
    permits: Arc<Semaphore>,
    buffers: Buffers,
    slots: usize,
    wait: Duration,
}

impl PasswordHashing {
    /// Sized to this machine's cores and `memory_budget_mib`.
    pub fn new(memory_budget_mib: u64, wait: Duration) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
        Self::with_slots(slots_for(cores, memory_budget_mib), wait)
    }

    pub fn with_slots(slots: usize, wait: Duration) -> Self {
        let slots = slots.max(1);
        Self { permits: Arc::new(Semaphore::new(slots)), buffers: Arc::default(), slots, wait }
    }

    /// How many computations may run at once.
    pub fn slots(&self) -> usize {
        self.slots
    }

    /// Runs `work` on the blocking pool once a slot is free, with a reusable working buffer.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static,
    ) -> Result<T, HashingError> {
        let permit = tokio::time::timeout(self.wait, Arc::clone(&self.permits).acquire_owned())
            .await
            .map_err(|_| HashingError::Busy)?
            .map_err(|_| HashingError::Busy)?;
        let buffers = Arc::clone(&self.buffers);
        // The permit moves into the task: if the request is dropped (the client went away), the
        // computation still finishes holding its slot, so the bound holds however requests end.
        let task = tokio::task::spawn_blocking(move || {
            let _slot = permit;
            let mut memory = lock(&buffers).pop().unwrap_or_default();
            let result = work(&mut memory);
            lock(&buffers).push(memory);
            result
        });
        task.await.map_err(|e| HashingError::Failed(AuthError::Hashing(e.to_string())))
    }

    /// Whether `password` matches the stored PHC string (see [`super::verify_password`]).
    pub async fn verify(&self, password: String, phc: String) -> Result<bool, HashingError> {
        self.run(move |memory| !phc.is_empty() && verify_password_in(&password, &phc, memory)).await
    }

    /// One verification's worth of time for an account that does not exist.
    pub async fn burn(&self) -> Result<(), HashingError> {
        self.run(burn_verify_time_in).await
    }

    /// A PHC string for a new password.
    pub async fn hash(&self, password: NewPassword) -> Result<String, HashingError> {
        self.run(move |memory| hash_password_in(password.as_str(), memory)).await?.map_err(HashingError::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_follow_cores_and_memory() {
        assert_eq!(slots_for(2, 64), 2);
        assert_eq!(slots_for(16, 64), 3, "64 MiB hold three 19 MiB computations");
        assert_eq!(slots_for(16, 19), 1);
        assert_eq!(slots_for(4, 0), 1, "never none: sign-in must stay possible");
        assert_eq!(slots_for(0, 64), 1);
    }

    #[tokio::test]
    async fn busy_when_no_slot_frees_up_in_time() {
        let hashing = PasswordHashing::with_slots(1, Duration::from_millis(50));
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let holder = {
            let permits = Arc::clone(&hashing.permits);
            let permit = permits.acquire_owned().await.expect("permit");
            tokio::task::spawn_blocking(move || {
                let _held = permit;
                wait.recv().ok();
            })
        };
        assert!(matches!(hashing.burn().await, Err(HashingError::Busy)));
        release.send(()).expect("holder waits");
        holder.await.expect("holder ends");
        hashing.burn().await.expect("a free slot is used");
    }

    #[tokio::test]
    async fn parallel_checks_answer_right_and_keep_one_buffer_per_slot() {
        let hashing = Arc::new(PasswordHashing::with_slots(2, Duration::from_secs(60)));
        let phc = super::super::hash_password("correct horse battery staple").expect("hashes");
        let checks = (0..6).map(|i| {
            let hashing = Arc::clone(&hashing);
            let phc = phc.clone();
            let password = if i % 2 == 0 { "correct horse battery staple" } else { "wrong" };
            tokio::spawn(async move { hashing.verify(password.to_owned(), phc).await.expect("checked") })
        });
        let answers: Vec<bool> = futures_answers(checks).await;
        assert_eq!(answers, [true, false, true, false, true, false]);
        assert!(lock(&hashing.buffers).len() <= 2, "one buffer per slot at most");
        assert_eq!(hashing.permits.available_permits(), 2);
    }

    async fn futures_answers(tasks: impl Iterator<Item = tokio::task::JoinHandle<bool>>) -> Vec<bool> {
        let mut answers = Vec::new();
        for task in tasks.collect::<Vec<_>>() {
            answers.push(task.await.expect("task"));
        }
        answers
    }
}
