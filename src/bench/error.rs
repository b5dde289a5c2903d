//! Why a benchmark could not be completed, labelled by the part that failed.

use crate::camera::CameraError;
use crate::hw::button::ButtonError;
use crate::hw::display::DisplayError;
use crate::model::{CalibrationError, ClassifyError, ModelError};
use crate::store::StoreError;

/// Errors of the benchmark.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The model or its runtime could not be loaded.
    #[error("model: {0}")]
    Model(#[source] ModelError),
    /// The calibration was refused for this model.
    #[error("{0}")]
    Calibration(#[source] CalibrationError),
    /// The loaded model failed to prepare an input or to run.
    #[error("model: {0}")]
    Classify(#[source] ClassifyError),
    /// The fields could not be read.
    #[error("fields: {0}")]
    Fields(#[source] CameraError),
    /// The simulated display of the press-to-display path could not be set up (boxed:
    /// the largest error here, and the rarest).
    #[error("display: {0}")]
    Display(#[source] Box<DisplayError>),
    /// The journal of the press-to-display path could not be opened or written.
    #[error("journal: {0}")]
    Journal(#[source] StoreError),
    /// The (never pressed) buttons of the press-to-display path failed.
    #[error("buttons: {0}")]
    Buttons(#[source] ButtonError),
    /// The station could not be served, or answered a request wrongly.
    #[error("station: {0}")]
    Station(String),
    /// A temporary folder could not be made.
    #[error("scratch folder: {0}")]
    Scratch(#[from] std::io::Error),
}
