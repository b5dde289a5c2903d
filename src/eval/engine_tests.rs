//! The live engine driven by the slide-scan simulator: the engine's own tests, kept here
//! because the simulator is a measurement tool and `live` does not import this room.

use std::time::Duration;

use image::RgbImage;

use super::sim::{Effects, Pose, Renderer, Slide};
use crate::live::{LiveAction, LiveConfig, LiveEngine};
use crate::vision::{LocatorParams, PixelBox};

fn slide() -> Slide {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bccd");
    Slide::from_bccd(&dir, 3, 1, 3).unwrap()
}

fn engine() -> LiveEngine {
    LiveEngine::new(&LiveConfig::default(), LocatorParams::default(), 0.5, None)
}

/// Renders the camera frames of a horizontal scan at the pose x positions `xs`
/// (velocity from the previous pose, so motion blur follows the pan).
fn scan<'a>(
    slide: &'a Slide,
    xs: &'a [f64],
    exposure: f64,
) -> impl Iterator<Item = (usize, f64, RgbImage)> + 'a {
    let mut r = Renderer::new(640, 480);
    let fx = Effects {
        exposure,
        defocus: 0,
        gain: 1.0,
        jpeg_quality: 100,
    };
    xs.iter().enumerate().map(move |(i, &x)| {
        let prev = if i == 0 { x } else { xs[i - 1] };
        let pose = Pose {
            x,
            y: 0.0,
            vx: x - prev,
            vy: 0.0,
        };
        (i, x, r.render(&slide.image, &pose, &fx))
    })
}

/// Feeds frames at 30 fps along poses; returns the cell boxes asked for (frame, pose x).
fn run(engine: &mut LiveEngine, slide: &Slide, xs: &[f64]) -> Vec<(usize, f64, PixelBox)> {
    let mut asked = Vec::new();
    for (i, x, frame) in scan(slide, xs, 0.0) {
        let t = Duration::from_millis(i as u64 * 33);
        for action in engine.on_frame(&frame, t) {
            let LiveAction::Classify {
                crop,
                cell_id,
                cell,
                ..
            } = action;
            assert!(crop.width() > cell.width(), "crop has a margin");
            assert!(engine.counted(cell_id));
            asked.push((i, x, cell));
        }
    }
    asked
}

#[test]
fn a_still_field_is_counted_once_and_a_pan_back_does_not_count_it_again() {
    let slide = slide();
    let mut e = engine();
    // Sit on the first field, pan to the third and back, then sit again.
    let mut xs = vec![0.0; 12];
    xs.extend((1..=20).map(|k| f64::from(k) * 64.0));
    xs.extend(vec![1280.0; 12]);
    xs.extend((1..=20).rev().map(|k| f64::from(k - 1) * 64.0));
    xs.extend(vec![0.0; 12]);
    let asked = run(&mut e, &slide, &xs);
    let first: Vec<_> = asked.iter().filter(|a| a.1 == 0.0).collect();
    let third: Vec<_> = asked.iter().filter(|a| a.1 == 1280.0).collect();
    assert_eq!(first.len(), 1, "{asked:?}");
    assert!(first[0].0 < 12, "counted on the first visit: {asked:?}");
    assert_eq!(third.len(), 1, "{asked:?}");
    assert_eq!(e.stats().counted, 2);
    assert!(
        e.stats().fps > 25.0 && e.stats().fps < 35.0,
        "{:?}",
        e.stats()
    );
    assert!(e.stats().steady);
}

/// Feeds frames at 30 fps from `t0` along poses, to `on_frame` when `live`, else to
/// `follow`; returns the pose x of every cell asked for and the time after the last.
fn feed(
    engine: &mut LiveEngine,
    slide: &Slide,
    xs: &[f64],
    t0: Duration,
    live: bool,
) -> (Vec<f64>, Duration) {
    let mut asked = Vec::new();
    let mut t = t0;
    for (_, x, frame) in scan(slide, xs, 0.3) {
        if live {
            for LiveAction::Classify { cell_id, .. } in engine.on_frame(&frame, t) {
                assert!(engine.counted(cell_id));
                asked.push(x);
            }
        } else {
            engine.follow(&frame, t);
        }
        t += Duration::from_millis(33);
    }
    (asked, t)
}

#[test]
fn a_slide_moved_while_live_mode_is_off_is_followed_and_nothing_is_counted_twice() {
    let slide = slide();
    let mut e = engine();
    let (asked, t) = feed(&mut e, &slide, &[0.0; 12], Duration::ZERO, true);
    assert_eq!(asked, vec![0.0]);
    // Live mode off; the technician moves to the third field.
    e.pause();
    let mut pan: Vec<f64> = (1..=20).map(|k| f64::from(k) * 64.0).collect();
    pan.extend([1280.0; 10]);
    let (asked, t) = feed(&mut e, &slide, &pan, t, false);
    assert!(asked.is_empty());
    assert!(e.resume(), "followed all along");
    // Live again: the third field's cell is new, the first field's is not.
    let (asked, t) = feed(&mut e, &slide, &[1280.0; 12], t, true);
    assert_eq!(asked, vec![1280.0], "the cell in view now is counted");
    let mut back: Vec<f64> = (0..20).rev().map(|k| f64::from(k) * 64.0).collect();
    back.extend([0.0; 12]);
    let (asked, _) = feed(&mut e, &slide, &back, t, true);
    assert!(
        asked.is_empty(),
        "the first field's cell was counted already"
    );
    assert_eq!(e.stats().counted, 2);
}

#[test]
fn a_gap_in_the_frames_loses_the_position_and_says_so() {
    let slide = slide();
    let mut e = engine();
    let (_, t) = feed(&mut e, &slide, &[0.0; 12], Duration::ZERO, true);
    e.pause();
    let (_, t) = feed(&mut e, &slide, &[0.0; 5], t, false);
    assert!(!e.stats().position_lost);
    // No frame for two seconds: where the slide went is unknown.
    let t = t + Duration::from_secs(2);
    let (_, t) = feed(&mut e, &slide, &[0.0; 5], t, false);
    assert!(e.stats().position_lost);
    assert!(!e.resume(), "the position was lost");
    assert!(!e.stats().position_lost, "reported once");
    // Assumed where it was: the cell in view is the one counted before.
    let (asked, _) = feed(&mut e, &slide, &[0.0; 12], t, true);
    assert!(asked.is_empty());
    assert!(e.resume());
}

#[test]
fn nothing_is_asked_while_panning_and_odd_frames_do_not_panic() {
    let slide = slide();
    let mut e = engine();
    let xs: Vec<f64> = (0..30).map(|k| f64::from(k) * 40.0).collect();
    assert!(run(&mut e, &slide, &xs).is_empty());
    assert!(!e.stats().steady);
    for size in [(0, 0), (3, 2), (640, 480), (17, 900)] {
        e.on_frame(&RgbImage::new(size.0, size.1), Duration::from_secs(9));
    }
    e.on_frame(&RgbImage::new(640, 480), Duration::from_secs(1));
}

#[test]
fn target_stops_classification_and_a_new_slide_forgets_the_cells() {
    let slide = slide();
    let mut e = LiveEngine::new(
        &LiveConfig::default(),
        LocatorParams::default(),
        0.5,
        Some(1),
    );
    let asked = run(&mut e, &slide, &[0.0; 12]);
    assert_eq!(asked.len(), 1);
    assert!(e.target_reached());
    e.new_slide(None);
    assert_eq!(e.stats().counted, 0);
    assert!(e.tracker().cells().is_empty());
    let asked = run(&mut e, &slide, &[0.0; 12]);
    assert_eq!(
        asked.len(),
        1,
        "the same field is a new cell on a new slide"
    );
}
