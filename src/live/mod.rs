//! Live mode: counting every white cell once while the technician scans the slide.
//!
//! - [`fft`]: a small radix-2 FFT,
//! - [`motion`]: global motion between frames by phase correlation,
//! - [`steady`]: deciding when the field is still,
//! - [`tracker`]: cells in slide coordinates, each classified and counted once,
//! - [`engine`]: the per-frame entry point the daemon calls,
//! - [`config`]: the `[live]` configuration section.
//!
//! The slide-scan simulator and the scoring of live mode on it are measurement tools, kept
//! with the others in `src/eval/`.

pub mod fft;
pub mod motion;

pub use motion::{Motion, MotionEstimator};
pub mod steady;
pub mod tracker;

pub use steady::SteadyDetector;
pub use tracker::{CellState, ClassifyRequest, Detection, TrackedCell, Tracker, TrackerParams};
pub mod config;
pub mod engine;

pub use config::LiveConfig;
pub use engine::{LiveAction, LiveEngine, LiveStats};
