//! The slides in the data directory: read by replaying their journals, reviewed and
//! signed off by appending events, crops served from `crops/<slide>/` only.
//!
//! One writer per data directory: inside the daemon the loop is the writer and the open
//! slide is the copy it publishes ([`LoopHandle`]); the station's changes go to it (see
//! `server.rs`). A standalone station writes itself, one change at a time, each under the
//! data directory's lock ([`DataDirLock`]): while a daemon holds it, the standalone station
//! only reads, and says why when asked to change something.

use std::fs::{self, OpenOptions};
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use axum::http::StatusCode;
use serde::Serialize;

use tokio::sync::broadcast;

use crate::app::{LoopHandle, Update};
use crate::count::{CountError, Counter, Event, Session, Stamp, validate_session_id};
use crate::model::CellAnswer;
use crate::store::{
    DataDirLock, Journal, StoreError, amend, list_sessions, read_session, write_crop,
};

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
    /// The station's own monotonic clock, for the stamps of its own changes.
    started: Instant,
    /// Inside the daemon: the loop, which owns the open slide.
    daemon: Option<LoopHandle>,
    /// Changes a standalone station made itself, for live pages.
    own_updates: broadcast::Sender<Update>,
}

impl SlideStore {
    /// The slides of `data_dir`; `daemon` is the running loop when the station is served
    /// by the daemon.
    pub fn new(data_dir: PathBuf, daemon: Option<LoopHandle>) -> Self {
        SlideStore {
            data_dir,
            writing: Mutex::new(()),
            started: Instant::now(),
            daemon,
            own_updates: broadcast::channel(crate::app::UPDATES_CAPACITY).0,
        }
    }

    /// The running loop, when the station is served by the daemon.
    pub fn daemon(&self) -> Option<&LoopHandle> {
        self.daemon.as_ref()
    }

    /// Every change from now on: the daemon's, or this station's own.
    pub fn subscribe(&self) -> broadcast::Receiver<Update> {
        match &self.daemon {
            Some(daemon) => daemon.subscribe(),
            None => self.own_updates.subscribe(),
        }
    }

    /// Now, on the wall clock and on this station's monotonic clock (milliseconds since it
    /// started), for a change the station journals itself.
    pub fn now(&self) -> Stamp {
        Stamp {
            wall_ms: crate::time::wall_ms_now(),
            mono_ms: u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX),
        }
    }

    /// The slide the daemon is counting, as it last published it.
    fn live(&self, id: &str) -> Option<Session> {
        let open = self.daemon.as_ref()?.open_slide()?;
        (open.id == id).then(|| (*open).clone())
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

    /// One slide: the daemon's copy of the slide it counts, else replayed from its journal.
    pub fn load(&self, id: &str) -> Result<Session, ApiError> {
        if let Some(live) = self.live(id) {
            return Ok(live);
        }
        self.replay(id)?
            .session()
            .cloned()
            .ok_or_else(|| ApiError::not_found(format!("slide {id} holds no readable events")))
    }

    fn replay(&self, id: &str) -> Result<Counter, ApiError> {
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
        Ok(replay.counter)
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
        validate_session_id(id).map_err(|e| ApiError::bad(format!("slide id: {e}")))?;
        let _only_writer = self.write_lock()?;
        let (counter, event) =
            amend(&mut Journal::appender(&self.data_dir), id, event_of).map_err(amend_error)?;
        log::info!("slide {id}: {}", describe(&event));
        let _nobody_listens = self.own_updates.send(Update::of(&event));
        let session = counter
            .session()
            .ok_or_else(|| ApiError::internal("the slide vanished after the append"))?;
        Ok(SlideDoc::of(session))
    }

    /// Counts an uploaded picture (classified by the station) in slide `id`, which must be
    /// open: its crop is saved first, then the journal line that names it. Returns the
    /// slide after it and the new cell's number.
    pub fn add_cell(
        &self,
        id: &str,
        crop: &image::RgbImage,
        answer: CellAnswer,
        origin: String,
    ) -> Result<(SlideDoc, u64), ApiError> {
        let at = self.now();
        let data_dir = self.data_dir.clone();
        let mut seq = 0;
        let doc = self.append(id, |c| {
            let slide = c.open_session().ok_or(CountError::NoOpenSession)?;
            seq = slide.next_seq();
            let path = write_crop(&data_dir, &slide.id, seq, crop)
                .map_err(|e| CountError::Invalid(format!("the picture was not saved: {e}")))?;
            let head = None;
            let crop = Some(path.display().to_string());
            c.count_event_by(
                answer.probabilities,
                answer.unfamiliar,
                origin,
                crop,
                head,
                at,
            )
        })?;
        Ok((doc, seq))
    }

    /// The data directory's lock for one change; refused while a daemon holds it.
    fn write_lock(&self) -> Result<DataDirLock, ApiError> {
        DataDirLock::try_acquire(&self.data_dir)
            .map_err(|e| ApiError::internal(e.to_string()))?
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::CONFLICT,
                    format!(
                        "read-only: a running daemon counts in {} and owns its journal. Review in the daemon's own station (station.enabled = true), or stop the daemon first",
                        self.data_dir.display()
                    ),
                )
            })
    }

    /// The slide being counted: the daemon's, or the newest open slide on disk.
    pub fn open_slide_id(&self) -> Option<String> {
        if let Some(daemon) = &self.daemon {
            return daemon.open_slide().map(|s| s.id.clone());
        }
        list_sessions(&self.data_dir)
            .ok()?
            .into_iter()
            .rev()
            .find(|s| s.open)
            .map(|s| s.session)
    }

    /// Whether this station may change slides now (no daemon holds the data directory),
    /// for the pages to say so up front.
    pub fn writable(&self) -> bool {
        self.daemon.is_some() || matches!(DataDirLock::try_acquire(&self.data_dir), Ok(Some(_)))
    }

    /// The bytes of a counted cell's crop, `file` being its name (`00012.jpg`). Only a
    /// regular file inside `crops/<slide>/` that the slide's journal names is served.
    pub fn crop(&self, id: &str, file: &str) -> Result<Vec<u8>, ApiError> {
        let session = self.load(id)?;
        self.crop_of(&session, file)
    }

    /// [`SlideStore::crop`] of a slide already loaded.
    pub fn crop_of(&self, session: &Session, file: &str) -> Result<Vec<u8>, ApiError> {
        let id = &session.id;
        let missing = || ApiError::not_found(format!("slide {id} has no picture {file:?}"));
        let seq: u64 = file
            .strip_suffix(".jpg")
            .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|n| n.parse().ok())
            .ok_or_else(missing)?;
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

fn amend_error(e: StoreError) -> ApiError {
    match e {
        StoreError::Refused(e) => count_error(e),
        e @ StoreError::TornTail { .. } => {
            ApiError::new(StatusCode::CONFLICT, format!("{e}; then review"))
        }
        other => store_error(other),
    }
}

fn count_error(e: CountError) -> ApiError {
    let status = match e {
        CountError::NoSuchCell(_) | CountError::NotThisSlide(_) => StatusCode::NOT_FOUND,
        CountError::SignedOff(_) | CountError::NoOpenSession => StatusCode::CONFLICT,
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
        Event::CellCounted { cell, .. } => format!("cell {} added from {}", cell.seq, cell.frame),
        _ => "changed".into(),
    }
}
