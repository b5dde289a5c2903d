//! Property tests of the pure button gesture recogniser.

use std::time::Duration;

use hematovision::hw::button::gesture::{Edge, Gesture, GestureTiming, Recogniser, recognise};
use proptest::prelude::*;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn timing(debounce_ms: u64) -> GestureTiming {
    GestureTiming {
        debounce: ms(debounce_ms),
        ..GestureTiming::default()
    }
}

/// Alternating edges starting with `first` at `start`, separated by `gaps` (ns).
fn train(start: Duration, first: Edge, gaps: &[u64]) -> Vec<(Duration, Edge)> {
    let mut t = start;
    let mut edge = first;
    let mut out = vec![(t, edge)];
    for &g in gaps {
        t += Duration::from_nanos(g);
        edge = if edge == Edge::Press {
            Edge::Release
        } else {
            Edge::Press
        };
        out.push((t, edge));
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Any train of edges closer together than the debounce period is at most one press,
    /// and none at all when it ends released (a glitch).
    #[test]
    fn bounce_trains_shorter_than_debounce_never_make_two_presses(
        debounce_ms in 5u64..60,
        start_ms in 0u64..100_000,
        fractions in proptest::collection::vec(0u64..1000, 0..40),
    ) {
        let deb = ms(debounce_ms).as_nanos() as u64;
        let gaps: Vec<u64> = fractions.iter().map(|f| f * (deb - 1) / 1000).collect();
        let edges = train(ms(start_ms), Edge::Press, &gaps);
        let end = edges.last().map(|e| e.0).unwrap_or_default() + ms(10_000);
        let got = recognise(timing(debounce_ms), &edges, end);
        prop_assert!(got.len() <= 1, "{got:?}");
        if edges.len().is_multiple_of(2) {
            prop_assert!(got.is_empty(), "a glitch became {got:?}");
        }
    }

    /// A bouncy press, a hold, a bouncy release: exactly one gesture, long exactly when
    /// the last release edge is at least `long_press` after the last press edge.
    #[test]
    fn bouncy_press_is_exactly_one_gesture(
        debounce_ms in 5u64..40,
        press_bounces in proptest::collection::vec(0u64..1000, 0..8),
        release_bounces in proptest::collection::vec(0u64..1000, 0..8),
        hold_ms in 0u64..3000,
    ) {
        let t = timing(debounce_ms);
        let deb = t.debounce.as_nanos() as u64;
        // Even counts so each train ends at the level it is meant to reach.
        let mut pg: Vec<u64> = press_bounces.iter().map(|f| f * (deb - 1) / 1000).collect();
        if pg.len() % 2 == 1 { pg.pop(); }
        let mut rg: Vec<u64> = release_bounces.iter().map(|f| f * (deb - 1) / 1000).collect();
        if rg.len() % 2 == 1 { rg.pop(); }
        let mut edges = train(ms(1000), Edge::Press, &pg);
        let pressed_at = edges.last().map(|e| e.0).unwrap_or_default();
        let release_start = pressed_at + t.debounce + ms(hold_ms);
        let release = train(release_start, Edge::Release, &rg);
        let released_at = release.last().map(|e| e.0).unwrap_or_default();
        edges.extend(release);
        let got = recognise(t, &edges, released_at + ms(5000));
        let expected = if released_at - pressed_at >= t.long_press {
            Gesture::Long
        } else {
            Gesture::Short
        };
        prop_assert_eq!(got, vec![expected]);
    }

    /// Long vs short is decided exactly at `long_press`, to the nanosecond.
    #[test]
    fn long_short_boundary_is_exact(offset_ns in -50_000_000i64..50_000_000, long_ms in 300u64..5000) {
        let t = GestureTiming { long_press: ms(long_ms), ..GestureTiming::default() };
        let held = Duration::from_nanos((t.long_press.as_nanos() as i64 + offset_ns) as u64);
        let edges = [(ms(10), Edge::Press), (ms(10) + held, Edge::Release)];
        let got = recognise(t, &edges, ms(10) + held + ms(2000));
        let expected = if held >= t.long_press { Gesture::Long } else { Gesture::Short };
        prop_assert_eq!(got, vec![expected]);
    }

    /// Two short presses are a double press exactly when the second starts within the
    /// window after the first release; otherwise they are two counts.
    #[test]
    fn double_press_window_is_exact(gap_ns in 25_000_000u64..800_000_000, len_ms in 25u64..1000) {
        let t = GestureTiming::default();
        let first_release = ms(100 + len_ms);
        let second = first_release + Duration::from_nanos(gap_ns);
        let edges = [
            (ms(100), Edge::Press),
            (first_release, Edge::Release),
            (second, Edge::Press),
            (second + ms(len_ms), Edge::Release),
        ];
        let got = recognise(t, &edges, second + ms(5000));
        if Duration::from_nanos(gap_ns) <= t.double_press {
            prop_assert_eq!(got, vec![Gesture::Double]);
        } else {
            prop_assert_eq!(got, vec![Gesture::Short, Gesture::Short]);
        }
    }

    /// Polling at arbitrary moments in between never changes what is recognised.
    #[test]
    fn results_do_not_depend_on_polling(
        steps in proptest::collection::vec((0u64..700, any::<bool>(), 0u64..700), 0..30),
    ) {
        let t = GestureTiming::default();
        let mut now = Duration::ZERO;
        let mut edges = Vec::new();
        let mut polls = Vec::new();
        for (gap, press, poll_after) in &steps {
            now += ms(*gap);
            edges.push((now, if *press { Edge::Press } else { Edge::Release }));
            polls.push(now + ms(*poll_after));
        }
        let end = now + ms(10_000);
        let reference = recognise(t, &edges, end);
        let mut r = Recogniser::new(t);
        let mut got = Vec::new();
        for (i, &(at, edge)) in edges.iter().enumerate() {
            got.extend(r.edge(at, edge));
            // Poll somewhere before the next edge (never past it).
            let next = edges.get(i + 1).map_or(end, |e| e.0);
            got.extend(r.poll(polls[i].min(next)));
            if let Some(d) = r.deadline()
                && d <= next
            {
                got.extend(r.poll(d));
            }
        }
        got.extend(r.poll(end));
        prop_assert_eq!(got, reference);
    }
}

#[test]
fn boundary_cases_spelled_out() {
    let t = GestureTiming::default();
    let at = |held: Duration| {
        recognise(
            t,
            &[(ms(0), Edge::Press), (held, Edge::Release)],
            ms(10_000),
        )
    };
    assert_eq!(at(ms(1500)), vec![Gesture::Long]);
    assert_eq!(at(ms(1500) - Duration::from_nanos(1)), vec![Gesture::Short]);
    assert_eq!(at(ms(20)), vec![Gesture::Short]); // exactly the debounce period
    assert_eq!(at(ms(20) - Duration::from_nanos(1)), vec![]);
    // Second press exactly at the end of the double-press window, and 1 ns after it.
    let double = |gap: Duration| {
        let second = ms(100) + gap;
        let edges = [
            (ms(0), Edge::Press),
            (ms(100), Edge::Release),
            (second, Edge::Press),
            (second + ms(100), Edge::Release),
        ];
        recognise(t, &edges, ms(10_000))
    };
    assert_eq!(double(ms(400)), vec![Gesture::Double]);
    assert_eq!(
        double(ms(400) + Duration::from_nanos(1)),
        vec![Gesture::Short, Gesture::Short]
    );
}

#[test]
fn ten_spaced_presses_are_ten_counts() {
    let edges: Vec<_> = (0..10u64)
        .flat_map(|i| {
            [
                (ms(i * 1000), Edge::Press),
                (ms(i * 1000 + 150), Edge::Release),
            ]
        })
        .collect();
    assert_eq!(
        recognise(GestureTiming::default(), &edges, ms(20_000)),
        vec![Gesture::Short; 10]
    );
}
