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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::sim::{Effects, Pose, Renderer, Slide};

    fn slide() -> Slide {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bccd");
        Slide::from_bccd(&dir, 3, 1, 3).unwrap()
    }

    fn engine() -> LiveEngine {
        LiveEngine::new(&LiveConfig::default(), LocatorParams::default(), 0.5, None)
    }

    /// Feeds frames at 30 fps along poses; returns the cell boxes asked for (frame, pose x).
    fn run(engine: &mut LiveEngine, slide: &Slide, xs: &[f64]) -> Vec<(usize, f64, PixelBox)> {
        let mut r = Renderer::new(640, 480);
        let fx = Effects {
            exposure: 0.0,
            defocus: 0,
            gain: 1.0,
            jpeg_quality: 100,
        };
        let mut asked = Vec::new();
        for (i, &x) in xs.iter().enumerate() {
            let prev = if i == 0 { x } else { xs[i - 1] };
            let pose = Pose {
                x,
                y: 0.0,
                vx: x - prev,
                vy: 0.0,
            };
            let frame = r.render(&slide.image, &pose, &fx);
            let t = Duration::from_millis(i as u64 * 33);
            for action in engine.on_frame(&frame, t) {
                let LiveAction::Classify {
                    crop,
                    cell_id,
                    cell,
                    ..
                } = action;
                assert!(crop.width() > cell.width(), "crop has a margin");
                assert!(engine.counted(cell_id));
                asked.push((i, x, cell));
            }
        }
        asked
    }

    #[test]
    fn a_still_field_is_counted_once_and_a_pan_back_does_not_count_it_again() {
        let slide = slide();
        let mut e = engine();
        // Sit on the first field, pan to the third and back, then sit again.
        let mut xs = vec![0.0; 12];
        xs.extend((1..=20).map(|k| f64::from(k) * 64.0));
        xs.extend(vec![1280.0; 12]);
        xs.extend((1..=20).rev().map(|k| f64::from(k - 1) * 64.0));
        xs.extend(vec![0.0; 12]);
        let asked = run(&mut e, &slide, &xs);
        let first: Vec<_> = asked.iter().filter(|a| a.1 == 0.0).collect();
        let third: Vec<_> = asked.iter().filter(|a| a.1 == 1280.0).collect();
        assert_eq!(first.len(), 1, "{asked:?}");
        assert!(first[0].0 < 12, "counted on the first visit: {asked:?}");
        assert_eq!(third.len(), 1, "{asked:?}");
        assert_eq!(e.stats().counted, 2);
        assert!(
            e.stats().fps > 25.0 && e.stats().fps < 35.0,
            "{:?}",
            e.stats()
        );
        assert!(e.stats().steady);
    }

    #[test]
    fn nothing_is_asked_while_panning_and_odd_frames_do_not_panic() {
        let slide = slide();
        let mut e = engine();
        let xs: Vec<f64> = (0..30).map(|k| f64::from(k) * 40.0).collect();
        assert!(run(&mut e, &slide, &xs).is_empty());
        assert!(!e.stats().steady);
        for size in [(0, 0), (3, 2), (640, 480), (17, 900)] {
            e.on_frame(&RgbImage::new(size.0, size.1), Duration::from_secs(9));
        }
        e.on_frame(&RgbImage::new(640, 480), Duration::from_secs(1));
    }

    #[test]
    fn target_stops_classification_and_a_new_slide_forgets_the_cells() {
        let slide = slide();
        let mut e = LiveEngine::new(
            &LiveConfig::default(),
            LocatorParams::default(),
            0.5,
            Some(1),
        );
        let asked = run(&mut e, &slide, &[0.0; 12]);
        assert_eq!(asked.len(), 1);
        assert!(e.target_reached());
        e.new_slide(None);
        assert_eq!(e.stats().counted, 0);
        assert!(e.tracker().cells().is_empty());
        let asked = run(&mut e, &slide, &[0.0; 12]);
        assert_eq!(
            asked.len(),
            1,
            "the same field is a new cell on a new slide"
        );
    }
}
