//! The [`Classifier`] trait every model backend implements, and its error.

use crate::calib::HeadError;

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
    /// Embeddings were asked of a model that does not export them.
    #[error(
        "the model exports no embedding (metadata.json `outputs.embedding` and `head`); \
         recalibration needs a model from HematoVision 2.0 on"
    )]
    NoEmbedding,
    /// The calibrated head could not be applied (cannot happen with a calibration checked
    /// against the model, as [`super::ActiveCalibration::load`] does).
    #[error("the calibrated head cannot be applied: {0}; calibrate again with this model")]
    Head(#[from] HeadError),
}

/// Which model and which head give a classifier's answers, for the journal and the
/// screens. Every field is `None` for a classifier that does not say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Provenance {
    /// `<metadata name> <version>`, e.g. `hematovision-wbc7 2.0.0`.
    pub model: Option<String>,
    /// The active calibration's identity (`sha256:<12 hex>`), `None` for the shipped head.
    pub calibration: Option<String>,
    /// The head as a counted cell records it (`calibration sha256:<12 hex>`), `None` for
    /// the shipped head.
    pub head: Option<String>,
    /// The unfamiliar-cell gate in use (`sha256:<12 hex>` of its file), `None` without one.
    pub gate: Option<String>,
}

/// One cell's answer: the class probabilities, and whether the model's unfamiliar-cell
/// gate ([`crate::model::gate`]) found the cell unlike every class the model knows.
#[derive(Debug, Clone, PartialEq)]
pub struct CellAnswer {
    /// One probability per label.
    pub probabilities: Vec<f32>,
    /// True when the gate flagged the cell: it is counted as unidentified, whatever the
    /// confidence. Always false without a gate.
    pub unfamiliar: bool,
}

impl CellAnswer {
    /// An answer the gate did not flag (or given without a gate).
    pub fn known(probabilities: Vec<f32>) -> Self {
        CellAnswer {
            probabilities,
            unfamiliar: false,
        }
    }
}

/// Anything that turns an RGB picture of one cell into class probabilities.
pub trait Classifier {
    /// Class names, in the order of the probabilities [`Classifier::classify`] returns.
    fn labels(&self) -> &[String];
    /// Classifies one image; the result has one probability per label and sums to 1.
    fn classify(&mut self, image: &image::RgbImage) -> Result<Vec<f32>, ClassifyError>;
    /// Classifies one image and says whether the cell is unfamiliar (by default never: only
    /// a classifier with a gate can tell).
    fn classify_cell(&mut self, image: &image::RgbImage) -> Result<CellAnswer, ClassifyError> {
        Ok(CellAnswer::known(self.classify(image)?))
    }
    /// Which model and head answer (nothing said, by default).
    fn provenance(&self) -> Provenance {
        Provenance::default()
    }
    /// The embedding of every orientation view of `image` (what a head reads), for
    /// recalibration; a model without an embedding output has none.
    fn embeddings(&mut self, _image: &image::RgbImage) -> Result<Vec<Vec<f32>>, ClassifyError> {
        Err(ClassifyError::NoEmbedding)
    }
}
