//! Simulated buttons: a scripted schedule (headless demo and tests) or the keyboard.

use std::io::{BufRead, Read};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use super::error::ButtonError;
use super::{ButtonEvent, Buttons};
use crate::sys::TerminalGuard;

/// Why a press schedule could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("bad press `{item}` in the schedule: {reason} (expected e.g. `500ms,1s,undo:1.5s,new:2s`)")]
pub struct ScheduleError {
    /// The item that was refused.
    pub item: String,
    /// Why.
    pub reason: String,
}

/// Parses `500ms`, `2s`, `1.5s` or `1m`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let (number, scale) = if let Some(n) = text.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, 60.0)
    } else {
        return None;
    };
    let value: f64 = number.trim().parse().ok()?;
    if !value.is_finite() || value < 0.0 || value * scale > 86_400.0 {
        return None;
    }
    Some(Duration::from_secs_f64(value * scale))
}

/// Parses a press schedule: comma-separated delays between presses, each optionally
/// prefixed with the action (`count:` by default, `undo:`, `new:`, `live:`, `quit:`).
pub fn parse_schedule(text: &str) -> Result<Vec<(Duration, ButtonEvent)>, ScheduleError> {
    text.split(',')
        .filter(|item| !item.trim().is_empty())
        .map(|item| {
            let item = item.trim();
            let (action, delay) = item.split_once(':').unwrap_or(("count", item));
            let event = match action {
                "count" => ButtonEvent::Count,
                "undo" => ButtonEvent::Undo,
                "new" => ButtonEvent::NewSlide,
                "live" => ButtonEvent::ToggleLive,
                "quit" => ButtonEvent::Quit,
                other => {
                    return Err(ScheduleError {
                        item: item.into(),
                        reason: format!("unknown action `{other}`"),
                    });
                }
            };
            let delay = parse_duration(delay).ok_or_else(|| ScheduleError {
                item: item.into(),
                reason: "the delay must be a number followed by ms, s or m".into(),
            })?;
            Ok((delay, event))
        })
        .collect()
}

/// Presses on a schedule: each entry fires its delay after the previous one was handed
/// out (the first, after the first call). With `exit_when_done`, a `Quit` follows the last.
#[derive(Debug)]
pub struct ScriptedButtons {
    schedule: Vec<(Duration, ButtonEvent)>,
    next: usize,
    last: Option<Instant>,
    exit_when_done: bool,
    quit_sent: bool,
}

impl ScriptedButtons {
    /// A scripted button from a parsed schedule.
    pub fn new(schedule: Vec<(Duration, ButtonEvent)>, exit_when_done: bool) -> Self {
        ScriptedButtons {
            schedule,
            next: 0,
            last: None,
            exit_when_done,
            quit_sent: false,
        }
    }
}

impl Buttons for ScriptedButtons {
    fn next_event(&mut self, timeout: Duration) -> Result<Option<ButtonEvent>, ButtonError> {
        let now = Instant::now();
        let last = *self.last.get_or_insert(now);
        let Some(&(delay, event)) = self.schedule.get(self.next) else {
            if self.exit_when_done && !self.quit_sent {
                self.quit_sent = true;
                return Ok(Some(ButtonEvent::Quit));
            }
            thread::sleep(timeout);
            return Ok(None);
        };
        let due = last + delay;
        let wait = due.saturating_duration_since(now);
        if wait > timeout {
            thread::sleep(timeout);
            return Ok(None);
        }
        thread::sleep(wait);
        self.last = Some(Instant::now());
        self.next += 1;
        Ok(Some(event))
    }
}

/// The keyboard as buttons: Enter (or space) = count, `u` = undo, `n` = new slide, `l` =
/// live mode, `q` (or end of input) = quit. Keys are read on a thread of their own: one at
/// a time from a terminal in single-key mode, else one per line (a key, then Enter).
#[derive(Debug)]
pub struct KeyboardButtons {
    events: Receiver<ButtonEvent>,
    /// Keeps the terminal in single-key mode while the keyboard is in use.
    _terminal: Option<TerminalGuard>,
}

/// The action of a key (`""` is Enter on its own line); `None` for a key that does nothing.
fn key_event(key: &str) -> Option<ButtonEvent> {
    match key {
        "" | " " | "\n" | "\r" => Some(ButtonEvent::Count),
        "u" => Some(ButtonEvent::Undo),
        "n" => Some(ButtonEvent::NewSlide),
        "l" => Some(ButtonEvent::ToggleLive),
        // Ctrl-D: end of input, which single-key mode delivers as a byte.
        "q" | "\u{4}" => Some(ButtonEvent::Quit),
        other => {
            log::warn!("key {other:?} does nothing: Enter, u, n, l or q");
            None
        }
    }
}

impl KeyboardButtons {
    /// Starts reading lines from `input`: each line is one key (standard input that is
    /// not a terminal, or a terminal left in line mode).
    pub fn new<R: BufRead + Send + 'static>(input: R) -> Self {
        Self::spawn(None, move |tx| {
            for line in input.lines() {
                let Ok(line) = line else { break };
                if let Some(event) = key_event(line.trim())
                    && tx.send(event).is_err()
                {
                    return;
                }
            }
        })
    }

    /// Starts reading single keys from `input`, a terminal that `terminal` keeps in
    /// single-key mode (see [`crate::sys::single_keys`]) until the keyboard is dropped.
    pub fn single_keys<R: Read + Send + 'static>(
        input: R,
        terminal: Option<TerminalGuard>,
    ) -> Self {
        Self::spawn(terminal, move |tx| {
            // A terminal read returns as soon as a key is there, so buffering delays none.
            for byte in std::io::BufReader::new(input).bytes() {
                let Ok(byte) = byte else { break };
                let key = char::from(byte).to_string();
                if let Some(event) = key_event(&key)
                    && tx.send(event).is_err()
                {
                    return;
                }
            }
        })
    }

    /// Runs `read` on a thread of its own; a quit follows the end of its input.
    fn spawn<F>(terminal: Option<TerminalGuard>, read: F) -> Self
    where
        F: FnOnce(&mpsc::Sender<ButtonEvent>) + Send + 'static,
    {
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            read(&tx);
            let _ = tx.send(ButtonEvent::Quit);
        });
        KeyboardButtons {
            events: rx,
            _terminal: terminal,
        }
    }
}

impl Buttons for KeyboardButtons {
    fn next_event(&mut self, timeout: Duration) -> Result<Option<ButtonEvent>, ButtonError> {
        match self.events.recv_timeout(timeout) {
            Ok(event) => Ok(Some(event)),
            Err(RecvTimeoutError::Timeout) => Ok(None),
            Err(RecvTimeoutError::Disconnected) => Ok(Some(ButtonEvent::Quit)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_durations() {
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("0s"), Some(Duration::ZERO));
        assert_eq!(parse_duration("5"), None);
        assert_eq!(parse_duration("-1s"), None);
        assert_eq!(parse_duration("xs"), None);
        assert_eq!(parse_duration("1e9s"), None);
    }

    #[test]
    fn parses_schedules_with_actions() {
        let s = parse_schedule("10ms, undo:1s,new:0s,20ms").unwrap();
        assert_eq!(
            s,
            vec![
                (Duration::from_millis(10), ButtonEvent::Count),
                (Duration::from_secs(1), ButtonEvent::Undo),
                (Duration::ZERO, ButtonEvent::NewSlide),
                (Duration::from_millis(20), ButtonEvent::Count),
            ]
        );
        assert!(
            parse_schedule("jump:1s")
                .unwrap_err()
                .reason
                .contains("jump")
        );
        assert!(parse_schedule("1x").is_err());
        assert!(parse_schedule("").unwrap().is_empty());
    }

    #[test]
    fn scripted_presses_come_in_order_then_quit() {
        let mut b = ScriptedButtons::new(parse_schedule("0ms,undo:5ms").unwrap(), true);
        let t = Duration::from_millis(100);
        assert_eq!(b.next_event(t).unwrap(), Some(ButtonEvent::Count));
        assert_eq!(b.next_event(t).unwrap(), Some(ButtonEvent::Undo));
        assert_eq!(b.next_event(t).unwrap(), Some(ButtonEvent::Quit));
        let mut idle = ScriptedButtons::new(vec![], false);
        assert_eq!(idle.next_event(Duration::from_millis(1)).unwrap(), None);
    }

    #[test]
    fn a_press_not_yet_due_waits_for_the_next_call() {
        let mut b = ScriptedButtons::new(parse_schedule("50ms").unwrap(), false);
        assert_eq!(b.next_event(Duration::from_millis(1)).unwrap(), None);
        assert_eq!(
            b.next_event(Duration::from_millis(200)).unwrap(),
            Some(ButtonEvent::Count)
        );
    }

    #[test]
    fn single_keys_act_without_enter() {
        // What a terminal in single-key mode delivers: each key as it is pressed.
        let input = std::io::Cursor::new(b"u nxlq".to_vec());
        let mut k = KeyboardButtons::single_keys(input, None);
        let t = Duration::from_secs(2);
        let got: Vec<_> = (0..5).map(|_| k.next_event(t).unwrap()).collect();
        assert_eq!(
            got,
            vec![
                Some(ButtonEvent::Undo),
                Some(ButtonEvent::Count),
                Some(ButtonEvent::NewSlide),
                Some(ButtonEvent::ToggleLive),
                Some(ButtonEvent::Quit),
            ]
        );
    }

    #[test]
    fn keyboard_lines_map_to_actions() {
        let input = std::io::Cursor::new(b"\nu\nn\nzz\nl\n".to_vec());
        let mut k = KeyboardButtons::new(input);
        let t = Duration::from_secs(2);
        let got: Vec<_> = (0..5).map(|_| k.next_event(t).unwrap()).collect();
        assert_eq!(
            got,
            vec![
                Some(ButtonEvent::Count),
                Some(ButtonEvent::Undo),
                Some(ButtonEvent::NewSlide),
                Some(ButtonEvent::ToggleLive),
                Some(ButtonEvent::Quit),
            ]
        );
    }
}
