//! Cell classification: a model's files ([`ModelBundle`]), the classifier trait and its
//! LiteRT implementation.

pub mod bundle;
mod classifier;
mod error;
pub mod illumination;
pub mod integrity;
pub mod litert;
pub mod metadata;
pub mod preprocess;
pub mod reframe;
mod tflite;
pub mod views;

pub use bundle::{DEFAULT_CELL_FRACTION, ModelBundle};
pub use classifier::{Classifier, ClassifyError};
pub use error::ModelError;
pub use tflite::{ClassifierOptions, ModelInfo, TfliteClassifier, default_threads, softmax};
