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
    /// The session's values last written to the log.
    logged: crate::vision::Norms,
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
            logged: crate::vision::Norms::default(),
        }
    }
}

/// Relative change of the session's ruler or stain strength worth a log line (a new
/// objective or stain, not frame-to-frame noise).
const NOTABLE_CHANGE: f32 = 0.2;

fn notable(old: Option<f32>, new: Option<f32>) -> bool {
    match (old, new) {
        (None, Some(_)) => true,
        (Some(a), Some(b)) => (b - a).abs() > NOTABLE_CHANGE * a.abs(),
        _ => false,
    }
}

/// Turn of the session's red-cell hue worth a log line, degrees (a new stain; the hue of
/// one microscope's frames scatters by about ±30°, their running median far less).
const NOTABLE_TURN: f32 = 20.0;

fn notable_turn(old: Option<f32>, new: Option<f32>) -> bool {
    match (old, new) {
        (None, Some(_)) => true,
        (Some(a), Some(b)) => crate::vision::bulk::angle_between(a, b) > NOTABLE_TURN,
        _ => false,
    }
}

impl LocatorFinder {
    /// Says what the session has measured of the microscope once it knows, and again when
    /// it changes notably, so a new microscope's setup can be checked in the log.
    fn log_session(&mut self) {
        let now = self.session.norms();
        if notable(self.logged.red_cell_px, now.red_cell_px)
            || notable(self.logged.round_red_cell_px, now.round_red_cell_px)
            || notable(self.logged.saturation, now.saturation)
            || notable_turn(self.logged.red_cell_hue, now.red_cell_hue)
        {
            log::info!(
                "locator session: red cells {} across (whole round ones {}, which set the \
                 nucleus floor), stain strength {} of the reference, red-cell hue {}",
                now.red_cell_px
                    .map_or("not measured".into(), |d| format!("{d:.0} px")),
                now.round_red_cell_px
                    .map_or("not measured yet".into(), |d| format!("{d:.0} px")),
                now.saturation
                    .map_or("not measured".into(), |s| format!("{s:.2}")),
                now.red_cell_hue
                    .map_or("not measured".into(), |h| format!("{h:.0}°")),
            );
            self.logged = now;
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
        );
        self.log_session();
        let chosen = chosen?;
        Some(FoundCell {
            crop: crate::vision::frame_cell(frame, &chosen, self.cell_fraction),
            cells_in_view: chosen.count,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::notable;

    #[test]
    fn only_a_first_value_or_a_large_change_is_notable() {
        assert!(notable(None, Some(32.0)));
        assert!(!notable(Some(32.0), Some(35.0)));
        assert!(notable(Some(32.0), Some(16.0)));
        assert!(!notable(Some(32.0), None));
        assert!(!notable(None, None));
    }
}
