//! Why the buttons could not be set up or read. Every message names the chip or line,
//! the config key and the fix, and carries the underlying error as its source.
//!
//! Below every button file but [`super::config`] (the only one it imports), so the
//! backends, the opener and the module root can all use it.

use std::io;
use std::path::PathBuf;

use super::config::LineRef;
use crate::invalid::Invalid;

/// How to let the daemon's user open GPIO chips (shown with permission errors).
pub const PERMISSION_FIX: &str = "add the daemon's user to group `gpio` \
(sudo usermod -aG gpio USER, then restart the service), or where that group does not exist \
install a udev rule, e.g. /etc/udev/rules.d/60-gpiochip.rules: \
SUBSYSTEM==\"gpio\", KERNEL==\"gpiochip*\", GROUP=\"gpio\", MODE=\"0660\"";

/// Why the GPIO buttons could not be set up. Every message names the chip or line, the
/// config key and the fix.
#[derive(Debug, thiserror::Error)]
pub enum GpioSetupError {
    /// No chip matches the configured path, name or label.
    #[error(
        "GPIO chip {chip:?} (buttons.gpio.chip) not found; available chips: {available}. \
         Set buttons.gpio.chip to a path, name or label from this list (see `gpiodetect`)"
    )]
    ChipNotFound {
        /// The configured chip.
        chip: String,
        /// The chips that exist, as `name [label]`.
        available: String,
    },
    /// The chip exists but this user may not open it.
    #[error(
        "permission denied opening GPIO chip {} (buttons.gpio.chip): {PERMISSION_FIX}",
        .path.display()
    )]
    PermissionDenied {
        /// The chip device.
        path: PathBuf,
    },
    /// The path exists but cannot be opened as a file.
    #[error("{} (buttons.gpio.chip) is not a GPIO chip: {source}", .path.display())]
    Unreadable {
        /// The configured path.
        path: PathBuf,
        /// What the kernel said.
        #[source]
        source: io::Error,
    },
    /// The path can be opened but is not a GPIO chip.
    #[error("{} (buttons.gpio.chip) is not a GPIO chip: {source}", .path.display())]
    NotAChip {
        /// The configured path.
        path: PathBuf,
        /// What gpiocdev said.
        #[source]
        source: gpiocdev::Error,
    },
    /// A line name is not on the chip.
    #[error(
        "GPIO line {line} ({key}) not found on {chip}; list the line names with `gpioinfo {chip}` \
         or give the line's offset instead"
    )]
    LineNotFound {
        /// The configured line.
        line: LineRef,
        /// Its config key.
        key: &'static str,
        /// The chip searched.
        chip: String,
    },
    /// A line offset beyond the chip's lines.
    #[error("GPIO line {line} ({key}) is out of range: {chip} has lines 0..{num_lines}")]
    LineOutOfRange {
        /// The configured offset.
        line: u32,
        /// Its config key.
        key: &'static str,
        /// The chip.
        chip: String,
        /// How many lines the chip has.
        num_lines: u32,
    },
    /// Another process (or a kernel driver) holds the line.
    #[error(
        "GPIO line {line} ({key}) on {chip} is in use by {consumer:?}; stop that program or \
         driver (see `gpioinfo {chip}`) or choose a free line"
    )]
    LineBusy {
        /// The line's offset.
        line: u32,
        /// Its config key.
        key: &'static str,
        /// The chip.
        chip: String,
        /// Who holds it.
        consumer: String,
    },
    /// The kernel refused the request or a query failed.
    #[error("cannot set up GPIO lines on {chip}: {action}: {source}")]
    Kernel {
        /// The chip.
        chip: String,
        /// What was being done ("requesting lines [17]").
        action: String,
        /// What gpiocdev said.
        #[source]
        source: gpiocdev::Error,
    },
}

/// Errors of a button backend.
#[derive(Debug, thiserror::Error)]
pub enum ButtonError {
    /// A `[buttons.gpio]` setting is out of range (the message names the key).
    #[error("button device error: {0}")]
    Invalid(#[from] Invalid),
    /// The GPIO chip or a line could not be set up.
    #[error("button device error: {0}")]
    Setup(#[from] GpioSetupError),
    /// `buttons.driver = "rppal"` in a build without the `rppal` feature.
    #[error(
        "button device error: buttons.driver = \"rppal\" needs a build with \
         `cargo build --features rppal`; or use buttons.driver = \"gpio\""
    )]
    RppalNotBuilt,
    /// Waiting for or reading edge events failed after the lines were set up.
    #[error("button device error: {action} {}: {source}", .chip.display())]
    Events {
        /// What was being done ("reading GPIO events from").
        action: &'static str,
        /// The chip device.
        chip: PathBuf,
        /// What gpiocdev said.
        #[source]
        source: gpiocdev::Error,
    },
    /// A line given to the rppal driver is not a BCM GPIO number.
    #[cfg(feature = "rppal")]
    #[error(
        "button device error: {key} = {line}: the rppal driver takes BCM GPIO numbers \
         (0..=53, e.g. 17), not names or larger offsets"
    )]
    NotBcm {
        /// The config key.
        key: &'static str,
        /// The configured line.
        line: LineRef,
    },
    /// rppal refused to open or watch a pin.
    #[cfg(feature = "rppal")]
    #[error("button device error: {what}: {source}{}", rppal_fix(.source))]
    Rppal {
        /// What was being done ("GPIO17 interrupt").
        what: String,
        /// What rppal said.
        #[source]
        source: ::rppal::gpio::Error,
    },
}

/// The fix for an rppal error, if one is known ("; ..." or empty).
#[cfg(feature = "rppal")]
fn rppal_fix(e: &::rppal::gpio::Error) -> String {
    match e {
        ::rppal::gpio::Error::PermissionDenied(_) => format!("; {PERMISSION_FIX}"),
        ::rppal::gpio::Error::UnknownModel => {
            "; rppal works only on Raspberry Pi boards: use buttons.driver = \"gpio\"".to_string()
        }
        _ => String::new(),
    }
}
