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

/// The real finder: the white-cell locator, then the square framed by the cell
/// ([`crate::vision::framing`]) like the model's training images, padded with the field's
/// background.
#[derive(Debug, Clone)]
pub struct LocatorFinder {
    params: crate::vision::LocatorParams,
    cell_fraction: f32,
    reticle: Option<(u32, u32)>,
    /// What the frames so far measured of the microscope (used by the adaptive locator).
    session: crate::vision::SessionNorms,
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
            session: crate::vision::SessionNorms::new(),
        }
    }
}

impl CellFinder for LocatorFinder {
    fn find(&mut self, frame: &RgbImage) -> Option<FoundCell> {
        let chosen = crate::vision::find_cell_in_session(
            frame,
            &self.params,
            self.reticle,
            &mut self.session,
        )?;
        Some(FoundCell {
            crop: crate::vision::frame_cell(frame, &chosen, self.cell_fraction),
            cells_in_view: chosen.count,
        })
    }
}
