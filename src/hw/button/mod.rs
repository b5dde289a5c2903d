//! Buttons: what the technician asks for.
//!
//! - [`gesture`]: the pure recogniser turning timed edges into short / long / double
//!   presses (and the mapping to [`ButtonEvent`]s),
//! - [`gpio`]: the real backend on the Linux GPIO character device (uAPI v2),
//! - `rppal_gpio` (cargo feature `rppal`): the same buttons through rppal, Pi only,
//! - [`backend`]: what both GPIO backends share (action table, gesture loop),
//! - [`open`]: picks the GPIO backend ([`open_hardware`]),
//! - [`map`]: routing of line edges to actions (main button gestures, extra buttons),
//! - [`config`]: the `[buttons.gpio]` section of both real backends,
//! - [`error`]: why buttons could not be set up or read ([`ButtonError`]).

pub mod backend;
pub mod config;
pub mod error;
pub mod gesture;
pub mod gpio;
pub mod map;
pub mod open;
#[cfg(feature = "rppal")]
pub mod rppal_gpio;

pub mod sim;

pub use error::{ButtonError, GpioSetupError};
pub use open::{GpioBackend, RPPAL_BUILT, open_hardware};

use std::time::Duration;

/// One thing the technician asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ButtonEvent {
    /// Capture the current field, classify the cell and count it.
    Count,
    /// Take back the last counted cell.
    Undo,
    /// Finish the current slide and start a new one.
    NewSlide,
    /// Switch live mode on or off.
    ToggleLive,
    /// Stop the daemon (simulated buttons only).
    Quit,
}

/// A source of technician actions.
pub trait Buttons {
    /// Waits up to `timeout` for the next action; `Ok(None)` when none came.
    fn next_event(&mut self, timeout: Duration) -> Result<Option<ButtonEvent>, ButtonError>;
}
