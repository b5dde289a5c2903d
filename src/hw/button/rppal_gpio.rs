//! Buttons through `rppal` (optional cargo feature `rppal`; Raspberry Pi only).
//!
//! For users who prefer rppal. The default backend is [`super::gpio`], which works on
//! every board with the GPIO character device; rppal stopped receiving fixes in July
//! 2025 and checks for a Raspberry Pi. Lines are BCM GPIO numbers (`line = 17`); line
//! names and `buttons.gpio.chip` are not used. Edges carry rppal's kernel timestamps and go
//! through the same [`ButtonMap`] as the character-device backend.

use std::collections::VecDeque;
use std::time::Duration;

use ::rppal::gpio::{Gpio, InputPin, Trigger};
use log::info;

use super::backend::{extra_actions, next_gesture};
use super::config::{BiasSetting, GpioButtonsConfig, LineRef};
use super::error::ButtonError;
use super::gesture::Edge;
use super::gpio::monotonic_now;
use super::map::ButtonMap;
use super::{ButtonEvent, Buttons};

/// The technician's buttons through rppal.
pub struct RppalButtons {
    // Kept alive: dropping a pin releases it.
    gpio: Gpio,
    pins: Vec<InputPin>,
    active_low: bool,
    map: ButtonMap,
    queue: VecDeque<ButtonEvent>,
}

impl std::fmt::Debug for RppalButtons {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RppalButtons")
            .field("lines", &self.map.lines())
            .finish()
    }
}

fn bcm(line: &LineRef, key: &'static str) -> Result<u8, ButtonError> {
    let not_bcm = || ButtonError::NotBcm {
        key,
        line: line.clone(),
    };
    match line {
        LineRef::Offset(n) => u8::try_from(*n).map_err(|_| not_bcm()),
        LineRef::Name(_) => Err(not_bcm()),
    }
}

fn rppal_error(what: &str, source: ::rppal::gpio::Error) -> ButtonError {
    ButtonError::Rppal {
        what: what.to_string(),
        source,
    }
}

impl RppalButtons {
    /// Configures the main button and the extra buttons as interrupt inputs.
    pub fn open(config: &GpioButtonsConfig) -> Result<Self, ButtonError> {
        let gpio = Gpio::new().map_err(|e| rppal_error("opening GPIO with rppal", e))?;
        let main = bcm(&config.line, "buttons.gpio.line")?;
        let mut extras = Vec::new();
        for (key, event, line) in extra_actions(config) {
            if let Some(line) = line {
                extras.push((u32::from(bcm(line, key)?), event));
            }
        }
        let timing = config.timing();
        let map = ButtonMap::new(u32::from(main), timing, &extras);
        let mut pins = Vec::new();
        for line in map.lines() {
            let number = u8::try_from(line).unwrap_or(u8::MAX);
            let pin = gpio
                .get(number)
                .map_err(|e| rppal_error(&format!("GPIO{number}"), e))?;
            let mut input = match config.bias {
                BiasSetting::PullUp => pin.into_input_pullup(),
                BiasSetting::PullDown => pin.into_input_pulldown(),
                BiasSetting::None => pin.into_input(),
            };
            input
                .set_interrupt(Trigger::Both, Some(timing.debounce))
                .map_err(|e| rppal_error(&format!("GPIO{number} interrupt"), e))?;
            pins.push(input);
        }
        info!("buttons (rppal): BCM {:?}", map.lines());
        Ok(Self {
            gpio,
            pins,
            active_low: config.active_low,
            map,
            queue: VecDeque::new(),
        })
    }
}

impl Buttons for RppalButtons {
    fn next_event(&mut self, timeout: Duration) -> Result<Option<ButtonEvent>, ButtonError> {
        let (gpio, pins, active_low) = (&self.gpio, &self.pins, self.active_low);
        next_gesture(
            &mut self.map,
            &mut self.queue,
            timeout,
            monotonic_now,
            |map, queue, wait| {
                let pins: Vec<&InputPin> = pins.iter().collect();
                let polled = gpio
                    .poll_interrupts(&pins, false, Some(wait))
                    .map_err(|e| rppal_error("waiting for a button", e))?;
                let read = polled.is_some();
                if let Some((pin, event)) = polled {
                    let rising = matches!(event.trigger, Trigger::RisingEdge);
                    let edge = if rising != active_low {
                        Edge::Press
                    } else {
                        Edge::Release
                    };
                    queue.extend(map.edge(u32::from(pin.pin()), event.timestamp, edge));
                }
                Ok(read)
            },
        )
    }
}
