//! The technician-facing devices: buttons and the display.

pub mod button;
pub mod display;
