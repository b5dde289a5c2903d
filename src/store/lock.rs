//! One writer per data directory.
//!
//! The daemon holds an exclusive lock on `<data dir>/hematovision.lock` for as long as it
//! runs; a standalone review station takes the same lock only for each write and, when the
//! daemon holds it, refuses the write (it stays a reader). So two processes never append
//! to one journal at once, whichever starts first. The lock is the kernel's (`flock`): it
//! goes away with the process, even after a crash or a SIGKILL, so it can never go stale.

use std::fs::{File, OpenOptions, TryLockError};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::error::StoreError;

/// Name of the lock file inside the data directory.
pub const LOCK_FILE: &str = "hematovision.lock";

/// How often a waiting writer tries the lock again.
const RETRY: Duration = Duration::from_millis(50);

/// The right to write a data directory's journal, held until dropped.
#[derive(Debug)]
pub struct DataDirLock {
    /// Kept open: closing it releases the lock.
    _file: File,
}

impl DataDirLock {
    /// Takes the lock if nobody holds it: `Ok(None)` when another process (or another
    /// holder in this one) has it.
    pub fn try_acquire(data_dir: &Path) -> Result<Option<DataDirLock>, StoreError> {
        let path = lock_path(data_dir);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o640)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(&path)
            .map_err(|e| StoreError::io("open the lock file", &path, e))?;
        match file.try_lock() {
            Ok(()) => Ok(Some(DataDirLock { _file: file })),
            Err(TryLockError::WouldBlock) => Ok(None),
            Err(TryLockError::Error(e)) => Err(StoreError::io("lock", &path, e)),
        }
    }

    /// Takes the lock, waiting at most `wait` for its holder to let go (a station's write
    /// takes milliseconds); [`StoreError::Busy`] after that.
    pub fn acquire_within(data_dir: &Path, wait: Duration) -> Result<DataDirLock, StoreError> {
        let deadline = Instant::now() + wait;
        loop {
            if let Some(lock) = Self::try_acquire(data_dir)? {
                return Ok(lock);
            }
            if Instant::now() >= deadline {
                return Err(StoreError::Busy {
                    path: data_dir.to_path_buf(),
                });
            }
            std::thread::sleep(RETRY);
        }
    }
}

/// The lock file of `data_dir`.
pub fn lock_path(data_dir: &Path) -> PathBuf {
    data_dir.join(LOCK_FILE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_at_a_time_and_free_again_once_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let first = DataDirLock::try_acquire(dir.path()).unwrap().unwrap();
        assert!(DataDirLock::try_acquire(dir.path()).unwrap().is_none());
        let busy = DataDirLock::acquire_within(dir.path(), Duration::from_millis(120));
        assert!(matches!(busy, Err(StoreError::Busy { .. })), "{busy:?}");
        drop(first);
        assert!(DataDirLock::try_acquire(dir.path()).unwrap().is_some());
    }

    #[test]
    fn a_missing_data_directory_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let e = DataDirLock::try_acquire(&dir.path().join("absent")).unwrap_err();
        assert!(e.to_string().contains("hematovision.lock"), "{e}");
    }
}
