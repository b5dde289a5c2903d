//! Image processing with no I/O: finding white cells and cropping them.
//!
//! - [`locator`]: candidate white-cell boxes in a whole camera field,
//! - [`crop`]: choosing the cell to classify,
//! - [`framing`]: the classifier's square framed by the found cell (fields and crops),
//! - [`session`]: what a session has measured of its microscope (ruler, stain strength).

pub mod bulk;
pub mod components;
pub mod crop;
pub mod cytoplasm;
pub mod framing;
pub mod locator;
pub mod morphology;
pub mod own_threshold;
pub mod params;
pub mod round_ruler;
pub mod ruler;
pub mod runs;
pub mod session;

pub use crop::{ChosenCell, choose_cell};
pub use framing::{
    FramingBox, PictureCell, find_cell_in_session, frame_box, frame_cell, framing_box,
};
pub use locator::{
    Candidate, Sighting, locate, locate_crop, locate_detailed, locate_in_session, locate_tight_crop,
};
pub use params::LocatorParams;
pub use session::{Norms, SessionNorms};

/// An axis-aligned box in image pixels; `x0`/`y0` inclusive, `x1`/`y1` exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct PixelBox {
    /// Left edge (inclusive).
    pub x0: u32,
    /// Top edge (inclusive).
    pub y0: u32,
    /// Right edge (exclusive).
    pub x1: u32,
    /// Bottom edge (exclusive).
    pub y1: u32,
}

impl PixelBox {
    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.x1.saturating_sub(self.x0)
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.y1.saturating_sub(self.y0)
    }

    /// Area in pixels.
    pub fn area(&self) -> u64 {
        u64::from(self.width()) * u64::from(self.height())
    }

    /// Centre point (may be fractional).
    pub fn centre(&self) -> (f32, f32) {
        (
            (self.x0 as f32 + self.x1 as f32) / 2.0,
            (self.y0 as f32 + self.y1 as f32) / 2.0,
        )
    }

    /// Whether `other` lies wholly inside this box (edges may coincide).
    pub fn holds(&self, other: &PixelBox) -> bool {
        self.x0 <= other.x0 && self.y0 <= other.y0 && other.x1 <= self.x1 && other.y1 <= self.y1
    }

    /// Intersection over union with `other`, 0 when they do not overlap.
    pub fn iou(&self, other: &PixelBox) -> f32 {
        let ix = self.x1.min(other.x1).saturating_sub(self.x0.max(other.x0));
        let iy = self.y1.min(other.y1).saturating_sub(self.y0.max(other.y0));
        let inter = u64::from(ix) * u64::from(iy);
        let union = self.area() + other.area() - inter;
        if union == 0 {
            0.0
        } else {
            inter as f32 / union as f32
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iou_of_identical_disjoint_and_half_overlapping_boxes() {
        let a = PixelBox {
            x0: 0,
            y0: 0,
            x1: 10,
            y1: 10,
        };
        assert_eq!(a.iou(&a), 1.0);
        let far = PixelBox {
            x0: 20,
            y0: 20,
            x1: 30,
            y1: 30,
        };
        assert_eq!(a.iou(&far), 0.0);
        let half = PixelBox {
            x0: 5,
            y0: 0,
            x1: 15,
            y1: 10,
        };
        assert!((a.iou(&half) - 50.0 / 150.0).abs() < 1e-6);
        let empty = PixelBox {
            x0: 3,
            y0: 3,
            x1: 3,
            y1: 3,
        };
        assert_eq!(empty.iou(&empty), 0.0);
    }
}
