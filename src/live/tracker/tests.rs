use super::*;
use crate::live::motion::Motion;
use crate::live::steady::SteadyDetector;
use proptest::prelude::*;

const FRAME: (u32, u32) = (640, 480);
const DIAMETER: f64 = 100.0;

/// Boxes of every cell (true slide centres) that shows in a frame whose top-left is at
/// `origin`, clipped at the frame border as the locator does, with a position error.
fn detections(cells: &[(f64, f64)], origin: (f64, f64), jitter: f64) -> Vec<Detection> {
    let clip = |v: f64, hi: u32| v.round().clamp(0.0, f64::from(hi)) as u32;
    cells
        .iter()
        .filter_map(|&(x, y)| {
            let (cx, cy) = (x - origin.0 + jitter, y - origin.1 - jitter);
            let r = DIAMETER / 2.0;
            if cx + r <= 0.0 || cy + r <= 0.0 || cx - r >= 640.0 || cy - r >= 480.0 {
                return None;
            }
            let boxed = |r: f64| PixelBox {
                x0: clip(cx - r, FRAME.0),
                y0: clip(cy - r, FRAME.1),
                x1: clip(cx + r, FRAME.0),
                y1: clip(cy + r, FRAME.1),
            };
            let nucleus = boxed(r * 0.6);
            (nucleus.width() > 0 && nucleus.height() > 0).then(|| Detection {
                cell: boxed(r),
                nucleus,
            })
        })
        .collect()
}

/// Runs the tracker along a camera path (frame top-left positions on the true slide) and
/// returns, per true cell, how often it was counted, plus counts that matched no cell.
fn scan(
    cells: &[(f64, f64)],
    path: &[(f64, f64)],
    noise_seed: u64,
    target: Option<u32>,
) -> (Vec<u32>, u32) {
    let mut tracker = Tracker::new(TrackerParams {
        target,
        ..TrackerParams::default()
    });
    let mut steady = SteadyDetector::new(2.0, 3, 0.1);
    let mut rng = noise_seed | 1;
    let mut noise = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        (rng % 1000) as f64 / 1000.0 - 0.5
    };
    let mut counts = vec![0u32; cells.len()];
    let mut stray = 0;
    for (i, &origin) in path.iter().enumerate() {
        let motion = (i > 0).then(|| Motion {
            dx: (path[i - 1].0 - origin.0 + 0.6 * noise()) as f32,
            dy: (path[i - 1].1 - origin.1 + 0.6 * noise()) as f32,
            confidence: 0.8,
        });
        if i > 0 {
            tracker.advance(motion.map(|m| (m.dx, m.dy)));
        }
        let is_steady = steady.update(motion.as_ref());
        let dets = detections(cells, origin, 2.0 * noise());
        for req in tracker.observe(&dets, FRAME, is_steady) {
            let (fx, fy) = req.cell.centre();
            let (sx, sy) = (origin.0 + f64::from(fx), origin.1 + f64::from(fy));
            match cells
                .iter()
                .position(|c| (c.0 - sx).hypot(c.1 - sy) < DIAMETER / 2.0)
            {
                Some(k) => counts[k] += 1,
                None => stray += 1,
            }
            assert!(tracker.counted(req.cell_id));
        }
    }
    (counts, stray)
}

/// Frames at which each cell was whole and the camera had been still for `n` frames.
fn seen_still(cells: &[(f64, f64)], path: &[(f64, f64)], n: usize) -> Vec<bool> {
    cells
        .iter()
        .map(|&(x, y)| {
            let mut run = 0;
            let mut ok = false;
            for (i, o) in path.iter().enumerate() {
                let still = i > 0 && path[i - 1] == *o;
                let r = DIAMETER / 2.0 + 8.0;
                let whole =
                    x - r >= o.0 && y - r >= o.1 && x + r <= o.0 + 640.0 && y + r <= o.1 + 480.0;
                run = if still && whole { run + 1 } else { 0 };
                ok |= run >= n;
            }
            ok
        })
        .collect()
}

/// A path through waypoints at a speed (px/frame) with a pause (frames) at each.
fn path_through(start: (f64, f64), legs: &[((f64, f64), f64, usize)]) -> Vec<(f64, f64)> {
    let mut path = vec![start];
    let mut at = start;
    for &(to, speed, pause) in legs {
        let dist = (to.0 - at.0).hypot(to.1 - at.1);
        let steps = (dist / speed.max(0.5)).ceil().max(1.0) as usize;
        for s in 1..=steps {
            let f = s as f64 / steps as f64;
            path.push((at.0 + (to.0 - at.0) * f, at.1 + (to.1 - at.1) * f));
        }
        at = to;
        for _ in 0..pause {
            path.push(at);
        }
    }
    path
}

#[test]
fn a_cell_seen_steady_and_whole_is_counted_once_however_long_it_stays() {
    let cells = [(320.0, 240.0)];
    let path = vec![(0.0, 0.0); 200];
    let (counts, stray) = scan(&cells, &path, 7, None);
    assert_eq!((counts, stray), (vec![1], 0));
}

#[test]
fn a_cell_cut_by_the_frame_edge_is_not_classified_until_whole() {
    let mut t = Tracker::new(TrackerParams::default());
    let mut steady = SteadyDetector::new(2.0, 1, 0.1);
    let still = Motion {
        dx: 0.0,
        dy: 0.0,
        confidence: 1.0,
    };
    let cut = detections(&[(20.0, 240.0)], (0.0, 0.0), 0.0);
    for _ in 0..10 {
        t.advance(Some((0.0, 0.0)));
        let s = steady.update(Some(&still));
        assert!(t.observe(&cut, FRAME, s).is_empty());
    }
    assert_eq!(t.cells().len(), 1);
    // The slide moves 100 px to the right: the cell is whole now and is the same cell.
    t.advance(Some((100.0, 0.0)));
    steady.update(Some(&Motion {
        dx: 100.0,
        dy: 0.0,
        confidence: 1.0,
    }));
    let whole = detections(&[(120.0, 240.0)], (0.0, 0.0), 0.0);
    let mut asked = Vec::new();
    for _ in 0..5 {
        t.advance(Some((0.0, 0.0)));
        let s = steady.update(Some(&still));
        asked.extend(t.observe(&whole, FRAME, s));
    }
    assert_eq!(asked.len(), 1);
    assert_eq!(t.cells().len(), 1);
    assert!(t.counted(asked[0].cell_id));
    assert!(!t.counted(asked[0].cell_id), "a cell is counted once");
    assert!(!t.counted(999));
}

#[test]
fn wholeness_is_the_nucleus_and_a_rim_not_the_margin_box() {
    // A large cell low in the frame: its nucleus (110 px) and a rim of 10 px are inside,
    // though the locator's margin box reaches past the bottom edge and is clipped there.
    let nucleus = |y1: u32| PixelBox {
        x0: 270,
        y0: y1 - 110,
        x1: 370,
        y1,
    };
    let seen = |y1: u32| Detection {
        nucleus: nucleus(y1),
        cell: PixelBox {
            x0: 250,
            y0: y1 - 130,
            x1: 390,
            y1: 480,
        },
    };
    let still = Motion {
        dx: 0.0,
        dy: 0.0,
        confidence: 1.0,
    };
    for (y1, whole) in [(460, true), (470, false)] {
        let mut t = Tracker::new(TrackerParams::default());
        let mut steady = SteadyDetector::new(2.0, 1, 0.1);
        let mut asked = Vec::new();
        for _ in 0..5 {
            t.advance(Some((0.0, 0.0)));
            let s = steady.update(Some(&still));
            asked.extend(t.observe(&[seen(y1)], FRAME, s));
        }
        assert_eq!(asked.len(), usize::from(whole), "nucleus bottom at {y1}");
    }
}

#[test]
fn nothing_is_classified_while_the_field_moves() {
    let cells = [(320.0, 240.0), (900.0, 240.0)];
    let path = path_through((0.0, 0.0), &[((600.0, 0.0), 3.0, 0)]);
    let (counts, _) = scan(&cells, &path, 3, None);
    assert_eq!(counts, vec![0, 0]);
}

#[test]
fn going_back_over_counted_cells_does_not_count_them_again() {
    let cells: Vec<(f64, f64)> = (0..8)
        .map(|i| {
            (
                320.0 + 400.0 * f64::from(i),
                240.0 + 30.0 * f64::from(i % 3),
            )
        })
        .collect();
    let mut legs = Vec::new();
    for pass in 0..3 {
        let order: Vec<i32> = if pass % 2 == 0 {
            (0..8).collect()
        } else {
            (0..8).rev().collect()
        };
        for i in order {
            legs.push(((400.0 * f64::from(i), 0.0), 25.0, 12));
        }
    }
    let path = path_through((0.0, 0.0), &legs);
    let (counts, stray) = scan(&cells, &path, 11, None);
    assert_eq!(counts, vec![1; 8]);
    assert_eq!(stray, 0);
}

#[test]
fn stops_at_the_target() {
    let cells: Vec<(f64, f64)> = (0..6)
        .map(|i| (320.0 + 400.0 * f64::from(i), 240.0))
        .collect();
    let legs: Vec<_> = (0..6)
        .map(|i| ((400.0 * f64::from(i), 0.0), 20.0, 10))
        .collect();
    let path = path_through((0.0, 0.0), &legs);
    let (counts, _) = scan(&cells, &path, 5, Some(4));
    assert_eq!(counts.iter().sum::<u32>(), 4);
}

#[test]
fn a_failed_classification_is_asked_again() {
    let mut t = Tracker::new(TrackerParams::default());
    let dets = detections(&[(320.0, 240.0)], (0.0, 0.0), 0.0);
    let first = t.observe(&dets, FRAME, true);
    assert!(first.is_empty(), "one sighting is not enough");
    let asked = t.observe(&dets, FRAME, true);
    assert_eq!(asked.len(), 1);
    assert!(
        t.observe(&dets, FRAME, true).is_empty(),
        "not twice while waiting"
    );
    t.not_counted(asked[0].cell_id);
    t.observe(&dets, FRAME, true);
    let again = t.observe(&dets, FRAME, true);
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].cell_id, asked[0].cell_id);
    assert!(t.counted(again[0].cell_id));
    assert_eq!(t.counted_total(), 1);
}

#[test]
fn drift_is_removed_by_re_anchoring_on_known_cells() {
    // The motion estimate over-reads every pan by 10 %: 30 px per 300 px leg, 270 px over
    // the nine legs, far more than the gate (80 px), yet the cells stay the same cells.
    let cells: Vec<(f64, f64)> = (0..4)
        .map(|i| (320.0 + 300.0 * f64::from(i), 240.0))
        .collect();
    let mut t = Tracker::new(TrackerParams::default());
    let mut steady = SteadyDetector::new(2.0, 3, 0.1);
    let legs: Vec<_> = [0, 1, 2, 3, 2, 1, 0, 1, 2, 3]
        .iter()
        .map(|&i| ((300.0 * f64::from(i), 0.0), 2.5, 15))
        .collect();
    let path = path_through((0.0, 0.0), &legs);
    let mut asked = 0;
    for i in 1..path.len() {
        let dx = (path[i - 1].0 - path[i].0) as f32;
        let m = Motion {
            dx: dx * 1.1,
            dy: 0.0,
            confidence: 0.9,
        };
        t.advance(Some((m.dx, m.dy)));
        let s = steady.update(Some(&m));
        for r in t.observe(&detections(&cells, path[i], 0.0), FRAME, s) {
            asked += 1;
            t.counted(r.cell_id);
        }
    }
    assert_eq!(asked, 4);
    assert_eq!(t.cells().len(), 4);
}

fn cells_strategy() -> impl Strategy<Value = Vec<(f64, f64)>> {
    // A jittered grid keeps cells at least ~1.5 diameters apart, as white cells are.
    proptest::collection::vec((any::<bool>(), -50.0..50.0f64, -50.0..50.0f64), 48).prop_map(
        |slots| {
            slots
                .into_iter()
                .enumerate()
                .filter(|(_, (keep, _, _))| *keep)
                .map(|(i, (_, jx, jy))| {
                    (
                        150.0 + 250.0 * (i % 8) as f64 + jx,
                        150.0 + 250.0 * (i / 8) as f64 + jy,
                    )
                })
                .collect()
        },
    )
}

fn legs_strategy() -> impl Strategy<Value = Vec<((f64, f64), f64, usize)>> {
    proptest::collection::vec(
        ((0.0..1600.0f64, 0.0..1200.0f64), 0.5..40.0f64, 0usize..25),
        1..12,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_pan_path_never_counts_a_cell_twice_and_counts_cells_seen_still(
        cells in cells_strategy(),
        legs in legs_strategy(),
        seed in any::<u64>(),
    ) {
        let path = path_through((0.0, 0.0), &legs);
        let (counts, stray) = scan(&cells, &path, seed, None);
        prop_assert_eq!(stray, 0);
        for (k, n) in counts.iter().enumerate() {
            prop_assert!(*n <= 1, "cell {k} at {:?} counted {n} times", cells[k]);
        }
        let must = seen_still(&cells, &path, 8);
        for (k, m) in must.iter().enumerate() {
            if *m {
                prop_assert_eq!(counts[k], 1, "cell {} at {:?} was still and whole but not counted", k, cells[k]);
            }
        }
    }
}
