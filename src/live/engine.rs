//! The per-frame entry point of live mode.

use std::time::Duration;

use image::RgbImage;

use super::config::LiveConfig;
use super::motion::{Motion, MotionEstimator};
use super::steady::SteadyDetector;
use super::tracker::{Detection, Tracker, TrackerParams};
use crate::vision::{LocatorParams, PixelBox, SessionNorms, frame_box, locate_in_session};

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
    /// Cells live mode handed to the app for counting in this session. An undo does not lower
    /// it (the engine never hears of undos; the session's tally is the count of record), so it
    /// says how many cells live mode found, not how many are in the differential.
    pub counted: u32,
    /// Motion of the last frame.
    pub motion: Option<Motion>,
    /// Whether the slide position was lost since live mode was last switched on: frames
    /// stopped for longer than [`MAX_FRAME_GAP`], or the motion could not be followed for
    /// [`MAX_UNTRUSTED_FRAMES`] frames in a row. The slide is then assumed not to have moved.
    pub position_lost: bool,
}

/// Longest gap between two frames over which the slide position is still followed.
pub const MAX_FRAME_GAP: Duration = Duration::from_millis(500);

/// Frames in a row with an untrusted motion estimate (the last velocity is assumed for
/// each) after which the slide position counts as lost.
pub const MAX_UNTRUSTED_FRAMES: u32 = 15;

/// Live mode: motion, steadiness, locator and tracker, one frame at a time. Pure: no I/O,
/// time is passed in.
pub struct LiveEngine {
    config: LiveConfig,
    locator: LocatorParams,
    /// What the located frames measured of the microscope (kept across slides: the
    /// microscope does not change with the slide).
    session: SessionNorms,
    cell_fraction: f32,
    target: Option<u32>,
    motion: MotionEstimator,
    steady: SteadyDetector,
    tracker: Tracker,
    stats: LiveStats,
    last_t: Option<Duration>,
    started: bool,
    untrusted_run: u32,
}

impl LiveEngine {
    /// An engine for a new slide. `locator` finds the cells, `cell_fraction` frames the
    /// crop as the model expects (see [`frame_box`]), `target` stops classification once
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
            session: SessionNorms::new(),
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
            untrusted_run: 0,
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
        self.motion.reset();
        self.steady.reset();
        self.last_t = None;
        self.started = false;
        self.untrusted_run = 0;
        self.stats = LiveStats::default();
    }

    /// Live mode was switched off. Nothing is classified until [`LiveEngine::resume`], but
    /// the slide position is kept: feed the frames taken meanwhile to
    /// [`LiveEngine::follow`] so that a slide moved while live mode was off does not get
    /// its counted cells counted again.
    pub fn pause(&mut self) {
        self.steady.reset();
        self.stats.steady = false;
    }

    /// Live mode is switched on again. Returns whether the slide position was followed all
    /// along; `false` when it was lost (see [`LiveStats::position_lost`]): the slide is then
    /// assumed to be where it was, and cells counted before may be counted again if it
    /// was moved.
    pub fn resume(&mut self) -> bool {
        self.steady.reset();
        !std::mem::take(&mut self.stats.position_lost)
    }

    /// Takes a frame while live mode is off (captured at `t`): only the slide position is
    /// updated (2-3 ms of CPU per 640x480 frame); nothing is located or classified.
    pub fn follow(&mut self, frame: &RgbImage, t: Duration) {
        self.track(frame, t);
    }

    /// Follows the slide by one frame: motion, tracker origin, frame rate. A gap longer
    /// than [`MAX_FRAME_GAP`] restarts the motion history (the slide is assumed where it
    /// was); so do untrusted estimates for [`MAX_UNTRUSTED_FRAMES`] frames in a row.
    fn track(&mut self, frame: &RgbImage, t: Duration) -> Option<Motion> {
        if let Some(last) = self.last_t {
            let gap = t.saturating_sub(last);
            if gap > MAX_FRAME_GAP && self.started {
                self.motion.reset();
                self.started = false;
                self.stats.position_lost = true;
            } else if t > last {
                let fps = 1.0 / gap.as_secs_f32();
                self.stats.fps = if self.stats.fps > 0.0 {
                    0.9 * self.stats.fps + 0.1 * fps
                } else {
                    fps
                };
            }
        }
        self.last_t = Some(t);
        self.stats.frames += 1;

        let motion = self.motion.push(frame);
        let trusted = motion.filter(|m| m.confidence >= self.config.min_motion_confidence);
        if self.started {
            self.untrusted_run = if trusted.is_some() {
                0
            } else {
                self.untrusted_run.saturating_add(1)
            };
            if self.untrusted_run == MAX_UNTRUSTED_FRAMES {
                self.stats.position_lost = true;
            }
            self.tracker.advance(trusted.map(|m| (m.dx, m.dy)));
        } else {
            // First frame of the engine or after a gap: the slide is assumed where it was.
            self.tracker.advance(Some((0.0, 0.0)));
            self.started = true;
            self.untrusted_run = 0;
        }
        self.stats.motion = motion;
        motion
    }

    /// Takes one frame captured at `t` (any monotonic clock) and says what to classify.
    pub fn on_frame(&mut self, frame: &RgbImage, t: Duration) -> Vec<LiveAction> {
        let motion = self.track(frame, t);
        let steady = self.steady.update(motion.as_ref());
        self.stats.steady = steady;

        let mut actions = Vec::new();
        if steady && !self.tracker.target_reached() {
            self.stats.located_frames += 1;
            let seen = locate_in_session(frame, &self.locator, self.session.norms());
            self.session.observe(seen.measured());
            let background = seen.background;
            let detections: Vec<Detection> = seen
                .candidates
                .into_iter()
                .map(|c| Detection {
                    cell: c.cell,
                    nucleus: c.nucleus,
                })
                .collect();
            for req in self.tracker.observe(&detections, frame.dimensions(), true) {
                actions.push(LiveAction::Classify {
                    crop: frame_box(frame, &req.cell, background, self.cell_fraction),
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
