//! The SH1106 OLED driver: the project's own page-mode driver over an [`I2cTransport`].
//!
//! Why not a crate: the SSD1306 goes through the `ssd1306` crate ([`super::ssd1306`]),
//! but that crate draws in horizontal addressing mode (`0x20`, `0x21`, `0x22`), which the
//! SH1106 does not have. The SH1106 crates we measured do not fit: `sh1106` 0.5 is built
//! on embedded-hal 0.2 (this project is on 1.0) with its own interface trait instead of
//! display-interface, and sends the whole frame on every flush; `oled_async` is
//! async-only. So this ~150-line driver stays, and writes only the pages that changed.
//!
//! The SH1106 holds 8 pages of 8 pixel rows in a 132-column RAM with the 128 visible
//! columns at offset 2; it is addressed in page mode (`0xB0 | page`, then the column start
//! as two nibble commands) and has a DC-DC converter (`0xAD 0x8B`) instead of the
//! SSD1306's charge pump. Many 1.3" "SSD1306" modules are SH1106: if the picture is
//! shifted by two pixels with a column of noise, switch the driver.
//!
//! Rotation by 180 degrees is done by the controller (segment remap and COM scan
//! direction), so it costs nothing per frame.

use super::error::DisplayError;
use super::framebuffer::Framebuffer;
use super::options::{OledOptions, Rotation};
use super::transport::{I2cTransport, TransportError};
use super::{Display, Screen, screens};

/// First RAM column of the visible area.
pub const COLUMN_OFFSET: u8 = 2;

/// Command bytes that set everything up, display still off (sent as one group of at
/// most 32 bytes, so it also fits one SMBus block).
pub fn init_commands(options: &OledOptions) -> Vec<u8> {
    let (segment_remap, com_scan) = match options.rotation {
        Rotation::Deg0 => (0xA1, 0xC8),
        Rotation::Deg180 => (0xA0, 0xC0),
    };
    vec![
        0xAE, // display off
        0xD5,
        0x80, // clock divide ratio / oscillator
        0xA8,
        0x3F, // multiplex ratio: 64 rows
        0xD3,
        0x00, // display offset 0
        0x40, // start line 0
        0xAD,
        0x8B, // DC-DC converter on
        segment_remap,
        com_scan,
        0xDA,
        0x12, // COM pins: alternative configuration
        0x81,
        options.contrast,
        0xD9,
        0x22, // pre-charge period
        0xDB,
        0x35, // VCOM deselect level
        0xA4, // show RAM content
        0xA6, // not inverted
    ]
}

/// Command bytes that select `page` and put the column pointer at the visible start.
pub fn page_address_commands(page: u8) -> [u8; 3] {
    [
        0xB0 | (page & 0x07),
        COLUMN_OFFSET & 0x0F,
        0x10 | (COLUMN_OFFSET >> 4),
    ]
}

/// Display on.
pub const DISPLAY_ON: u8 = 0xAF;
/// Display off (sleep).
pub const DISPLAY_OFF: u8 = 0xAE;

/// An SH1106 OLED behind a transport, drawing into a [`Framebuffer`].
#[derive(Debug)]
pub struct Sh1106<T> {
    transport: T,
    options: OledOptions,
    fb: Framebuffer,
}

impl<T: I2cTransport> Sh1106<T> {
    /// A driver for an uninitialised display; call [`init`](Self::init) next.
    pub fn new(transport: T, options: OledOptions) -> Self {
        Self {
            transport,
            options,
            fb: Framebuffer::new(),
        }
    }

    /// Sets the controller up, clears its RAM with the current frame and switches the
    /// display on. Also the recovery after a reset or bus error.
    pub fn init(&mut self) -> Result<(), TransportError> {
        self.transport
            .write_command(&init_commands(&self.options))?;
        self.fb.invalidate();
        self.flush()?;
        self.transport.write_command(&[DISPLAY_ON])
    }

    /// Sends the pages that differ from what the display holds; returns how many.
    ///
    /// A page that fails stays dirty (it is sent again next time).
    pub fn flush(&mut self) -> Result<usize, TransportError> {
        let dirty = self.fb.dirty_pages();
        for &page in &dirty {
            self.transport
                .write_command(&page_address_commands(page as u8))?;
            self.transport.write_data(self.fb.page(page))?;
            self.fb.mark_page_flushed(page);
        }
        Ok(dirty.len())
    }

    /// Changes the contrast (0..=255).
    pub fn set_contrast(&mut self, contrast: u8) -> Result<(), TransportError> {
        self.options.contrast = contrast;
        self.transport.write_command(&[0x81, contrast])
    }

    /// Switches the panel off (RAM kept) or back on.
    pub fn set_display_on(&mut self, on: bool) -> Result<(), TransportError> {
        self.transport
            .write_command(&[if on { DISPLAY_ON } else { DISPLAY_OFF }])
    }

    /// The frame being drawn (draw on it, then [`flush`](Self::flush)).
    pub fn framebuffer_mut(&mut self) -> &mut Framebuffer {
        &mut self.fb
    }

    /// The frame last drawn.
    pub fn framebuffer(&self) -> &Framebuffer {
        &self.fb
    }

    /// Gives the transport back.
    pub fn release(self) -> T {
        self.transport
    }
}

impl<T: I2cTransport> Display for Sh1106<T> {
    fn show(&mut self, screen: &Screen) -> Result<(), DisplayError> {
        match screens::draw(&mut self.fb, screen) {
            Ok(()) => {}
            Err(never) => match never {},
        }
        match self.flush() {
            Ok(_) => Ok(()),
            Err(e) => {
                // The device may have lost state: resend everything next time.
                self.fb.invalidate();
                Err(DisplayError::Write(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hw::display::framebuffer::{PAGES, WIDTH};
    use crate::hw::display::mock::{Expect, MockI2c, MockSmbus};
    use crate::hw::display::options::Controller;
    use crate::hw::display::transport::{CONTROL_COMMAND, CONTROL_DATA, RawI2c, SmbusI2c};
    use crate::hw::display::{Status, TallyView};

    const ADDR: u8 = 0x3C;

    fn opts(controller: Controller) -> OledOptions {
        OledOptions {
            controller,
            rotation: Rotation::Deg0,
            contrast: 0xCF,
        }
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

    fn page_writes(fb: &Framebuffer, pages: &[usize]) -> Vec<Expect> {
        pages
            .iter()
            .flat_map(|&p| [cmd(&page_address_commands(p as u8)), data(fb.page(p))])
            .collect()
    }

    fn init_expectations(o: &OledOptions) -> Vec<Expect> {
        let blank = Framebuffer::new();
        let mut e = vec![cmd(&init_commands(o))];
        e.extend(page_writes(&blank, &(0..PAGES).collect::<Vec<_>>()));
        e.push(cmd(&[DISPLAY_ON]));
        e
    }

    #[test]
    fn sh1106_uses_its_own_power_setup_and_column_offset_2() {
        let o = opts(Controller::Sh1106);
        let init = init_commands(&o);
        assert!(init.windows(2).any(|w| w == [0xAD, 0x8B]));
        assert!(!init.windows(2).any(|w| w == [0x8D, 0x14]));
        assert!(
            !init.contains(&0x20),
            "SH1106 has no addressing-mode command"
        );
        assert_eq!(page_address_commands(3), [0xB3, 0x02, 0x10]);
        let mock = MockI2c::new(init_expectations(&o));
        let mut oled = Sh1106::new(RawI2c::new(mock.clone(), ADDR), o);
        oled.init().unwrap();
        mock.done();
    }

    #[test]
    fn rotation_and_contrast_are_in_the_init_sequence() {
        let o = OledOptions {
            controller: Controller::Sh1106,
            rotation: Rotation::Deg180,
            contrast: 0x10,
        };
        let init = init_commands(&o);
        assert!(init.contains(&0xA0) && init.contains(&0xC0));
        assert!(!init.contains(&0xA1) && !init.contains(&0xC8));
        assert!(init.windows(2).any(|w| w == [0x81, 0x10]));
    }

    /// An initialised driver on a mock bus, and the test's handle to the mock.
    fn ready(o: OledOptions) -> (Sh1106<RawI2c<MockI2c>>, MockI2c) {
        let mock = MockI2c::new(init_expectations(&o));
        let mut oled = Sh1106::new(RawI2c::new(mock.clone(), ADDR), o);
        oled.init().unwrap();
        mock.done();
        (oled, mock)
    }

    #[test]
    fn only_changed_pages_are_sent() {
        let (mut oled, mock) = ready(opts(Controller::Sh1106));
        // Nothing changed: nothing sent.
        assert_eq!(oled.flush().unwrap(), 0);
        // Two pixels in pages 1 and 6.
        oled.framebuffer_mut().set_pixel(5, 9, true);
        oled.framebuffer_mut().set_pixel(100, 50, true);
        mock.expect(page_writes(oled.framebuffer(), &[1, 6]));
        assert_eq!(oled.flush().unwrap(), 2);
        mock.done();
        assert_eq!(oled.flush().unwrap(), 0);
        mock.done();
    }

    #[test]
    fn screens_update_only_the_pages_that_differ() {
        let (mut oled, mock) = ready(opts(Controller::Sh1106));
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
        let lit: Vec<usize> = (0..PAGES)
            .filter(|&p| expected.page(p).iter().any(|&b| b != 0))
            .collect();
        mock.expect(page_writes(&expected, &lit));
        oled.show(&first).unwrap();
        mock.done();
        // One more lymphocyte only changes the counts and progress rows.
        let mut more = tally;
        more.counts[1] += 1;
        let second = Screen::Status {
            status: Status::Ready,
            tally: Some(more),
        };
        let before = expected.clone();
        screens::draw(&mut expected, &second).unwrap();
        let changed: Vec<usize> = (0..PAGES)
            .filter(|&p| expected.page(p) != before.page(p))
            .collect();
        assert!(!changed.is_empty() && changed.len() < 4, "{changed:?}");
        assert!(
            changed.iter().all(|&p| p >= 4),
            "header pages changed: {changed:?}"
        );
        mock.expect(page_writes(&expected, &changed));
        oled.show(&second).unwrap();
        mock.done();
    }

    #[test]
    fn a_failed_page_is_resent_after_an_error() {
        let (mut oled, mock) = ready(opts(Controller::Sh1106));
        oled.framebuffer_mut().set_pixel(0, 0, true);
        let mut failing = vec![CONTROL_DATA];
        failing.extend_from_slice(oled.framebuffer().page(0));
        mock.expect([
            cmd(&page_address_commands(0)),
            Expect::WriteFails(ADDR, failing),
        ]);
        let e = oled.flush().unwrap_err();
        mock.done();
        assert!(e.to_string().contains("0x3C"), "{e}");
        assert_eq!(oled.framebuffer().dirty_pages(), vec![0]);
        // Through Display::show, an error makes the next update resend every page.
        mock.expect([cmd(&page_address_commands(0))]);
        mock.expect([Expect::WriteFails(ADDR, {
            let mut v = vec![CONTROL_DATA];
            let mut fb = Framebuffer::new();
            screens::draw(
                &mut fb,
                &Screen::Status {
                    status: Status::NoWbc,
                    tally: None,
                },
            )
            .unwrap();
            v.extend_from_slice(fb.page(0));
            v
        })]);
        let screen = Screen::Status {
            status: Status::NoWbc,
            tally: None,
        };
        assert!(oled.show(&screen).is_err());
        mock.done();
        assert_eq!(oled.framebuffer().dirty_pages().len(), PAGES);
        let fb = oled.framebuffer().clone();
        mock.expect(page_writes(&fb, &(0..PAGES).collect::<Vec<_>>()));
        oled.show(&screen).unwrap();
        mock.done();
    }

    #[test]
    fn smbus_transport_drives_the_same_init() {
        let o = opts(Controller::Sh1106);
        let blank = [0u8; WIDTH];
        let mut blocks = vec![(0x00, init_commands(&o))];
        for p in 0..PAGES as u8 {
            blocks.push((0x00, page_address_commands(p).to_vec()));
            for chunk in blank.chunks(32) {
                blocks.push((0x40, chunk.to_vec()));
            }
        }
        blocks.push((0x00, vec![DISPLAY_ON]));
        let mut oled = Sh1106::new(SmbusI2c::new(MockSmbus::new(ADDR, blocks)), o);
        oled.init().unwrap();
        oled.release().release().done();
    }
}
