//! The 128x64 monochrome display and what it shows.
//!
//! The daemon decides *what* to show as a [`Screen`]; a [`Display`] backend decides
//! *how* (a real OLED, or a simulated one that prints to the terminal and saves PNGs).
//!
//! - [`framebuffer`]: the 128x64 one-bit frame with dirty-page tracking, PNG and
//!   terminal renderings,
//! - [`screens`]: the layouts of every [`Screen`], drawn on any embedded-graphics target,
//! - [`sim`]: the simulated display (terminal + PNG snapshots),
//! - [`oled`]: the I2C OLED: SSD1306 through the `ssd1306` crate ([`ssd1306`], with the
//!   [`interface`] adapter), SH1106 through the project's own driver ([`sh1106`]), both
//!   over an [`transport::I2cTransport`], on Linux through [`linux_i2c`] (raw I2C or
//!   SMBus block writes), with its settings in [`options`],
//! - [`resilient`]: keeps counting when the OLED is missing or failing, retries it,
//! - [`error`]: why a display could not be opened or drawn on ([`DisplayError`]),
//! - [`error_code`]: the codes of `ERR` screens with their meanings and fixes
//!   ([`ErrorCode`]),
//! - [`backend`]: picks the backend from the `[display]` section ([`open_default`]).

pub mod backend;
pub mod config;
pub mod error;
pub mod error_code;
pub mod framebuffer;
pub mod interface;
pub mod ioctl;
pub mod linux_i2c;
#[cfg(test)]
mod mock;
pub mod oled;
pub mod options;
pub mod resilient;
pub mod screens;
pub mod sh1106;
pub mod sim;
pub mod ssd1306;
pub mod transport;

pub use backend::{open_default, open_display, open_oled};
pub use config::{DisplayConfig, DisplayDriver, TerminalStyle};
pub use error::DisplayError;
pub use error_code::ErrorCode;
pub use resilient::ResilientDisplay;
pub use sim::SimDisplay;

/// The running differential count of the current slide, as the display shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct TallyView {
    /// Class names, in model order.
    pub labels: Vec<String>,
    /// Classes of `labels` counted beside the differential (e.g. erythroblasts), not in it.
    pub outside_differential: Vec<String>,
    /// Cells counted per class, same order as `labels`.
    pub counts: Vec<u32>,
    /// Cells recorded below the confidence threshold (not part of the differential).
    pub unidentified: u32,
    /// The differential's target size (typically 100).
    pub target: u32,
}

impl TallyView {
    /// True when class `class` is part of the differential.
    pub fn in_differential(&self, class: usize) -> bool {
        self.labels
            .get(class)
            .is_some_and(|l| !self.outside_differential.contains(l))
    }

    /// Cells in the differential (the differential classes, without the unidentified bin).
    pub fn differential_total(&self) -> u32 {
        self.counts
            .iter()
            .enumerate()
            .filter(|&(class, _)| self.in_differential(class))
            .map(|(_, &n)| n)
            .sum()
    }
}

/// A short status the technician must see.
#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    /// Waiting for the technician.
    Ready,
    /// A frame is being captured and classified.
    Capturing,
    /// The camera is missing or failing.
    NoCamera,
    /// No white cell was found in the frame; nothing was counted.
    NoWbc,
    /// The differential reached its target.
    TargetReached,
    /// The last count was taken back: the class it had (the model's class, or
    /// [`UNSURE_REMOVED`] for an unidentified cell), named so the technician sees which cell
    /// left the count.
    Undone(String),
    /// A new slide was started.
    NewSlide,
    /// Live mode is on: cells are counted while the technician scans.
    Live,
    /// Something failed: `ERR <code>`, with the code's meaning under it when it is an
    /// [`ErrorCode`] (details go to the log). Build it with `ErrorCode::….into()`.
    Error(String),
    /// The daemon has stopped (service stopped or quit); every count is saved.
    Stopped,
}

/// What [`Status::Undone`] names when the cell taken back was unidentified.
pub const UNSURE_REMOVED: &str = "UNSURE";

impl From<ErrorCode> for Status {
    fn from(code: ErrorCode) -> Status {
        Status::Error(code.code().to_string())
    }
}

/// Everything the display can show.
#[derive(Debug, Clone, PartialEq)]
pub enum Screen {
    /// Shown while the daemon starts.
    Boot {
        /// Daemon version.
        version: String,
        /// Model name and version.
        model: String,
        /// What camera was found.
        camera: String,
    },
    /// The result of one classified cell.
    Result {
        /// Predicted class.
        label: String,
        /// Its probability, 0..=1.
        confidence: f32,
        /// True when the cell is counted as unidentified (under the threshold, or
        /// unfamiliar).
        unsure: bool,
        /// True when the model's gate found the cell unlike every class it knows: the
        /// screen says UNFAMILIAR instead of the class.
        unfamiliar: bool,
        /// How many white cells were in view (the centre one was classified).
        cells_in_view: usize,
        /// The count after this cell.
        tally: TallyView,
    },
    /// Every class with its count (and, with four classes, percentages).
    Tally(TallyView),
    /// A status line over the tally.
    Status {
        /// What happened.
        status: Status,
        /// The current count, if a slide is open.
        tally: Option<TallyView>,
    },
}

/// Anything that can show a [`Screen`].
pub trait Display {
    /// Draws the screen; an error leaves counting unaffected.
    fn show(&mut self, screen: &Screen) -> Result<(), DisplayError>;
}
