//! Checks of the technician's buttons (GPIO chip and lines) and the OLED (I2C bus and
//! address), through the daemon's own backends.

use crate::config::{ButtonDriver, ButtonsSection};
use crate::hw::button::RPPAL_BUILT;
use crate::hw::button::error::GpioSetupError;
use crate::hw::button::gpio::{CONSUMER, GpioButtons};
use crate::hw::display::linux_i2c::LinuxI2c;
use crate::hw::display::transport::I2cTransport;
use crate::hw::display::{DisplayConfig, DisplayDriver};

use super::Check;

/// SSD1306 / SH1106 "no operation" command: proves the controller acknowledges its address
/// without changing what it shows.
const OLED_NOP: u8 = 0xE3;

/// Requests the configured button lines (and releases them at once).
///
/// Lines held by a running daemon count as found: the doctor may run beside the service.
pub fn check_buttons(buttons: &ButtonsSection) -> Check {
    const NAME: &str = "buttons";
    match buttons.driver {
        ButtonDriver::Sim => return Check::ok(NAME, "simulated (buttons.driver = \"sim\")"),
        ButtonDriver::Rppal if !RPPAL_BUILT => {
            return Check::fail(
                NAME,
                "buttons.driver = \"rppal\" but this build has no rppal backend",
                "set buttons.driver = \"gpio\" (works on every Pi and Jetson)",
            );
        }
        ButtonDriver::Gpio | ButtonDriver::Rppal => {}
    }
    let gpio = &buttons.gpio;
    if let Err(e) = gpio.validate() {
        return Check::fail(
            NAME,
            e.to_string(),
            "fix [buttons.gpio] in the configuration",
        );
    }
    let wanted = format!("chip {:?} line {}", gpio.chip, gpio.line);
    match GpioButtons::open(gpio) {
        Ok(requested) => {
            drop(requested);
            Check::ok(
                NAME,
                format!(
                    "{wanted}: {} line(s) free and requested",
                    1 + gpio.extra_buttons().len()
                ),
            )
        }
        Err(GpioSetupError::LineBusy { consumer, line, .. }) if consumer == CONSUMER => Check::ok(
            NAME,
            format!("{wanted}: line {line} held by the running hematovision service"),
        ),
        Err(e @ GpioSetupError::PermissionDenied { .. }) => Check::fail(
            NAME,
            e.to_string(),
            "run doctor as the service user: sudo -u hematovision hematovision doctor",
        ),
        Err(e) => Check::fail(
            NAME,
            e.to_string(),
            "check buttons.gpio.chip / buttons.gpio.line against `gpioinfo` (docs/INSTALL.md)",
        ),
    }
}

/// Opens the OLED's bus and sends it one no-op command.
pub fn check_display(display: &DisplayConfig) -> Check {
    const NAME: &str = "display";
    if display.driver == DisplayDriver::Sim {
        return Check::ok(NAME, "simulated (display.driver = \"sim\")");
    }
    if let Err(e) = display.validate() {
        return Check::fail(NAME, e.to_string(), "fix [display] in the configuration");
    }
    let Ok(address) = u8::try_from(display.address) else {
        return Check::fail(NAME, "display.address out of range", "use 0x3C or 0x3D");
    };
    let wanted = format!("{} at {address:#04X}", display.bus.display());
    let fix = "counting goes on without the display; check the wiring (SDA pin 3, SCL pin 5, \
               3.3 V, GND), `i2cdetect -y 1`, display.bus and display.address";
    match LinuxI2c::open(&display.bus, address) {
        Ok(mut bus) => {
            let mode = bus.mode();
            match bus.write_command(&[OLED_NOP]) {
                Ok(()) => Check::ok(NAME, format!("{wanted} answered ({mode:?} transfers)")),
                Err(e) => Check::fail(NAME, format!("{wanted}: {e}"), fix),
            }
        }
        Err(e) => Check::fail(NAME, e.to_string(), fix),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::Status;
    use crate::hw::button::config::GpioButtonsConfig;

    #[test]
    fn simulated_devices_pass() {
        assert_eq!(check_buttons(&ButtonsSection::default()).status, Status::Ok);
        assert_eq!(check_display(&DisplayConfig::default()).status, Status::Ok);
    }

    #[test]
    fn missing_gpio_chip_fails_naming_it() {
        let tmp = tempfile::tempdir().unwrap();
        let buttons = ButtonsSection {
            driver: ButtonDriver::Gpio,
            gpio: GpioButtonsConfig {
                chip: tmp.path().join("gpiochip9").display().to_string(),
                ..GpioButtonsConfig::default()
            },
            ..ButtonsSection::default()
        };
        let c = check_buttons(&buttons);
        assert_eq!(c.status, Status::Fail, "{c}");
        assert!(c.detail.contains("gpiochip9"), "{c}");
        // A plain file is not a chip.
        let file = tmp.path().join("gpiochip0");
        std::fs::write(&file, b"").unwrap();
        let buttons = ButtonsSection {
            gpio: GpioButtonsConfig {
                chip: file.display().to_string(),
                ..GpioButtonsConfig::default()
            },
            ..buttons
        };
        let c = check_buttons(&buttons);
        assert_eq!(c.status, Status::Fail, "{c}");
        assert!(c.detail.contains("not a GPIO chip"), "{c}");
    }

    #[test]
    fn missing_or_fake_i2c_bus_fails_with_the_wiring_fix() {
        let tmp = tempfile::tempdir().unwrap();
        let mut display = DisplayConfig {
            driver: DisplayDriver::Ssd1306,
            bus: tmp.path().join("i2c-7"),
            ..DisplayConfig::default()
        };
        let c = check_display(&display);
        assert_eq!(c.status, Status::Fail, "{c}");
        assert!(c.detail.contains("i2c-7"), "{c}");
        assert!(c.fix.as_deref().unwrap().contains("i2cdetect"), "{c}");
        display.bus = tmp.path().join("not-a-bus");
        std::fs::write(&display.bus, b"").unwrap();
        let c = check_display(&display);
        assert_eq!(c.status, Status::Fail, "{c}");
        assert!(c.detail.contains("not an I2C adapter"), "{c}");
    }
}
