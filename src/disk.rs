//! Free space where the site writes (the data directory, and the media folder if it is elsewhere),
//! and the watermark below which new writes are refused.
//!
//! Refusing writes a little before the disk is actually full keeps room for what must still
//! succeed (SQLite's WAL checkpoints, rolling back, the variants of images already accepted) and
//! turns a full disk into a clear "try again later" instead of failures in the middle of a write.
//! Reads never look at this.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::store::StoreError;

pub struct DiskGuard {
    paths: Vec<PathBuf>,
    min_free_bytes: AtomicU64,
    low: AtomicBool,
    free_bytes: AtomicU64,
}

/// What [`DiskGuard::status`] reports for `/readyz`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiskStatus {
    pub free_bytes: u64,
    pub min_free_bytes: u64,
    pub writes_refused: bool,
}

impl DiskGuard {
    /// Watches `paths` (folders that need not exist yet: the nearest existing parent is measured).
    /// A watermark of 0 turns the guard off.
    pub fn new(paths: Vec<PathBuf>, min_free_bytes: u64) -> Self {
        let guard = Self {
            paths,
            min_free_bytes: AtomicU64::new(min_free_bytes),
            low: AtomicBool::new(false),
            free_bytes: AtomicU64::new(u64::MAX),
        };
        guard.refresh();
        guard
    }

    /// Measures again. Cheap (one `statvfs` per folder), so it runs every second and after every
    /// write that failed for lack of space.
    pub fn refresh(&self) {
        let mut free = u64::MAX;
        for path in &self.paths {
            match available_bytes(path) {
                Ok(bytes) => free = free.min(bytes),
                Err(e) => tracing::warn!(path = %path.display(), error = %e, "cannot measure free space"),
            }
        }
        self.free_bytes.store(free, Ordering::Relaxed);
        let watermark = self.min_free_bytes.load(Ordering::Relaxed);
        let low = watermark > 0 && free < watermark;
        let was_low = self.low.swap(low, Ordering::Relaxed);
        if low && !was_low {
            tracing::error!(
                free_mib = free >> 20,
                watermark_mib = watermark >> 20,
                "free space is below the watermark: refusing new writes until there is room"
            );
        } else if was_low && !low {
            tracing::info!(free_mib = free >> 20, "free space is back above the watermark: accepting writes again");
        }
    }

    /// Changes the watermark (bytes; 0 turns the guard off) and measures again at once.
    pub fn set_watermark(&self, min_free_bytes: u64) {
        self.min_free_bytes.store(min_free_bytes, Ordering::Relaxed);
        self.refresh();
    }

    pub fn is_low(&self) -> bool {
        self.low.load(Ordering::Relaxed)
    }

    /// `Err(StorageFull)` while free space is below the watermark: call before a write.
    pub fn ensure_room(&self) -> Result<(), StoreError> {
        if self.is_low() {
            return Err(StoreError::StorageFull(format!(
                "less than {} MiB free for the data directory",
                self.min_free_bytes.load(Ordering::Relaxed) >> 20
            )));
        }
        Ok(())
    }

    pub fn status(&self) -> DiskStatus {
        DiskStatus {
            free_bytes: self.free_bytes.load(Ordering::Relaxed),
            min_free_bytes: self.min_free_bytes.load(Ordering::Relaxed),
            writes_refused: self.is_low(),
        }
    }
}

/// Bytes an unprivileged writer may still use on the file system holding `path` (or its nearest
/// existing parent).
fn available_bytes(path: &Path) -> std::io::Result<u64> {
    let mut probe = path;
    while !probe.exists() {
        match probe.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => probe = parent,
            _ => {
                probe = Path::new(".");
                break;
            }
        }
    }
    let stats = rustix::fs::statvfs(probe).map_err(std::io::Error::from)?;
    Ok(stats.f_bavail.saturating_mul(stats.f_frsize))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_watermark_above_the_free_space_refuses_writes() {
        let dir = tempfile::tempdir().expect("temp dir");
        let free = available_bytes(dir.path()).expect("statvfs");
        assert!(free > 0);

        let roomy = DiskGuard::new(vec![dir.path().to_owned()], 1);
        assert!(!roomy.is_low());
        assert!(roomy.ensure_room().is_ok());

        let cramped = DiskGuard::new(vec![dir.path().to_owned()], free.saturating_mul(2));
        assert!(cramped.is_low());
        assert!(matches!(cramped.ensure_room(), Err(StoreError::StorageFull(_))));
        assert!(cramped.status().writes_refused);

        let off = DiskGuard::new(vec![dir.path().to_owned()], 0);
        assert!(!off.is_low(), "a watermark of 0 turns the guard off");

        cramped.set_watermark(1);
        assert!(!cramped.is_low(), "writes resume as soon as the watermark is met again");
    }

    #[test]
    fn a_folder_that_does_not_exist_yet_is_measured_at_its_parent() {
        let dir = tempfile::tempdir().expect("temp dir");
        let later = dir.path().join("media").join("variants");
        assert!(available_bytes(&later).expect("statvfs of the parent") > 0);
    }
}
