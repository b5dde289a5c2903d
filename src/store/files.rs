//! Where the journal's files are, and how they are opened: never through a symbolic link,
//! never anything but a regular file, with directory entries made durable.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::count::validate_session_id;

use super::error::StoreError;

/// The folder of journal files inside a data directory.
pub(super) fn journal_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("journal")
}

/// The journal file of one session; the id is checked first, so it never leaves the folder.
pub(super) fn session_file(data_dir: &Path, session: &str) -> Result<PathBuf, StoreError> {
    validate_session_id(session)?;
    Ok(journal_dir(data_dir).join(format!("{session}.jsonl")))
}

/// Opens a journal file for reading without following a symbolic link (and without
/// blocking on a FIFO), and checks that it is a regular file.
pub(super) fn open_regular(path: &Path) -> Result<File, StoreError> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| not_a_file_or(path, "open", e))?;
    check_regular(&file, path)?;
    Ok(file)
}

pub(super) fn check_regular(file: &File, path: &Path) -> Result<(), StoreError> {
    let meta = file
        .metadata()
        .map_err(|e| StoreError::io("stat", path, e))?;
    if meta.is_file() {
        Ok(())
    } else {
        Err(StoreError::NotAFile {
            path: path.to_path_buf(),
        })
    }
}

/// O_NOFOLLOW on a symbolic link fails with ELOOP: report that as what it is.
pub(super) fn not_a_file_or(path: &Path, action: &'static str, e: std::io::Error) -> StoreError {
    if e.raw_os_error() == Some(libc::ELOOP) {
        StoreError::NotAFile {
            path: path.to_path_buf(),
        }
    } else {
        StoreError::io(action, path, e)
    }
}

/// Makes a new or removed file's directory entry durable.
pub(super) fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| StoreError::io("sync", dir, e))
}
