//! The journal: one JSON line per counting event, fsync'd before the count is confirmed.
//!
//! Each slide has its own file `journal/<session>.jsonl` in the data directory. Files are
//! only ever appended to; the single exception is recovery after a power cut, which cuts
//! off a torn last line (see [`super::replay`]).

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::count::{Counter, Event};

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
}

/// The folder of journal files inside a data directory.
pub(super) fn journal_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("journal")
}

/// The journal file of one session.
pub(super) fn session_file(data_dir: &Path, session: &str) -> PathBuf {
    journal_dir(data_dir).join(format!("{session}.jsonl"))
}

/// An open journal, appending to the current session's file.
#[derive(Debug)]
pub struct Journal {
    data_dir: PathBuf,
    current: Option<(String, File)>,
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
    pub fn append(&mut self, event: &Event) -> Result<(), StoreError> {
        let mut line = serde_json::to_vec(event)?;
        line.push(b'\n');
        let session = event.session();
        let path = session_file(&self.data_dir, session);
        let file = self.file_for(session, &path)?;
        file.write_all(&line)
            .map_err(|e| StoreError::io("write", &path, e))?;
        file.sync_data()
            .map_err(|e| StoreError::io("sync", &path, e))?;
        log::debug!("journaled {} event for {session}", event_name(event));
        Ok(())
    }

    /// A session id that no journal file uses yet, derived from the wall clock.
    pub fn new_session_id(&self, wall_ms: u64) -> String {
        let base = crate::time::compact_utc(wall_ms);
        let mut id = base.clone();
        let mut n = 2;
        while session_file(&self.data_dir, &id).exists() {
            id = format!("{base}-{n}");
            n += 1;
        }
        id
    }

    fn file_for(&mut self, session: &str, path: &Path) -> Result<&mut File, StoreError> {
        let reuse = matches!(&self.current, Some((s, _)) if s == session);
        if !reuse {
            let existed = path.exists();
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| StoreError::io("open", path, e))?;
            if !existed {
                sync_dir(&journal_dir(&self.data_dir))?;
            }
            self.current = Some((session.to_string(), file));
        }
        match &mut self.current {
            Some((_, file)) => Ok(file),
            None => Err(StoreError::io(
                "open",
                path,
                std::io::Error::other("journal file vanished"),
            )),
        }
    }
}

/// Makes a new file's directory entry durable.
fn sync_dir(dir: &Path) -> Result<(), StoreError> {
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

/// Replays events into a counter; used by the daemon and by reports alike.
pub(super) fn apply_all<'a>(
    counter: &mut Counter,
    events: impl Iterator<Item = (usize, &'a Event)>,
    path: &Path,
) -> Vec<String> {
    let mut refused = Vec::new();
    for (line, event) in events {
        if let Err(e) = counter.apply(event) {
            let msg = format!("{}:{line}: event refused on replay: {e}", path.display());
            log::error!("{msg}");
            refused.push(msg);
        }
    }
    refused
}
