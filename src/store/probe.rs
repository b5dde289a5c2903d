//! Start-up proof that the journal can be written, and a warning when space runs short.
//!
//! A data directory that can be read but not written (a read-only mount, a wrong owner)
//! still lets the open slide be replayed, so without this proof the daemon would say it
//! is ready and then refuse every count.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;

use super::error::StoreError;
use super::files::journal_dir;
use crate::sys::disk_space;

/// Below this much free space the daemon may fail to journal a count.
pub const DISK_FAIL_BYTES: u64 = 64 * 1024 * 1024;
/// Below this much free space the technician should be told soon.
pub const DISK_WARN_BYTES: u64 = 512 * 1024 * 1024;

/// Creates, writes, syncs and removes a small file in the journal folder of `data_dir`
/// (creating the folder), exactly what journaling a count needs.
pub fn prove_writable(data_dir: &Path) -> Result<(), StoreError> {
    let dir = journal_dir(data_dir);
    fs::create_dir_all(&dir).map_err(|e| StoreError::io("create", &dir, e))?;
    // Not a .jsonl name: a probe left behind by a power cut is never read as a journal.
    let probe = dir.join(format!(".write-probe-{}", std::process::id()));
    let written = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&probe)
        .and_then(|mut f| {
            f.write_all(b"hematovision start-up write test\n")?;
            f.sync_all()
        });
    let removed = fs::remove_file(&probe);
    written.map_err(|e| StoreError::io("write a test file in", &dir, e))?;
    match removed {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(StoreError::io("remove the test file", &probe, e)),
    }
}

/// A warning when the file system of `data_dir` has little space left (none when there
/// is enough, or when it cannot be measured: the write proof covers a dead disk).
pub fn low_space_warning(data_dir: &Path) -> Option<String> {
    let (available, total) = disk_space(data_dir).ok()?;
    assess_space(data_dir, available, total)
}

/// The low-space warning for `available` of `total` bytes, if space is short.
pub fn assess_space(data_dir: &Path, available: u64, total: u64) -> Option<String> {
    if available >= DISK_WARN_BYTES {
        return None;
    }
    let mib = |b: u64| b / (1024 * 1024);
    Some(format!(
        "only {} MiB free of {} MiB where the journal is written ({}): free space \
         (export the reports, then remove old crops from its crops/ folder) or use a larger \
         card before counting stops",
        mib(available),
        mib(total),
        data_dir.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_writable_directory_passes_and_keeps_no_probe() {
        let dir = tempfile::tempdir().unwrap();
        prove_writable(dir.path()).unwrap();
        let left: Vec<_> = fs::read_dir(dir.path().join("journal")).unwrap().collect();
        assert!(left.is_empty(), "{left:?}");
    }

    #[test]
    fn a_file_where_the_journal_folder_goes_fails() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("journal"), b"not a folder").unwrap();
        let err = prove_writable(dir.path()).unwrap_err().to_string();
        assert!(err.contains("journal"), "{err}");
    }

    #[test]
    fn low_space_is_named_with_the_fix() {
        let p = Path::new("/data");
        assert_eq!(assess_space(p, DISK_WARN_BYTES, 1 << 34), None);
        let w = assess_space(p, 10 << 20, 1 << 30).unwrap();
        assert!(w.contains("10 MiB free") && w.contains("/data"), "{w}");
    }
}
