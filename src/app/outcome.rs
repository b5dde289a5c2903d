//! What came of one press of the count button.

use crate::count::CellRecord;

/// The result of one count request.
#[derive(Debug, Clone, PartialEq)]
pub enum CountOutcome {
    /// The cell was classified and journaled.
    Counted {
        /// The counted cell.
        cell: CellRecord,
        /// White cells in view.
        cells_in_view: usize,
    },
    /// The camera gave no frame.
    NoFrame(String),
    /// No white cell in the frame; nothing counted.
    NoCell,
    /// Classification or counting failed.
    Failed(String),
    /// The journal could not be written, so the cell was not counted.
    NotSaved(String),
}
