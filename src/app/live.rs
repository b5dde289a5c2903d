//! Live mode in the event loop: frames are taken continuously and every new white cell
//! that is steady and whole is classified and counted once, journaled exactly like a
//! button count (with its crop), so undo and reports work the same.
//!
//! - Switching live mode off and on never counts a cell twice: while it is off, frames are
//!   still taken to follow the slide (motion only) as long as live mode has counted cells
//!   on this slide; if frames stop meanwhile, the position is lost, logged, and the slide
//!   assumed unmoved.
//! - An undone live count stays seen: the technician rejected that cell, so it is not
//!   counted again when it comes back into view (undo removes the count, not the memory
//!   that the cell was looked at). A new slide forgets every cell.

use image::RgbImage;

use super::{App, CountOutcome};
use crate::camera::{CameraError, Frame};
use crate::hw::display::Status;
use crate::live::{LiveAction, LiveConfig, LiveEngine, LiveStats};
use crate::vision::LocatorParams;

/// Live-mode state of the app.
#[derive(Default)]
pub(super) struct LiveMode {
    engine: Option<LiveEngine>,
    on: bool,
    camera_failing: bool,
    bad_frames: u64,
    /// The frame buffer every live frame is read into, so streaming does not allocate.
    frame: Frame,
    /// While live mode is off: whether the last frame taken to follow the slide arrived.
    follow_failing: bool,
}

impl App {
    /// Sets up live mode from the `[live]` section, the locator settings and the model's
    /// `cell_fraction`; live mode starts at once when `config.enabled`. Without this call
    /// the live button only logs that live mode is not configured.
    pub fn configure_live(
        &mut self,
        config: &LiveConfig,
        locator: LocatorParams,
        cell_fraction: f32,
    ) {
        self.live.engine = Some(LiveEngine::new(config, locator, cell_fraction, None));
        self.live.on = false;
        if config.enabled {
            self.toggle_live();
        }
    }

    /// Whether live mode is on.
    pub fn live_active(&self) -> bool {
        self.live.on
    }

    /// Whether frames are taken while live mode is off, to follow the slide: live mode has
    /// counted cells on this slide, which must not be counted again if the slide is moved
    /// before live mode is switched on again. Motion only, 2-3 ms of CPU per frame.
    pub fn live_following(&self) -> bool {
        !self.live.on
            && !self.live.follow_failing
            && self
                .live
                .engine
                .as_ref()
                .is_some_and(|e| e.tracker().counted_total() > 0 && !e.target_reached())
            && self
                .counter
                .open_session()
                .is_some_and(|s| !s.target_reached())
    }

    /// Live-mode figures (frames, fps, steady, cells tracked), when live mode is set up.
    pub fn live_stats(&self) -> Option<&LiveStats> {
        self.live.engine.as_ref().map(LiveEngine::stats)
    }

    /// Switches live mode on or off (the live button).
    pub(super) fn toggle_live(&mut self) {
        let Some(engine) = self.live.engine.as_mut() else {
            log::warn!("live mode is not configured; the live button does nothing");
            return;
        };
        if self.live.on {
            engine.pause();
            self.live.on = false;
            log::info!("live mode off");
            self.show_status(Status::Ready);
        } else if self
            .counter
            .open_session()
            .is_some_and(|s| s.target_reached())
        {
            log::info!("live mode not started: the target is reached");
            self.show_status(Status::TargetReached);
        } else {
            if !engine.resume() {
                log::warn!(
                    "live: the slide position was lost while live mode was off (no frames, \
                     or motion too fast to follow); it is assumed unchanged, so if the slide \
                     was moved, cells counted before may be counted again"
                );
            }
            self.live.on = true;
            self.live.follow_failing = false;
            log::info!("live mode on: scan the slide; each white cell is counted once");
            self.show_status(Status::Live);
        }
    }

    /// A new slide: live mode forgets the cells it has seen.
    pub(super) fn live_new_slide(&mut self) {
        if let Some(engine) = self.live.engine.as_mut() {
            engine.new_slide(None);
        }
    }

    /// Takes one frame in live mode and counts the cells it asks for. While live mode is
    /// off it follows the slide instead when [`App::live_following`] (a frame that cannot
    /// be taken is retried at the next call), and otherwise does nothing. Returns the
    /// outcome of every count attempted.
    pub fn live_step(&mut self) -> Vec<CountOutcome> {
        if !self.live.on {
            self.live_follow();
            return Vec::new();
        }
        let mut frame = std::mem::take(&mut self.live.frame);
        let outcomes = self.live_frame(&mut frame);
        self.live.frame = frame;
        outcomes
    }

    /// [`App::live_step`] with the reusable frame buffer taken out of `self`.
    fn live_frame(&mut self, frame: &mut Frame) -> Vec<CountOutcome> {
        match self.devices.camera.latest_frame_into(frame) {
            Ok(()) => {}
            Err(CameraError::BadFrame { origin, reason }) => {
                self.live.bad_frames += 1;
                log::debug!("live: bad frame {origin} skipped: {reason}");
                return Vec::new();
            }
            Err(CameraError::Exhausted) => {
                log::info!("live: no more frames; live mode off");
                self.toggle_live();
                return Vec::new();
            }
            Err(e) => {
                if !self.live.camera_failing {
                    log::warn!("live: {e}");
                    self.live.camera_failing = true;
                    self.show_status(Status::NoCamera);
                }
                return Vec::new();
            }
        }
        if self.live.camera_failing {
            log::info!("live: camera is back");
            self.live.camera_failing = false;
            self.show_status(Status::Live);
        }
        let Some(engine) = self.live.engine.as_mut() else {
            return Vec::new();
        };
        let actions = engine.on_frame(&frame.image, frame.timestamp);
        let mut outcomes = Vec::new();
        for LiveAction::Classify { crop, cell_id, .. } in actions {
            if self
                .counter
                .open_session()
                .is_none_or(|s| s.target_reached())
            {
                self.not_counted(cell_id);
                continue;
            }
            let outcome = self.live_count(&crop, &frame.origin, cell_id);
            self.show_outcome(&outcome);
            outcomes.push(outcome);
        }
        if self
            .counter
            .open_session()
            .is_some_and(|s| s.target_reached())
        {
            log::info!("live: target reached; live mode off");
            if let Some(engine) = self.live.engine.as_mut() {
                engine.pause();
            }
            self.live.on = false;
        }
        outcomes
    }

    /// While live mode is off: one frame for the slide position, when it is worth it.
    fn live_follow(&mut self) {
        // A failed grab is retried once per loop tick, not in a busy loop.
        self.live.follow_failing = false;
        if !self.live_following() {
            return;
        }
        match self.devices.camera.latest_frame_into(&mut self.live.frame) {
            Ok(()) => {
                if let Some(engine) = self.live.engine.as_mut() {
                    engine.follow(&self.live.frame.image, self.live.frame.timestamp);
                }
            }
            Err(e) => {
                log::debug!("live (off): no frame to follow the slide: {e}");
                self.live.follow_failing = true;
            }
        }
    }

    fn live_count(&mut self, crop: &RgbImage, origin: &str, cell_id: u64) -> CountOutcome {
        let outcome = self.count_crop(crop, origin, 1);
        if let CountOutcome::Counted { .. } = outcome {
            if let Some(engine) = self.live.engine.as_mut() {
                engine.counted(cell_id);
            }
        } else {
            self.not_counted(cell_id);
        }
        outcome
    }

    fn not_counted(&mut self, cell_id: u64) {
        if let Some(engine) = self.live.engine.as_mut() {
            engine.not_counted(cell_id);
        }
    }
}
