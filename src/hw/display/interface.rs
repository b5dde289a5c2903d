//! The adapter that lets the `ssd1306` crate write through an [`I2cTransport`].
//!
//! The crate is generic over display-interface's [`WriteOnlyDataCommand`]: commands and
//! data, without saying how they travel. [`TransportInterface`] sends them with the
//! project's transport (raw I2C, or SMBus block writes for adapters and the i2c-stub that
//! lack raw transfers). The crate's error type only says "bus write failed", so the
//! adapter keeps the transport's own error (address, errno, wiring hint) in a
//! [`LastError`] the caller holds (the crate owns the adapter and lends it to no one).

use std::sync::{Arc, Mutex};

use display_interface::{DataFormat, DisplayError as InterfaceError, WriteOnlyDataCommand};

use super::transport::{I2cTransport, TransportError};

/// The transport error behind the adapter's last failed write, shared with its owner.
#[derive(Debug, Clone, Default)]
pub struct LastError(Arc<Mutex<Option<TransportError>>>);

impl LastError {
    /// The error, taken out.
    pub fn take(&self) -> Option<TransportError> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    fn set(&self, e: TransportError) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
    }
}

/// An [`I2cTransport`] as a display-interface [`WriteOnlyDataCommand`].
#[derive(Debug)]
pub struct TransportInterface<T> {
    transport: T,
    last_error: LastError,
}

impl<T: I2cTransport> TransportInterface<T> {
    /// Wraps `transport`.
    pub fn new(transport: T) -> Self {
        Self {
            transport,
            last_error: LastError::default(),
        }
    }

    /// A handle to the transport error behind the last failed write.
    pub fn last_error(&self) -> LastError {
        self.last_error.clone()
    }

    /// Gives the transport back.
    pub fn release(self) -> T {
        self.transport
    }

    fn send(&mut self, bytes: DataFormat<'_>, data: bool) -> Result<(), InterfaceError> {
        // The SSD1306 is a byte-wide controller: the crate only ever sends U8.
        let DataFormat::U8(bytes) = bytes else {
            return Err(InterfaceError::DataFormatNotImplemented);
        };
        let sent = if data {
            self.transport.write_data(bytes)
        } else {
            self.transport.write_command(bytes)
        };
        sent.map_err(|e| {
            self.last_error.set(e);
            InterfaceError::BusWriteError
        })
    }
}

impl<T: I2cTransport> WriteOnlyDataCommand for TransportInterface<T> {
    fn send_commands(&mut self, cmd: DataFormat<'_>) -> Result<(), InterfaceError> {
        self.send(cmd, false)
    }

    fn send_data(&mut self, buf: DataFormat<'_>) -> Result<(), InterfaceError> {
        self.send(buf, true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hw::display::mock::{Expect, MockI2c};
    use crate::hw::display::transport::RawI2c;

    #[test]
    fn commands_and_data_get_their_control_bytes_and_errors_are_kept() {
        let mock = MockI2c::new([
            Expect::Write(0x3C, vec![0x00, 0xAE]),
            Expect::Write(0x3C, vec![0x40, 1, 2]),
            Expect::WriteFails(0x3C, vec![0x00, 0xAF]),
        ]);
        let mut i = TransportInterface::new(RawI2c::new(mock.clone(), 0x3C));
        let last = i.last_error();
        i.send_commands(DataFormat::U8(&[0xAE])).unwrap();
        i.send_data(DataFormat::U8(&[1, 2])).unwrap();
        assert!(i.send_commands(DataFormat::U8(&[0xAF])).is_err());
        mock.done();
        let e = last.take().unwrap();
        assert_eq!(e.address, 0x3C);
        assert!(last.take().is_none());
        assert!(matches!(
            i.send_data(DataFormat::U16(&[1])),
            Err(InterfaceError::DataFormatNotImplemented)
        ));
    }
}
