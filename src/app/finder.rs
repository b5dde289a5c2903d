//! Finding the cell to classify in a camera frame.

use image::RgbImage;

/// The cell chosen in a frame, cropped as the model expects.
#[derive(Debug, Clone)]
pub struct FoundCell {
    /// Square crop around the chosen cell.
    pub crop: RgbImage,
    /// White cells seen in the frame (the one nearest the centre was chosen).
    pub cells_in_view: usize,
}

/// Anything that finds the white cell to classify in a frame.
pub trait CellFinder {
    /// The chosen cell, or `None` when the frame holds no white cell.
    fn find(&mut self, frame: &RgbImage) -> Option<FoundCell>;
}

/// The real finder: the white-cell locator, then a square crop framed like the
/// model's training images.
#[derive(Debug, Clone)]
pub struct LocatorFinder {
    params: crate::vision::LocatorParams,
    cell_fraction: f32,
    reticle: Option<(u32, u32)>,
}

impl LocatorFinder {
    /// A finder with the locator's settings, the model's `cell_fraction` (how much of the
    /// crop's side the cell fills in training images) and an optional reticle position.
    pub fn new(
        params: crate::vision::LocatorParams,
        cell_fraction: f32,
        reticle: Option<(u32, u32)>,
    ) -> Self {
        LocatorFinder {
            params,
            cell_fraction,
            reticle,
        }
    }
}

impl CellFinder for LocatorFinder {
    fn find(&mut self, frame: &RgbImage) -> Option<FoundCell> {
        let candidates = crate::vision::locate(frame, &self.params);
        let chosen = crate::vision::choose_cell(&candidates, frame.dimensions(), self.reticle)?;
        Some(FoundCell {
            crop: crate::vision::crop_square(frame, &chosen.candidate.cell, self.cell_fraction),
            cells_in_view: chosen.count,
        })
    }
}
