//! A simulated slide scan as a camera: pictures stitched into one large virtual smear, and
//! a technician's hand moving the stage over it (pans, pauses, tremor, motion blur, focus
//! drift, flicker, JPEG), rendered frame by frame.
//!
//! - [`stitch`] (here): the virtual smear from a folder's pictures,
//! - [`Scenario`] (`scenario.rs`): named, seeded scans and the camera path they produce,
//! - [`Renderer`] (`render.rs`): the frame the camera sees at one moment,
//! - [`ScanSource`] (`source.rs`): all of it as a [`super::FrameSource`], for the demo's live
//!   mode (`[camera] source = "scan"`); `eval::sim` adds the ground truth for `live-eval`.

mod render;
mod rng;
mod scenario;
mod source;

use std::path::PathBuf;

use image::RgbImage;

pub use render::{Effects, Pose, Renderer, jpeg_round_trip};
pub use rng::Rng;
pub use scenario::{FRAME_SIZE, Pattern, STOP_STEP, Scenario};
pub use source::ScanSource;

/// A picture that could not be stitched into the slide.
#[derive(Debug, thiserror::Error)]
#[error("cannot read {path}: {reason}")]
pub struct StitchError {
    /// The picture.
    pub path: PathBuf,
    /// Why.
    pub reason: String,
}

/// Stitches `tiles` row by row, `cols` to a row, into one picture. Every tile takes the
/// size of the first (a larger one is cut, a smaller one leaves black); pictures over
/// `max_pixels` are refused.
pub fn stitch(tiles: &[PathBuf], cols: u32, max_pixels: u64) -> Result<RgbImage, StitchError> {
    let cols = cols.max(1);
    let rows = (tiles.len() as u32).div_ceil(cols);
    let mut image: Option<RgbImage> = None;
    for (k, path) in tiles.iter().enumerate() {
        let tile =
            crate::imagefile::read_rgb_within(path, max_pixels).map_err(|e| StitchError {
                path: path.clone(),
                reason: e.to_string(),
            })?;
        let slide = image.get_or_insert_with(|| {
            let (w, h) = tile.dimensions();
            RgbImage::new(w * cols, h * rows)
        });
        let (w, h) = (slide.width() / cols, slide.height() / rows);
        let (x, y) = ((k as u32 % cols) * w, (k as u32 / cols) * h);
        let fitted = image::imageops::crop_imm(&tile, 0, 0, w, h).to_image();
        image::imageops::replace(slide, &fitted, i64::from(x), i64::from(y));
    }
    Ok(image.unwrap_or_default())
}
