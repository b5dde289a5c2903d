//! Live mode: counting every white cell once while the technician scans the slide.
//!
//! - `fft.rs`: a small radix-2 FFT, for the motion estimator only,
//! - `motion.rs`: global motion between frames by phase correlation ([`MotionEstimator`]),
//! - `steady.rs`: deciding when the field is still ([`SteadyDetector`]),
//! - `tracker.rs`: cells in slide coordinates, each classified and counted once ([`Tracker`]),
//! - `engine.rs`: the per-frame entry point the daemon calls ([`LiveEngine`]),
//! - `config.rs`: the `[live]` configuration section ([`LiveConfig`]).
//!
//! The modules are private; what the rest of the crate uses is re-exported here.
//!
//! The slide-scan simulator and the scoring of live mode on it are measurement tools, kept
//! with the others in `src/eval/`.

mod config;
mod engine;
mod fft;
mod motion;
mod steady;
mod tracker;

pub use config::LiveConfig;
pub use engine::{LiveAction, LiveEngine, LiveStats, MAX_FRAME_GAP, MAX_UNTRUSTED_FRAMES};
pub use motion::{Motion, MotionEstimator, SCALE_RANGE};
pub use steady::SteadyDetector;
pub use tracker::{
    CellState, ClassifyRequest, Detection, TrackedCell, Tracker, TrackerParams, WHOLE_RIM,
};
