//! Expectation mocks of the I2C bus, in the style of embedded-hal-mock: each write must
//! match the next expectation exactly, and [`MockI2c::done`] (also run on drop) fails if
//! expectations are left over.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use embedded_hal::i2c::{self, ErrorKind, ErrorType, I2c, Operation};

use super::transport::SmbusBlockWrite;

/// One expected bus transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// A write of exactly these bytes to this address, which succeeds.
    Write(u8, Vec<u8>),
    /// A write of exactly these bytes to this address, which fails (no acknowledge).
    WriteFails(u8, Vec<u8>),
}

/// A mock embedded-hal 1.0 I2C bus. Clones share their expectations, so a test can
/// keep a handle while the driver owns the bus.
#[derive(Debug, Clone, Default)]
pub struct MockI2c {
    state: Arc<Mutex<MockState>>,
}

#[derive(Debug, Default)]
struct MockState {
    expected: VecDeque<Expect>,
    done: bool,
}

impl MockI2c {
    /// A bus expecting `expected`, in order.
    pub fn new(expected: impl IntoIterator<Item = Expect>) -> Self {
        let mock = Self::default();
        mock.expect(expected);
        mock
    }

    fn state(&self) -> std::sync::MutexGuard<'_, MockState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends expectations.
    pub fn expect(&self, more: impl IntoIterator<Item = Expect>) {
        let mut s = self.state();
        s.expected.extend(more);
        s.done = false;
    }

    /// Fails if expectations are left over.
    pub fn done(&self) {
        let mut s = self.state();
        s.done = true;
        assert!(
            s.expected.is_empty(),
            "{} expected I2C transaction(s) never happened, next: {:02X?}",
            s.expected.len(),
            s.expected.front()
        );
    }
}

impl Drop for MockI2c {
    fn drop(&mut self) {
        // The last handle checks that done() was called with nothing left over.
        if Arc::strong_count(&self.state) == 1 && !std::thread::panicking() {
            let s = self.state();
            assert!(
                s.done && s.expected.is_empty(),
                "MockI2c dropped without done() or with expectations left: {:02X?}",
                s.expected
            );
        }
    }
}

impl ErrorType for MockI2c {
    type Error = ErrorKind;
}

impl I2c for MockI2c {
    fn transaction(
        &mut self,
        address: u8,
        operations: &mut [Operation<'_>],
    ) -> Result<(), Self::Error> {
        for op in operations {
            let Operation::Write(bytes) = op else {
                panic!("unexpected I2C read from {address:#04X}");
            };
            let next = self.state().expected.pop_front();
            match next {
                Some(Expect::Write(a, b)) => {
                    assert_eq!((a, b.as_slice()), (address, &**bytes), "I2C write differs");
                }
                Some(Expect::WriteFails(a, b)) => {
                    assert_eq!((a, b.as_slice()), (address, &**bytes), "I2C write differs");
                    return Err(ErrorKind::NoAcknowledge(i2c::NoAcknowledgeSource::Address));
                }
                None => panic!("unexpected I2C write to {address:#04X}: {bytes:02X?}"),
            }
        }
        Ok(())
    }
}

/// A mock SMBus adapter bound to one address; expectations are (command, block).
#[derive(Debug, Default)]
pub struct MockSmbus {
    address: u8,
    expected: VecDeque<(u8, Vec<u8>)>,
    done: bool,
}

impl MockSmbus {
    /// An adapter at `address` expecting these block writes, in order.
    pub fn new(address: u8, expected: impl IntoIterator<Item = (u8, Vec<u8>)>) -> Self {
        Self {
            address,
            expected: expected.into_iter().collect(),
            done: false,
        }
    }

    /// Fails if expectations are left over.
    pub fn done(&mut self) {
        self.done = true;
        assert!(
            self.expected.is_empty(),
            "{} expected SMBus block write(s) never happened",
            self.expected.len()
        );
    }
}

impl Drop for MockSmbus {
    fn drop(&mut self) {
        if !self.done && !std::thread::panicking() {
            self.done();
        }
    }
}

impl SmbusBlockWrite for MockSmbus {
    fn write_i2c_block(&mut self, command: u8, data: &[u8]) -> Result<(), std::io::Error> {
        assert!(data.len() <= 32, "SMBus block of {} bytes", data.len());
        match self.expected.pop_front() {
            Some((c, d)) => {
                assert_eq!((c, d.as_slice()), (command, data), "SMBus block differs");
                Ok(())
            }
            None => panic!("unexpected SMBus block write {command:#04X} {data:02X?}"),
        }
    }

    fn address(&self) -> u8 {
        self.address
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hw::display::transport::{I2cTransport, RawI2c, SmbusI2c};

    #[test]
    fn raw_transport_prefixes_the_control_byte() {
        let mut t = RawI2c::new(
            MockI2c::new([
                Expect::Write(0x3C, vec![0x00, 0xAE, 0xAF]),
                Expect::Write(0x3C, vec![0x40, 1, 2, 3]),
            ]),
            0x3C,
        );
        t.write_command(&[0xAE, 0xAF]).unwrap();
        t.write_data(&[1, 2, 3]).unwrap();
        t.release().done();
    }

    #[test]
    fn raw_transport_reports_a_nack_with_the_address() {
        let mock = MockI2c::new([Expect::WriteFails(0x3D, vec![0x00, 0xAE])]);
        let mut t = RawI2c::new(mock.clone(), 0x3D);
        let e = t.write_command(&[0xAE]).unwrap_err();
        mock.done();
        assert_eq!(e.address, 0x3D);
        assert!(e.to_string().contains("0x3D"), "{e}");
    }

    #[test]
    #[should_panic(expected = "I2C write differs")]
    fn mock_fails_when_bytes_differ() {
        let mock = MockI2c::new([Expect::Write(0x3C, vec![0x00, 0xAE])]);
        let mut t = RawI2c::new(mock.clone(), 0x3C);
        let _ = t.write_command(&[0xAF]);
    }

    #[test]
    #[should_panic(expected = "never happened")]
    fn mock_fails_when_expectations_are_left() {
        let m = MockI2c::new([Expect::Write(0x3C, vec![0x00, 0xAE])]);
        m.done();
    }

    #[test]
    fn smbus_fallback_chunks_into_32_byte_blocks() {
        let data: Vec<u8> = (0..128).collect();
        let mut expected: Vec<(u8, Vec<u8>)> =
            data.chunks(32).map(|c| (0x40, c.to_vec())).collect();
        expected.push((0x40, vec![7; 5]));
        expected.push((0x00, vec![0xB3, 0x00, 0x10]));
        // 33 bytes: one full block and a block of one.
        let long: Vec<u8> = (0..33).collect();
        expected.push((0x40, long[..32].to_vec()));
        expected.push((0x40, long[32..].to_vec()));
        let mut t = SmbusI2c::new(MockSmbus::new(0x3C, expected));
        t.write_data(&data).unwrap();
        t.write_data(&[7; 5]).unwrap();
        t.write_command(&[0xB3, 0x00, 0x10]).unwrap();
        t.write_data(&long).unwrap();
        t.release().done();
    }
}
