//! The I2C OLED, whichever controller it has: SSD1306 through the `ssd1306` crate
//! ([`super::ssd1306`]) or SH1106 through the project's page-mode driver
//! ([`super::sh1106`]).

use super::error::DisplayError;
use super::framebuffer::Framebuffer;
use super::options::{Controller, OledOptions};
use super::sh1106::Sh1106;
use super::ssd1306::Ssd1306Oled;
use super::transport::{I2cTransport, TransportError};
use super::{Display, Screen};

/// An SSD1306 or SH1106 OLED behind a transport.
#[derive(Debug)]
pub enum Oled<T: I2cTransport> {
    /// SSD1306, driven by the `ssd1306` crate.
    Ssd1306(Box<Ssd1306Oled<T>>),
    /// SH1106, driven by the project's page-mode driver.
    Sh1106(Box<Sh1106<T>>),
}

impl<T: I2cTransport> Oled<T> {
    /// A driver for the uninitialised display of `options.controller`; call
    /// [`init`](Self::init) next.
    pub fn new(transport: T, options: OledOptions) -> Self {
        match options.controller {
            Controller::Ssd1306 => Oled::Ssd1306(Box::new(Ssd1306Oled::new(transport, options))),
            Controller::Sh1106 => Oled::Sh1106(Box::new(Sh1106::new(transport, options))),
        }
    }

    /// Sets the controller up, clears its RAM and switches the display on. Also the
    /// recovery after a reset or bus error.
    pub fn init(&mut self) -> Result<(), TransportError> {
        match self {
            Oled::Ssd1306(d) => d.init(),
            Oled::Sh1106(d) => d.init(),
        }
    }

    /// The frame the panel shows (after a successful [`Display::show`]).
    pub fn framebuffer(&self) -> &Framebuffer {
        match self {
            Oled::Ssd1306(d) => d.framebuffer(),
            Oled::Sh1106(d) => d.framebuffer(),
        }
    }
}

impl<T: I2cTransport> Display for Oled<T> {
    fn show(&mut self, screen: &Screen) -> Result<(), DisplayError> {
        match self {
            Oled::Ssd1306(d) => d.show(screen),
            Oled::Sh1106(d) => d.show(screen),
        }
    }
}
