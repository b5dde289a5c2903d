//! Hardware-in-the-loop: the GPIO button backend against a real GPIO character device.
//!
//! Ignored by default. In the HIL VM (a gpio-sim chip), run with
//!
//! ```text
//! HV_HIL_GPIO_CHIP=/dev/gpiochip1 \
//! HV_HIL_GPIO_PULL=/sys/devices/platform/gpio-sim.0/gpiochip1/sim_gpio0/pull \
//! cargo test --test hil_buttons_gpio -- --ignored
//! ```
//!
//! `HV_HIL_GPIO_LINE` (default 0) is the line offset. The test "presses" the button by
//! writing `pull-down` (active low: pressed) and `pull-up` (released) to the sim's pull
//! attribute, with scripted timing, and checks the actions the backend reports.

use std::fs;
use std::thread::sleep;
use std::time::Duration;

use hematovision::hw::button::config::{BiasSetting, GpioButtonsConfig, LineRef};
use hematovision::hw::button::gpio::GpioButtons;
use hematovision::hw::button::{ButtonEvent, Buttons};

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn set(pull: &str, level: &str) {
    fs::write(pull, level).unwrap_or_else(|e| panic!("writing {level} to {pull}: {e}"));
}

/// Collects actions until `quiet` passes without one.
fn drain(buttons: &mut GpioButtons, quiet: Duration) -> Vec<ButtonEvent> {
    let mut got = Vec::new();
    while let Some(e) = buttons.next_event(quiet).unwrap() {
        got.push(e);
    }
    got
}

/// The daemon's own button backend on the sim chip, released and quiet.
fn open_sim_button() -> (GpioButtons, String) {
    let (Some(chip), Some(pull)) = (env("HV_HIL_GPIO_CHIP"), env("HV_HIL_GPIO_PULL")) else {
        panic!("set HV_HIL_GPIO_CHIP and HV_HIL_GPIO_PULL");
    };
    let line: u32 = env("HV_HIL_GPIO_LINE").map_or(0, |v| v.parse().unwrap());
    set(&pull, "pull-up");
    let config = GpioButtonsConfig {
        chip,
        line: LineRef::Offset(line),
        active_low: true,
        bias: BiasSetting::PullUp,
        ..GpioButtonsConfig::default()
    };
    config.validate().unwrap();
    let mut buttons = GpioButtons::open(&config).unwrap();
    assert_eq!(drain(&mut buttons, Duration::from_millis(300)), vec![]);
    (buttons, pull)
}

#[test]
#[ignore = "needs a GPIO chip: set HV_HIL_GPIO_CHIP and HV_HIL_GPIO_PULL"]
fn gpio_sim_short_press_counts() {
    let (mut buttons, pull) = open_sim_button();
    set(&pull, "pull-down");
    sleep(Duration::from_millis(300));
    set(&pull, "pull-up");
    assert_eq!(
        drain(&mut buttons, Duration::from_millis(1000)),
        vec![ButtonEvent::Count]
    );
}

#[test]
#[ignore = "needs a GPIO chip: set HV_HIL_GPIO_CHIP and HV_HIL_GPIO_PULL"]
fn gpio_sim_long_press_undoes_while_held() {
    let (mut buttons, pull) = open_sim_button();
    set(&pull, "pull-down");
    let held = buttons.next_event(Duration::from_millis(3000)).unwrap();
    assert_eq!(held, Some(ButtonEvent::Undo));
    set(&pull, "pull-up");
    assert_eq!(drain(&mut buttons, Duration::from_millis(1000)), vec![]);
}

/// A double press with a person's timing: 100 ms press, 150 ms gap, 100 ms press.
fn double_press(pull: &str) {
    set(pull, "pull-down");
    sleep(Duration::from_millis(100));
    set(pull, "pull-up");
    sleep(Duration::from_millis(150));
    set(pull, "pull-down");
    sleep(Duration::from_millis(100));
    set(pull, "pull-up");
}

/// Nobody reads while the button is pressed twice (as when the daemon is busy with a
/// cell): the edges wait in the kernel and must still be judged by their kernel times.
#[test]
#[ignore = "needs a GPIO chip: set HV_HIL_GPIO_CHIP and HV_HIL_GPIO_PULL"]
fn gpio_sim_double_press_starts_a_new_slide() {
    let (mut buttons, pull) = open_sim_button();
    double_press(&pull);
    assert_eq!(
        drain(&mut buttons, Duration::from_millis(1000)),
        vec![ButtonEvent::NewSlide]
    );
}

/// The same double press while the backend is waiting for edges.
#[test]
#[ignore = "needs a GPIO chip: set HV_HIL_GPIO_CHIP and HV_HIL_GPIO_PULL"]
fn gpio_sim_double_press_read_live_starts_a_new_slide() {
    let (mut buttons, pull) = open_sim_button();
    let presser = std::thread::spawn(move || {
        sleep(Duration::from_millis(100));
        double_press(&pull);
    });
    let got = drain(&mut buttons, Duration::from_millis(1000));
    presser.join().unwrap();
    assert_eq!(got, vec![ButtonEvent::NewSlide]);
}

#[test]
#[ignore = "needs a GPIO chip: set HV_HIL_GPIO_CHIP"]
fn gpio_missing_line_name_is_a_clear_error() {
    let Some(chip) = env("HV_HIL_GPIO_CHIP") else {
        panic!("set HV_HIL_GPIO_CHIP");
    };
    let config = GpioButtonsConfig {
        chip: chip.clone(),
        line: LineRef::Name("NO_SUCH_LINE".into()),
        ..GpioButtonsConfig::default()
    };
    let e = GpioButtons::open(&config).unwrap_err().to_string();
    assert!(
        e.contains("NO_SUCH_LINE") && e.contains("buttons.gpio.line"),
        "{e}"
    );
    let config = GpioButtonsConfig {
        line: LineRef::Offset(10_000),
        ..config
    };
    let e = GpioButtons::open(&config).unwrap_err().to_string();
    assert!(e.contains("out of range"), "{e}");
}
