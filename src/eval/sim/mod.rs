//! A slide-scan simulator with ground truth, for tests and for `live-eval`.
//!
//! - [`Slide`] (`slide.rs`): a large virtual smear stitched from real BCCD camera fields,
//!   with the box and class of every white cell on it,
//! - [`Scenario`] and [`Renderer`]: named, seeded scans (pans, pauses, back-and-forth
//!   passes, blur, focus drift, flicker, JPEG) and the frame the camera sees at one moment;
//!   they live in the camera room ([`crate::camera::scan`]), whose [`crate::camera::ScanSource`]
//!   gives the daemon the same scans without the truth.
//!
//! A [`Scan`] streams its frames in process or writes them to a folder for the replay
//! frame source.

mod slide;

use std::path::{Path, PathBuf};
use std::time::Duration;

use image::RgbImage;

pub use crate::camera::scan::{Effects, FRAME_SIZE, Pattern, Pose, Renderer, Scenario};
pub use slide::{Slide, SlideError, TruthCell};

/// A frame of a simulated scan.
#[derive(Debug, Clone)]
pub struct SimFrame {
    /// Frame number from 0.
    pub index: usize,
    /// Capture time from the start of the scan.
    pub t: Duration,
    /// Where the camera was.
    pub pose: Pose,
    /// The picture.
    pub image: RgbImage,
}

/// Which white cells a scan showed.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Exposure {
    /// Whole in at least one frame.
    pub seen: Vec<bool>,
    /// Whole while the camera was still (under [`STILL_PX`] per frame) for at least
    /// [`STILL_FRAMES`] frames in a row: the cells the technician looked at, which live
    /// mode must count.
    pub visited: Vec<bool>,
}

/// Camera speed under which a frame counts as still for [`Exposure::visited`] (px/frame).
pub const STILL_PX: f64 = 1.5;
/// Still frames in a row for [`Exposure::visited`] (0.3 s at 30 fps).
pub const STILL_FRAMES: usize = 9;
/// Margin inside the frame for a cell to count as whole in the ground truth (pixels).
pub const WHOLE_MARGIN: f64 = 4.0;

/// A scenario applied to its slide: every frame's pose and effects.
pub struct Scan {
    /// The scenario.
    pub scenario: Scenario,
    /// The slide.
    pub slide: Slide,
    /// Pose and effects of every frame.
    pub frames: Vec<(Pose, Effects)>,
}

impl Scan {
    /// Builds the scenario's slide from the BCCD fields in `fields_dir` and plans its path.
    pub fn build(scenario: &Scenario, fields_dir: &Path) -> Result<Scan, SlideError> {
        let (cols, rows) = scenario.fields;
        let slide = Slide::from_bccd(fields_dir, cols, rows, scenario.seed)?;
        let frames = scenario.path(slide.image.dimensions());
        Ok(Scan {
            scenario: scenario.clone(),
            slide,
            frames,
        })
    }

    /// Number of frames.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// Whether the scan has no frame.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// Renders frame `index` (`None` past the end).
    pub fn frame(&self, index: usize, renderer: &mut Renderer) -> Option<SimFrame> {
        let (pose, effects) = self.frames.get(index)?;
        Some(SimFrame {
            index,
            t: Duration::from_secs_f64(index as f64 / self.scenario.fps),
            pose: *pose,
            image: renderer.render(&self.slide.image, pose, effects),
        })
    }

    /// Streams every frame in order.
    pub fn iter(&self) -> impl Iterator<Item = SimFrame> + '_ {
        let mut renderer = Renderer::new(FRAME_SIZE.0, FRAME_SIZE.1);
        (0..self.len()).filter_map(move |i| self.frame(i, &mut renderer))
    }

    /// Which cells the scan showed whole, and which while still.
    pub fn exposure(&self) -> Exposure {
        let (fw, fh) = (f64::from(FRAME_SIZE.0), f64::from(FRAME_SIZE.1));
        let mut seen = vec![false; self.slide.cells.len()];
        let mut visited = vec![false; self.slide.cells.len()];
        for (k, cell) in self.slide.cells.iter().enumerate() {
            let b = cell.bbox;
            let mut run = 0;
            for (pose, _) in &self.frames {
                let whole = f64::from(b.x0) - pose.x >= WHOLE_MARGIN
                    && f64::from(b.y0) - pose.y >= WHOLE_MARGIN
                    && f64::from(b.x1) - pose.x <= fw - WHOLE_MARGIN
                    && f64::from(b.y1) - pose.y <= fh - WHOLE_MARGIN;
                seen[k] |= whole;
                let still = pose.vx.hypot(pose.vy) < STILL_PX;
                run = if whole && still { run + 1 } else { 0 };
                visited[k] |= run >= STILL_FRAMES;
            }
        }
        Exposure { seen, visited }
    }

    /// The true white cell under a point of frame `index` (frame pixels), if any.
    pub fn cell_at(&self, index: usize, point: (f32, f32)) -> Option<usize> {
        let (pose, _) = self.frames.get(index)?;
        let (sx, sy) = (pose.x + f64::from(point.0), pose.y + f64::from(point.1));
        self.slide
            .cells
            .iter()
            .filter(|c| {
                let b = c.bbox;
                let r = f64::from(b.width().max(b.height())) / 2.0;
                let (cx, cy) = c.centre();
                (cx - sx).hypot(cy - sy) < r
            })
            .map(|c| c.index)
            .next()
    }

    /// Writes every frame as `frame_00000.jpg`… (or `.png` for a scenario without JPEG)
    /// into `dir` for the replay frame source, plus `truth.json` with the cells and poses.
    /// Returns the number of frames written.
    pub fn write_dir(&self, dir: &Path) -> Result<usize, SlideError> {
        let io = |path: PathBuf, e: String| SlideError::Read { path, reason: e };
        std::fs::create_dir_all(dir).map_err(|e| io(dir.to_path_buf(), e.to_string()))?;
        let ext = if self.scenario.jpeg_quality < 100 {
            "jpg"
        } else {
            "png"
        };
        let mut written = 0;
        for frame in self.iter() {
            let path = dir.join(format!("frame_{:05}.{ext}", frame.index));
            let saved = if ext == "jpg" {
                // Frames were already JPEG round-tripped by the renderer; save near-lossless.
                std::fs::File::create(&path)
                    .map_err(|e| e.to_string())
                    .and_then(|f| {
                        image::codecs::jpeg::JpegEncoder::new_with_quality(
                            std::io::BufWriter::new(f),
                            98,
                        )
                        .encode_image(&frame.image)
                        .map_err(|e| e.to_string())
                    })
            } else {
                frame.image.save(&path).map_err(|e| e.to_string())
            };
            saved.map_err(|e| io(path.clone(), e))?;
            written += 1;
        }
        #[derive(serde::Serialize)]
        struct Truth<'a> {
            scenario: &'a Scenario,
            cells: &'a [TruthCell],
            exposure: Exposure,
            poses: Vec<Pose>,
        }
        let truth = Truth {
            scenario: &self.scenario,
            cells: &self.slide.cells,
            exposure: self.exposure(),
            poses: self.frames.iter().map(|(p, _)| *p).collect(),
        };
        let path = dir.join("truth.json");
        let text =
            serde_json::to_string_pretty(&truth).map_err(|e| io(path.clone(), e.to_string()))?;
        std::fs::write(&path, text).map_err(|e| io(path.clone(), e.to_string()))?;
        Ok(written)
    }
}

#[cfg(test)]
mod tests;
