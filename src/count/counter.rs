//! The counting state machine: validates commands and applies events.

use super::event::{CellRecord, Event, Stamp};
use super::session::Session;

/// Why a command or an event was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CountError {
    /// A command that needs an open slide came with none open.
    #[error("no slide is open: start a new slide first")]
    NoOpenSession,
    /// A slide was started while another was still open.
    #[error("slide {0} is still open: finish it before starting another")]
    SessionStillOpen(String),
    /// An event names another session than the open one.
    #[error("event for session {event} but the open session is {open}")]
    WrongSession {
        /// Session named by the event.
        event: String,
        /// Session that is open.
        open: String,
    },
    /// Undo with no counted cell in the slide.
    #[error("nothing to undo in this slide")]
    NothingToUndo,
    /// An undo event names a cell that is not the last one counted.
    #[error("undo of cell {got} but the last counted cell is {expected}")]
    UndoOutOfOrder {
        /// The cell the undo names.
        got: u64,
        /// The last counted cell.
        expected: u64,
    },
    /// A cell or session event carries values that do not fit the session.
    #[error("invalid event: {0}")]
    Invalid(String),
}

/// The daemon's counting state: the current slide, if any.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Counter {
    current: Option<Session>,
}

impl Counter {
    /// A counter with no slide.
    pub fn new() -> Self {
        Counter::default()
    }

    /// The current slide (open, or the last one finished).
    pub fn session(&self) -> Option<&Session> {
        self.current.as_ref()
    }

    /// The current slide if it is still open.
    pub fn open_session(&self) -> Option<&Session> {
        self.current.as_ref().filter(|s| s.is_open())
    }

    /// The event that starts a new slide.
    pub fn start_event(
        &self,
        session: String,
        labels: Vec<String>,
        target: u32,
        threshold: f32,
        at: Stamp,
    ) -> Result<Event, CountError> {
        if let Some(open) = self.open_session() {
            return Err(CountError::SessionStillOpen(open.id.clone()));
        }
        let event = Event::SessionStarted {
            session,
            labels,
            target,
            threshold,
            at,
        };
        Self::check_start(&event)?;
        Ok(event)
    }

    /// The event that counts one classified cell: the most probable class, recorded as
    /// unidentified when its probability is under the slide's threshold.
    pub fn count_event(
        &self,
        probabilities: Vec<f32>,
        frame: String,
        crop: Option<String>,
        at: Stamp,
    ) -> Result<Event, CountError> {
        let session = self.open_session().ok_or(CountError::NoOpenSession)?;
        if probabilities.len() != session.labels.len() {
            return Err(CountError::Invalid(format!(
                "{} probabilities for {} classes",
                probabilities.len(),
                session.labels.len()
            )));
        }
        if probabilities.iter().any(|p| !p.is_finite()) {
            return Err(CountError::Invalid("a probability is not a number".into()));
        }
        let (class, confidence) =
            probabilities
                .iter()
                .copied()
                .enumerate()
                .fold(
                    (0, f32::MIN),
                    |best, (i, p)| if p > best.1 { (i, p) } else { best },
                );
        let cell = CellRecord {
            seq: session.next_seq(),
            class,
            label: session.labels[class].clone(),
            confidence,
            identified: confidence >= session.threshold,
            probabilities,
            frame,
            crop,
            at,
        };
        Ok(Event::CellCounted {
            session: session.id.clone(),
            cell,
        })
    }

    /// The event that takes back the last counted cell.
    pub fn undo_event(&self, at: Stamp) -> Result<Event, CountError> {
        let session = self.open_session().ok_or(CountError::NoOpenSession)?;
        let last = session.cells().last().ok_or(CountError::NothingToUndo)?;
        Ok(Event::Undone {
            session: session.id.clone(),
            seq: last.seq,
            at,
        })
    }

    /// The event that finishes the open slide.
    pub fn finish_event(&self, at: Stamp) -> Result<Event, CountError> {
        let session = self.open_session().ok_or(CountError::NoOpenSession)?;
        Ok(Event::SessionFinished {
            session: session.id.clone(),
            at,
        })
    }

    /// Applies an event; the only way the count changes. On error nothing changes.
    pub fn apply(&mut self, event: &Event) -> Result<(), CountError> {
        match event {
            Event::SessionStarted {
                session,
                labels,
                target,
                threshold,
                at,
            } => {
                if let Some(open) = self.open_session() {
                    return Err(CountError::SessionStillOpen(open.id.clone()));
                }
                Self::check_start(event)?;
                self.current = Some(Session::new(
                    session.clone(),
                    labels.clone(),
                    *target,
                    *threshold,
                    *at,
                ));
            }
            Event::CellCounted { session, cell } => {
                let open = self.open_mut(session)?;
                Self::check_cell(open, cell)?;
                open.add(cell.clone());
            }
            Event::Undone { session, seq, .. } => {
                let open = self.open_mut(session)?;
                let last = open.cells().last().ok_or(CountError::NothingToUndo)?;
                if last.seq != *seq {
                    return Err(CountError::UndoOutOfOrder {
                        got: *seq,
                        expected: last.seq,
                    });
                }
                open.remove_last();
            }
            Event::SessionFinished { session, at } => {
                let open = self.open_mut(session)?;
                open.finished = Some(*at);
            }
        }
        Ok(())
    }

    fn open_mut(&mut self, event_session: &str) -> Result<&mut Session, CountError> {
        let open = self
            .current
            .as_mut()
            .filter(|s| s.is_open())
            .ok_or(CountError::NoOpenSession)?;
        if open.id != event_session {
            return Err(CountError::WrongSession {
                event: event_session.to_string(),
                open: open.id.clone(),
            });
        }
        Ok(open)
    }

    fn check_start(event: &Event) -> Result<(), CountError> {
        if let Event::SessionStarted {
            session,
            labels,
            target,
            threshold,
            ..
        } = event
        {
            if session.is_empty() {
                return Err(CountError::Invalid("empty session id".into()));
            }
            if labels.is_empty() {
                return Err(CountError::Invalid(
                    "a slide needs at least one class".into(),
                ));
            }
            if *target == 0 {
                return Err(CountError::Invalid("target must be at least 1".into()));
            }
            if !(0.0..=1.0).contains(threshold) {
                return Err(CountError::Invalid(format!(
                    "threshold {threshold} is outside 0..=1"
                )));
            }
        }
        Ok(())
    }

    fn check_cell(session: &Session, cell: &CellRecord) -> Result<(), CountError> {
        let n = session.labels.len();
        if cell.class >= n || cell.probabilities.len() != n {
            return Err(CountError::Invalid(format!(
                "cell {} has class {} / {} probabilities for {n} classes",
                cell.seq,
                cell.class,
                cell.probabilities.len()
            )));
        }
        if cell.seq < session.next_seq() {
            return Err(CountError::Invalid(format!(
                "cell {} reuses a sequence number (next is {})",
                cell.seq,
                session.next_seq()
            )));
        }
        Ok(())
    }
}
