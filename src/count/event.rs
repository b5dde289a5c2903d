//! The events that change the count; one journal line each.

use serde::{Deserialize, Serialize};

/// When something happened, on both clocks.
///
/// The wall clock is what a person reads in a report; the monotonic clock orders events
/// even when the wall clock jumps (a Pi has no real-time clock and may boot in 1970).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Stamp {
    /// Milliseconds since the Unix epoch.
    pub wall_ms: u64,
    /// Milliseconds on the daemon's monotonic clock (since the daemon started).
    pub mono_ms: u64,
}

/// One classified cell, as it is counted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CellRecord {
    /// Number of the cell within its session, from 1; never reused, even after an undo.
    pub seq: u64,
    /// Index of the predicted class in the session's labels.
    pub class: usize,
    /// The predicted class name.
    pub label: String,
    /// Probability of the predicted class.
    pub confidence: f32,
    /// Probability of every class, in label order.
    pub probabilities: Vec<f32>,
    /// False when the confidence was under the threshold, or the cell is unfamiliar: the
    /// cell goes to the 'unidentified' bin and is not part of the differential.
    pub identified: bool,
    /// True when the model's unfamiliar-cell gate found the cell unlike every class the
    /// model knows (a basophil, an immature granulocyte or an erythroblast for the
    /// four-class model): it is unidentified whatever its confidence. Absent (false) in
    /// journals written before the gate existed.
    #[serde(default, skip_serializing_if = "is_false")]
    pub unfamiliar: bool,
    /// Where the frame came from (file name or device).
    pub frame: String,
    /// Path of the saved crop that was classified, if crops are kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crop: Option<String>,
    /// The head that answered: `None` (and every journal written before recalibration
    /// existed) for the model's shipped head, `calibration sha256:<12 hex>` for a
    /// recalibrated one (`hematovision calibrate`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head: Option<String>,
    /// When the cell was counted.
    pub at: Stamp,
}

impl CellRecord {
    /// How a log line or a report marks the cell: `""` when identified, `" UNFAMILIAR"`
    /// when the gate flagged it, else `" UNSURE"` (under the confidence threshold).
    pub fn unsure_tag(&self) -> &'static str {
        unsure_tag(self.identified, self.unfamiliar)
    }
}

/// The mark of [`CellRecord::unsure_tag`] from the two flags, for views of a cell.
pub fn unsure_tag(identified: bool, unfamiliar: bool) -> &'static str {
    match (identified, unfamiliar) {
        (true, _) => "",
        (false, true) => " UNFAMILIAR",
        (false, false) => " UNSURE",
    }
}

/// Everything that changes the count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A new slide was started.
    SessionStarted {
        /// Session identifier (unique per data directory).
        session: String,
        /// Class names of the model used for this slide.
        labels: Vec<String>,
        /// Classes counted but kept outside the differential (reported per 100 white
        /// cells, e.g. erythroblasts), by their names in `labels`. Absent in journals
        /// written before it existed, and for models without such classes: then every
        /// class is in the differential.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        outside_differential: Vec<String>,
        /// How many identified cells of the differential classes make it complete.
        target: u32,
        /// Confidence under which a cell is recorded as unidentified.
        threshold: f32,
        /// The model counting the slide, `<metadata name> <version>` (e.g.
        /// `hematovision-wbc7 2.0.0`); absent in journals written before it was recorded.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        model: Option<String>,
        /// The active calibration's identity (`sha256:<first 12 hex digits of the
        /// calibration file's sha256>`); `None` for the model's shipped head.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        calibration: Option<String>,
        /// The unfamiliar-cell gate in use (`sha256:<12 hex>` of its file); `None` when
        /// the slide was counted without one (and in journals written before it existed).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        gate: Option<String>,
        /// When.
        at: Stamp,
    },
    /// One cell was counted.
    CellCounted {
        /// Session the cell belongs to.
        session: String,
        /// The cell.
        cell: CellRecord,
    },
    /// The last counted cell was taken back.
    Undone {
        /// Session.
        session: String,
        /// Sequence number of the cell taken back.
        seq: u64,
        /// When.
        at: Stamp,
    },
    /// The slide is finished; later counts go to a new session.
    SessionFinished {
        /// Session.
        session: String,
        /// When.
        at: Stamp,
    },
    /// A reviewer confirmed or corrected one counted cell. The cell's record keeps the
    /// model's answer; this event adds the reviewer's, which the count then uses.
    CellReviewed {
        /// Session.
        session: String,
        /// Sequence number of the reviewed cell.
        seq: u64,
        /// The reviewer's class (one of the slide's labels), or `None` for unidentified.
        label: Option<String>,
        /// Who reviewed it.
        reviewer: String,
        /// When.
        at: Stamp,
    },
    /// The operator signed the slide off: it is finished (if it was not) and closed for edits.
    SignedOff {
        /// Session.
        session: String,
        /// The operator's name.
        operator: String,
        /// When.
        at: Stamp,
    },
}

impl Event {
    /// This event with the model and the calibration that count the slide recorded, if it
    /// starts one (other events are returned as they are).
    pub fn with_model(mut self, model: Option<String>, calibration: Option<String>) -> Self {
        if let Event::SessionStarted {
            model: m,
            calibration: c,
            ..
        } = &mut self
        {
            *m = model;
            *c = calibration;
        }
        self
    }

    /// This event with the unfamiliar-cell gate in use recorded, if it starts a slide
    /// (other events are returned as they are).
    pub fn with_gate(mut self, gate: Option<String>) -> Self {
        if let Event::SessionStarted { gate: g, .. } = &mut self {
            *g = gate;
        }
        self
    }

    /// The event's name, as its journal line's `event` field says.
    pub fn name(&self) -> &'static str {
        match self {
            Event::SessionStarted { .. } => "session_started",
            Event::CellCounted { .. } => "cell_counted",
            Event::Undone { .. } => "undone",
            Event::SessionFinished { .. } => "session_finished",
            Event::CellReviewed { .. } => "cell_reviewed",
            Event::SignedOff { .. } => "signed_off",
        }
    }

    /// The session this event belongs to.
    pub fn session(&self) -> &str {
        match self {
            Event::SessionStarted { session, .. }
            | Event::CellCounted { session, .. }
            | Event::Undone { session, .. }
            | Event::SessionFinished { session, .. }
            | Event::CellReviewed { session, .. }
            | Event::SignedOff { session, .. } => session,
        }
    }
}

/// For `skip_serializing_if`: a false flag is left out of the journal line.
fn is_false(flag: &bool) -> bool {
    !*flag
}
