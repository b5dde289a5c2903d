//! The OLED backend: a thin SSD1306 / SH1106 driver over an [`I2cTransport`].
//!
//! Both controllers hold 8 pages of 8 pixel rows; the [`Framebuffer`] keeps that layout
//! and knows which pages changed since the last flush, so only those are sent (a full
//! frame costs ~23 ms at 400 kHz, a status line a few ms). Pages are addressed in page
//! mode on both chips: `0xB0 | page`, then the column start as two nibble commands.
//!
//! - SSD1306: 128-column RAM, internal charge pump (`0x8D 0x14`).
//! - SH1106: 132-column RAM with the 128 visible columns at offset 2, DC-DC converter
//!   (`0xAD 0x8B`), page addressing only. Many 1.3" "SSD1306" modules are SH1106:
//!   if the picture is shifted by two pixels with a column of noise, switch the driver.
//!
//! Rotation by 180 degrees is done by the controller (segment remap and COM scan
//! direction), so it costs nothing per frame.

use super::framebuffer::Framebuffer;
use super::transport::{I2cTransport, TransportError};
use super::{Display, DisplayError, Screen, screens};

/// Which controller is on the module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Controller {
    /// SSD1306, 128x64.
    Ssd1306,
    /// SH1106, 132x64 RAM showing columns 2..130.
    Sh1106,
}

impl Controller {
    /// First RAM column of the visible area.
    pub fn column_offset(self) -> u8 {
        match self {
            Controller::Ssd1306 => 0,
            Controller::Sh1106 => 2,
        }
    }
}

/// Panel orientation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Rotation {
    /// Normal: header pins at the top.
    #[default]
    Deg0,
    /// Upside down.
    Deg180,
}

/// Settings of an OLED.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OledOptions {
    /// The controller.
    pub controller: Controller,
    /// Orientation.
    pub rotation: Rotation,
    /// Contrast 0..=255.
    pub contrast: u8,
}

/// Command bytes that set everything up, display still off (sent as one group of at
/// most 32 bytes, so it also fits one SMBus block).
pub fn init_commands(options: &OledOptions) -> Vec<u8> {
    let (segment_remap, com_scan) = match options.rotation {
        Rotation::Deg0 => (0xA1, 0xC8),
        Rotation::Deg180 => (0xA0, 0xC0),
    };
    let mut c = vec![
        0xAE, // display off
        0xD5, 0x80, // clock divide ratio / oscillator
        0xA8, 0x3F, // multiplex ratio: 64 rows
        0xD3, 0x00, // display offset 0
        0x40, // start line 0
    ];
    match options.controller {
        Controller::Ssd1306 => c.extend_from_slice(&[
            0x8D, 0x14, // charge pump on
            0x20, 0x02, // page addressing mode
        ]),
        Controller::Sh1106 => c.extend_from_slice(&[
            0xAD, 0x8B, // DC-DC converter on
        ]),
    }
    c.extend_from_slice(&[
        segment_remap,
        com_scan,
        0xDA,
        0x12, // COM pins: alternative configuration
        0x81,
        options.contrast,
    ]);
    match options.controller {
        Controller::Ssd1306 => c.extend_from_slice(&[
            0xD9, 0xF1, // pre-charge period
            0xDB, 0x40, // VCOMH deselect level
            0x2E, // no scrolling
        ]),
        Controller::Sh1106 => c.extend_from_slice(&[
            0xD9, 0x22, // pre-charge period
            0xDB, 0x35, // VCOM deselect level
        ]),
    }
    c.extend_from_slice(&[
        0xA4, // show RAM content
        0xA6, // not inverted
    ]);
    c
}

/// Command bytes that select `page` and put the column pointer at the visible start.
pub fn page_address_commands(controller: Controller, page: u8) -> [u8; 3] {
    let column = controller.column_offset();
    [0xB0 | (page & 0x07), column & 0x0F, 0x10 | (column >> 4)]
}

/// Display on.
pub const DISPLAY_ON: u8 = 0xAF;
/// Display off (sleep).
pub const DISPLAY_OFF: u8 = 0xAE;

/// An SSD1306 or SH1106 OLED behind a transport, drawing into a [`Framebuffer`].
#[derive(Debug)]
pub struct Oled<T> {
    transport: T,
    options: OledOptions,
    fb: Framebuffer,
}

impl<T: I2cTransport> Oled<T> {
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
                .write_command(&page_address_commands(self.options.controller, page as u8))?;
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

impl<T: I2cTransport> Display for Oled<T> {
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
                Err(DisplayError::Device(e.to_string()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hw::display::framebuffer::{PAGES, WIDTH};
    use crate::hw::display::mock::{Expect, MockI2c, MockSmbus};
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

    fn page_writes(controller: Controller, fb: &Framebuffer, pages: &[usize]) -> Vec<Expect> {
        pages
            .iter()
            .flat_map(|&p| {
                [
                    cmd(&page_address_commands(controller, p as u8)),
                    data(fb.page(p)),
                ]
            })
            .collect()
    }

    fn init_expectations(o: &OledOptions) -> Vec<Expect> {
        let blank = Framebuffer::new();
        let mut e = vec![cmd(&init_commands(o))];
        e.extend(page_writes(
            o.controller,
            &blank,
            &(0..PAGES).collect::<Vec<_>>(),
        ));
        e.push(cmd(&[DISPLAY_ON]));
        e
    }

    #[test]
    fn ssd1306_init_sequence_is_exact() {
        let o = opts(Controller::Ssd1306);
        assert_eq!(
            init_commands(&o),
            vec![
                0xAE, 0xD5, 0x80, 0xA8, 0x3F, 0xD3, 0x00, 0x40, 0x8D, 0x14, 0x20, 0x02, 0xA1, 0xC8,
                0xDA, 0x12, 0x81, 0xCF, 0xD9, 0xF1, 0xDB, 0x40, 0x2E, 0xA4, 0xA6
            ]
        );
        assert!(init_commands(&o).len() <= 32, "must fit one SMBus block");
        let mock = MockI2c::new(init_expectations(&o));
        let mut oled = Oled::new(RawI2c::new(mock.clone(), ADDR), o);
        oled.init().unwrap();
        mock.done();
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
        assert_eq!(
            page_address_commands(Controller::Sh1106, 3),
            [0xB3, 0x02, 0x10]
        );
        assert_eq!(
            page_address_commands(Controller::Ssd1306, 7),
            [0xB7, 0x00, 0x10]
        );
        let mock = MockI2c::new(init_expectations(&o));
        let mut oled = Oled::new(RawI2c::new(mock.clone(), ADDR), o);
        oled.init().unwrap();
        mock.done();
    }

    #[test]
    fn rotation_and_contrast_are_in_the_init_sequence() {
        let o = OledOptions {
            controller: Controller::Ssd1306,
            rotation: Rotation::Deg180,
            contrast: 0x10,
        };
        let init = init_commands(&o);
        assert!(init.contains(&0xA0) && init.contains(&0xC0));
        assert!(!init.contains(&0xA1) && !init.contains(&0xC8));
        assert!(init.windows(2).any(|w| w == [0x81, 0x10]));
    }

    /// An initialised driver on a mock bus, and the test's handle to the mock.
    fn ready(o: OledOptions) -> (Oled<RawI2c<MockI2c>>, MockI2c) {
        let mock = MockI2c::new(init_expectations(&o));
        let mut oled = Oled::new(RawI2c::new(mock.clone(), ADDR), o);
        oled.init().unwrap();
        mock.done();
        (oled, mock)
    }

    #[test]
    fn only_changed_pages_are_sent() {
        let (mut oled, mock) = ready(opts(Controller::Ssd1306));
        // Nothing changed: nothing sent.
        assert_eq!(oled.flush().unwrap(), 0);
        // Two pixels in pages 1 and 6.
        oled.framebuffer_mut().set_pixel(5, 9, true);
        oled.framebuffer_mut().set_pixel(100, 50, true);
        mock.expect(page_writes(
            Controller::Ssd1306,
            oled.framebuffer(),
            &[1, 6],
        ));
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
        mock.expect(page_writes(Controller::Sh1106, &expected, &lit));
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
        mock.expect(page_writes(Controller::Sh1106, &expected, &changed));
        oled.show(&second).unwrap();
        mock.done();
    }

    #[test]
    fn a_failed_page_is_resent_after_an_error() {
        let (mut oled, mock) = ready(opts(Controller::Ssd1306));
        oled.framebuffer_mut().set_pixel(0, 0, true);
        let mut failing = vec![CONTROL_DATA];
        failing.extend_from_slice(oled.framebuffer().page(0));
        mock.expect([
            cmd(&page_address_commands(Controller::Ssd1306, 0)),
            Expect::WriteFails(ADDR, failing),
        ]);
        let e = oled.flush().unwrap_err();
        mock.done();
        assert!(e.to_string().contains("0x3C"), "{e}");
        assert_eq!(oled.framebuffer().dirty_pages(), vec![0]);
        // Through Display::show, an error makes the next update resend every page.
        mock.expect([cmd(&page_address_commands(Controller::Ssd1306, 0))]);
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
        mock.expect(page_writes(
            Controller::Ssd1306,
            &fb,
            &(0..PAGES).collect::<Vec<_>>(),
        ));
        oled.show(&screen).unwrap();
        mock.done();
    }

    #[test]
    fn smbus_transport_drives_the_same_init() {
        let o = opts(Controller::Ssd1306);
        let blank = [0u8; WIDTH];
        let mut blocks = vec![(0x00, init_commands(&o))];
        for p in 0..PAGES as u8 {
            blocks.push((0x00, page_address_commands(Controller::Ssd1306, p).to_vec()));
            for chunk in blank.chunks(32) {
                blocks.push((0x40, chunk.to_vec()));
            }
        }
        blocks.push((0x00, vec![DISPLAY_ON]));
        let mut oled = Oled::new(SmbusI2c::new(MockSmbus::new(ADDR, blocks)), o);
        oled.init().unwrap();
        oled.release().release().done();
    }
}
