//! The slides in the data directory: read by replaying their journals, reviewed and
//! signed off by appending events, crops served from `crops/<slide>/` only.
//!
//! Single owner: while the daemon runs, its event loop owns the open slide. The standalone
//! station appends reviews itself and cannot yet tell whether a daemon has that slide open
//! (see the station's module documentation); its appends go through the same
//! [`Journal`] and the same [`Counter::check`] as the daemon's, one at a time.

use std::fs::{self, OpenOptions};
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use axum::http::StatusCode;
use serde::Serialize;

use crate::count::{CountError, Counter, Event, Session, Stamp, validate_session_id};
use crate::store::{Journal, StoreError, list_sessions, read_session};

use super::doc::{SlideDoc, UNIDENTIFIED, state_of};
use super::error::ApiError;

/// Largest crop file served, in bytes (the daemon writes crops of a few kilobytes).
const MAX_CROP_BYTES: u64 = 8 * 1024 * 1024;

/// One line of the slide list.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SlideItem {
    /// Slide identifier.
    pub id: String,
    /// `open`, `finished` or `signed off`.
    pub state: &'static str,
    /// Cells per class, in label order.
    pub counts: Vec<(String, u32)>,
    /// Cells in the differential.
    pub differential_total: u32,
    /// Cells outside it.
    pub unidentified: u32,
    /// The slide's target.
    pub target: u32,
    /// Start (UTC).
    pub started: String,
}

/// The slides of one data directory.
#[derive(Debug)]
pub struct SlideStore {
    data_dir: PathBuf,
    /// One append at a time: read, check and append must not interleave.
    writing: Mutex<()>,
}

impl SlideStore {
    /// The slides of `data_dir`.
    pub fn new(data_dir: PathBuf) -> Self {
        SlideStore {
            data_dir,
            writing: Mutex::new(()),
        }
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Every slide, newest first.
    pub fn list(&self) -> Result<Vec<SlideItem>, ApiError> {
        let mut items = Vec::new();
        for summary in list_sessions(&self.data_dir).map_err(store_error)? {
            match self.load(&summary.session) {
                Ok(s) => items.push(SlideItem {
                    id: s.id.clone(),
                    state: state_of(&s),
                    counts: s.labels.iter().cloned().zip(s.counts().to_vec()).collect(),
                    differential_total: s.differential_total(),
                    unidentified: s.unidentified(),
                    target: s.target,
                    started: crate::time::rfc3339_utc(s.started.wall_ms),
                }),
                Err(e) => log::warn!("slide {} not listed: {}", summary.session, e.message),
            }
        }
        items.reverse();
        Ok(items)
    }

    /// One slide, replayed from its journal.
    pub fn load(&self, id: &str) -> Result<Session, ApiError> {
        self.replay(id)?
            .0
            .session()
            .cloned()
            .ok_or_else(|| ApiError::not_found(format!("slide {id} holds no readable events")))
    }

    fn replay(&self, id: &str) -> Result<(Counter, usize), ApiError> {
        validate_session_id(id).map_err(|e| ApiError::bad(format!("slide id: {e}")))?;
        let replay = read_session(&self.data_dir, Some(id)).map_err(store_error)?;
        for problem in &replay.problems {
            log::warn!("slide {id}: {problem}");
        }
        if replay.counter.session().is_some_and(|s| s.id != id) {
            return Err(ApiError::not_found(format!(
                "slide {id} is not in its file"
            )));
        }
        Ok((replay.counter, replay.torn_bytes))
    }

    /// Records a reviewer's verdict on one cell (`label` is a class of the slide or
    /// `unidentified`) as a new journal event; returns the slide after it.
    pub fn review(
        &self,
        id: &str,
        seq: u64,
        label: &str,
        reviewer: &str,
        at: Stamp,
    ) -> Result<SlideDoc, ApiError> {
        let label = (label != UNIDENTIFIED).then(|| label.to_string());
        self.append(id, |c| c.review_event(seq, label, reviewer.to_string(), at))
    }

    /// Signs the slide off in the operator's name; no edit is accepted after it.
    pub fn sign_off(&self, id: &str, operator: &str, at: Stamp) -> Result<SlideDoc, ApiError> {
        self.append(id, |c| c.sign_off_event(operator.to_string(), at))
    }

    fn append(
        &self,
        id: &str,
        event_of: impl FnOnce(&Counter) -> Result<Event, CountError>,
    ) -> Result<SlideDoc, ApiError> {
        let _one_at_a_time = self.writing.lock().map_err(|_| {
            ApiError::internal("a previous write failed midway; restart the station")
        })?;
        let (mut counter, torn) = self.replay(id)?;
        if torn > 0 {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                format!(
                    "slide {id}'s journal ends in a torn line (a power cut): start the daemon once to repair it, then review"
                ),
            ));
        }
        let event = event_of(&counter).map_err(count_error)?;
        Journal::appender(&self.data_dir)
            .append(&event)
            .map_err(|e| ApiError::internal(format!("not saved: {e}")))?;
        counter.apply(&event).map_err(count_error)?;
        log::info!("slide {id}: {}", describe(&event));
        let session = counter
            .session()
            .ok_or_else(|| ApiError::internal("the slide vanished after the append"))?;
        Ok(SlideDoc::of(session))
    }

    /// The bytes of a counted cell's crop, `file` being its name (`00012.jpg`). Only a
    /// regular file inside `crops/<slide>/` that the slide's journal names is served.
    pub fn crop(&self, id: &str, file: &str) -> Result<Vec<u8>, ApiError> {
        let missing = || ApiError::not_found(format!("slide {id} has no picture {file:?}"));
        let seq: u64 = file
            .strip_suffix(".jpg")
            .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|n| n.parse().ok())
            .ok_or_else(missing)?;
        let session = self.load(id)?;
        let cell = session.cell(seq).ok_or_else(missing)?;
        let named = cell
            .crop
            .as_deref()
            .and_then(|p| Path::new(p).file_name())
            .is_some_and(|n| n == file);
        if !named {
            return Err(missing());
        }
        let dir = self.data_dir.join("crops").join(&session.id);
        let path = dir.join(file);
        inside(&self.data_dir, &path).map_err(|_| missing())?;
        read_regular(&path, MAX_CROP_BYTES).map_err(|e| {
            log::warn!("{}: {e}", path.display());
            missing()
        })
    }
}

/// Checks that `path`, with every link resolved, stays inside `root`.
fn inside(root: &Path, path: &Path) -> std::io::Result<()> {
    let root = fs::canonicalize(root)?;
    let real = fs::canonicalize(path)?;
    if real.starts_with(&root) {
        Ok(())
    } else {
        Err(std::io::Error::other("outside the data directory"))
    }
}

/// Reads a regular file (never through a final symbolic link), at most `max` bytes.
fn read_regular(path: &Path, max: u64) -> std::io::Result<Vec<u8>> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() || meta.len() > max {
        return Err(std::io::Error::other("not a regular file of a crop's size"));
    }
    let mut bytes = Vec::new();
    file.take(max).read_to_end(&mut bytes)?;
    Ok(bytes)
}

fn store_error(e: StoreError) -> ApiError {
    match e {
        StoreError::NoSuchSession(id) => ApiError::not_found(format!("no slide {id}")),
        other => ApiError::internal(other.to_string()),
    }
}

fn count_error(e: CountError) -> ApiError {
    let status = match e {
        CountError::NoSuchCell(_) | CountError::NotThisSlide(_) => StatusCode::NOT_FOUND,
        CountError::SignedOff(_) => StatusCode::CONFLICT,
        _ => StatusCode::BAD_REQUEST,
    };
    ApiError::new(status, e.to_string())
}

fn describe(event: &Event) -> String {
    match event {
        Event::CellReviewed {
            seq,
            label,
            reviewer,
            ..
        } => format!(
            "cell {seq} reviewed as {} by {reviewer}",
            label.as_deref().unwrap_or(UNIDENTIFIED)
        ),
        Event::SignedOff { operator, .. } => format!("signed off by {operator}"),
        _ => "changed".into(),
    }
}
