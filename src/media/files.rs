//! Writing media files so that a reader or a crash never sees half of one, and clearing away the
//! half-written `.part` files a crash leaves behind.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

/// A `.part` file older than this is left over from a crash: writing one image file takes seconds.
/// Younger ones are left alone, because the media folder may be shared by several nodes and another
/// one may be writing it right now.
pub const PARTIAL_FILE_MAX_AGE: Duration = Duration::from_secs(10 * 60);

/// Writes `bytes` to `dir/name` through a temporary `.part` file in the same folder (fsync, then
/// rename, which is atomic within one folder). On any error, the disk being full included, the
/// `.part` file is removed and nothing is left at `name` that was not there before. The rename is
/// durable once the folder is synced too: see [`sync_dir`].
pub fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let part = dir.join(format!(".{name}.{}-{}.part", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed)));
    let result = (|| -> io::Result<()> {
        let mut file = OpenOptions::new().write(true).create_new(true).open(&part)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&part, dir.join(name))
    })();
    if result.is_err() {
        // Ignoring a failure here is right: the file may never have been created, and the sweep at
        // the next start removes whatever is left.
        let _ = fs::remove_file(&part);
    }
    result
}

pub fn sync_dir(dir: &Path) -> io::Result<()> {
    // Only Unix can open a directory to sync it; elsewhere the rename is as durable as it gets.
    if cfg!(unix) { File::open(dir)?.sync_all() } else { Ok(()) }
}

/// Whether a file name is one of ours in the making: `.part`, or `.tmp` as earlier versions named
/// the resized copies' temporary files.
fn is_partial(name: &str) -> bool {
    name.starts_with('.') && (name.ends_with(".part") || name.ends_with(".tmp"))
}

/// Removes `.part` files in `dir` last modified more than `max_age` before `now`; returns how many.
/// A missing folder has nothing to clean.
pub fn sweep_partial_files(dir: &Path, max_age: Duration, now: SystemTime) -> io::Result<usize> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let mut removed = 0;
    for entry in entries {
        let entry = entry?;
        if !entry.file_name().to_str().is_some_and(is_partial) {
            continue;
        }
        let metadata = entry.metadata()?;
        let age = metadata.modified().ok().and_then(|at| now.duration_since(at).ok()).unwrap_or_default();
        if metadata.is_file() && age > max_age {
            match fs::remove_file(entry.path()) {
                Ok(()) => removed += 1,
                // Another node swept it first.
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn stale_part_files_are_swept_and_everything_else_is_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let hour_ago = SystemTime::now() - Duration::from_secs(3600);
        let touch = |name: &str, modified: SystemTime| {
            let file = File::create(dir.path().join(name)).expect("create");
            file.set_modified(modified).expect("set mtime");
        };
        touch(".abc-640w.webp.123-0.part", hour_ago);
        touch(".abc-card.jpg.77-3.tmp", hour_ago);
        touch(".abc-320w.webp.123-1.part", SystemTime::now());
        touch("abc-640w.webp", hour_ago);
        touch("notes.part", hour_ago);

        let removed = sweep_partial_files(dir.path(), PARTIAL_FILE_MAX_AGE, SystemTime::now()).expect("sweep");
        assert_eq!(removed, 2);
        // A fresh .part may be another node's write in progress; finished files are never touched.
        assert_eq!(names(dir.path()), [".abc-320w.webp.123-1.part", "abc-640w.webp", "notes.part"]);
        assert_eq!(
            sweep_partial_files(&dir.path().join("missing"), PARTIAL_FILE_MAX_AGE, SystemTime::now()).ok(),
            Some(0)
        );
    }

    #[test]
    fn a_failed_write_leaves_no_part_file_and_nothing_at_the_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        // A folder where the file should go makes the rename fail after the data was written, the
        // last moment a write can fail, as a full disk can at fsync.
        fs::create_dir(dir.path().join("abc.jpg")).expect("obstacle");
        let err = write_atomic(dir.path(), "abc.jpg", b"picture").expect_err("rename onto a folder fails");
        assert_ne!(err.kind(), io::ErrorKind::NotFound, "{err}");
        assert_eq!(names(dir.path()), ["abc.jpg"]);
        fs::remove_dir(dir.path().join("abc.jpg")).expect("remove obstacle");
        write_atomic(dir.path(), "abc.jpg", b"picture").expect("written");
        assert_eq!(fs::read(dir.path().join("abc.jpg")).expect("read"), b"picture");
        assert_eq!(names(dir.path()), ["abc.jpg"]);
    }
}
