//! Buttons on the Linux GPIO character device (uAPI v2, through `gpiocdev`).
//!
//! Works on every Raspberry Pi (the Pi 5 through RP1), Jetson and other Linux boards.
//! The kernel debounces the lines and timestamps each edge (CLOCK_MONOTONIC); the
//! edges go through the pure [`ButtonMap`] (gesture recogniser + extra buttons), so
//! the timing of a gesture is the kernel's, not the time this process got to read it.
//!
//! Opening fails early and clearly: a missing chip lists the chips that exist, a missing
//! line says how to list line names, permission denied says how to grant access.

use std::collections::VecDeque;
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::Duration;

use gpiocdev::Request;
use gpiocdev::line::{Bias, EdgeDetection, EdgeKind, EventClock};
use log::{debug, info};

use super::backend::{extra_actions, next_gesture};
use super::config::{BiasSetting, GpioButtonsConfig, LineRef};
use super::error::{ButtonError, GpioSetupError};
use super::gesture::Edge;
use super::map::ButtonMap;
use super::{ButtonEvent, Buttons};

/// Consumer name shown by `gpioinfo` for the lines we hold.
pub const CONSUMER: &str = "hematovision";

/// Current CLOCK_MONOTONIC time, the clock of the kernel's edge timestamps.
pub fn monotonic_now() -> Duration {
    crate::sys::monotonic_now()
}

/// "gpiochip0 [pinctrl-bcm2711], gpiochip1 [raspberrypi-exp-gpio]" or "none".
fn available_chips() -> String {
    let chips = gpiocdev::chip::chips().unwrap_or_default();
    let names: Vec<String> = chips
        .iter()
        .map(|p| {
            let name = p.file_name().map_or_else(
                || p.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            );
            match gpiocdev::Chip::from_path(p).and_then(|c| c.info()) {
                Ok(info) => format!("{name} [{}]", info.label),
                Err(_) => format!("{name} [not readable]"),
            }
        })
        .collect();
    if names.is_empty() {
        "none (no /dev/gpiochip* on this machine)".to_string()
    } else {
        names.join(", ")
    }
}

/// Finds the chip device for `buttons.gpio.chip`: a path, a name under /dev, or a label.
pub fn resolve_chip(chip: &str) -> Result<PathBuf, GpioSetupError> {
    let not_found = || GpioSetupError::ChipNotFound {
        chip: chip.to_string(),
        available: available_chips(),
    };
    let candidate = if chip.contains('/') {
        PathBuf::from(chip)
    } else {
        Path::new("/dev").join(chip)
    };
    if candidate.exists() {
        return Ok(candidate);
    }
    if chip.contains('/') {
        return Err(not_found());
    }
    // Not a device name: look for a chip with that label.
    for path in gpiocdev::chip::chips().unwrap_or_default() {
        if let Ok(info) = gpiocdev::Chip::from_path(&path).and_then(|c| c.info())
            && info.label == chip
        {
            return Ok(path);
        }
    }
    Err(not_found())
}

/// Opens the chip, mapping permission and type errors to their fixes.
fn open_chip(path: &Path) -> Result<gpiocdev::Chip, GpioSetupError> {
    // Open it ourselves first: the io::Error tells permission problems apart reliably.
    if let Err(e) = fs::File::open(path) {
        return Err(match e.kind() {
            ErrorKind::PermissionDenied => GpioSetupError::PermissionDenied {
                path: path.to_path_buf(),
            },
            ErrorKind::NotFound => GpioSetupError::ChipNotFound {
                chip: path.display().to_string(),
                available: available_chips(),
            },
            _ => GpioSetupError::Unreadable {
                path: path.to_path_buf(),
                source: e,
            },
        });
    }
    gpiocdev::Chip::from_path(path).map_err(|source| GpioSetupError::NotAChip {
        path: path.to_path_buf(),
        source,
    })
}

/// Resolves a configured line on an open chip to a free offset.
fn resolve_line(
    chip: &gpiocdev::Chip,
    line: &LineRef,
    key: &'static str,
) -> Result<u32, GpioSetupError> {
    let chip_name = chip.path().display().to_string();
    let kernel = |action: &str| {
        let chip = chip_name.clone();
        let action = action.to_string();
        move |source| GpioSetupError::Kernel {
            chip,
            action,
            source,
        }
    };
    let num_lines = chip
        .info()
        .map_err(kernel("reading the chip's information"))?
        .num_lines;
    let offset = match line {
        LineRef::Offset(n) => *n,
        LineRef::Name(name) => {
            chip.find_line_info(name)
                .ok_or_else(|| GpioSetupError::LineNotFound {
                    line: line.clone(),
                    key,
                    chip: chip_name.clone(),
                })?
                .offset
        }
    };
    if offset >= num_lines {
        return Err(GpioSetupError::LineOutOfRange {
            line: offset,
            key,
            chip: chip_name,
            num_lines,
        });
    }
    let info = chip
        .line_info(offset)
        .map_err(kernel(&format!("reading line {offset}")))?;
    if info.used {
        return Err(GpioSetupError::LineBusy {
            line: offset,
            key,
            chip: chip_name,
            consumer: if info.consumer.is_empty() {
                "an unnamed user".to_string()
            } else {
                info.consumer
            },
        });
    }
    Ok(offset)
}

/// Edge events taken from the kernel per `read()` (it queues 16 per line by default).
const EVENTS_PER_READ: usize = 16;

/// The technician's buttons on GPIO lines (main button with gestures, optional extras).
pub struct GpioButtons {
    request: Request,
    chip: PathBuf,
    /// Raw events as read from the request (see [`GpioButtons::read_available`]).
    buf: Vec<u64>,
    map: ButtonMap,
    queue: VecDeque<ButtonEvent>,
}

impl std::fmt::Debug for GpioButtons {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpioButtons")
            .field("chip", &self.chip)
            .field("lines", &self.map.lines())
            .finish()
    }
}

impl GpioButtons {
    /// Requests the configured lines as debounced inputs with edge events.
    ///
    /// `config` should have passed [`GpioButtonsConfig::validate`].
    pub fn open(config: &GpioButtonsConfig) -> Result<Self, GpioSetupError> {
        let path = resolve_chip(&config.chip)?;
        let chip = open_chip(&path)?;
        let main = resolve_line(&chip, &config.line, "buttons.gpio.line")?;
        let mut extras = Vec::new();
        for (key, event, line) in extra_actions(config) {
            if let Some(line) = line {
                extras.push((resolve_line(&chip, line, key)?, event));
            }
        }
        let timing = config.timing();
        let map = ButtonMap::new(main, timing, &extras);
        let offsets = map.lines();
        let bias = match config.bias {
            BiasSetting::PullUp => Bias::PullUp,
            BiasSetting::PullDown => Bias::PullDown,
            BiasSetting::None => Bias::Disabled,
        };
        let mut builder = Request::builder();
        builder
            .on_chip(&path)
            .with_consumer(CONSUMER)
            .with_lines(&offsets)
            .as_input()
            .with_bias(bias)
            .with_edge_detection(EdgeDetection::BothEdges)
            .with_event_clock(EventClock::Monotonic)
            .with_debounce_period(timing.debounce);
        if config.active_low {
            builder.as_active_low();
        }
        let request = builder.request().map_err(|source| GpioSetupError::Kernel {
            chip: path.display().to_string(),
            action: format!("requesting lines {offsets:?}"),
            source,
        })?;
        info!(
            "buttons: lines {offsets:?} on {} ({}active-low, {:?}, debounce {} ms)",
            path.display(),
            if config.active_low { "" } else { "not " },
            config.bias,
            timing.debounce.as_millis()
        );
        Ok(Self {
            request,
            chip: path,
            buf: Vec::new(),
            map,
            queue: VecDeque::new(),
        })
    }

    /// The chip device in use.
    pub fn chip(&self) -> &Path {
        &self.chip
    }

    /// Reads every queued edge event into the map.
    ///
    /// Not `Request::read_edge_event`: in gpiocdev 0.8.0 built with uAPI v2 only (its
    /// default, our build) that reads into a buffer of 48 `u64`s, room for 8 events,
    /// and decodes only the first, so every other edge already queued in the kernel is
    /// lost (a double press read late arrived as its first press and last release).
    /// Here each read takes whole events into a buffer sized by the request, and every
    /// one is decoded.
    fn read_available(
        request: &Request,
        chip: &Path,
        buf: &mut Vec<u64>,
        map: &mut ButtonMap,
        queue: &mut VecDeque<ButtonEvent>,
    ) -> Result<(), ButtonError> {
        let events_error = |action: &'static str| {
            move |source| ButtonError::Events {
                action,
                chip: chip.to_path_buf(),
                source,
            }
        };
        let read_error = events_error("reading GPIO events from");
        let event_len = request.edge_event_u64_size().max(1);
        buf.resize(event_len * EVENTS_PER_READ, 0);
        loop {
            let n = request
                .read_edge_events_into_slice(buf)
                .map_err(read_error)?;
            for raw in buf[..n.min(buf.len())].chunks_exact(event_len) {
                let event = request.edge_event_from_slice(raw).map_err(read_error)?;
                let edge = match event.kind {
                    EdgeKind::Rising => Edge::Press,
                    EdgeKind::Falling => Edge::Release,
                };
                debug!(
                    "gpio line {} {edge:?} at {} ns (line seqno {})",
                    event.offset, event.timestamp_ns, event.line_seqno
                );
                let t = Duration::from_nanos(event.timestamp_ns);
                queue.extend(map.edge(event.offset, t, edge));
            }
            let more = request.has_edge_event().map_err(events_error("polling"))?;
            if !more {
                return Ok(());
            }
        }
    }
}

impl Buttons for GpioButtons {
    fn next_event(&mut self, timeout: Duration) -> Result<Option<ButtonEvent>, ButtonError> {
        let (request, chip, buf) = (&self.request, &self.chip, &mut self.buf);
        next_gesture(
            &mut self.map,
            &mut self.queue,
            timeout,
            monotonic_now,
            |map, queue, wait| {
                let ready =
                    request
                        .wait_edge_event(wait)
                        .map_err(|source| ButtonError::Events {
                            action: "waiting on",
                            chip: chip.clone(),
                            source,
                        })?;
                if ready {
                    Self::read_available(request, chip, buf, map, queue)?;
                }
                Ok(ready)
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_chip_names_the_chip_key_and_alternatives() {
        let e = resolve_chip("/dev/gpiochip-does-not-exist")
            .unwrap_err()
            .to_string();
        assert!(e.contains("/dev/gpiochip-does-not-exist"), "{e}");
        assert!(e.contains("buttons.gpio.chip"), "{e}");
        assert!(e.contains("available chips"), "{e}");
        let e = resolve_chip("no-such-label").unwrap_err().to_string();
        assert!(e.contains("no-such-label"), "{e}");
    }

    #[test]
    fn a_plain_file_is_not_a_chip() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("gpiochip7");
        fs::write(&file, b"").unwrap();
        let path = resolve_chip(file.to_str().unwrap()).unwrap();
        let e = open_chip(&path).unwrap_err().to_string();
        assert!(
            e.contains("is not a GPIO chip") && e.contains("buttons.gpio.chip"),
            "{e}"
        );
    }

    #[test]
    fn open_with_missing_chip_fails_cleanly() {
        let config = GpioButtonsConfig {
            chip: "/nonexistent/gpiochip0".into(),
            ..GpioButtonsConfig::default()
        };
        let e: ButtonError = GpioButtons::open(&config).unwrap_err().into();
        assert!(e.to_string().contains("/nonexistent/gpiochip0"));
    }

    #[test]
    fn permission_message_says_how_to_fix() {
        let e = GpioSetupError::PermissionDenied {
            path: "/dev/gpiochip0".into(),
        }
        .to_string();
        assert!(e.contains("/dev/gpiochip0") && e.contains("group `gpio`") && e.contains("udev"));
    }

    #[test]
    fn monotonic_clock_advances() {
        let a = monotonic_now();
        std::thread::sleep(Duration::from_millis(2));
        assert!(monotonic_now() > a);
        assert!(a > Duration::ZERO);
    }
}
