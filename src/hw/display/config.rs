//! The `[display]` section of the configuration.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::invalid::{Invalid, check_range};

/// Which display backend to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DisplayDriver {
    /// Simulated: terminal and/or PNG snapshots, no hardware.
    #[default]
    Sim,
    /// A 128x64 SSD1306 OLED on I2C.
    Ssd1306,
    /// A 128x64 SH1106 OLED on I2C (many 1.3" "SSD1306" modules are this chip).
    Sh1106,
}

/// How the simulated display prints screens in the terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TerminalStyle {
    /// 66 columns by 18 lines (braille dots, every pixel), printed only when the picture
    /// changes and, on a terminal, redrawn in place; `run` then logs warnings only.
    #[default]
    Compact,
    /// 130 columns by 34 lines (half blocks), every screen printed below the last, with
    /// the full log: the verbose form.
    Full,
}

/// The `[display]` section.
///
/// ```toml
/// [display]
/// driver = "ssd1306"      # "sim", "ssd1306" or "sh1106"
/// bus = "/dev/i2c-1"      # I2C bus device (OLED drivers only)
/// address = 0x3C          # 0x3C or 0x3D
/// rotation = 0            # 0 or 180 degrees
/// contrast = 207          # 0..=255
/// terminal = true         # sim: print each screen to stdout
/// terminal_style = "compact"  # sim: "compact" (66 columns, quiet) or "full" (130, verbose)
/// png_dir = "screens"     # sim: save numbered PNG snapshots and latest.png here
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DisplayConfig {
    /// Backend: `sim`, `ssd1306` or `sh1106`.
    pub driver: DisplayDriver,
    /// I2C bus device of the OLED.
    pub bus: PathBuf,
    /// 7-bit I2C address of the OLED: 0x3C or 0x3D.
    pub address: u16,
    /// Rotation in degrees: 0 or 180 (done by the controller, no redraw cost).
    pub rotation: u16,
    /// Contrast (brightness) 0..=255.
    pub contrast: u16,
    /// Simulated display: print every screen to stdout.
    pub terminal: bool,
    /// Simulated display: how screens are printed (`compact` or `full`).
    pub terminal_style: TerminalStyle,
    /// Simulated display: directory for PNG snapshots (numbered, plus `latest.png`).
    pub png_dir: Option<PathBuf>,
}

impl Default for DisplayConfig {
    fn default() -> Self {
        Self {
            driver: DisplayDriver::Sim,
            bus: PathBuf::from("/dev/i2c-1"),
            address: 0x3C,
            rotation: 0,
            contrast: 0xCF,
            terminal: true,
            terminal_style: TerminalStyle::Compact,
            png_dir: None,
        }
    }
}

impl DisplayConfig {
    /// Checks the values serde cannot: each error names the key (`display.address`, …)
    /// and the allowed values.
    pub fn validate(&self) -> Result<(), Invalid> {
        self.check().map_err(|e| e.in_section("display"))
    }

    /// [`DisplayConfig::validate`] with keys inside the section.
    fn check(&self) -> Result<(), Invalid> {
        if !matches!(self.address, 0x3C | 0x3D) {
            return Err(Invalid::new(
                "address",
                format!("{:#04X}", self.address),
                "0x3C or 0x3D",
            ));
        }
        if !matches!(self.rotation, 0 | 180) {
            return Err(Invalid::new("rotation", self.rotation, "0 or 180"));
        }
        check_range("contrast", self.contrast, 0, 255)?;
        if self.driver != DisplayDriver::Sim && self.bus.as_os_str().is_empty() {
            return Err(Invalid::new(
                "bus",
                "\"\"",
                "an I2C device path such as /dev/i2c-1",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<DisplayConfig, toml::de::Error> {
        toml::from_str(text)
    }

    #[test]
    fn defaults_are_valid_and_simulated() {
        let c = parse("").unwrap();
        assert_eq!(c, DisplayConfig::default());
        assert_eq!(c.driver, DisplayDriver::Sim);
        c.validate().unwrap();
    }

    #[test]
    fn full_section_parses() {
        let c = parse(
            "driver = \"sh1106\"\nbus = \"/dev/i2c-3\"\naddress = 0x3D\nrotation = 180\n\
             contrast = 0\nterminal = false\npng_dir = \"/tmp/x\"\n",
        )
        .unwrap();
        assert_eq!(c.driver, DisplayDriver::Sh1106);
        assert_eq!(c.address, 0x3D);
        assert_eq!(c.png_dir, Some(PathBuf::from("/tmp/x")));
        c.validate().unwrap();
    }

    #[test]
    fn unknown_key_and_driver_are_named() {
        let e = parse("adress = 0x3C").unwrap_err().to_string();
        assert!(e.contains("adress"), "{e}");
        let e = parse("driver = \"st7735\"").unwrap_err().to_string();
        assert!(e.contains("st7735") && e.contains("ssd1306"), "{e}");
    }

    #[test]
    fn out_of_range_values_name_key_and_range() {
        let e = parse("address = 0x50").unwrap().validate().unwrap_err();
        assert_eq!(e.full_key(), "display.address");
        assert!(e.to_string().contains("0x3C or 0x3D"), "{e}");
        let e = parse("rotation = 90").unwrap().validate().unwrap_err();
        assert_eq!(
            e.to_string(),
            "display.rotation = 90 is not allowed (allowed: 0 or 180)"
        );
        let e = parse("contrast = 256").unwrap().validate().unwrap_err();
        assert!(e.to_string().contains("0..=255"), "{e}");
    }
}
