//! Recalibration: teaching the classifier a particular microscope from a few reviewed
//! cells (issue 22).
//!
//! The model's pooled embedding goes through a small softmax [`Head`]; a calibration
//! replaces the shipped head by one fitted, in Rust, to cells a technician has reviewed,
//! pulled toward the shipped head by an amount chosen by cross-validation, and written
//! only if it does at least as well as the shipped head on cells it was not fitted to.
//!
//! - [`head`]: the head and how an answer is computed from embeddings,
//! - [`fit`]: the deterministic fit (L-BFGS on the regularised softmax loss),
//! - [`cv`]: folds, the choice of the pull, accuracy before and after, the guard,
//! - [`file`]: the calibration file (versioned JSON) and its validation on load,
//! - [`subset`]: a stratified, seeded subset of the cells (for a learning curve).
//!
//! Everything here except [`CalibrationFile::read`] is pure computation. This room imports only the
//! crate's ground floor ([`crate::time`]); the model (which supplies embeddings and the
//! shipped head), the CLI (which reads the cells and writes the file durably) and the
//! daemon build on it, never the reverse.

pub mod cv;
pub mod file;
pub mod fit;
pub mod head;
mod rng;
pub mod subset;
#[cfg(test)]
mod synthetic;

pub use cv::{
    Accuracy, Calibration, CalibrationRefused, ClassTally, CvOptions, GridPoint, assign_folds,
    calibrate, decide,
};
pub use file::{CalibrationFile, CalibrationFileError, Expected};
pub use fit::{FitError, LabelledCell, fit_head, lambda_scale};
pub use head::{Head, HeadError};
pub use subset::stratified_subset;
