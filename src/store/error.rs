//! The store's one error type, shared by writing and reading the journal.

use std::path::{Path, PathBuf};

use crate::count::{BadSessionId, CountError};

use super::append::AppendFailure;

/// Errors of the journal.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file or folder could not be created, read or written.
    #[error(
        "{action} {path}: {source} (check that the data directory exists and the daemon's user may write to it)"
    )]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// An append failed and was undone: the file is exactly as before, the event is not
    /// in the journal.
    #[error(
        "{stage} {path}: {source}; the event was not journaled and the file was cut back to its last complete line ({good_len} bytes) ({hint})"
    )]
    AppendFailed {
        /// `write` or `sync`.
        stage: &'static str,
        /// The journal file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
        /// Length of the file, which holds only complete lines.
        good_len: u64,
        /// What to do about it.
        hint: &'static str,
    },
    /// An append failed and could not be undone either; the next append tries again to
    /// cut the file back, and recovery at the next start drops the fragment.
    #[error(
        "{stage} {path}: {source}; cutting the file back to {good_len} bytes failed too ({rollback}); the event was not journaled ({hint})"
    )]
    AppendNotUndone {
        /// `write` or `sync`.
        stage: &'static str,
        /// The journal file.
        path: PathBuf,
        /// The operating system's error of the append.
        source: std::io::Error,
        /// The operating system's error of the cut back.
        rollback: std::io::Error,
        /// Length the file should have.
        good_len: u64,
        /// What to do about it.
        hint: &'static str,
    },
    /// A journal file does not end with a complete line, so appending would merge two
    /// events into one unreadable line.
    #[error(
        "{path} ends with an incomplete line: nothing is appended to it (restart the daemon: recovery cuts the fragment off and keeps every complete line)"
    )]
    TornTail {
        /// The journal file.
        path: PathBuf,
    },
    /// A journal path is not a regular file (a symbolic link, a folder, a device).
    #[error(
        "{path} is not a regular file: the journal neither reads nor writes through it (move it out of the journal folder)"
    )]
    NotAFile {
        /// The path.
        path: PathBuf,
    },
    /// A session id that cannot name a file.
    #[error(transparent)]
    BadSessionId(#[from] BadSessionId),
    /// The event would be refused on replay, so it is not journaled.
    #[error("event not journaled: {0}")]
    Refused(#[from] CountError),
    /// An event could not be encoded.
    #[error("cannot encode event: {0}")]
    Encode(#[from] serde_json::Error),
    /// Another process (a running daemon, or a station writing) holds the data directory.
    #[error(
        "another hematovision process is writing to {path} (the daemon counting there, or a review station saving a change): one writer at a time keeps the journal whole; review in the daemon's own station (station.enabled) or stop the daemon first"
    )]
    Busy {
        /// The data directory.
        path: PathBuf,
    },
    /// A session that is not in the journal was asked for.
    #[error("no session {0} in the journal (hematovision report --list shows the sessions)")]
    NoSuchSession(String),
}

impl StoreError {
    pub(super) fn io(action: &'static str, path: &Path, source: std::io::Error) -> Self {
        StoreError::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }

    pub(super) fn append(failure: AppendFailure, path: &Path, good_len: u64) -> Self {
        let hint = if failure.source.raw_os_error() == Some(libc::ENOSPC)
            || failure.source.raw_os_error() == Some(libc::EDQUOT)
        {
            "the data directory's disk is full: free space (old crops, logs) and count the cell again"
        } else {
            "check the storage device (hematovision doctor) and count the cell again"
        };
        let path = path.to_path_buf();
        match failure.rollback {
            None => StoreError::AppendFailed {
                stage: failure.stage,
                path,
                source: failure.source,
                good_len,
                hint,
            },
            Some(rollback) => StoreError::AppendNotUndone {
                stage: failure.stage,
                path,
                source: failure.source,
                rollback,
                good_len,
                hint,
            },
        }
    }
}
