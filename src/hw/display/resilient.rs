//! A display that may come and go: missing at boot, unplugged, or failing on the bus.
//!
//! Counting must never stop for the display. [`ResilientDisplay`] wraps a way to open
//! (and initialise) the real display. Every failure is returned to the caller, who
//! logs nothing more and carries on; the wrapper logs once per outage, drops the broken
//! device and tries again at most every `retry_every` (5 s by default). When the
//! display is back it is initialised afresh and shows the latest screen.

use std::time::{Duration, Instant};

use log::{debug, info, warn};

use super::error::DisplayError;
use super::{Display, Screen};

/// Opens and initialises the real display.
pub type Opener = Box<dyn FnMut() -> Result<Box<dyn Display + Send>, DisplayError> + Send>;

/// Default time between attempts to get a lost display back.
pub const DEFAULT_RETRY: Duration = Duration::from_secs(5);

/// A display that survives a missing or failing device (see the module docs).
pub struct ResilientDisplay {
    name: String,
    opener: Opener,
    inner: Option<Box<dyn Display + Send>>,
    retry_every: Duration,
    next_attempt: Option<Instant>,
    in_outage: bool,
    last_screen: Option<Screen>,
}

impl std::fmt::Debug for ResilientDisplay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResilientDisplay")
            .field("name", &self.name)
            .field("connected", &self.inner.is_some())
            .field("retry_every", &self.retry_every)
            .finish()
    }
}

impl ResilientDisplay {
    /// A wrapper around `opener`, named `name` in the logs (e.g. "ssd1306 on /dev/i2c-1
    /// at 0x3C"). Nothing is opened until the first screen is shown (or [`tick`](Self::tick)).
    pub fn new(name: impl Into<String>, opener: Opener, retry_every: Duration) -> Self {
        Self {
            name: name.into(),
            opener,
            inner: None,
            retry_every,
            next_attempt: None,
            in_outage: false,
            last_screen: None,
        }
    }

    /// Whether the device is open and its last update worked.
    pub fn is_connected(&self) -> bool {
        self.inner.is_some()
    }

    /// Shows `screen` as at time `now` (the testable form of [`Display::show`]).
    pub fn show_at(&mut self, screen: &Screen, now: Instant) -> Result<(), DisplayError> {
        self.last_screen = Some(screen.clone());
        self.ensure_open(now)?;
        self.draw(screen, now)
    }

    /// Without a new screen: if the display is lost and a retry is due, tries to get it
    /// back and shows the latest screen. Call it from the event loop now and then.
    /// Returns whether the display is connected afterwards.
    pub fn tick(&mut self) -> bool {
        self.tick_at(Instant::now())
    }

    /// [`tick`](Self::tick) as at time `now`.
    pub fn tick_at(&mut self, now: Instant) -> bool {
        if self.inner.is_some() {
            return true;
        }
        if self.ensure_open(now).is_ok()
            && let Some(screen) = self.last_screen.clone()
        {
            let _ = self.draw(&screen, now);
        }
        self.inner.is_some()
    }

    fn ensure_open(&mut self, now: Instant) -> Result<(), DisplayError> {
        if self.inner.is_some() {
            return Ok(());
        }
        if let Some(at) = self.next_attempt
            && now < at
        {
            return Err(DisplayError::Unavailable {
                name: self.name.clone(),
                retry_in_ms: (at - now).as_millis(),
            });
        }
        match (self.opener)() {
            Ok(display) => {
                if self.in_outage {
                    info!("display {} is back", self.name);
                }
                self.in_outage = false;
                self.next_attempt = None;
                self.inner = Some(display);
                Ok(())
            }
            Err(e) => {
                self.outage(&e, now);
                Err(e)
            }
        }
    }

    fn draw(&mut self, screen: &Screen, now: Instant) -> Result<(), DisplayError> {
        let Some(display) = self.inner.as_mut() else {
            return Err(DisplayError::NotOpen {
                name: self.name.clone(),
            });
        };
        match display.show(screen) {
            Ok(()) => Ok(()),
            Err(e) => {
                // Drop the device: the next attempt opens and initialises it afresh.
                self.inner = None;
                self.outage(&e, now);
                Err(e)
            }
        }
    }

    fn outage(&mut self, e: &DisplayError, now: Instant) {
        if self.in_outage {
            debug!("display {} still unavailable: {e}", self.name);
        } else {
            warn!(
                "display {} unavailable: {e}; counting goes on, retrying every {} s",
                self.name,
                self.retry_every.as_secs_f32()
            );
            self.in_outage = true;
        }
        self.next_attempt = Some(now + self.retry_every);
    }
}

impl Display for ResilientDisplay {
    fn show(&mut self, screen: &Screen) -> Result<(), DisplayError> {
        self.show_at(screen, Instant::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hw::display::Status;
    use crate::hw::display::transport::TransportError;
    use std::sync::{Arc, Mutex};

    /// What the fake device does, shared with the test.
    #[derive(Default)]
    struct World {
        present: bool,
        fail_next_show: bool,
        opens: u32,
        shown: Vec<Screen>,
    }

    struct Fake(Arc<Mutex<World>>);

    impl Display for Fake {
        fn show(&mut self, screen: &Screen) -> Result<(), DisplayError> {
            let mut w = self.0.lock().unwrap();
            if w.fail_next_show || !w.present {
                w.fail_next_show = false;
                return Err(DisplayError::Write(TransportError {
                    address: 0x3C,
                    message: "Remote I/O error".into(),
                }));
            }
            w.shown.push(screen.clone());
            Ok(())
        }
    }

    fn setup(present: bool) -> (ResilientDisplay, Arc<Mutex<World>>) {
        let world = Arc::new(Mutex::new(World {
            present,
            ..World::default()
        }));
        let w = world.clone();
        let opener: Opener = Box::new(move || {
            let mut state = w.lock().unwrap();
            state.opens += 1;
            if state.present {
                Ok(Box::new(Fake(w.clone())) as Box<dyn Display + Send>)
            } else {
                Err(DisplayError::OpenBus {
                    bus: "/dev/i2c-1".into(),
                    source: std::io::ErrorKind::NotFound.into(),
                })
            }
        });
        (ResilientDisplay::new("fake", opener, DEFAULT_RETRY), world)
    }

    fn status(s: Status) -> Screen {
        Screen::Status {
            status: s,
            tally: None,
        }
    }

    #[test]
    fn missing_at_boot_then_plugged_in() {
        let (mut d, world) = setup(false);
        let t0 = Instant::now();
        assert!(d.show_at(&status(Status::Ready), t0).is_err());
        // Within the retry period nothing is attempted, but the caller still hears of it.
        assert!(
            d.show_at(&status(Status::Capturing), t0 + Duration::from_secs(1))
                .is_err()
        );
        assert_eq!(world.lock().unwrap().opens, 1);
        world.lock().unwrap().present = true;
        assert!(!d.tick_at(t0 + Duration::from_secs(4)));
        assert_eq!(world.lock().unwrap().opens, 1);
        // Due: reopened, and the latest screen is shown without the caller's help.
        assert!(d.tick_at(t0 + Duration::from_secs(5)));
        let w = world.lock().unwrap();
        assert_eq!(w.opens, 2);
        assert_eq!(w.shown, vec![status(Status::Capturing)]);
    }

    #[test]
    fn bus_error_later_drops_the_device_and_reinitialises() {
        let (mut d, world) = setup(true);
        let t0 = Instant::now();
        d.show_at(&status(Status::Ready), t0).unwrap();
        world.lock().unwrap().fail_next_show = true;
        assert!(
            d.show_at(&status(Status::NoWbc), t0 + Duration::from_secs(1))
                .is_err()
        );
        assert!(!d.is_connected());
        // The next screen inside the retry period is not attempted...
        assert!(
            d.show_at(
                &status(Status::Undone("MONOCYTE".into())),
                t0 + Duration::from_secs(2)
            )
            .is_err()
        );
        assert_eq!(world.lock().unwrap().opens, 1);
        // ...after it, the device is opened (initialised) again and shows it.
        d.show_at(&status(Status::NewSlide), t0 + Duration::from_secs(6))
            .unwrap();
        let w = world.lock().unwrap();
        assert_eq!(w.opens, 2);
        assert_eq!(
            w.shown,
            vec![status(Status::Ready), status(Status::NewSlide)]
        );
    }

    #[test]
    fn a_connected_display_is_never_reopened() {
        let (mut d, world) = setup(true);
        let t0 = Instant::now();
        for i in 0..10 {
            d.show_at(&status(Status::Ready), t0 + Duration::from_millis(i))
                .unwrap();
            assert!(d.tick_at(t0));
        }
        assert_eq!(world.lock().unwrap().opens, 1);
    }
}
