//! The per-frame entry point of live mode.

use std::time::Duration;

use image::RgbImage;

use super::config::LiveConfig;
use super::motion::{Motion, MotionEstimator};
use super::steady::SteadyDetector;
use super::tracker::{Detection, Tracker, TrackerParams};
use crate::vision::{LocatorParams, PixelBox, crop_square, locate};

/// What the app must do after a frame.
#[derive(Debug, Clone, PartialEq)]
pub enum LiveAction {
    /// Classify this crop, journal the count like a button count, then call
    /// [`LiveEngine::counted`] (or [`LiveEngine::not_counted`] if it failed).
    Classify {
        /// Square crop around the cell, framed like the model's training images.
        crop: RgbImage,
        /// The tracked cell.
        cell_id: u64,
        /// Its position on the slide (pixels of the first live frame).
        slide_pos: (f64, f64),
        /// Its box in the frame.
        cell: PixelBox,
    },
}

/// Live-mode figures for the display and the logs.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct LiveStats {
    /// Frames taken.
    pub frames: u64,
    /// Frames on which the locator ran.
    pub located_frames: u64,
    /// Frame rate of the intake (smoothed, from the frames' timestamps).
    pub fps: f32,
    /// Whether the field is steady now.
    pub steady: bool,
    /// Cells known in this session.
    pub cells_tracked: usize,
    /// Cells counted by live mode in this session.
    pub counted: u32,
    /// Motion of the last frame.
    pub motion: Option<Motion>,
}

/// Live mode: motion, steadiness, locator and tracker, one frame at a time. Pure: no I/O,
/// time is passed in.
pub struct LiveEngine {
    config: LiveConfig,
    locator: LocatorParams,
    cell_fraction: f32,
    target: Option<u32>,
    motion: MotionEstimator,
    steady: SteadyDetector,
    tracker: Tracker,
    stats: LiveStats,
    last_t: Option<Duration>,
    started: bool,
}

impl LiveEngine {
    /// An engine for a new slide. `locator` finds the cells, `cell_fraction` frames the
    /// crop as the model expects (see [`crop_square`]), `target` stops classification once
    /// that many cells were counted.
    pub fn new(
        config: &LiveConfig,
        locator: LocatorParams,
        cell_fraction: f32,
        target: Option<u32>,
    ) -> Self {
        LiveEngine {
            config: config.clone(),
            locator,
            cell_fraction,
            target,
            motion: MotionEstimator::new(config.motion_scale),
            steady: SteadyDetector::new(
                config.steady_motion_px,
                config.steady_frames,
                config.min_motion_confidence,
            ),
            tracker: Tracker::new(Self::tracker_params(config, target)),
            stats: LiveStats::default(),
            last_t: None,
            started: false,
        }
    }

    fn tracker_params(config: &LiveConfig, target: Option<u32>) -> TrackerParams {
        TrackerParams {
            gate: config.gate,
            edge_margin: config.edge_margin,
            min_hits: config.min_hits,
            target,
        }
    }

    /// Forgets every cell: a new slide.
    pub fn new_slide(&mut self, target: Option<u32>) {
        self.target = target;
        self.tracker = Tracker::new(Self::tracker_params(&self.config, target));
        self.pause();
        self.stats = LiveStats::default();
    }

    /// Live mode was switched off: the next frame starts a new motion history. Counted
    /// cells are kept, assuming the slide was not moved meanwhile.
    pub fn pause(&mut self) {
        self.motion.reset();
        self.steady.reset();
        self.last_t = None;
        self.started = false;
    }

    /// Takes one frame captured at `t` (any monotonic clock) and says what to classify.
    pub fn on_frame(&mut self, frame: &RgbImage, t: Duration) -> Vec<LiveAction> {
        if let Some(last) = self.last_t
            && t > last
        {
            let fps = 1.0 / (t - last).as_secs_f32();
            self.stats.fps = if self.stats.fps > 0.0 {
                0.9 * self.stats.fps + 0.1 * fps
            } else {
                fps
            };
        }
        self.last_t = Some(t);
        self.stats.frames += 1;

        let motion = self.motion.push(frame);
        let trusted = motion.filter(|m| m.confidence >= self.config.min_motion_confidence);
        if self.started {
            self.tracker.advance(trusted.map(|m| (m.dx, m.dy)));
        } else {
            // First frame after a start or pause: the slide is assumed where it was.
            self.tracker.advance(Some((0.0, 0.0)));
            self.started = true;
        }
        let steady = self.steady.update(motion.as_ref());
        self.stats.motion = motion;
        self.stats.steady = steady;

        let mut actions = Vec::new();
        if steady && !self.tracker.target_reached() {
            self.stats.located_frames += 1;
            let detections: Vec<Detection> = locate(frame, &self.locator)
                .into_iter()
                .map(|c| Detection {
                    cell: c.cell,
                    nucleus: c.nucleus,
                })
                .collect();
            for req in self.tracker.observe(&detections, frame.dimensions(), true) {
                actions.push(LiveAction::Classify {
                    crop: crop_square(frame, &req.cell, self.cell_fraction),
                    cell_id: req.cell_id,
                    slide_pos: req.slide_pos,
                    cell: req.cell,
                });
            }
        }
        self.stats.cells_tracked = self.tracker.cells().len();
        actions
    }

    /// The cell was classified and its count journaled.
    pub fn counted(&mut self, cell_id: u64) -> bool {
        let ok = self.tracker.counted(cell_id);
        self.stats.counted = self.tracker.counted_total();
        ok
    }

    /// The cell could not be counted; it may be asked for again.
    pub fn not_counted(&mut self, cell_id: u64) {
        self.tracker.not_counted(cell_id);
    }

    /// Whether the target count was reached.
    pub fn target_reached(&self) -> bool {
        self.tracker.target_reached()
    }

    /// Current figures.
    pub fn stats(&self) -> &LiveStats {
        &self.stats
    }

    /// The tracker (for evaluation and tests).
    pub fn tracker(&self) -> &Tracker {
        &self.tracker
    }
}
