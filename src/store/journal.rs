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

use crate::count::Event;

use super::append::{JournalFile, append_line};
use super::error::StoreError;
use super::files::{check_regular, journal_dir, not_a_file_or, session_file, sync_dir};
use super::replay::{self, Replay};

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

    /// A journal that only appends, recovering and repairing nothing: for a writer that
    /// does not own the open slide (the review station). A torn file is refused on append.
    pub fn appender(data_dir: &Path) -> Journal {
        Journal {
            data_dir: data_dir.to_path_buf(),
            current: None,
        }
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
                log::debug!("journaled {} event for {session}", event.name());
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
