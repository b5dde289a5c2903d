//! Reading the journal back: recovery at start-up and reports.
//!
//! A power cut can leave the last line of a journal file half written. Such a torn line
//! has no terminating newline; recovery reports it, cuts it off (every complete line
//! before it is kept) and the daemon resumes with the counts of the complete lines.
//!
//! Every line is checked before it is counted (its session, its values, its place in the
//! slide): a line refused is reported with its file and line number, the lines around it
//! are kept. Only regular files named `<valid session id>.jsonl` are read; anything else
//! in the folder is skipped with a warning and never stops the others from being read.

use std::fs::{self, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::count::{Counter, Event, validate_session_id};

use super::error::StoreError;
use super::files::{journal_dir, open_regular, session_file};

/// The result of reading a session's journal file.
#[derive(Debug, Default)]
pub struct Replay {
    /// The counter after every readable event.
    pub counter: Counter,
    /// The file that was read, if any.
    pub file: Option<PathBuf>,
    /// Events applied.
    pub events: usize,
    /// Bytes of a torn last line (0 if the file ended cleanly).
    pub torn_bytes: usize,
    /// Everything that was wrong: torn tail, unreadable lines, refused events.
    pub problems: Vec<String>,
}

/// One line of `report --list`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SessionSummary {
    /// Session identifier.
    pub session: String,
    /// False once the slide was finished.
    pub open: bool,
    /// Cells recorded (identified + unidentified).
    pub total: u32,
}

/// Parses a journal file's bytes: complete lines as events, and the length of a torn tail.
fn parse(bytes: &[u8], path: &Path) -> (Vec<(usize, Event)>, usize, Vec<String>) {
    let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let torn = bytes.len() - complete;
    let mut events = Vec::new();
    let mut problems = Vec::new();
    for (i, line) in bytes[..complete].split(|&b| b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<Event>(line) {
            Ok(event) => events.push((i + 1, event)),
            Err(e) => {
                let msg = format!("{}:{}: unreadable line skipped: {e}", path.display(), i + 1);
                log::error!("{msg}");
                problems.push(msg);
            }
        }
    }
    if torn > 0 {
        let msg = format!(
            "{}: torn last line ({torn} bytes, a write cut off by a power loss, a crash or a full disk) dropped; it was never confirmed, every line before it is kept",
            path.display()
        );
        log::warn!("{msg}");
        problems.push(msg);
    }
    (events, torn, problems)
}

/// The session a journal file holds, from its name (`<session>.jsonl`).
fn file_session(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Reads a whole journal file, refusing symbolic links and anything but a regular file.
fn read_journal(path: &Path) -> Result<Vec<u8>, StoreError> {
    let mut bytes = Vec::new();
    open_regular(path)?
        .read_to_end(&mut bytes)
        .map_err(|e| StoreError::io("read", path, e))?;
    Ok(bytes)
}

/// Replays events into a counter; used by the daemon and by reports alike. An event of
/// another session than the file's is refused: a file only ever holds its own session.
fn apply_all<'a>(
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

/// Replays the bytes of one journal file (named `path`, which must hold the events of
/// the session its name says): pure, never touches the disk. What [`read_session`] and
/// recovery use; public so that it can be fuzzed.
pub fn replay_bytes(bytes: &[u8], path: &Path) -> Replay {
    let (events, torn, mut problems) = parse(bytes, path);
    let mut counter = Counter::new();
    problems.extend(apply_all(
        &mut counter,
        events.iter().map(|(line, e)| (*line, e)),
        path,
        &file_session(path),
    ));
    Replay {
        counter,
        file: Some(path.to_path_buf()),
        events: events.len(),
        torn_bytes: torn,
        problems,
    }
}

/// Reads and replays one journal file, changing nothing on disk.
fn replay_file(path: &Path) -> Result<Replay, StoreError> {
    Ok(replay_bytes(&read_journal(path)?, path))
}

/// Journal files in the data directory, sorted by name (= by session start): regular
/// files named `<valid session id>.jsonl` only. Anything else is skipped with a warning.
fn journal_files(data_dir: &Path) -> Result<Vec<PathBuf>, StoreError> {
    let dir = journal_dir(data_dir);
    if !dir.exists() {
        return Ok(Vec::new());
    }
    let mut files = Vec::new();
    for entry in fs::read_dir(&dir).map_err(|e| StoreError::io("list", &dir, e))? {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                log::warn!("{}: an entry cannot be read, skipped: {e}", dir.display());
                continue;
            }
        };
        let path = entry.path();
        if path.extension().is_none_or(|x| x != "jsonl") {
            continue;
        }
        // The entry's own type: a symbolic link is not followed.
        let kind = match entry.file_type() {
            Ok(kind) => kind,
            Err(e) => {
                log::warn!("{}: cannot be read, skipped: {e}", path.display());
                continue;
            }
        };
        if !kind.is_file() {
            log::warn!(
                "{} is not a regular file (a folder, a symbolic link or a device): skipped, move it out of the journal folder",
                path.display()
            );
            continue;
        }
        if let Err(e) = validate_session_id(&file_session(&path)) {
            log::warn!(
                "{}: skipped, its name is not a session: {e}",
                path.display()
            );
            continue;
        }
        files.push(path);
    }
    files.sort();
    Ok(files)
}

/// True if the file's last complete line finishes its session and nothing follows it.
fn ends_finished(path: &Path) -> Result<bool, StoreError> {
    let mut file = open_regular(path)?;
    let len = file
        .metadata()
        .map_err(|e| StoreError::io("stat", path, e))?
        .len();
    let start = len.saturating_sub(16 * 1024);
    let mut tail = Vec::new();
    file.seek(SeekFrom::Start(start))
        .and_then(|_| file.read_to_end(&mut tail))
        .map_err(|e| StoreError::io("read", path, e))?;
    if tail.last() != Some(&b'\n') {
        return Ok(false);
    }
    let body = &tail[..tail.len() - 1];
    // Reviews may follow the finish: look past them (a slide reviewed beyond this tail is
    // replayed in full, which finds it finished too).
    for line in body.rsplit(|&b| b == b'\n') {
        match serde_json::from_slice::<Event>(line) {
            Ok(Event::CellReviewed { .. }) => continue,
            Ok(Event::SessionFinished { .. } | Event::SignedOff { .. }) => return Ok(true),
            _ => return Ok(false),
        }
    }
    Ok(false)
}

/// Finds the slide that was open when the daemon stopped, repairs its file and replays it.
pub(super) fn recover_open_session(data_dir: &Path) -> Result<Replay, StoreError> {
    let mut open = Vec::new();
    for path in journal_files(data_dir)? {
        match ends_finished(&path) {
            Ok(true) => {}
            // An empty file holds no slide (an append that failed before any line).
            Ok(false) if fs::metadata(&path).is_ok_and(|m| m.len() == 0) => {}
            Ok(false) => {
                let modified = fs::metadata(&path).and_then(|m| m.modified()).ok();
                open.push((modified, path));
            }
            Err(e) => log::warn!("{e}; skipped, the other slides are read"),
        }
    }
    // The most recently written open file wins (names can be out of order when a Pi
    // without a real-time clock booted with a wrong date), provided it holds an open
    // slide once its lines are checked: a crafted or foreign file does not hide the real one.
    open.sort();
    let mut skipped = Vec::new();
    while let Some((_, path)) = open.pop() {
        let mut replay = match replay_file(&path) {
            Ok(replay) => replay,
            Err(e) => {
                log::warn!("{e}; skipped, the other slides are read");
                skipped.push(e.to_string());
                continue;
            }
        };
        if replay.counter.session().is_some_and(|s| !s.is_open()) {
            log::debug!("{}: a finished slide, reviewed", path.display());
            continue;
        }
        if replay.counter.open_session().is_none() {
            skipped.push(format!(
                "{}: holds no open slide that can be resumed; left as it is",
                path.display()
            ));
            skipped.append(&mut replay.problems);
            continue;
        }
        if replay.torn_bytes > 0 {
            cut_torn_tail(&path, replay.torn_bytes)?;
        }
        for (_, other) in &open {
            log::warn!(
                "{} is also unfinished; it stays as it is (hematovision report --session shows it)",
                other.display()
            );
        }
        log::info!("resumed {} from {} events", path.display(), replay.events);
        skipped.append(&mut replay.problems);
        replay.problems = skipped;
        return Ok(replay);
    }
    Ok(Replay {
        problems: skipped,
        ..Replay::default()
    })
}

/// Cuts a torn last line off a journal file (it was never confirmed).
fn cut_torn_tail(path: &Path, torn: usize) -> Result<(), StoreError> {
    let file = OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| StoreError::io("open", path, e))?;
    let len = file
        .metadata()
        .map_err(|e| StoreError::io("stat", path, e))?
        .len();
    file.set_len(len.saturating_sub(torn as u64))
        .and_then(|()| file.sync_all())
        .map_err(|e| StoreError::io("repair", path, e))
}

/// Reads one session (the newest when `session` is `None`) without changing any file.
pub fn read_session(data_dir: &Path, session: Option<&str>) -> Result<Replay, StoreError> {
    let path = match session {
        Some(id) => {
            let path = session_file(data_dir, id)?;
            if fs::symlink_metadata(&path).is_err() {
                return Err(StoreError::NoSuchSession(id.to_string()));
            }
            path
        }
        None => {
            let newest = journal_files(data_dir)?
                .into_iter()
                .filter_map(|p| {
                    let modified = fs::metadata(&p).and_then(|m| m.modified()).ok()?;
                    Some((modified, p))
                })
                .max();
            match newest {
                Some((_, path)) => path,
                None => return Ok(Replay::default()),
            }
        }
    };
    replay_file(&path)
}

/// Every session in the journal, oldest first.
pub fn list_sessions(data_dir: &Path) -> Result<Vec<SessionSummary>, StoreError> {
    let mut out = Vec::new();
    for path in journal_files(data_dir)? {
        let replay = match replay_file(&path) {
            Ok(replay) => replay,
            Err(e) => {
                log::warn!("{e}; skipped, the other slides are listed");
                continue;
            }
        };
        if let Some(s) = replay.counter.session() {
            out.push(SessionSummary {
                session: s.id.clone(),
                open: s.is_open(),
                total: s.total(),
            });
        }
    }
    Ok(out)
}
