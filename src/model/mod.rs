//! Cell classification: a model's files ([`ModelBundle`]), the classifier trait and its
//! LiteRT implementation, which answers through a recalibrated head
//! ([`ActiveCalibration`]) when one is loaded.

pub mod bundle;
mod calibration;
mod classifier;
mod error;
pub mod gate;
pub mod head_file;
pub mod illumination;
pub mod integrity;
pub mod litert;
pub mod metadata;
pub mod preprocess;
pub mod recalibrate;
pub mod reframe;
mod tflite;
pub mod views;

pub use bundle::{DEFAULT_CELL_FRACTION, ModelBundle};
pub use calibration::{ActiveCalibration, CalibrationError};
pub use classifier::{CellAnswer, Classifier, ClassifyError, Provenance};
pub use error::ModelError;
pub use gate::Gate;
pub use recalibrate::{RecalibrateError, Recalibrated, recalibrate};
pub use tflite::{
    CellOutputs, ClassifierOptions, ModelInfo, TfliteClassifier, default_threads, softmax,
};
