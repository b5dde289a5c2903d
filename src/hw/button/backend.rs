//! What the two GPIO backends ([`super::gpio`] and, with the `rppal` feature,
//! `rppal_gpio`) share: which line does what, the gesture loop, and the permission fix.
//!
//! Both backends import this module and nothing from each other; the choice between
//! them is made above both, in [`super::open`].

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::ButtonEvent;
use super::config::{GpioButtonsConfig, LineRef};
use super::error::ButtonError;
use super::map::ButtonMap;

/// The action table: each extra button's config key, the event it sends and its line,
/// if configured (the main button's gestures are the [`ButtonMap`]'s).
pub fn extra_actions(
    config: &GpioButtonsConfig,
) -> [(&'static str, ButtonEvent, Option<&LineRef>); 3] {
    [
        ("buttons.gpio.undo", ButtonEvent::Undo, config.undo.as_ref()),
        (
            "buttons.gpio.new_slide",
            ButtonEvent::NewSlide,
            config.new_slide.as_ref(),
        ),
        (
            "buttons.gpio.live",
            ButtonEvent::ToggleLive,
            config.live.as_ref(),
        ),
    ]
}

/// The loop both GPIO backends share: hands out queued gestures, runs the recogniser's
/// timers, and otherwise waits for edges with `wait_for_edges` (at most until the next
/// timer or the timeout), which feeds what it reads into the map and says whether it read
/// any edge. `clock` is the clock of the edges' timestamps (CLOCK_MONOTONIC for both
/// backends).
///
/// Edges the kernel has already queued are read *before* the timers run to the current
/// time. The recogniser never goes back in time (an edge older than the latest time it
/// was polled at is dated at that time), so polling first would date a burst that
/// waited in the kernel (the caller was busy, e.g. classifying a cell, while the
/// technician double-pressed) all at one instant, and the debouncer would take it for a
/// bounce: a double press read late became a single count.
pub fn next_gesture(
    map: &mut ButtonMap,
    queue: &mut VecDeque<ButtonEvent>,
    timeout: Duration,
    clock: impl Fn() -> Duration,
    mut wait_for_edges: impl FnMut(
        &mut ButtonMap,
        &mut VecDeque<ButtonEvent>,
        Duration,
    ) -> Result<bool, ButtonError>,
) -> Result<Option<ButtonEvent>, ButtonError> {
    let start = Instant::now();
    loop {
        if let Some(event) = queue.pop_front() {
            return Ok(Some(event));
        }
        // The clock first, then the queue: every edge stamped up to `now` is then read
        // (with its kernel timestamp) before the timers are evaluated at `now`.
        let now = clock();
        while wait_for_edges(map, queue, Duration::ZERO)? {}
        if !queue.is_empty() {
            continue;
        }
        queue.extend(map.poll(now));
        if !queue.is_empty() {
            continue;
        }
        let elapsed = start.elapsed();
        if elapsed >= timeout {
            return Ok(None);
        }
        let mut wait = timeout - elapsed;
        if let Some(deadline) = map.deadline() {
            wait = wait.min(deadline.saturating_sub(now));
        }
        wait_for_edges(map, queue, wait)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hw::button::gesture::{Edge, GestureTiming};

    /// A monotonic clock well past zero, so timestamps 400 ms back stay positive.
    fn monotonic_now() -> Duration {
        static ORIGIN: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
        ORIGIN.get_or_init(Instant::now).elapsed() + Duration::from_secs(10)
    }

    /// A double press (100 ms press, 150 ms gap, 100 ms press) that happened while nobody
    /// was reading: the edges wait in a scripted "kernel queue" with their real
    /// timestamps, and `per_wait` of them are handed out per call (gpiocdev reads the
    /// whole queue, rppal one edge per call).
    fn late_double_press(per_wait: usize) -> Vec<ButtonEvent> {
        let ms = Duration::from_millis;
        // Everything happened up to 50 ms ago.
        let base = monotonic_now().saturating_sub(ms(400));
        let mut kernel: VecDeque<(Duration, Edge)> = VecDeque::from([
            (base, Edge::Press),
            (base + ms(100), Edge::Release),
            (base + ms(250), Edge::Press),
            (base + ms(350), Edge::Release),
        ]);
        let mut map = ButtonMap::new(0, GestureTiming::default(), &[]);
        let mut queue = VecDeque::new();
        let mut got = Vec::new();
        while let Some(event) = next_gesture(
            &mut map,
            &mut queue,
            ms(600),
            monotonic_now,
            |map, queue, wait| {
                let mut read = false;
                for _ in 0..per_wait {
                    let Some((t, edge)) = kernel.pop_front() else {
                        break;
                    };
                    queue.extend(map.edge(0, t, edge));
                    read = true;
                }
                if !read {
                    std::thread::sleep(wait);
                }
                Ok(read)
            },
        )
        .unwrap()
        {
            got.push(event);
        }
        got
    }

    #[test]
    fn edges_read_late_keep_their_kernel_times() {
        assert_eq!(late_double_press(usize::MAX), vec![ButtonEvent::NewSlide]);
        assert_eq!(late_double_press(1), vec![ButtonEvent::NewSlide]);
    }

    #[test]
    fn the_action_table_follows_the_config() {
        let config = GpioButtonsConfig {
            undo: Some(LineRef::Offset(27)),
            ..GpioButtonsConfig::default()
        };
        let table = extra_actions(&config);
        assert_eq!(table[0].1, ButtonEvent::Undo);
        assert_eq!(table[0].2, Some(&LineRef::Offset(27)));
        assert!(table[1].2.is_none() && table[2].2.is_none());
    }
}
