//! A replayed slide as the station shows it: the differential, the cells with the model's
//! and the reviewer's answers, the sign-off. What the API returns and every report renders.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::count::{CellRecord, Session};
use crate::report::SlideReport;
use crate::time::rfc3339_utc;

/// The final label of a cell moved out of the differential.
pub const UNIDENTIFIED: &str = "unidentified";

/// One counted cell with both answers.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CellDoc {
    /// Sequence number within the slide.
    pub seq: u64,
    /// When it was counted (UTC).
    pub time: String,
    /// The model's most probable class.
    pub model_label: String,
    /// The model's probability of that class.
    pub confidence: f32,
    /// False when the model was under the slide's threshold (UNSURE) or the cell is
    /// unfamiliar.
    pub identified: bool,
    /// True when the model's gate found the cell unlike every class it knows (UNFAMILIAR).
    pub unfamiliar: bool,
    /// Every class's probability.
    pub probabilities: BTreeMap<String, f32>,
    /// The class the cell counts as: the reviewer's if reviewed, else the model's when
    /// identified, else [`UNIDENTIFIED`].
    pub final_label: String,
    /// Who reviewed it, if anyone.
    pub reviewer: Option<String>,
    /// When it was reviewed (UTC).
    pub reviewed: Option<String>,
    /// File name of the saved crop in `crops/<slide>/`, if one was kept.
    pub crop: Option<String>,
}

/// The sign-off of a slide.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SignOffDoc {
    /// The operator's name.
    pub operator: String,
    /// When (UTC).
    pub time: String,
}

/// A whole slide.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SlideDoc {
    /// The differential count (the reviewer's answers included).
    #[serde(flatten)]
    pub summary: SlideReport,
    /// `open`, `finished` or `signed off`.
    pub state: &'static str,
    /// Class names in model order.
    pub labels: Vec<String>,
    /// The sign-off, once given.
    pub signed_off: Option<SignOffDoc>,
    /// Every counted cell, oldest first.
    pub cells: Vec<CellDoc>,
}

impl SlideDoc {
    /// The document of a replayed slide.
    pub fn of(session: &Session) -> SlideDoc {
        let cells = session
            .cells()
            .iter()
            .map(|c| cell_doc(session, c))
            .collect();
        SlideDoc {
            summary: SlideReport::of(session),
            state: state_of(session),
            labels: session.labels.clone(),
            signed_off: session.signed_off.as_ref().map(|s| SignOffDoc {
                operator: s.operator.clone(),
                time: rfc3339_utc(s.at.wall_ms),
            }),
            cells,
        }
    }

    /// The slide's identifier.
    pub fn id(&self) -> &str {
        &self.summary.session
    }
}

/// `open`, `finished` or `signed off`.
pub fn state_of(session: &Session) -> &'static str {
    if session.signed_off.is_some() {
        "signed off"
    } else if session.is_open() {
        "open"
    } else {
        "finished"
    }
}

fn cell_doc(session: &Session, cell: &CellRecord) -> CellDoc {
    let review = session.review(cell.seq);
    let final_label = session
        .final_class(cell)
        .and_then(|i| session.labels.get(i))
        .map_or_else(|| UNIDENTIFIED.to_string(), Clone::clone);
    CellDoc {
        seq: cell.seq,
        time: rfc3339_utc(cell.at.wall_ms),
        model_label: cell.label.clone(),
        confidence: cell.confidence,
        identified: cell.identified,
        unfamiliar: cell.unfamiliar,
        probabilities: session
            .labels
            .iter()
            .cloned()
            .zip(cell.probabilities.iter().copied())
            .collect(),
        final_label,
        reviewer: review.map(|r| r.reviewer.clone()),
        reviewed: review.map(|r| rfc3339_utc(r.at.wall_ms)),
        crop: cell.crop.as_deref().and_then(crop_file_name),
    }
}

/// The file name of a recorded crop path (the journal keeps the path as it was written).
fn crop_file_name(path: &str) -> Option<String> {
    std::path::Path::new(path)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
}
