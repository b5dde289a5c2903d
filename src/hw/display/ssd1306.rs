//! The SSD1306 OLED through the `ssd1306` crate.
//!
//! The crate drives the panel in its buffered graphics mode (horizontal addressing) with
//! the rotation done by the controller, through [`TransportInterface`], our adapter from
//! display-interface's `WriteOnlyDataCommand` to the project's [`I2cTransport`] (raw I2C,
//! or SMBus block writes where the adapter lacks raw transfers: the crate sends every
//! command as its own group of at most 3 bytes, so each fits one block).
//!
//! Screens are drawn by [`screens::draw`] into a [`Framebuffer`] (the same code the
//! simulated display and the PNGs of `docs/screens/` use, so the panel shows them pixel
//! for pixel); only the pixels that differ from the frame on the panel are handed to the
//! crate, whose changed-area flush then sends just the rectangle they span. `draw`
//! straight into the crate would clear its buffer first and send the whole frame
//! (~23 ms at 400 kHz) for every status line.

use ::ssd1306::Ssd1306;
use ::ssd1306::mode::BufferedGraphicsMode;
use ::ssd1306::prelude::{Brightness, DisplayConfig, DisplayRotation, DisplaySize128x64};

use super::error::DisplayError;
use super::framebuffer::{Framebuffer, HEIGHT, WIDTH};
use super::interface::{LastError, TransportInterface};
use super::options::{OledOptions, Rotation};
use super::transport::{I2cTransport, TransportError};
use super::{Display, Screen, screens};

/// Pre-charge period, phase 2 (phase 1 is the crate's 1): the common 128x64 modules'
/// `0xD9 0xF1` with the internal charge pump.
const PRECHARGE: u8 = 0xF;

type Driver<T> =
    Ssd1306<TransportInterface<T>, DisplaySize128x64, BufferedGraphicsMode<DisplaySize128x64>>;

/// An SSD1306 OLED behind a transport.
pub struct Ssd1306Oled<T: I2cTransport> {
    driver: Driver<T>,
    bus_error: LastError,
    contrast: u8,
    /// What the panel shows (when `in_sync`).
    shown: Framebuffer,
    /// False until the first full flush, and after a failed one: then every pixel is
    /// handed to the crate again.
    in_sync: bool,
}

impl<T: I2cTransport> std::fmt::Debug for Ssd1306Oled<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ssd1306Oled")
            .field("contrast", &self.contrast)
            .field("in_sync", &self.in_sync)
            .finish()
    }
}

impl<T: I2cTransport> Ssd1306Oled<T> {
    /// A driver for an uninitialised display; call [`init`](Self::init) next.
    pub fn new(transport: T, options: OledOptions) -> Self {
        let rotation = match options.rotation {
            Rotation::Deg0 => DisplayRotation::Rotate0,
            Rotation::Deg180 => DisplayRotation::Rotate180,
        };
        let interface = TransportInterface::new(transport);
        let bus_error = interface.last_error();
        let driver =
            Ssd1306::new(interface, DisplaySize128x64, rotation).into_buffered_graphics_mode();
        Self {
            driver,
            bus_error,
            contrast: options.contrast,
            shown: Framebuffer::new(),
            in_sync: false,
        }
    }

    /// Sets the controller up (the crate's sequence, then our contrast), clears its RAM
    /// with the current frame and leaves the display on. Also the recovery after a reset
    /// or bus error.
    pub fn init(&mut self) -> Result<(), TransportError> {
        let result = self
            .driver
            .init()
            .and_then(|()| {
                self.driver
                    .set_brightness(Brightness::custom(PRECHARGE, self.contrast))
            })
            .map_err(|_| ());
        self.bus_result(result)?;
        self.in_sync = false;
        let frame = self.shown.clone();
        self.update(&frame)
    }

    /// The frame the panel shows.
    pub fn framebuffer(&self) -> &Framebuffer {
        &self.shown
    }

    /// Gives the transport back.
    pub fn release(self) -> T {
        self.driver.release().release()
    }

    /// Hands the pixels of `frame` that differ from the panel's to the crate and flushes
    /// the area they span. A failed flush leaves the panel's state unknown.
    fn update(&mut self, frame: &Framebuffer) -> Result<(), TransportError> {
        for y in 0..HEIGHT {
            for x in 0..WIDTH {
                let on = frame.pixel(x, y);
                if !self.in_sync || on != self.shown.pixel(x, y) {
                    self.driver.set_pixel(x as u32, y as u32, on);
                }
            }
        }
        let result = self.driver.flush().map_err(|_| ());
        if let Err(e) = self.bus_result(result) {
            self.in_sync = false;
            return Err(e);
        }
        self.shown = frame.clone();
        self.shown.mark_all_flushed();
        self.in_sync = true;
        Ok(())
    }

    /// The transport's own error behind a failed crate call.
    fn bus_result(&mut self, result: Result<(), ()>) -> Result<(), TransportError> {
        result.map_err(|()| {
            self.bus_error.take().unwrap_or_else(|| TransportError {
                address: 0,
                message: "the ssd1306 driver failed without a bus error".to_string(),
            })
        })
    }
}

impl<T: I2cTransport> Display for Ssd1306Oled<T> {
    fn show(&mut self, screen: &Screen) -> Result<(), DisplayError> {
        let mut frame = self.shown.clone();
        match screens::draw(&mut frame, screen) {
            Ok(()) => {}
            Err(never) => match never {},
        }
        Ok(self.update(&frame)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hw::display::framebuffer::PAGES;
    use crate::hw::display::mock::{Expect, MockI2c, MockSmbus};
    use crate::hw::display::options::Controller;
    use crate::hw::display::transport::{CONTROL_COMMAND, CONTROL_DATA, RawI2c, SmbusI2c};
    use crate::hw::display::{Status, TallyView};

    const ADDR: u8 = 0x3C;

    fn opts(rotation: Rotation, contrast: u8) -> OledOptions {
        OledOptions {
            controller: Controller::Ssd1306,
            rotation,
            contrast,
        }
    }

    /// The command groups of `init`: the crate's sequence (one write per command, so
    /// every group fits an SMBus block), then our pre-charge and contrast. Compared with
    /// the project's former driver the bytes are the same settings except that the crate
    /// uses horizontal addressing (`0x20 0x00`), sends the display-on before our contrast,
    /// and sets its default brightness first.
    fn init_groups(rotation: Rotation, contrast: u8) -> Vec<Vec<u8>> {
        let (remap, com) = match rotation {
            Rotation::Deg0 => (0xA1, 0xC8),
            Rotation::Deg180 => (0xA0, 0xC0),
        };
        [
            &[0xAE][..],
            &[0xD5, 0x80],
            &[0xA8, 0x3F],
            &[0xD3, 0x00],
            &[0x40],
            &[0x8D, 0x14],
            &[0x20, 0x00],
            &[0xDA, 0x12],
            &[remap],
            &[com],
            &[0xD9, 0x21],
            &[0x81, 0x5F],
            &[0xDB, 0x40],
            &[0xA4],
            &[0xA6],
            &[0x2E],
            &[0xAF],
            &[0xD9, 0xF1],
            &[0x81, contrast],
        ]
        .iter()
        .map(|g| g.to_vec())
        .collect()
    }

    fn cmd(bytes: &[u8]) -> Expect {
        let mut v = vec![CONTROL_COMMAND];
        v.extend_from_slice(bytes);
        Expect::Write(ADDR, v)
    }

    fn data(bytes: &[u8]) -> Expect {
        let mut v = vec![CONTROL_DATA];
        v.extend_from_slice(bytes);
        Expect::Write(ADDR, v)
    }

    /// The crate's flush of columns `x0..=x1` on pages `p0..=p1` of `fb`.
    fn area_writes(
        fb: &Framebuffer,
        (x0, x1): (usize, usize),
        (p0, p1): (usize, usize),
    ) -> Vec<Expect> {
        let mut e = vec![
            cmd(&[0x21, x0 as u8, x1 as u8]),
            cmd(&[0x22, p0 as u8, p1 as u8]),
        ];
        e.extend((p0..=p1).map(|p| data(&fb.page(p)[x0..=x1])));
        e
    }

    fn init_expectations(o: &OledOptions) -> Vec<Expect> {
        let mut e: Vec<Expect> = init_groups(o.rotation, o.contrast)
            .iter()
            .map(|g| cmd(g))
            .collect();
        e.extend(area_writes(
            &Framebuffer::new(),
            (0, WIDTH - 1),
            (0, PAGES - 1),
        ));
        e
    }

    fn ready(o: OledOptions) -> (Ssd1306Oled<RawI2c<MockI2c>>, MockI2c) {
        let mock = MockI2c::new(init_expectations(&o));
        let mut oled = Ssd1306Oled::new(RawI2c::new(mock.clone(), ADDR), o);
        oled.init().unwrap();
        mock.done();
        (oled, mock)
    }

    #[test]
    fn init_sequence_is_exact_and_clears_the_panel() {
        let (oled, _mock) = ready(opts(Rotation::Deg0, 0xCF));
        assert!(oled.framebuffer().dirty_pages().is_empty());
        assert_eq!(oled.framebuffer().lit_pixels(), 0);
    }

    #[test]
    fn rotation_and_contrast_are_in_the_init_sequence() {
        let groups = init_groups(Rotation::Deg180, 0x10);
        assert!(groups.contains(&vec![0xA0]) && groups.contains(&vec![0xC0]));
        assert!(!groups.contains(&vec![0xA1]) && !groups.contains(&vec![0xC8]));
        assert!(groups.contains(&vec![0x81, 0x10]));
        let _ = ready(opts(Rotation::Deg180, 0x10));
    }

    #[test]
    fn only_the_changed_area_is_sent() {
        let (mut oled, mock) = ready(opts(Rotation::Deg0, 0xCF));
        let mut frame = Framebuffer::new();
        frame.set_pixel(5, 9, true);
        frame.set_pixel(100, 50, true);
        mock.expect(area_writes(&frame, (5, 100), (1, 6)));
        oled.update(&frame).unwrap();
        mock.done();
        // Nothing changed: nothing sent.
        oled.update(&frame).unwrap();
        mock.done();
    }

    #[test]
    fn a_status_line_change_stays_below_the_header() {
        let (mut oled, mock) = ready(opts(Rotation::Deg0, 0xCF));
        let tally = TallyView {
            labels: vec!["eosinophil".into(), "lymphocyte".into()],
            outside_differential: Vec::new(),
            counts: vec![3, 4],
            unidentified: 0,
            target: 100,
        };
        let first = Screen::Status {
            status: Status::Ready,
            tally: Some(tally.clone()),
        };
        let mut expected = Framebuffer::new();
        screens::draw(&mut expected, &first).unwrap();
        let lit_columns: Vec<usize> = (0..WIDTH)
            .filter(|&x| (0..HEIGHT).any(|y| expected.pixel(x, y)))
            .collect();
        let lit_pages: Vec<usize> = (0..PAGES)
            .filter(|&p| expected.page(p).iter().any(|&b| b != 0))
            .collect();
        mock.expect(area_writes(
            &expected,
            (lit_columns[0], lit_columns[lit_columns.len() - 1]),
            (lit_pages[0], lit_pages[lit_pages.len() - 1]),
        ));
        oled.show(&first).unwrap();
        mock.done();
        assert_eq!(oled.framebuffer(), &{
            let mut f = expected.clone();
            f.mark_all_flushed();
            f
        });
    }

    #[test]
    fn after_a_failed_flush_everything_is_sent_again() {
        let (mut oled, mock) = ready(opts(Rotation::Deg0, 0xCF));
        let mut frame = Framebuffer::new();
        frame.set_pixel(0, 0, true);
        mock.expect([
            cmd(&[0x21, 0, 0]),
            cmd(&[0x22, 0, 0]),
            Expect::WriteFails(ADDR, vec![CONTROL_DATA, 0x01]),
        ]);
        let e = oled.update(&frame).unwrap_err();
        mock.done();
        assert!(e.to_string().contains("0x3C"), "{e}");
        mock.expect(area_writes(&frame, (0, WIDTH - 1), (0, PAGES - 1)));
        oled.update(&frame).unwrap();
        mock.done();
    }

    #[test]
    fn smbus_transport_drives_the_same_init() {
        let o = opts(Rotation::Deg0, 0xCF);
        let mut blocks: Vec<(u8, Vec<u8>)> = init_groups(o.rotation, o.contrast)
            .into_iter()
            .map(|g| (0x00, g))
            .collect();
        blocks.push((0x00, vec![0x21, 0x00, 0x7F]));
        blocks.push((0x00, vec![0x22, 0x00, 0x07]));
        for _ in 0..PAGES {
            for _ in 0..WIDTH / 32 {
                blocks.push((0x40, vec![0; 32]));
            }
        }
        let mut oled = Ssd1306Oled::new(SmbusI2c::new(MockSmbus::new(ADDR, blocks)), o);
        oled.init().unwrap();
        oled.release().release().done();
    }
}
