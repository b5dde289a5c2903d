//! The OLED's I2C bus on Linux (`/dev/i2c-*`): raw transfers where the adapter can do
//! them, SMBus I2C block writes where it cannot.
//!
//! The adapter's abilities are read with the `I2C_FUNCS` ioctl. `I2C_FUNC_I2C` means
//! plain I2C messages (`I2C_RDWR`) work: [`RawI2c`] over `linux-embedded-hal`'s
//! `I2cdev`. Otherwise, with `I2C_FUNC_SMBUS_WRITE_I2C_BLOCK`, the same bytes go out
//! as SMBus block writes ([`SmbusI2c`]); the kernel's i2c-stub and some SoC adapters are
//! like that.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;

use embedded_hal::i2c::{ErrorKind, ErrorType, I2c, Operation};
use i2cdev::core::I2CDevice;
use i2cdev::linux::{LinuxI2CDevice, LinuxI2CError};
use linux_embedded_hal::I2cdev;
use log::info;

use super::error::{DisplayError, i2c_io_error};
use super::transport::{
    I2cTransport, RawI2c, SmbusBlockWrite, SmbusI2c, TransportError, describe_bus_error,
};

/// Functionality bit: plain I2C messages (`I2C_RDWR`).
pub const I2C_FUNC_I2C: u64 = 0x0000_0001;
/// Functionality bit: SMBus "write I2C block".
pub const I2C_FUNC_SMBUS_WRITE_I2C_BLOCK: u64 = 0x0800_0000;

/// How bytes are written to the display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferMode {
    /// Plain I2C writes.
    Raw,
    /// SMBus I2C block writes of at most 32 bytes.
    SmbusBlock,
}

/// The transfer mode for an adapter with functionality bits `funcs`, if any works.
pub fn choose_mode(funcs: u64) -> Option<TransferMode> {
    if funcs & I2C_FUNC_I2C != 0 {
        Some(TransferMode::Raw)
    } else if funcs & I2C_FUNC_SMBUS_WRITE_I2C_BLOCK != 0 {
        Some(TransferMode::SmbusBlock)
    } else {
        None
    }
}

/// Reads the functionality bits of the adapter behind an open `/dev/i2c-*`.
pub fn adapter_functionality(file: &File) -> io::Result<u64> {
    super::ioctl::functionality(file)
}

/// A readable message for an i2cdev error, with the usual fix for a missing device.
fn describe(e: &LinuxI2CError) -> String {
    describe_bus_error(&i2c_io_error(e))
}

/// `linux-embedded-hal`'s `I2cdev` with error messages that say what to check.
pub struct LinuxBus(I2cdev);

impl std::fmt::Debug for LinuxBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinuxBus")
    }
}

/// An I2C error of [`LinuxBus`]: its kind and a message.
pub struct LinuxBusError {
    kind: ErrorKind,
    message: String,
}

impl std::fmt::Debug for LinuxBusError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl embedded_hal::i2c::Error for LinuxBusError {
    fn kind(&self) -> ErrorKind {
        self.kind
    }
}

impl ErrorType for LinuxBus {
    type Error = LinuxBusError;
}

impl I2c for LinuxBus {
    fn transaction(
        &mut self,
        address: u8,
        operations: &mut [Operation<'_>],
    ) -> Result<(), Self::Error> {
        self.0.transaction(address, operations).map_err(|e| {
            let kind = embedded_hal::i2c::Error::kind(&e);
            LinuxBusError {
                kind,
                message: describe(e.inner()),
            }
        })
    }
}

/// An i2cdev device bound to the display's address, for SMBus block writes.
pub struct SmbusDevice {
    device: LinuxI2CDevice,
    address: u8,
}

impl std::fmt::Debug for SmbusDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SmbusDevice({:#04X})", self.address)
    }
}

impl SmbusBlockWrite for SmbusDevice {
    fn write_i2c_block(&mut self, command: u8, data: &[u8]) -> Result<(), io::Error> {
        self.device
            .smbus_write_i2c_block_data(command, data)
            .map_err(|e| i2c_io_error(&e))
    }

    fn address(&self) -> u8 {
        self.address
    }
}

/// The display's bus on Linux, in whichever mode the adapter supports.
#[derive(Debug)]
pub enum LinuxI2c {
    /// Plain I2C writes.
    Raw(RawI2c<LinuxBus>),
    /// SMBus I2C block writes.
    Smbus(SmbusI2c<SmbusDevice>),
}

impl LinuxI2c {
    /// Opens `bus` for the device at `address`, choosing the mode from `I2C_FUNCS`.
    ///
    /// Errors name the bus, the config key and the usual fix.
    pub fn open(bus: &Path, address: u8) -> Result<Self, DisplayError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(bus)
            .map_err(|source| DisplayError::OpenBus {
                bus: bus.to_path_buf(),
                source,
            })?;
        let funcs = adapter_functionality(&file).map_err(|source| DisplayError::NotAnAdapter {
            bus: bus.to_path_buf(),
            source,
        })?;
        drop(file);
        let mode = choose_mode(funcs).ok_or_else(|| DisplayError::NoTransferMode {
            bus: bus.to_path_buf(),
            funcs,
        })?;
        info!(
            "display: {} at {address:#04X}, {:?} transfers",
            bus.display(),
            mode
        );
        let device_error = |source: LinuxI2CError| DisplayError::Claim {
            bus: bus.to_path_buf(),
            address,
            source,
        };
        Ok(match mode {
            TransferMode::Raw => {
                let dev = I2cdev::new(bus).map_err(device_error)?;
                LinuxI2c::Raw(RawI2c::new(LinuxBus(dev), address))
            }
            TransferMode::SmbusBlock => {
                let device = LinuxI2CDevice::new(bus, u16::from(address)).map_err(device_error)?;
                LinuxI2c::Smbus(SmbusI2c::new(SmbusDevice { device, address }))
            }
        })
    }

    /// The mode in use.
    pub fn mode(&self) -> TransferMode {
        match self {
            LinuxI2c::Raw(_) => TransferMode::Raw,
            LinuxI2c::Smbus(_) => TransferMode::SmbusBlock,
        }
    }
}

impl I2cTransport for LinuxI2c {
    fn write_command(&mut self, commands: &[u8]) -> Result<(), TransportError> {
        match self {
            LinuxI2c::Raw(t) => t.write_command(commands),
            LinuxI2c::Smbus(t) => t.write_command(commands),
        }
    }

    fn write_data(&mut self, data: &[u8]) -> Result<(), TransportError> {
        match self {
            LinuxI2c::Raw(t) => t.write_data(data),
            LinuxI2c::Smbus(t) => t.write_data(data),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mode_prefers_raw_and_falls_back_to_smbus_blocks() {
        assert_eq!(choose_mode(0x0EFF_0009), Some(TransferMode::Raw));
        // i2c-stub: SMBus only, no I2C_FUNC_I2C.
        assert_eq!(choose_mode(0x0EFF_0008), Some(TransferMode::SmbusBlock));
        assert_eq!(
            choose_mode(I2C_FUNC_SMBUS_WRITE_I2C_BLOCK),
            Some(TransferMode::SmbusBlock)
        );
        assert_eq!(choose_mode(0x0000_0008), None);
    }

    #[test]
    fn missing_bus_says_how_to_enable_i2c() {
        let e = LinuxI2c::open(Path::new("/dev/i2c-does-not-exist"), 0x3C)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("/dev/i2c-does-not-exist") && e.contains("display.bus"),
            "{e}"
        );
        assert!(e.contains("i2c-dev"), "{e}");
    }

    #[test]
    fn a_file_that_is_not_an_adapter_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("i2c-9");
        std::fs::write(&path, b"").unwrap();
        let e = LinuxI2c::open(&path, 0x3C).unwrap_err().to_string();
        assert!(e.contains("not an I2C adapter"), "{e}");
    }

    #[test]
    fn no_acknowledge_errors_carry_the_wiring_hint() {
        let m = describe(&LinuxI2CError::Errno(121));
        assert!(
            m.contains("Remote I/O") && m.contains("display.address"),
            "{m}"
        );
        let m = describe(&LinuxI2CError::Errno(16));
        assert!(!m.contains("display.address"), "{m}");
    }
}
