//! Choosing and opening the display backend from the `[display]` section.

use std::time::Duration;

use super::Display;
use super::config::{DisplayConfig, DisplayDriver};
use super::error::DisplayError;
use super::linux_i2c::LinuxI2c;
use super::oled::Oled;
use super::options::{Controller, OledOptions, Rotation};
use super::resilient::{DEFAULT_RETRY, Opener, ResilientDisplay};
use super::sim::SimDisplay;

/// The OLED options of a `[display]` section (driver, rotation, contrast); `None` for
/// the simulated driver.
pub fn oled_options(config: &DisplayConfig) -> Option<OledOptions> {
    let controller = match config.driver {
        DisplayDriver::Sim => return None,
        DisplayDriver::Ssd1306 => Controller::Ssd1306,
        DisplayDriver::Sh1106 => Controller::Sh1106,
    };
    Some(OledOptions {
        controller,
        rotation: if config.rotation == 180 {
            Rotation::Deg180
        } else {
            Rotation::Deg0
        },
        contrast: u8::try_from(config.contrast).unwrap_or(u8::MAX),
    })
}

/// Opens and initialises the OLED of `config` now; fails if it is absent.
pub fn open_oled(config: &DisplayConfig) -> Result<Oled<LinuxI2c>, DisplayError> {
    config.validate()?;
    let options = oled_options(config).ok_or(DisplayError::NoOled)?;
    let address = u8::try_from(config.address).unwrap_or(0x3C);
    let transport = LinuxI2c::open(&config.bus, address)?;
    let mut oled = Oled::new(transport, options);
    oled.init().map_err(|source| DisplayError::Init {
        controller: options.controller,
        bus: config.bus.clone(),
        source,
    })?;
    Ok(oled)
}

/// The display of `config`, ready for the event loop.
///
/// - `sim`: a [`SimDisplay`] (terminal and/or PNG snapshots); fails only if the PNG
///   directory cannot be created.
/// - `ssd1306` / `sh1106`: a [`ResilientDisplay`] around [`open_oled`]. This never fails
///   for a missing display: counting starts anyway and the display is retried every
///   `retry_every` (pass [`DEFAULT_RETRY`], 5 s, unless testing).
///
/// Invalid settings are an error naming the key.
pub fn open_display(
    config: &DisplayConfig,
    retry_every: Duration,
) -> Result<Box<dyn Display + Send>, DisplayError> {
    config.validate()?;
    match config.driver {
        DisplayDriver::Sim => Ok(Box::new(SimDisplay::from_config(config)?)),
        DisplayDriver::Ssd1306 | DisplayDriver::Sh1106 => {
            let name = format!(
                "{:?} on {} at {:#04X}",
                config.driver,
                config.bus.display(),
                config.address
            )
            .to_lowercase();
            let cfg = config.clone();
            let opener: Opener = Box::new(move || {
                open_oled(&cfg).map(|oled| Box::new(oled) as Box<dyn Display + Send>)
            });
            Ok(Box::new(ResilientDisplay::new(name, opener, retry_every)))
        }
    }
}

/// [`open_display`] with the default retry period.
pub fn open_default(config: &DisplayConfig) -> Result<Box<dyn Display + Send>, DisplayError> {
    open_display(config, DEFAULT_RETRY)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hw::display::{Screen, Status};

    #[test]
    fn missing_oled_does_not_stop_the_daemon() {
        let config = DisplayConfig {
            driver: DisplayDriver::Ssd1306,
            bus: "/dev/i2c-does-not-exist".into(),
            ..DisplayConfig::default()
        };
        let mut d = open_default(&config).unwrap();
        let e = d
            .show(&Screen::Status {
                status: Status::Ready,
                tally: None,
            })
            .unwrap_err()
            .to_string();
        assert!(e.contains("/dev/i2c-does-not-exist"), "{e}");
        assert!(open_oled(&config).is_err());
    }

    #[test]
    fn invalid_settings_are_refused_up_front() {
        let config = DisplayConfig {
            driver: DisplayDriver::Sh1106,
            address: 0x27,
            ..DisplayConfig::default()
        };
        let e = open_default(&config)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("display.address"), "{e}");
    }

    #[test]
    fn options_follow_the_config() {
        let config = DisplayConfig {
            driver: DisplayDriver::Sh1106,
            rotation: 180,
            contrast: 12,
            ..DisplayConfig::default()
        };
        let o = oled_options(&config).unwrap();
        assert_eq!(o.controller, Controller::Sh1106);
        assert_eq!(o.rotation, Rotation::Deg180);
        assert_eq!(o.contrast, 12);
        assert!(oled_options(&DisplayConfig::default()).is_none());
    }
}
