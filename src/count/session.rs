//! One slide's differential count.

use std::collections::BTreeMap;

use serde::Serialize;

use super::event::{CellRecord, Stamp};
use super::review::{Review, SignOff};

/// The state of one slide: per-class counts, the unidentified bin and the undo history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Session {
    /// Session identifier.
    pub id: String,
    /// Class names, in model order.
    pub labels: Vec<String>,
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
    /// The reviewer's latest verdict per cell sequence number.
    reviews: BTreeMap<u64, Review>,
    counts: Vec<u32>,
    unidentified: u32,
    /// Counted cells still in the count, oldest first (undo takes the last one).
    cells: Vec<CellRecord>,
    next_seq: u64,
}

impl Session {
    /// Starts an empty session.
    pub fn new(
        id: String,
        labels: Vec<String>,
        target: u32,
        threshold: f32,
        started: Stamp,
    ) -> Self {
        let counts = vec![0; labels.len()];
        Session {
            id,
            labels,
            target,
            threshold,
            started,
            finished: None,
            signed_off: None,
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

    /// Cells in the differential (identified cells of every class).
    pub fn differential_total(&self) -> u32 {
        self.counts.iter().sum()
    }

    /// Every cell recorded, identified or not.
    pub fn total(&self) -> u32 {
        self.differential_total() + self.unidentified
    }

    /// Percentage of each class in the differential (0 when nothing is counted yet).
    pub fn percentages(&self) -> Vec<f64> {
        let total = self.differential_total();
        self.counts
            .iter()
            .map(|&n| {
                if total == 0 {
                    0.0
                } else {
                    100.0 * f64::from(n) / f64::from(total)
                }
            })
            .collect()
    }

    /// True once the differential holds `target` identified cells.
    pub fn target_reached(&self) -> bool {
        self.differential_total() >= self.target
    }

    /// The counted cells still in the count, oldest first.
    pub fn cells(&self) -> &[CellRecord] {
        &self.cells
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
