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
