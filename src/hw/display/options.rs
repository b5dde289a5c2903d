//! The settings of an I2C OLED, shared by both controller drivers.

/// Which controller is on the module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Controller {
    /// SSD1306, 128x64.
    Ssd1306,
    /// SH1106, 132x64 RAM showing columns 2..130.
    Sh1106,
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
