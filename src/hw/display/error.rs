//! Why a display could not be opened or drawn on. Every message names the device, the
//! config key and the fix, and carries the underlying error as its source.
//!
//! Below every display file but [`super::options`] and [`super::transport`] (the only
//! ones it imports), so drivers, backends and the module root can all use it.

use std::io;
use std::path::PathBuf;

use i2cdev::linux::LinuxI2CError;

use super::options::Controller;
use super::transport::{TransportError, describe_bus_error};
use crate::invalid::Invalid;

/// An i2cdev error as the `io::Error` it stands for.
pub fn i2c_io_error(e: &LinuxI2CError) -> io::Error {
    match e {
        LinuxI2CError::Errno(n) => io::Error::from_raw_os_error(*n),
        LinuxI2CError::Io(e) => io::Error::new(e.kind(), e.to_string()),
    }
}

/// The fix for a bus device that cannot be opened, by what the kernel said.
fn open_fix(e: &io::Error) -> &'static str {
    match e.kind() {
        io::ErrorKind::NotFound => {
            "enable I2C (Raspberry Pi: dtparam=i2c_arm=on in config.txt or raspi-config), \
             load i2c-dev (modprobe i2c-dev) and check `ls /dev/i2c-*`"
        }
        io::ErrorKind::PermissionDenied => {
            "add the daemon's user to group `i2c` (sudo usermod -aG i2c USER), or install a \
             udev rule: KERNEL==\"i2c-[0-9]*\", GROUP=\"i2c\", MODE=\"0660\""
        }
        _ => "check display.bus",
    }
}

/// Errors of a display backend.
#[derive(Debug, thiserror::Error)]
pub enum DisplayError {
    /// A `[display]` setting is out of range (the message names the key).
    #[error("display error: {0}")]
    Invalid(#[from] Invalid),
    /// The simulated driver was asked for an OLED.
    #[error("display error: display.driver = \"sim\" has no OLED to open")]
    NoOled,
    /// The bus device could not be opened.
    #[error(
        "display error: cannot open I2C bus {} (display.bus): {source}; {}",
        .bus.display(), open_fix(.source)
    )]
    OpenBus {
        /// The configured bus.
        bus: PathBuf,
        /// What the kernel said.
        #[source]
        source: io::Error,
    },
    /// The bus device does not answer the `I2C_FUNCS` ioctl.
    #[error(
        "display error: {} (display.bus) is not an I2C adapter (I2C_FUNCS failed: {source})",
        .bus.display()
    )]
    NotAnAdapter {
        /// The configured bus.
        bus: PathBuf,
        /// What the ioctl returned.
        #[source]
        source: io::Error,
    },
    /// The adapter can do neither transfer the OLED needs.
    #[error(
        "display error: I2C adapter {} supports neither plain I2C nor SMBus block writes \
         (functionality {funcs:#010X}); use another bus",
        .bus.display()
    )]
    NoTransferMode {
        /// The configured bus.
        bus: PathBuf,
        /// The adapter's functionality bits.
        funcs: u64,
    },
    /// The device address could not be claimed on the bus.
    #[error(
        "display error: cannot use {} at {address:#04X}: {} (is a kernel driver bound to it?)",
        .bus.display(), describe_bus_error(&i2c_io_error(.source))
    )]
    Claim {
        /// The configured bus.
        bus: PathBuf,
        /// The configured address.
        address: u8,
        /// What i2cdev said.
        #[source]
        source: LinuxI2CError,
    },
    /// The controller did not take its initialisation sequence.
    #[error("display error: initialising the {controller:?} on {}: {source}", .bus.display())]
    Init {
        /// The configured controller.
        controller: Controller,
        /// The configured bus.
        bus: PathBuf,
        /// The failed write.
        #[source]
        source: TransportError,
    },
    /// A frame could not be written to the panel.
    #[error("display error: {0}")]
    Write(#[from] TransportError),
    /// The display is in an outage and the next attempt to reopen it is not due yet.
    #[error("display error: {name} unavailable; next attempt in {retry_in_ms} ms")]
    Unavailable {
        /// The display's name (driver, bus, address).
        name: String,
        /// Milliseconds until the next attempt.
        retry_in_ms: u128,
    },
    /// The display is not open (it failed and was dropped).
    #[error("display error: {name} not open")]
    NotOpen {
        /// The display's name (driver, bus, address).
        name: String,
    },
    /// The simulated display's PNG directory could not be created.
    #[error(
        "display error: cannot create the PNG directory {} (display.png_dir): {source}",
        .dir.display()
    )]
    PngDir {
        /// The configured directory.
        dir: PathBuf,
        /// What the file system said.
        #[source]
        source: io::Error,
    },
    /// The simulated display could not print the screen.
    #[error("display error: cannot print the screen: {0}")]
    Print(#[source] io::Error),
    /// A PNG snapshot could not be encoded.
    #[error("display error: cannot encode a PNG snapshot: {0}")]
    Encode(#[source] image::ImageError),
    /// A PNG snapshot could not be written or put in place.
    #[error("display error: cannot write {}: {source}", .path.display())]
    Snapshot {
        /// The file written or replaced.
        path: PathBuf,
        /// What the file system said.
        #[source]
        source: io::Error,
    },
}
