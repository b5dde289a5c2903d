//! Stopping on SIGTERM (every `systemctl stop`) and SIGINT (Ctrl-C).
//!
//! The signal handler only records which signal came; the event loop looks at it between
//! steps, so a count being classified and journaled is finished, the display shows that the
//! daemon stopped, and the process exits 0. A second signal while stopping ends the process
//! at once (status 1), in case a device hangs the clean stop.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use signal_hook::consts::{SIGINT, SIGTERM};

/// The stop signals, as seen by the event loop.
#[derive(Debug, Clone, Default)]
pub struct StopSignals {
    /// The number of the first stop signal received, 0 while none has come.
    received: Arc<AtomicUsize>,
}

impl StopSignals {
    /// Stop signals that never arrive (for loops driven by tests or tools).
    pub fn none() -> Self {
        StopSignals::default()
    }

    /// Installs handlers for SIGTERM and SIGINT in this process.
    pub fn install() -> std::io::Result<Self> {
        let stop = StopSignals::default();
        let armed = Arc::new(AtomicBool::new(false));
        for signal in [SIGTERM, SIGINT] {
            // Order matters: the shutdown action sees `armed` as it was before this
            // signal, so only a second signal ends the process abruptly.
            signal_hook::flag::register_conditional_shutdown(signal, 1, Arc::clone(&armed))?;
            signal_hook::flag::register(signal, Arc::clone(&armed))?;
            signal_hook::flag::register_usize(signal, Arc::clone(&stop.received), signal as usize)?;
        }
        Ok(stop)
    }

    /// The name of the stop signal received, if one was.
    pub fn received(&self) -> Option<&'static str> {
        signal_name(self.received.load(Ordering::SeqCst))
    }
}

/// Name of a stop signal number; `None` for 0 (no signal).
fn signal_name(number: usize) -> Option<&'static str> {
    match number {
        0 => None,
        n if n == SIGTERM as usize => Some("SIGTERM"),
        n if n == SIGINT as usize => Some("SIGINT"),
        _ => Some("a stop signal"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_signal_received() {
        assert_eq!(signal_name(0), None);
        assert_eq!(signal_name(SIGTERM as usize), Some("SIGTERM"));
        assert_eq!(signal_name(SIGINT as usize), Some("SIGINT"));
        assert_eq!(StopSignals::none().received(), None);
    }
}
