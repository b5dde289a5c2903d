//! The journal: one JSON line per counting event, fsync'd before the count is confirmed.
//!
//! Each slide has its own file `journal/<session>.jsonl` in the data directory. Files are
//! only ever appended to, one whole line at a time: an append that fails (a full disk, an
//! I/O error) is cut back off, so the file is exactly as it was before. The one other
//! change is recovery after a power cut, which cuts off a torn last line (see
//! [`super::replay`]).

use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::count::{BadSessionId, CountError, Counter, Event, validate_session_id};

use super::append::{AppendFailure, JournalFile, append_line};
use super::replay::{self, Replay};

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

    fn append(failure: AppendFailure, path: &Path, good_len: u64) -> Self {
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

fn check_regular(file: &File, path: &Path) -> Result<(), StoreError> {
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
fn not_a_file_or(path: &Path, action: &'static str, e: std::io::Error) -> StoreError {
    if e.raw_os_error() == Some(libc::ELOOP) {
        StoreError::NotAFile {
            path: path.to_path_buf(),
        }
    } else {
        StoreError::io(action, path, e)
    }
}

/// The file being appended to.
#[derive(Debug)]
struct Current {
    session: String,
    path: PathBuf,
    file: File,
    /// Length of the file when it last held only complete, durable lines.
    good_len: u64,
    /// The file was created by this journal and holds no event yet.
    created: bool,
    /// A failed append could not be cut back: cut back before the next one.
    dirty: bool,
}

/// An open journal, appending to the current session's file.
#[derive(Debug)]
pub struct Journal {
    data_dir: PathBuf,
    current: Option<Current>,
}

impl Journal {
    /// Opens the journal in `data_dir` (creating the folders) and replays it: the returned
    /// [`Replay`] holds the counter with the open slide restored, and what recovery found.
    pub fn open(data_dir: &Path) -> Result<(Journal, Replay), StoreError> {
        let dir = journal_dir(data_dir);
        fs::create_dir_all(&dir).map_err(|e| StoreError::io("create", &dir, e))?;
        let replay = replay::recover_open_session(data_dir)?;
        let journal = Journal {
            data_dir: data_dir.to_path_buf(),
            current: None,
        };
        Ok((journal, replay))
    }

    /// The data directory this journal writes to.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Appends one event and waits until it is on the storage device.
    ///
    /// On failure the file is left exactly as it was (a partly written line is cut back
    /// off), so a later append, once the fault is gone, starts on a fresh line.
    pub fn append(&mut self, event: &Event) -> Result<(), StoreError> {
        let mut line = serde_json::to_vec(event)?;
        line.push(b'\n');
        let session = event.session();
        let current = self.file_for(session)?;
        match append_line(&mut current.file, current.good_len, &line) {
            Ok(len) => {
                current.good_len = len;
                current.created = false;
                log::debug!("journaled {} event for {session}", event_name(event));
                Ok(())
            }
            Err(failure) => {
                let dirty = failure.rollback.is_some();
                let err = StoreError::append(failure, &current.path, current.good_len);
                log::error!("{err}");
                current.dirty = dirty;
                if current.created && !dirty {
                    // The failed event was to be the file's first line: leave no empty
                    // journal behind (a full disk at start).
                    let path = current.path.clone();
                    self.current = None;
                    match fs::remove_file(&path) {
                        Ok(()) => {
                            if let Err(e) = sync_dir(&journal_dir(&self.data_dir)) {
                                log::warn!("{e}");
                            }
                        }
                        Err(e) => log::warn!("cannot remove empty {}: {e}", path.display()),
                    }
                }
                Err(err)
            }
        }
    }

    /// A session id that no journal file uses yet, derived from the wall clock.
    pub fn new_session_id(&self, wall_ms: u64) -> String {
        let base = crate::time::compact_utc(wall_ms);
        let mut id = base.clone();
        let mut n = 2;
        let taken = |id: &str| {
            let path = journal_dir(&self.data_dir).join(format!("{id}.jsonl"));
            fs::symlink_metadata(path).is_ok()
        };
        while taken(&id) {
            id = format!("{base}-{n}");
            n += 1;
        }
        id
    }

    fn file_for(&mut self, session: &str) -> Result<&mut Current, StoreError> {
        let reuse = matches!(&self.current, Some(c) if c.session == session);
        if !reuse {
            self.current = None;
            let current = self.open_file(session)?;
            self.current = Some(current);
        }
        let Some(current) = self.current.as_mut() else {
            return Err(StoreError::io(
                "open",
                &journal_dir(&self.data_dir),
                std::io::Error::other("journal file vanished"),
            ));
        };
        if current.dirty {
            current
                .file
                .cut_back(current.good_len)
                .map_err(|e| StoreError::io("cut back", &current.path, e))?;
            log::info!(
                "{} cut back to its last complete line ({} bytes)",
                current.path.display(),
                current.good_len
            );
            current.dirty = false;
        }
        Ok(current)
    }

    fn open_file(&self, session: &str) -> Result<Current, StoreError> {
        let path = session_file(&self.data_dir, session)?;
        let existed = fs::symlink_metadata(&path).is_ok();
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(&path)
            .map_err(|e| not_a_file_or(&path, "open", e))?;
        check_regular(&file, &path)?;
        let len = file
            .metadata()
            .map_err(|e| StoreError::io("stat", &path, e))?
            .len();
        if len > 0 {
            let mut last = [0u8; 1];
            file.read_exact_at(&mut last, len - 1)
                .map_err(|e| StoreError::io("read", &path, e))?;
            if last[0] != b'\n' {
                return Err(StoreError::TornTail { path });
            }
        }
        if !existed {
            sync_dir(&journal_dir(&self.data_dir))?;
        }
        Ok(Current {
            session: session.to_string(),
            path,
            file,
            good_len: len,
            created: !existed,
            dirty: false,
        })
    }
}

/// Makes a new or removed file's directory entry durable.
pub(super) fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| StoreError::io("sync", dir, e))
}

fn event_name(event: &Event) -> &'static str {
    match event {
        Event::SessionStarted { .. } => "session_started",
        Event::CellCounted { .. } => "cell_counted",
        Event::Undone { .. } => "undone",
        Event::SessionFinished { .. } => "session_finished",
    }
}

/// Replays events into a counter; used by the daemon and by reports alike. An event of
/// another session than the file's is refused: a file only ever holds its own session.
pub(super) fn apply_all<'a>(
    counter: &mut Counter,
    events: impl Iterator<Item = (usize, &'a Event)>,
    path: &Path,
    file_session: &str,
) -> Vec<String> {
    let mut refused = Vec::new();
    for (line, event) in events {
        let result = if event.session() == file_session {
            counter.apply(event).map_err(|e| e.to_string())
        } else {
            Err(format!(
                "event of session {:?} in the file of session {file_session}",
                event.session()
            ))
        };
        if let Err(e) = result {
            let msg = format!(
                "{}:{line}: event refused on replay and not counted: {e}",
                path.display()
            );
            log::error!("{msg}");
            refused.push(msg);
        }
    }
    refused
}
