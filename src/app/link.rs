//! The review station's line to the running loop.
//!
//! The loop owns the state and the journal writer; the station (on its own threads) only
//! sends it requests and reads what it publishes:
//!
//! - requests (review, sign-off, an uploaded cell) go through a bounded queue the loop
//!   drains between button events, each with a one-shot reply. A full queue is refused at
//!   once ([`LinkError::Busy`]): the web side never makes the loop wait, nor the loop it;
//! - the open slide is published after every change ([`tokio::sync::watch`]: the station
//!   reads the latest copy without asking the loop);
//! - every change is broadcast as an [`Update`] for live pages; a slow listener misses
//!   updates (it is told so) rather than holding the loop back.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::time::Duration;

use image::RgbImage;
use serde::Serialize;
use tokio::sync::{broadcast, oneshot, watch};

use crate::count::{CountError, Event, Session};
use crate::model::CellAnswer;
use crate::store::StoreError;

/// Requests waiting for the loop at most; more are refused until it catches up.
pub const INBOX_CAPACITY: usize = 16;
/// Updates kept for a listener that has not read them yet.
pub const UPDATES_CAPACITY: usize = 256;
/// How long the station waits for the loop's answer (it answers within a button poll).
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

/// A change the loop made to a slide, for live pages.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Update {
    /// The slide changed.
    pub slide: String,
    /// What happened: the journal event's name (`cell_counted`, `cell_reviewed`, ...).
    pub event: &'static str,
}

impl Update {
    /// The update for a journaled event.
    pub fn of(event: &Event) -> Update {
        Update {
            slide: event.session().to_string(),
            event: event.name(),
        }
    }
}

/// Why a request was not carried out.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LinkError {
    /// No such slide or cell.
    #[error("{0}")]
    NotFound(String),
    /// The slide cannot take the change now (signed off, a torn journal, not open).
    #[error("{0}")]
    Conflict(String),
    /// The request itself is wrong (an unknown class, a blank name).
    #[error("{0}")]
    Invalid(String),
    /// The journal could not be written: nothing changed.
    #[error("not saved: {0}")]
    NotSaved(String),
    /// Too many requests wait already.
    #[error("the daemon is busy counting: try again in a moment")]
    Busy,
    /// The loop has stopped (the daemon is shutting down).
    #[error("the daemon is stopping: nothing was changed")]
    Stopped,
}

impl From<CountError> for LinkError {
    fn from(e: CountError) -> Self {
        match e {
            CountError::NoSuchCell(_) | CountError::NotThisSlide(_) => {
                LinkError::NotFound(e.to_string())
            }
            CountError::SignedOff(_) | CountError::NoOpenSession => {
                LinkError::Conflict(e.to_string())
            }
            _ => LinkError::Invalid(e.to_string()),
        }
    }
}

impl From<StoreError> for LinkError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Refused(e) => e.into(),
            StoreError::NoSuchSession(id) => LinkError::NotFound(format!("no slide {id}")),
            StoreError::BadSessionId(e) => LinkError::Invalid(format!("slide id: {e}")),
            e @ (StoreError::TornTail { .. } | StoreError::Busy { .. }) => {
                LinkError::Conflict(e.to_string())
            }
            other => LinkError::NotSaved(other.to_string()),
        }
    }
}

/// A slide after a change.
pub type Reply<T> = oneshot::Sender<Result<T, LinkError>>;

/// What the station asks of the loop.
#[derive(Debug)]
pub enum Request {
    /// A reviewer's verdict on one cell (`label` `None`: unidentified).
    Review {
        /// The slide.
        slide: String,
        /// The cell.
        seq: u64,
        /// The reviewer's class.
        label: Option<String>,
        /// Who.
        reviewer: String,
        /// The slide after it.
        reply: Reply<Session>,
    },
    /// The operator's sign-off.
    SignOff {
        /// The slide.
        slide: String,
        /// Who.
        operator: String,
        /// The slide after it.
        reply: Reply<Session>,
    },
    /// An uploaded picture, already classified by the station, counted in the open slide.
    AddCell {
        /// The slide it is meant for (must be the open one).
        slide: String,
        /// The crop the model saw, kept as the cell's picture.
        crop: RgbImage,
        /// The model's answer for it.
        answer: CellAnswer,
        /// Where it came from (`upload:<file name>`).
        origin: String,
        /// The slide after it, and the new cell's number.
        reply: Reply<(Session, u64)>,
    },
}

/// The loop's end of the link.
#[derive(Debug)]
pub struct StationLink {
    inbox: Receiver<Request>,
    open: watch::Sender<Option<Arc<Session>>>,
    updates: broadcast::Sender<Update>,
}

/// The station's end of the link; cheap to clone.
#[derive(Debug, Clone)]
pub struct LoopHandle {
    inbox: SyncSender<Request>,
    open: watch::Receiver<Option<Arc<Session>>>,
    updates: broadcast::Sender<Update>,
}

/// A new link: give the first half to [`super::App::attach_station`], the second to the station.
pub fn link() -> (StationLink, LoopHandle) {
    let (tx, rx) = sync_channel(INBOX_CAPACITY);
    let (open_tx, open_rx) = watch::channel(None);
    let (updates, _) = broadcast::channel(UPDATES_CAPACITY);
    (
        StationLink {
            inbox: rx,
            open: open_tx,
            updates: updates.clone(),
        },
        LoopHandle {
            inbox: tx,
            open: open_rx,
            updates,
        },
    )
}

impl StationLink {
    /// The next waiting request, without waiting.
    pub(super) fn next_request(&self) -> Option<Request> {
        // Empty, or the station is gone: either way nothing to do now.
        self.inbox.try_recv().ok()
    }

    /// Publishes the open slide (never waits on a reader).
    pub(super) fn publish_open(&self, open: Option<&Session>) {
        self.open.send_replace(open.cloned().map(Arc::new));
    }

    /// Tells live pages about a change (dropped when nobody listens).
    pub(super) fn publish(&self, update: Update) {
        let _nobody_listens = self.updates.send(update);
    }
}

impl LoopHandle {
    /// The open slide as the loop last published it.
    pub fn open_slide(&self) -> Option<Arc<Session>> {
        self.open.borrow().clone()
    }

    /// Every change from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Update> {
        self.updates.subscribe()
    }

    /// Sends a request built around its reply channel and waits for the answer.
    pub async fn ask<T>(&self, request: impl FnOnce(Reply<T>) -> Request) -> Result<T, LinkError> {
        let (reply, answer) = oneshot::channel();
        self.inbox.try_send(request(reply)).map_err(|e| match e {
            TrySendError::Full(_) => LinkError::Busy,
            TrySendError::Disconnected(_) => LinkError::Stopped,
        })?;
        match tokio::time::timeout(REPLY_TIMEOUT, answer).await {
            Ok(Ok(result)) => result,
            Ok(Err(_dropped)) => Err(LinkError::Stopped),
            Err(_late) => Err(LinkError::Busy),
        }
    }
}
