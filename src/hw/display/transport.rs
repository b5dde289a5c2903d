//! How command and data bytes reach an SSD1306/SH1106 over I2C.
//!
//! On the wire, every I2C write to these controllers starts with a *control byte*:
//! `0x00` when the rest are commands, `0x40` when the rest are display RAM data. The
//! [`I2cTransport`] trait hides how that write is made:
//!
//! - [`RawI2c`]: one plain I2C write `[control, bytes...]` through any embedded-hal 1.0
//!   [`I2c`] bus (on Linux, `linux-embedded-hal`'s `I2cdev`, i.e. `I2C_RDWR`);
//! - [`SmbusI2c`]: SMBus "I2C block writes" for adapters that cannot do raw transfers
//!   (some SoC adapters, the kernel's i2c-stub). A block write puts
//!   `[command byte, up to 32 data bytes]` on the wire, exactly a raw write with the
//!   control byte as the command byte, so the bytes are sent in chunks of at most
//!   [`SMBUS_BLOCK_MAX`].

use std::io;

use embedded_hal::i2c::I2c;

/// What to check when an I2C device does not acknowledge.
pub const NO_ANSWER_HINT: &str = "nothing answered: check display.address (0x3C or 0x3D; \
`i2cdetect -y BUS` shows what is there), the wiring (SDA, SCL, VCC, GND) and the bus speed";

/// A readable message for a bus error, with the usual fix when nothing answered.
pub fn describe_bus_error(e: &io::Error) -> String {
    match e.raw_os_error() {
        // EREMOTEIO, ENXIO, ENODEV: no acknowledge.
        Some(121) | Some(6) | Some(19) => format!("{e}; {NO_ANSWER_HINT}"),
        _ => e.to_string(),
    }
}

/// Control byte announcing command bytes.
pub const CONTROL_COMMAND: u8 = 0x00;
/// Control byte announcing display RAM data.
pub const CONTROL_DATA: u8 = 0x40;
/// Largest payload of one SMBus I2C block write.
pub const SMBUS_BLOCK_MAX: usize = 32;

/// A failed bus write.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("I2C write to address {address:#04X} failed: {message}")]
pub struct TransportError {
    /// The device address written to.
    pub address: u8,
    /// What the bus reported (with a hint where one is known).
    pub message: String,
}

/// Sends commands and display data to an OLED controller.
pub trait I2cTransport {
    /// Sends command bytes (control byte 0x00).
    fn write_command(&mut self, commands: &[u8]) -> Result<(), TransportError>;
    /// Sends display RAM bytes (control byte 0x40).
    fn write_data(&mut self, data: &[u8]) -> Result<(), TransportError>;
}

impl<T: I2cTransport + ?Sized> I2cTransport for Box<T> {
    fn write_command(&mut self, commands: &[u8]) -> Result<(), TransportError> {
        (**self).write_command(commands)
    }
    fn write_data(&mut self, data: &[u8]) -> Result<(), TransportError> {
        (**self).write_data(data)
    }
}

/// Plain I2C writes through an embedded-hal 1.0 bus: one transfer per call.
#[derive(Debug)]
pub struct RawI2c<I> {
    bus: I,
    address: u8,
    buffer: Vec<u8>,
}

impl<I: I2c> RawI2c<I> {
    /// A transport to the device at 7-bit `address` on `bus`.
    pub fn new(bus: I, address: u8) -> Self {
        Self {
            bus,
            address,
            buffer: Vec::with_capacity(1 + 128),
        }
    }

    /// Gives the bus back.
    pub fn release(self) -> I {
        self.bus
    }

    fn write(&mut self, control: u8, bytes: &[u8]) -> Result<(), TransportError> {
        self.buffer.clear();
        self.buffer.push(control);
        self.buffer.extend_from_slice(bytes);
        self.bus
            .write(self.address, &self.buffer)
            .map_err(|e| TransportError {
                address: self.address,
                message: format!("{e:?}"),
            })
    }
}

impl<I: I2c> I2cTransport for RawI2c<I> {
    fn write_command(&mut self, commands: &[u8]) -> Result<(), TransportError> {
        self.write(CONTROL_COMMAND, commands)
    }
    fn write_data(&mut self, data: &[u8]) -> Result<(), TransportError> {
        self.write(CONTROL_DATA, data)
    }
}

/// An SMBus adapter that can do "I2C block writes" to one device.
pub trait SmbusBlockWrite {
    /// Writes `command` followed by `data` (at most 32 bytes) in one transaction; the
    /// error is the kernel's (`EREMOTEIO` when nothing acknowledged).
    fn write_i2c_block(&mut self, command: u8, data: &[u8]) -> Result<(), io::Error>;
    /// The device's 7-bit address (for messages).
    fn address(&self) -> u8;
}

/// SSD1306/SH1106 writes as SMBus I2C block writes of at most 32 bytes.
///
/// Commands should be sent in groups that fit one block (the driver does), because
/// a multi-byte command split across two transactions relies on the controller keeping
/// its parser state between them.
#[derive(Debug)]
pub struct SmbusI2c<B> {
    bus: B,
}

impl<B: SmbusBlockWrite> SmbusI2c<B> {
    /// A transport over `bus`, which is already bound to the device address.
    pub fn new(bus: B) -> Self {
        Self { bus }
    }

    /// Gives the bus back.
    pub fn release(self) -> B {
        self.bus
    }

    fn write(&mut self, control: u8, bytes: &[u8]) -> Result<(), TransportError> {
        for chunk in bytes.chunks(SMBUS_BLOCK_MAX) {
            self.bus
                .write_i2c_block(control, chunk)
                .map_err(|e| TransportError {
                    address: self.bus.address(),
                    message: describe_bus_error(&e),
                })?;
        }
        Ok(())
    }
}

impl<B: SmbusBlockWrite> I2cTransport for SmbusI2c<B> {
    fn write_command(&mut self, commands: &[u8]) -> Result<(), TransportError> {
        self.write(CONTROL_COMMAND, commands)
    }
    fn write_data(&mut self, data: &[u8]) -> Result<(), TransportError> {
        self.write(CONTROL_DATA, data)
    }
}
