//! The pure gesture recogniser: (timestamp, edge) sequences in, button gestures out.
//!
//! No clock is read here: every call carries the time, so the recogniser is exercised
//! exhaustively in tests and behaves the same on the real GPIO line, on gpio-sim and in
//! replays.
//!
//! # Mapping (one button)
//!
//! | gesture | how | event |
//! | --- | --- | --- |
//! | short press | pressed for less than `long_press` | [`ButtonEvent::Count`] |
//! | long press | held for `long_press` (default 1.5 s) or longer | [`ButtonEvent::Undo`], emitted as soon as the hold reaches `long_press`, before the release |
//! | double press | a second press starting at most `double_press` (default 400 ms) after a short press was released | [`ButtonEvent::NewSlide`], emitted when the second press starts; that press is then consumed whatever its length |
//!
//! A double press must never also count a cell, so a short press is only reported once
//! the double-press window after its release has passed without a second press. The
//! price is latency: a count is reported `double_press` + `debounce` after the release
//! (~420 ms with the defaults). Setting `double_press` to zero disables double presses
//! and reports a count `debounce` after the release (start new slides with an extra
//! button then).
//!
//! # Debounce
//!
//! An edge is accepted once the level has stayed unchanged for `debounce` after it, and
//! is dated at that edge (the last edge of a bounce train). A train of edges less than
//! `debounce` apart therefore yields at most one level change, and a glitch shorter than
//! `debounce` yields none. The kernel's debounce (configured with the same period) does
//! the same before the events reach us; the software filter keeps simulated and
//! kernel-less sources honest.
//!
//! Timers (long press, double-press window) are evaluated only up to the last time the
//! level is *known*: while an edge is still waiting out its debounce, the button is
//! only known to be in its old state up to that edge. Results therefore do not depend
//! on how often [`Recogniser::poll`] is called.

use std::time::Duration;

use super::ButtonEvent;

/// A raw level change of a button line (after active-low inversion).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Edge {
    /// The button went down.
    Press,
    /// The button came up.
    Release,
}

/// What the technician did with the button.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Gesture {
    /// A press shorter than the long-press time, not followed by a second press in time.
    Short,
    /// A press held for the long-press time or longer.
    Long,
    /// Two presses, the second starting within the double-press window.
    Double,
}

impl Gesture {
    /// The action of this gesture (see the module documentation for the mapping).
    pub fn event(self) -> ButtonEvent {
        match self {
            Gesture::Short => ButtonEvent::Count,
            Gesture::Long => ButtonEvent::Undo,
            Gesture::Double => ButtonEvent::NewSlide,
        }
    }
}

/// Timing of the gestures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GestureTiming {
    /// Minimum time a level must be stable to count.
    pub debounce: Duration,
    /// Hold time from which a press is long.
    pub long_press: Duration,
    /// Largest gap between a short press's release and the second press of a double
    /// press; zero disables double presses.
    pub double_press: Duration,
}

impl Default for GestureTiming {
    fn default() -> Self {
        Self {
            debounce: Duration::from_millis(20),
            long_press: Duration::from_millis(1500),
            double_press: Duration::from_millis(400),
        }
    }
}

/// A software debouncer over raw edges (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Debouncer {
    period: Duration,
    /// Accepted level: true = pressed.
    stable: bool,
    /// Raw level as last reported.
    raw: bool,
    /// The raw edge waiting out the debounce period.
    pending: Option<(Duration, Edge)>,
    /// Latest time seen (edges must not go back in time).
    now: Duration,
}

impl Debouncer {
    /// A debouncer starting released at time zero.
    pub fn new(period: Duration) -> Self {
        Self {
            period,
            stable: false,
            raw: false,
            pending: None,
            now: Duration::ZERO,
        }
    }

    /// Whether the accepted level is pressed.
    pub fn is_pressed(&self) -> bool {
        self.stable
    }

    /// Time up to which the accepted level is known to hold: the pending edge if there is
    /// one, otherwise the latest time seen.
    pub fn known_until(&self) -> Duration {
        self.pending.map_or(self.now, |(t, _)| t)
    }

    /// When the pending edge becomes accepted, if there is one.
    pub fn deadline(&self) -> Option<Duration> {
        self.pending.map(|(t, _)| t + self.period)
    }

    /// Lets time pass to `now`; returns the edge accepted by then, dated at its raw time.
    pub fn poll(&mut self, now: Duration) -> Option<(Duration, Edge)> {
        self.now = self.now.max(now);
        let (t, edge) = self.pending?;
        if self.now >= t + self.period {
            self.pending = None;
            self.stable = edge == Edge::Press;
            Some((t, edge))
        } else {
            None
        }
    }

    /// Feeds a raw edge at time `t` (earlier than a time already seen is treated as
    /// that time); returns an edge accepted before this one, if any.
    pub fn edge(&mut self, t: Duration, edge: Edge) -> Option<(Duration, Edge)> {
        let t = t.max(self.now);
        let accepted = self.poll(t);
        let level = edge == Edge::Press;
        if level == self.raw {
            // A repeated report of the same level (e.g. after lost events): nothing new.
            return accepted;
        }
        self.raw = level;
        self.pending = if level == self.stable {
            // Back to the accepted level within the debounce period: a bounce.
            None
        } else {
            Some((t, edge))
        };
        accepted
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Released, nothing pending.
    Idle,
    /// Pressed since `since`; `consumed` once this press already produced its gesture.
    Down { since: Duration, consumed: bool },
    /// A short press was released at `released`; waiting for a possible second press.
    AwaitSecond { released: Duration },
}

/// The gesture recogniser of one button: [`Debouncer`] plus the gesture timers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recogniser {
    timing: GestureTiming,
    debouncer: Debouncer,
    phase: Phase,
}

impl Recogniser {
    /// A recogniser with the given timing, starting released at time zero.
    pub fn new(timing: GestureTiming) -> Self {
        Self {
            timing,
            debouncer: Debouncer::new(timing.debounce),
            phase: Phase::Idle,
        }
    }

    /// The timing in use.
    pub fn timing(&self) -> GestureTiming {
        self.timing
    }

    /// Feeds a raw edge at time `t`; returns the gestures completed up to `t`.
    pub fn edge(&mut self, t: Duration, edge: Edge) -> Vec<Gesture> {
        let mut out = Vec::new();
        if let Some((at, accepted)) = self.debouncer.edge(t, edge) {
            self.timers(at, &mut out);
            self.apply(at, accepted, &mut out);
        }
        self.timers(self.debouncer.known_until(), &mut out);
        out
    }

    /// Lets time pass to `now`; returns the gestures completed by then.
    pub fn poll(&mut self, now: Duration) -> Vec<Gesture> {
        let mut out = Vec::new();
        if let Some((at, accepted)) = self.debouncer.poll(now) {
            self.timers(at, &mut out);
            self.apply(at, accepted, &mut out);
        }
        self.timers(self.debouncer.known_until(), &mut out);
        out
    }

    /// The next time [`poll`](Self::poll) can produce something, if any: when a pending
    /// edge is accepted, a hold becomes long, or the double-press window closes.
    pub fn deadline(&self) -> Option<Duration> {
        let timer = match self.phase {
            Phase::Idle | Phase::Down { consumed: true, .. } => None,
            Phase::Down { since, .. } => Some(since + self.timing.long_press),
            // The window closes strictly after `double_press` (a press at exactly the
            // window's end still makes a double press).
            Phase::AwaitSecond { released } => {
                Some(released + self.timing.double_press + Duration::from_nanos(1))
            }
        };
        match (timer, self.debouncer.deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn timers(&mut self, known: Duration, out: &mut Vec<Gesture>) {
        match self.phase {
            Phase::Down {
                since,
                consumed: false,
            } if known.saturating_sub(since) >= self.timing.long_press => {
                out.push(Gesture::Long);
                self.phase = Phase::Down {
                    since,
                    consumed: true,
                };
            }
            Phase::AwaitSecond { released }
                if known.saturating_sub(released) > self.timing.double_press =>
            {
                out.push(Gesture::Short);
                self.phase = Phase::Idle;
            }
            _ => {}
        }
    }

    fn apply(&mut self, t: Duration, edge: Edge, out: &mut Vec<Gesture>) {
        self.phase = match (self.phase, edge) {
            (Phase::Idle, Edge::Press) => Phase::Down {
                since: t,
                consumed: false,
            },
            (Phase::AwaitSecond { released }, Edge::Press) => {
                if t.saturating_sub(released) <= self.timing.double_press {
                    out.push(Gesture::Double);
                    Phase::Down {
                        since: t,
                        consumed: true,
                    }
                } else {
                    // Timers run before edges, so this is only reached if time went
                    // backwards; still report the first press rather than lose it.
                    out.push(Gesture::Short);
                    Phase::Down {
                        since: t,
                        consumed: false,
                    }
                }
            }
            (Phase::Down { consumed: true, .. }, Edge::Release) => Phase::Idle,
            (Phase::Down { since, .. }, Edge::Release) => {
                if t.saturating_sub(since) >= self.timing.long_press {
                    out.push(Gesture::Long);
                    Phase::Idle
                } else if self.timing.double_press.is_zero() {
                    out.push(Gesture::Short);
                    Phase::Idle
                } else {
                    Phase::AwaitSecond { released: t }
                }
            }
            // The debouncer only passes level changes, so these do not happen.
            (phase, _) => phase,
        };
    }
}

/// Runs a whole edge sequence through a fresh recogniser and lets time pass to `end`;
/// returns every gesture in order. The pure form of [`Recogniser`], for tests and replays.
pub fn recognise(timing: GestureTiming, edges: &[(Duration, Edge)], end: Duration) -> Vec<Gesture> {
    let mut r = Recogniser::new(timing);
    let mut out = Vec::new();
    for &(t, edge) in edges {
        out.extend(r.edge(t, edge));
    }
    out.extend(r.poll(end));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn t() -> GestureTiming {
        GestureTiming::default()
    }

    fn press(at: u64, len: u64) -> [(Duration, Edge); 2] {
        [(ms(at), Edge::Press), (ms(at + len), Edge::Release)]
    }

    #[test]
    fn short_press_counts_after_the_double_press_window() {
        let edges = press(1000, 120);
        let mut r = Recogniser::new(t());
        for &(at, e) in &edges {
            assert!(r.edge(at, e).is_empty());
        }
        // Released at 1120: nothing until the window (400 ms) has passed.
        assert!(r.poll(ms(1120 + 400)).is_empty());
        assert_eq!(r.deadline(), Some(ms(1520) + Duration::from_nanos(1)));
        assert_eq!(r.poll(ms(1521)), vec![Gesture::Short]);
        assert_eq!(r.deadline(), None);
    }

    #[test]
    fn long_press_fires_while_held_and_release_is_silent() {
        let mut r = Recogniser::new(t());
        assert!(r.edge(ms(0), Edge::Press).is_empty());
        assert!(r.poll(ms(1499)).is_empty());
        assert_eq!(r.deadline(), Some(ms(1500)));
        assert_eq!(r.poll(ms(1500)), vec![Gesture::Long]);
        assert!(r.edge(ms(4000), Edge::Release).is_empty());
        assert!(r.poll(ms(10_000)).is_empty());
    }

    #[test]
    fn double_press_is_new_slide_and_never_a_count() {
        let mut edges = press(0, 100).to_vec();
        edges.extend(press(100 + 400, 100)); // second press exactly at the window's end
        assert_eq!(recognise(t(), &edges, ms(5000)), vec![Gesture::Double]);
        let mut edges = press(0, 100).to_vec();
        edges.extend(press(100 + 401, 100));
        assert_eq!(
            recognise(t(), &edges, ms(5000)),
            vec![Gesture::Short, Gesture::Short]
        );
    }

    #[test]
    fn second_press_of_a_double_is_consumed_even_when_held_long() {
        let mut edges = press(0, 100).to_vec();
        edges.extend(press(300, 3000));
        assert_eq!(recognise(t(), &edges, ms(9000)), vec![Gesture::Double]);
    }

    #[test]
    fn zero_window_counts_at_release() {
        let timing = GestureTiming {
            double_press: Duration::ZERO,
            ..t()
        };
        let mut r = Recogniser::new(timing);
        r.edge(ms(0), Edge::Press);
        r.edge(ms(100), Edge::Release);
        assert_eq!(r.poll(ms(120)), vec![Gesture::Short]);
    }

    #[test]
    fn bounces_on_press_and_release_make_one_press() {
        let edges = [
            (ms(0), Edge::Press),
            (ms(2), Edge::Release),
            (ms(5), Edge::Press),
            (ms(6), Edge::Release),
            (ms(9), Edge::Press),
            (ms(200), Edge::Release),
            (ms(203), Edge::Press),
            (ms(207), Edge::Release),
        ];
        assert_eq!(recognise(t(), &edges, ms(2000)), vec![Gesture::Short]);
    }

    #[test]
    fn glitch_shorter_than_debounce_is_ignored() {
        let edges = [(ms(0), Edge::Press), (ms(19), Edge::Release)];
        assert!(recognise(t(), &edges, ms(5000)).is_empty());
    }

    #[test]
    fn repeated_and_backwards_reports_do_not_panic_or_double_count() {
        let edges = [
            (ms(100), Edge::Press),
            (ms(100), Edge::Press),
            (ms(50), Edge::Release), // earlier than seen: treated as 100 ms
            (ms(60), Edge::Press),
            (ms(400), Edge::Release),
        ];
        assert_eq!(recognise(t(), &edges, ms(5000)), vec![Gesture::Short]);
    }

    #[test]
    fn gestures_map_to_events() {
        assert_eq!(Gesture::Short.event(), ButtonEvent::Count);
        assert_eq!(Gesture::Long.event(), ButtonEvent::Undo);
        assert_eq!(Gesture::Double.event(), ButtonEvent::NewSlide);
    }
}
