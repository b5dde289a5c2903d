//! Choosing and opening the hardware button backend (`buttons.driver`).
//!
//! Above both GPIO backends, so neither has to know the other.

use super::Buttons;
use super::config::GpioButtonsConfig;
use super::error::ButtonError;
use super::gpio::GpioButtons;

/// The library that drives the button lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GpioBackend {
    /// The GPIO character device through gpiocdev (`buttons.driver = "gpio"`).
    Cdev,
    /// rppal (`buttons.driver = "rppal"`), only in builds with the `rppal` feature.
    Rppal,
}

/// Whether this build contains the rppal backend (cargo feature `rppal`).
pub const RPPAL_BUILT: bool = cfg!(feature = "rppal");

/// The hardware buttons of `[buttons.gpio]` through `backend`. Settings are validated
/// first; every error names the key and the fix.
pub fn open_hardware(
    backend: GpioBackend,
    config: &GpioButtonsConfig,
) -> Result<Box<dyn Buttons + Send>, ButtonError> {
    config.validate()?;
    match backend {
        GpioBackend::Cdev => Ok(Box::new(GpioButtons::open(config)?)),
        #[cfg(feature = "rppal")]
        GpioBackend::Rppal => Ok(Box::new(super::rppal_gpio::RppalButtons::open(config)?)),
        #[cfg(not(feature = "rppal"))]
        GpioBackend::Rppal => Err(ButtonError::RppalNotBuilt),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_hardware_reports_missing_chips_and_the_rppal_feature() {
        let config = GpioButtonsConfig {
            chip: "gpiochip-missing".into(),
            ..GpioButtonsConfig::default()
        };
        let e = open_hardware(GpioBackend::Cdev, &config)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            e.contains("gpiochip-missing") && e.contains("buttons.gpio.chip"),
            "{e}"
        );
        if !RPPAL_BUILT {
            let e = open_hardware(GpioBackend::Rppal, &config)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(e.contains("--features rppal"), "{e}");
        }
        let bad = GpioButtonsConfig {
            debounce_ms: 0,
            ..config
        };
        let e = open_hardware(GpioBackend::Cdev, &bad)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("buttons.gpio.debounce_ms"), "{e}");
    }
}
