//! Cell classification: the classifier trait and its implementations.

mod confusion_png;
pub mod eval;
pub mod eval_fields;
pub mod illumination;
pub mod integrity;
pub mod litert;
pub mod metadata;
pub mod preprocess;
pub mod reframe;
mod tflite;
pub mod views;

pub use confusion_png::{render_confusion, write_confusion_png};
pub use tflite::{
    ClassifierOptions, ModelError, ModelInfo, TfliteClassifier, default_threads, softmax,
};

/// Errors of a classifier.
#[derive(Debug, thiserror::Error)]
pub enum ClassifyError {
    /// The image could not be turned into the model's input.
    #[error("cannot prepare the image for the model: {0}")]
    Input(String),
    /// The inference engine failed.
    #[error("inference failed: {0}")]
    Engine(String),
    /// The LiteRT runtime reported an error while running the model.
    #[error("inference failed: {0}")]
    Runtime(litert::LiteRtError),
}

/// Anything that turns an RGB picture of one cell into class probabilities.
pub trait Classifier {
    /// Class names, in the order of the probabilities [`Classifier::classify`] returns.
    fn labels(&self) -> &[String];
    /// Classifies one image; the result has one probability per label and sums to 1.
    fn classify(&mut self, image: &image::RgbImage) -> Result<Vec<f32>, ClassifyError>;
}
