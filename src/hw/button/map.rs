//! Routing of line edges to actions: the main button through the gesture recogniser,
//! extra buttons straight to their action. Pure, shared by the GPIO backends.

use std::time::Duration;

use super::ButtonEvent;
use super::gesture::{Debouncer, Edge, GestureTiming, Recogniser};

/// An extra button: one action on each (debounced) press.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Extra {
    line: u32,
    event: ButtonEvent,
    debouncer: Debouncer,
}

/// The buttons of one backend, keyed by line number (offset or BCM pin).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ButtonMap {
    main_line: u32,
    main: Recogniser,
    extras: Vec<Extra>,
}

impl ButtonMap {
    /// The main button on `main_line` with gestures, and `extras` as (line, action).
    pub fn new(main_line: u32, timing: GestureTiming, extras: &[(u32, ButtonEvent)]) -> Self {
        Self {
            main_line,
            main: Recogniser::new(timing),
            extras: extras
                .iter()
                .map(|&(line, event)| Extra {
                    line,
                    event,
                    debouncer: Debouncer::new(timing.debounce),
                })
                .collect(),
        }
    }

    /// All lines this map listens to, main first.
    pub fn lines(&self) -> Vec<u32> {
        std::iter::once(self.main_line)
            .chain(self.extras.iter().map(|e| e.line))
            .collect()
    }

    /// Feeds an edge of `line` at `t`; returns the actions completed up to `t` on every
    /// button, in order. Edges of unknown lines are ignored.
    pub fn edge(&mut self, line: u32, t: Duration, edge: Edge) -> Vec<ButtonEvent> {
        let mut out = self.poll(t);
        if line == self.main_line {
            out.extend(self.main.edge(t, edge).into_iter().map(|g| g.event()));
        }
        for extra in self.extras.iter_mut().filter(|e| e.line == line) {
            if let Some((_, Edge::Press)) = extra.debouncer.edge(t, edge) {
                out.push(extra.event);
            }
        }
        out
    }

    /// Lets time pass to `now`; returns the actions completed by then.
    pub fn poll(&mut self, now: Duration) -> Vec<ButtonEvent> {
        let mut out: Vec<ButtonEvent> =
            self.main.poll(now).into_iter().map(|g| g.event()).collect();
        for extra in &mut self.extras {
            if let Some((_, Edge::Press)) = extra.debouncer.poll(now) {
                out.push(extra.event);
            }
        }
        out
    }

    /// The next time [`poll`](Self::poll) can produce something.
    pub fn deadline(&self) -> Option<Duration> {
        std::iter::once(self.main.deadline())
            .chain(self.extras.iter().map(|e| e.debouncer.deadline()))
            .flatten()
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn main_gestures_and_extra_buttons_are_routed() {
        let mut m = ButtonMap::new(
            17,
            GestureTiming::default(),
            &[(27, ButtonEvent::Undo), (23, ButtonEvent::ToggleLive)],
        );
        assert_eq!(m.lines(), vec![17, 27, 23]);
        let mut got = Vec::new();
        got.extend(m.edge(17, ms(0), Edge::Press));
        got.extend(m.edge(17, ms(100), Edge::Release));
        // Extra button pressed while the main one waits for a possible double press.
        got.extend(m.edge(23, ms(200), Edge::Press));
        got.extend(m.edge(23, ms(203), Edge::Release)); // a bounce: nothing
        got.extend(m.edge(23, ms(205), Edge::Press));
        got.extend(m.edge(23, ms(300), Edge::Release));
        assert_eq!(m.deadline(), Some(ms(320)));
        got.extend(m.poll(ms(1000)));
        got.extend(m.edge(99, ms(1100), Edge::Press)); // unknown line
        got.extend(m.edge(27, ms(2000), Edge::Press));
        got.extend(m.poll(ms(2020)));
        assert_eq!(
            got,
            vec![
                ButtonEvent::ToggleLive,
                ButtonEvent::Count,
                ButtonEvent::Undo
            ]
        );
        assert_eq!(m.deadline(), None);
    }
}
