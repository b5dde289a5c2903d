//! The [`Classifier`] trait every model backend implements, and its error.

use super::litert::LiteRtError;
use super::preprocess::PreprocessError;

/// Errors of a classifier.
#[derive(Debug, thiserror::Error)]
pub enum ClassifyError {
    /// The image could not be turned into the model's input.
    #[error(
        "cannot prepare the image for the model: {source}; give it a picture of at least one \
         pixel (check that the camera delivers frames and the cell crop lies inside the frame)"
    )]
    Input {
        /// Why preprocessing refused the image.
        #[from]
        source: PreprocessError,
    },
    /// The inference engine failed while running the model.
    #[error(
        "inference failed: {source}; run `hematovision doctor` to check the model and the \
         runtime library"
    )]
    Engine {
        /// What the LiteRT runtime reported.
        #[from]
        source: LiteRtError,
    },
}

/// Anything that turns an RGB picture of one cell into class probabilities.
pub trait Classifier {
    /// Class names, in the order of the probabilities [`Classifier::classify`] returns.
    fn labels(&self) -> &[String];
    /// Classifies one image; the result has one probability per label and sums to 1.
    fn classify(&mut self, image: &image::RgbImage) -> Result<Vec<f32>, ClassifyError>;
}
