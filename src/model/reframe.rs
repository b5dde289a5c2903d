//! Re-framing pictures that are already crops before classifying them: the white cell is
//! found in the picture and cut out so that it fills the model's `cell_fraction` of the
//! side, padded with the picture's background where it is near an edge (the same framing
//! as camera fields, [`crate::vision::framing`]). A picture with no white cell found is
//! classified as it is.

use image::RgbImage;

use super::{CellAnswer, Classifier, ClassifyError, Provenance};
use crate::vision::{LocatorParams, frame_cell, framing::find_in_picture};

/// A classifier that re-frames every picture first.
pub struct Reframing<'a> {
    inner: &'a mut dyn Classifier,
    params: LocatorParams,
    cell_fraction: f32,
    /// Pictures where no white cell was found (classified unframed).
    pub unframed: usize,
}

impl<'a> Reframing<'a> {
    /// Wraps `inner`; `cell_fraction` is the model's (metadata), `params` the locator's.
    pub fn new(inner: &'a mut dyn Classifier, params: LocatorParams, cell_fraction: f32) -> Self {
        Reframing {
            inner,
            params,
            cell_fraction,
            unframed: 0,
        }
    }
}

/// The re-framed picture, or `None` when no white cell was found in it.
pub fn reframe(image: &RgbImage, params: &LocatorParams, cell_fraction: f32) -> Option<RgbImage> {
    let cell = find_in_picture(image, params)?;
    Some(frame_cell(image, &cell, cell_fraction))
}

impl Classifier for Reframing<'_> {
    fn labels(&self) -> &[String] {
        self.inner.labels()
    }

    fn classify(&mut self, image: &RgbImage) -> Result<Vec<f32>, ClassifyError> {
        match reframe(image, &self.params, self.cell_fraction) {
            Some(framed) => self.inner.classify(&framed),
            None => {
                self.unframed += 1;
                log::debug!("re-framing: no white cell found; classifying the picture as it is");
                self.inner.classify(image)
            }
        }
    }

    fn classify_cell(&mut self, image: &RgbImage) -> Result<CellAnswer, ClassifyError> {
        match reframe(image, &self.params, self.cell_fraction) {
            Some(framed) => self.inner.classify_cell(&framed),
            None => {
                self.unframed += 1;
                self.inner.classify_cell(image)
            }
        }
    }

    fn provenance(&self) -> Provenance {
        self.inner.provenance()
    }
}
