//! How much image work runs at once, and stopping work nobody waits for any more.
//!
//! A decoded picture is far larger than its file: a 116 KB PNG can declare 6300 x 6300 pixels and
//! decode to 119 MB. Sixteen such uploads decoded side by side took a server to 2.1 GB. Every decode
//! (an upload being checked, or the worker making variants) therefore first takes a share of one
//! memory budget sized to what the picture will need, and one of a few slots sized to the cores. What
//! does not fit waits; what can never fit is refused before any pixel is decoded.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::MediaError;

const MIB: u64 = 1024 * 1024;

/// The shared budget. Cheap to clone; all clones share it.
#[derive(Debug, Clone)]
pub struct DecodeBudget {
    /// One permit per MiB of the budget.
    memory: Arc<Semaphore>,
    /// One permit per decode allowed to run at the same time.
    slots: Arc<Semaphore>,
    total_mib: u32,
}

/// Held for as long as a decode and what follows it (re-encoding, resizing) runs; dropping it gives
/// the memory and the slot back. Move it into the blocking task, so it is released when the work
/// really ends, not when the request that asked for it goes away.
#[derive(Debug)]
pub struct DecodePermit {
    _slot: OwnedSemaphorePermit,
    _memory: OwnedSemaphorePermit,
}

impl DecodeBudget {
    /// `parallel` decodes at most at once (at least one), using at most `budget_bytes` between them.
    pub fn new(budget_bytes: u64, parallel: usize) -> Self {
        let total_mib = u32::try_from(budget_bytes / MIB).unwrap_or(u32::MAX).max(1);
        Self {
            memory: Arc::new(Semaphore::new(total_mib as usize)),
            slots: Arc::new(Semaphore::new(parallel.max(1))),
            total_mib,
        }
    }

    pub fn total_bytes(&self) -> u64 {
        u64::from(self.total_mib) * MIB
    }

    /// Waits until `bytes` of the budget and a slot are free. Work larger than the whole budget is
    /// refused at once: waiting would never help. Waiters are served in order, so a large picture
    /// is not starved by a stream of small ones.
    pub async fn acquire(&self, bytes: u64, width: u32, height: u32) -> Result<DecodePermit, MediaError> {
        let mib = bytes.div_ceil(MIB).max(1);
        if mib > u64::from(self.total_mib) {
            return Err(MediaError::TooMuchMemory { width, height, needed: bytes, budget: self.total_bytes() });
        }
        // Slot first, then memory, in every caller: the same order everywhere cannot deadlock.
        let closed = |_| MediaError::Io(std::io::Error::other("the decode budget was closed"));
        let slot = self.slots.clone().acquire_owned().await.map_err(closed)?;
        // `mib` is at most `total_mib`, a u32.
        let memory = self.memory.clone().acquire_many_owned(mib as u32).await.map_err(closed)?;
        Ok(DecodePermit { _slot: slot, _memory: memory })
    }
}

/// Set when the work is no longer wanted; the work checks it between stages and stops.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// `Err(Cancelled)` once cancelled, for `?` between stages.
    pub fn check(&self) -> Result<(), MediaError> {
        if self.is_cancelled() { Err(MediaError::Cancelled) } else { Ok(()) }
    }
}

/// Cancels its token when dropped. Held by the async side (a request handler, the worker loop): when
/// a timeout drops the request, or shutdown aborts the worker, the blocking work it started hears so.
#[derive(Debug, Default)]
pub struct CancelOnDrop(Cancel);

impl CancelOnDrop {
    pub fn token(&self) -> Cancel {
        self.0.clone()
    }
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn work_waits_for_memory_and_slots_and_too_much_is_refused() {
        let budget = DecodeBudget::new(100 * MIB, 2);
        let first = budget.acquire(60 * MIB, 1, 1).await.expect("fits");
        // 60 + 60 > 100: the second waits until the first is done.
        let waiting = tokio::time::timeout(Duration::from_millis(50), budget.acquire(60 * MIB, 1, 1)).await;
        assert!(waiting.is_err(), "the second decode must wait");
        let small = budget.acquire(30 * MIB, 1, 1).await.expect("30 more fits");
        // Both slots are taken, so even a tiny decode waits.
        assert!(tokio::time::timeout(Duration::from_millis(50), budget.acquire(1, 1, 1)).await.is_err());
        drop(first);
        drop(small);
        let second = tokio::time::timeout(Duration::from_secs(1), budget.acquire(60 * MIB, 1, 1)).await;
        assert!(matches!(second, Ok(Ok(_))), "freed memory is reused");

        let err = budget.acquire(101 * MIB, 7000, 7000).await.expect_err("can never fit");
        assert!(
            matches!(err, MediaError::TooMuchMemory { width: 7000, height: 7000, budget, .. } if budget == 100 * MIB),
            "{err:?}"
        );
    }

    #[test]
    fn dropping_the_guard_cancels_the_token() {
        let guard = CancelOnDrop::default();
        let token = guard.token();
        assert!(token.check().is_ok());
        drop(guard);
        assert!(token.is_cancelled());
        assert!(matches!(token.check(), Err(MediaError::Cancelled)));
    }
}
