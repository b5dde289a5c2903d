//! One slide's differential count.

use std::collections::BTreeMap;

use serde::Serialize;

use super::event::{CellRecord, Stamp};
use super::review::{Review, SignOff};

/// The state of one slide: per-class counts, the unidentified bin and the undo history.
///
/// Every class the model knows is counted. Most form the differential (percentages of
/// the differential total, which is also what the target counts); the classes named in
/// `outside_differential` (erythroblasts, as analysers do) are counted beside it and
/// reported per 100 white cells of the differential.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Session {
    /// Session identifier.
    pub id: String,
    /// Class names, in model order.
    pub labels: Vec<String>,
    /// Classes counted outside the differential, by name (a subset of `labels`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub outside_differential: Vec<String>,
    /// Target size of the differential.
    pub target: u32,
    /// Confidence threshold in force for this slide.
    pub threshold: f32,
    /// When the slide was started.
    pub started: Stamp,
    /// When the slide was finished, if it is.
    pub finished: Option<Stamp>,
    /// The operator's sign-off, once given: no edit is accepted after it.
    pub signed_off: Option<SignOff>,
    /// The model that counted the slide ("name version"), when the journal records it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The calibration active when the slide started (`None`: the shipped head, or a
    /// journal from before calibrations were recorded).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calibration: Option<String>,
    /// The unfamiliar-cell gate in use when the slide started (`None`: counted without one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gate: Option<String>,
    /// The reviewer's latest verdict per cell sequence number.
    reviews: BTreeMap<u64, Review>,
    counts: Vec<u32>,
    /// Per class, in label order: true when it is part of the differential.
    #[serde(skip)]
    in_differential: Vec<bool>,
    unidentified: u32,
    /// Counted cells still in the count, oldest first (undo takes the last one).
    cells: Vec<CellRecord>,
    next_seq: u64,
}

impl Session {
    /// Starts an empty session; `outside_differential` names classes of `labels` counted
    /// beside the differential (names that are not labels are ignored).
    pub fn new(
        id: String,
        labels: Vec<String>,
        outside_differential: Vec<String>,
        target: u32,
        threshold: f32,
        started: Stamp,
    ) -> Self {
        let counts = vec![0; labels.len()];
        let in_differential = labels
            .iter()
            .map(|l| !outside_differential.contains(l))
            .collect();
        Session {
            id,
            labels,
            outside_differential,
            in_differential,
            target,
            threshold,
            started,
            finished: None,
            signed_off: None,
            model: None,
            calibration: None,
            gate: None,
            reviews: BTreeMap::new(),
            counts,
            unidentified: 0,
            cells: Vec::new(),
            next_seq: 1,
        }
    }

    /// Cells counted per class, in label order (identified cells only).
    pub fn counts(&self) -> &[u32] {
        &self.counts
    }

    /// Cells recorded under the confidence threshold.
    pub fn unidentified(&self) -> u32 {
        self.unidentified
    }

    /// True when class `class` is part of the differential (false for classes counted
    /// outside it, and for indices that are not classes).
    pub fn in_differential(&self, class: usize) -> bool {
        self.in_differential.get(class).copied().unwrap_or(false)
    }

    /// Cells in the differential: identified cells of the differential classes.
    pub fn differential_total(&self) -> u32 {
        self.counts
            .iter()
            .enumerate()
            .filter(|&(class, _)| self.in_differential(class))
            .map(|(_, &n)| n)
            .sum()
    }

    /// Every cell recorded: identified cells of every class, and unidentified ones.
    pub fn total(&self) -> u32 {
        self.counts.iter().sum::<u32>() + self.unidentified
    }

    /// Percentage of each differential class in the differential, in label order (0 when
    /// nothing is counted yet, and for classes outside the differential: see
    /// [`Session::per_100_wbc`]).
    pub fn percentages(&self) -> Vec<f64> {
        let total = self.differential_total();
        self.counts
            .iter()
            .enumerate()
            .map(|(class, &n)| {
                if total == 0 || !self.in_differential(class) {
                    0.0
                } else {
                    100.0 * f64::from(n) / f64::from(total)
                }
            })
            .collect()
    }

    /// Cells of each class outside the differential per 100 white cells of the
    /// differential (as analysers report erythroblasts), in label order: `None` for
    /// differential classes, 0 while the differential is empty.
    pub fn per_100_wbc(&self) -> Vec<Option<f64>> {
        let total = self.differential_total();
        self.counts
            .iter()
            .enumerate()
            .map(|(class, &n)| {
                (!self.in_differential(class)).then(|| {
                    if total == 0 {
                        0.0
                    } else {
                        100.0 * f64::from(n) / f64::from(total)
                    }
                })
            })
            .collect()
    }

    /// True once the differential holds `target` identified cells (cells outside the
    /// differential never count towards it).
    pub fn target_reached(&self) -> bool {
        self.differential_total() >= self.target
    }

    /// The counted cells still in the count, oldest first.
    pub fn cells(&self) -> &[CellRecord] {
        &self.cells
    }

    /// Cells of the unidentified bin that the model's gate found unfamiliar (and no reviewer
    /// has put in a class since).
    pub fn unfamiliar(&self) -> u32 {
        let still = |c: &&CellRecord| c.unfamiliar && self.final_class(c).is_none();
        self.cells.iter().filter(still).count() as u32
    }

    /// The sequence number the next counted cell gets.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// True while the slide accepts cells.
    pub fn is_open(&self) -> bool {
        self.finished.is_none()
    }

    /// The counted cell with this sequence number, if it is still in the count.
    pub fn cell(&self, seq: u64) -> Option<&CellRecord> {
        self.cells.iter().find(|c| c.seq == seq)
    }

    /// The reviewer's latest verdict on a cell, if it was reviewed.
    pub fn review(&self, seq: u64) -> Option<&Review> {
        self.reviews.get(&seq)
    }

    /// The class a cell counts as: the reviewer's when reviewed, else the model's
    /// (`None`: unidentified).
    pub fn final_class(&self, cell: &CellRecord) -> Option<usize> {
        match self.reviews.get(&cell.seq) {
            Some(review) => review.class,
            None => cell.identified.then_some(cell.class),
        }
    }

    /// Moves a cell from one bin to another.
    fn tally(&mut self, class: Option<usize>, up: bool) {
        let bin = match class {
            Some(i) => match self.counts.get_mut(i) {
                Some(bin) => bin,
                None => return,
            },
            None => &mut self.unidentified,
        };
        *bin = if up {
            bin.saturating_add(1)
        } else {
            bin.saturating_sub(1)
        };
    }

    /// Records a verdict (the caller checked the cell and the class) and recounts the cell.
    pub(super) fn set_review(&mut self, seq: u64, review: Review) {
        let Some(cell) = self.cell(seq) else {
            return;
        };
        let before = self.final_class(cell);
        self.tally(before, false);
        self.tally(review.class, true);
        self.reviews.insert(seq, review);
    }

    pub(super) fn add(&mut self, cell: CellRecord) {
        self.tally(cell.identified.then_some(cell.class), true);
        self.next_seq = self.next_seq.max(cell.seq.saturating_add(1));
        self.cells.push(cell);
    }

    pub(super) fn remove_last(&mut self) -> Option<CellRecord> {
        let cell = self.cells.pop()?;
        self.tally(self.final_class(&cell), false);
        self.reviews.remove(&cell.seq);
        Some(cell)
    }
}
