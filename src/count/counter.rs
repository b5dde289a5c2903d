//! The counting state machine: validates commands and applies events.

use super::event::{CellRecord, Event, Stamp};
use super::review::{Review, SignOff, check_name};
use super::session::Session;
use super::session_id::validate_session_id;

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
    /// A review or sign-off names a slide this counter does not hold.
    #[error("slide {0} is not the one loaded")]
    NotThisSlide(String),
    /// A review names a cell that is not in the count.
    #[error("cell {0} is not in the count of this slide")]
    NoSuchCell(u64),
    /// The slide was signed off: it accepts no more edits.
    #[error("slide {0} was signed off and is closed for edits")]
    SignedOff(String),
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

    /// The event that starts a new slide where every class is in the differential.
    pub fn start_event(
        &self,
        session: String,
        labels: Vec<String>,
        target: u32,
        threshold: f32,
        at: Stamp,
    ) -> Result<Event, CountError> {
        self.start_event_with_outside(session, labels, Vec::new(), target, threshold, at)
    }

    /// The event that starts a new slide whose `outside_differential` classes (names
    /// from `labels`) are counted beside the differential rather than in it.
    pub fn start_event_with_outside(
        &self,
        session: String,
        labels: Vec<String>,
        outside_differential: Vec<String>,
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
            outside_differential,
            target,
            threshold,
            model: None,
            calibration: None,
            gate: None,
            at,
        };
        Self::check_start(&event)?;
        Ok(event)
    }

    /// The event that counts one classified cell: the most probable class, recorded as
    /// unidentified when its probability is under the slide's threshold. The cell is
    /// recorded as answered by the model's shipped head, and not unfamiliar.
    pub fn count_event(
        &self,
        probabilities: Vec<f32>,
        frame: String,
        crop: Option<String>,
        at: Stamp,
    ) -> Result<Event, CountError> {
        self.count_event_by(probabilities, false, frame, crop, None, at)
    }

    /// [`Counter::count_event`] for a cell answered by `head` (`None`: the model's shipped
    /// head; `calibration sha256:<12 hex>` for a recalibrated one) and flagged `unfamiliar`
    /// or not by the model's gate: an unfamiliar cell is unidentified whatever its
    /// confidence.
    pub fn count_event_by(
        &self,
        probabilities: Vec<f32>,
        unfamiliar: bool,
        frame: String,
        crop: Option<String>,
        head: Option<String>,
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
        if probabilities
            .iter()
            .any(|p| !p.is_finite() || !(0.0..=1.0).contains(p))
        {
            return Err(CountError::Invalid(
                "a probability is not a number in 0..=1".into(),
            ));
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
            identified: confidence >= session.threshold && !unfamiliar,
            unfamiliar,
            probabilities,
            frame,
            crop,
            head,
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

    /// Checks an event against the current state without changing anything: the same
    /// checks [`Counter::apply`] makes, so the daemon can refuse an event before it is
    /// journaled and replay refuses exactly what the daemon would.
    pub fn check(&self, event: &Event) -> Result<(), CountError> {
        match event {
            Event::SessionStarted { .. } => {
                if let Some(open) = self.open_session() {
                    return Err(CountError::SessionStillOpen(open.id.clone()));
                }
                Self::check_start(event)
            }
            Event::CellCounted { session, cell } => {
                let open = self.open_ref(session)?;
                Self::check_cell(open, cell)
            }
            Event::Undone { session, seq, .. } => {
                let open = self.open_ref(session)?;
                let last = open.cells().last().ok_or(CountError::NothingToUndo)?;
                if last.seq != *seq {
                    return Err(CountError::UndoOutOfOrder {
                        got: *seq,
                        expected: last.seq,
                    });
                }
                Ok(())
            }
            Event::SessionFinished { session, .. } => self.open_ref(session).map(|_| ()),
            Event::CellReviewed {
                session,
                seq,
                label,
                reviewer,
                ..
            } => {
                let slide = self.editable(session)?;
                slide.cell(*seq).ok_or(CountError::NoSuchCell(*seq))?;
                Self::class_of(slide, label.as_deref())?;
                check_name(reviewer).map_err(|e| CountError::Invalid(format!("reviewer: {e}")))
            }
            Event::SignedOff {
                session, operator, ..
            } => {
                self.editable(session)?;
                check_name(operator).map_err(|e| CountError::Invalid(format!("operator: {e}")))
            }
        }
    }

    /// The event that records a reviewer's verdict on one cell of the loaded slide (open or
    /// finished): `label` is one of the slide's classes, or `None` for unidentified.
    pub fn review_event(
        &self,
        seq: u64,
        label: Option<String>,
        reviewer: String,
        at: Stamp,
    ) -> Result<Event, CountError> {
        let slide = self.current.as_ref().ok_or(CountError::NoOpenSession)?;
        let event = Event::CellReviewed {
            session: slide.id.clone(),
            seq,
            label,
            reviewer,
            at,
        };
        self.check(&event)?;
        Ok(event)
    }

    /// The event that signs the loaded slide off in the operator's name.
    pub fn sign_off_event(&self, operator: String, at: Stamp) -> Result<Event, CountError> {
        let slide = self.current.as_ref().ok_or(CountError::NoOpenSession)?;
        let event = Event::SignedOff {
            session: slide.id.clone(),
            operator,
            at,
        };
        self.check(&event)?;
        Ok(event)
    }

    /// The loaded slide named `session`, open or finished, if it is not signed off.
    fn editable(&self, session: &str) -> Result<&Session, CountError> {
        let slide = self
            .current
            .as_ref()
            .filter(|s| s.id == session)
            .ok_or_else(|| CountError::NotThisSlide(session.to_string()))?;
        if slide.signed_off.is_some() {
            return Err(CountError::SignedOff(slide.id.clone()));
        }
        Ok(slide)
    }

    /// The class index of a reviewer's label (`None` = unidentified).
    fn class_of(slide: &Session, label: Option<&str>) -> Result<Option<usize>, CountError> {
        match label {
            None => Ok(None),
            Some(label) => slide
                .labels
                .iter()
                .position(|l| l == label)
                .map(Some)
                .ok_or_else(|| {
                    CountError::Invalid(format!(
                        "{label:?} is not a class of this slide ({})",
                        slide.labels.join(", ")
                    ))
                }),
        }
    }

    /// Applies an event; the only way the count changes. On error nothing changes.
    pub fn apply(&mut self, event: &Event) -> Result<(), CountError> {
        self.check(event)?;
        match event {
            Event::SessionStarted {
                session,
                labels,
                outside_differential,
                target,
                threshold,
                model,
                calibration,
                gate,
                at,
            } => {
                let mut started = Session::new(
                    session.clone(),
                    labels.clone(),
                    outside_differential.clone(),
                    *target,
                    *threshold,
                    *at,
                );
                started.model = model.clone();
                started.calibration = calibration.clone();
                started.gate = gate.clone();
                self.current = Some(started);
            }
            Event::CellCounted { session, cell } => {
                self.open_mut(session)?.add(cell.clone());
            }
            Event::Undone { session, .. } => {
                self.open_mut(session)?.remove_last();
            }
            Event::SessionFinished { session, at } => {
                self.open_mut(session)?.finished = Some(*at);
            }
            Event::CellReviewed {
                seq,
                label,
                reviewer,
                at,
                ..
            } => {
                if let Some(slide) = self.current.as_mut() {
                    let class = Self::class_of(slide, label.as_deref())?;
                    let review = Review {
                        class,
                        reviewer: reviewer.clone(),
                        at: *at,
                    };
                    slide.set_review(*seq, review);
                }
            }
            Event::SignedOff { operator, at, .. } => {
                if let Some(slide) = self.current.as_mut() {
                    slide.finished.get_or_insert(*at);
                    slide.signed_off = Some(SignOff {
                        operator: operator.clone(),
                        at: *at,
                    });
                }
            }
        }
        Ok(())
    }

    fn open_ref(&self, event_session: &str) -> Result<&Session, CountError> {
        let open = self.open_session().ok_or(CountError::NoOpenSession)?;
        if open.id != event_session {
            return Err(CountError::WrongSession {
                event: event_session.to_string(),
                open: open.id.clone(),
            });
        }
        Ok(open)
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
            outside_differential,
            target,
            threshold,
            ..
        } = event
        {
            validate_session_id(session).map_err(|e| CountError::Invalid(e.to_string()))?;
            if labels.is_empty() {
                return Err(CountError::Invalid(
                    "a slide needs at least one class".into(),
                ));
            }
            if labels.iter().any(|l| l.trim().is_empty()) {
                return Err(CountError::Invalid("a class name is empty".into()));
            }
            Self::check_outside(labels, outside_differential)?;
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

    /// The classes outside the differential must be distinct classes of the slide, and
    /// leave at least one class in it.
    fn check_outside(labels: &[String], outside: &[String]) -> Result<(), CountError> {
        for (i, name) in outside.iter().enumerate() {
            if !labels.contains(name) {
                return Err(CountError::Invalid(format!(
                    "class {name:?} outside the differential is not a class of the slide"
                )));
            }
            if outside[..i].contains(name) {
                return Err(CountError::Invalid(format!(
                    "class {name:?} is listed twice outside the differential"
                )));
            }
        }
        if labels.iter().all(|l| outside.contains(l)) {
            return Err(CountError::Invalid(
                "every class is outside the differential".into(),
            ));
        }
        Ok(())
    }

    /// Every value of a counted cell must be one the daemon itself could have written.
    fn check_cell(session: &Session, cell: &CellRecord) -> Result<(), CountError> {
        let n = session.labels.len();
        let invalid = |why: String| Err(CountError::Invalid(format!("cell {}: {why}", cell.seq)));
        if cell.class >= n || cell.probabilities.len() != n {
            return invalid(format!(
                "class {} / {} probabilities for {n} classes",
                cell.class,
                cell.probabilities.len()
            ));
        }
        if cell.label != session.labels[cell.class] {
            return invalid(format!(
                "label {:?} is not class {} of the slide ({:?})",
                cell.label, cell.class, session.labels[cell.class]
            ));
        }
        let unit = |p: f32| p.is_finite() && (0.0..=1.0).contains(&p);
        if !cell.probabilities.iter().copied().all(unit) {
            return invalid("a probability is not a number in 0..=1".into());
        }
        // Serialised and read back, an f32 is exact: the confidence is the class's
        // probability, and no other class is more probable.
        let p = cell.probabilities[cell.class];
        if cell.confidence != p || cell.probabilities.iter().any(|&q| q > p) {
            return invalid(format!(
                "confidence {} is not the highest probability of class {}",
                cell.confidence, cell.class
            ));
        }
        if cell.unfamiliar && cell.identified {
            return invalid("an unfamiliar cell is recorded as identified".into());
        }
        if !cell.unfamiliar && cell.identified != (cell.confidence >= session.threshold) {
            return invalid(format!(
                "identified is {} but confidence {} is {} the slide's threshold {}",
                cell.identified,
                cell.confidence,
                if cell.identified {
                    "under"
                } else {
                    "at or over"
                },
                session.threshold
            ));
        }
        if cell.seq == 0 || cell.seq == u64::MAX {
            return invalid("sequence number out of range".into());
        }
        if cell.seq < session.next_seq() {
            return invalid(format!(
                "reuses a sequence number (next is {})",
                session.next_seq()
            ));
        }
        Ok(())
    }
}
