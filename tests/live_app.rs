//! Live mode in the event loop: a simulated scan through the app, counts journaled like
//! button counts, target and toggling.

use std::collections::VecDeque;
use std::path::Path;
use std::time::Duration;

use hematovision::app::{App, AppSettings, CountOutcome, Devices, LocatorFinder};
use hematovision::camera::scan::Scenario;
use hematovision::camera::{CameraError, Frame, FrameSource, ScanSource};
use hematovision::eval::sim::{Effects, Pose, Renderer, Slide};
use hematovision::hw::button::ButtonEvent;
use hematovision::hw::display::{Display, DisplayError, Screen};
use hematovision::live::LiveConfig;
use hematovision::vision::LocatorParams;
use support::{Always, NoButtons};

mod support;

/// A camera scanning a stitched slide of fixture fields along a path of x positions.
struct ScanCamera {
    slide: Slide,
    xs: VecDeque<f64>,
    last: f64,
    renderer: Renderer,
    sequence: u64,
}

impl ScanCamera {
    fn new(xs: Vec<f64>) -> Self {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bccd");
        ScanCamera {
            slide: Slide::from_bccd(&dir, 3, 1, 3).unwrap(),
            last: xs.first().copied().unwrap_or(0.0),
            xs: xs.into(),
            renderer: Renderer::new(640, 480),
            sequence: 0,
        }
    }
}

impl FrameSource for ScanCamera {
    fn latest_frame(&mut self) -> Result<Frame, CameraError> {
        let x = self.xs.pop_front().ok_or(CameraError::Exhausted)?;
        let pose = Pose {
            x,
            y: 0.0,
            vx: x - self.last,
            vy: 0.0,
        };
        self.last = x;
        let effects = Effects {
            exposure: 0.0,
            defocus: 0,
            gain: 1.0,
            jpeg_quality: 100,
        };
        let image = self.renderer.render(&self.slide.image, &pose, &effects);
        self.sequence += 1;
        Ok(Frame {
            image,
            sequence: self.sequence,
            timestamp: Duration::from_millis(self.sequence * 33),
            origin: format!("scan:{}", self.sequence),
        })
    }
}

struct Quiet;

impl Display for Quiet {
    fn show(&mut self, _: &Screen) -> Result<(), DisplayError> {
        Ok(())
    }
}

/// Still on the first field, pan to the third, still, and back to the first, still.
fn there_and_back() -> Vec<f64> {
    let mut xs = vec![0.0; 12];
    xs.extend((1..=20).map(|k| f64::from(k) * 64.0));
    xs.extend(vec![1280.0; 12]);
    xs.extend((1..=20).rev().map(|k| f64::from(k - 1) * 64.0));
    xs.extend(vec![0.0; 12]);
    xs
}

fn start(dir: &Path, xs: Vec<f64>, target: u32) -> App {
    start_with(dir, Box::new(ScanCamera::new(xs)), target)
}

fn start_with(dir: &Path, camera: Box<dyn FrameSource>, target: u32) -> App {
    let labels = ["EOSINOPHIL", "LYMPHOCYTE", "MONOCYTE", "NEUTROPHIL"];
    let devices = Devices {
        camera,
        finder: Box::new(LocatorFinder::new(LocatorParams::default(), 0.5, None)),
        classifier: Box::new(Always::new(&labels, vec![0.05, 0.05, 0.05, 0.85])),
        display: Box::new(Quiet),
        buttons: Box::new(NoButtons),
    };
    let settings = AppSettings {
        target,
        confidence_threshold: 0.6,
        outside_differential: vec!["ERYTHROBLAST".into()],
        data_dir: dir.to_path_buf(),
        save_crops: true,
    };
    App::start(devices, settings).unwrap()
}

/// Live mode as `[live] enabled = true` sets it: on from the start.
fn live_on_at_start() -> LiveConfig {
    LiveConfig {
        enabled: true,
        ..LiveConfig::default()
    }
}

fn scan_until_off(app: &mut App) -> Vec<CountOutcome> {
    let mut outcomes = Vec::new();
    for _ in 0..1000 {
        if !app.live_active() {
            break;
        }
        outcomes.extend(app.live_step());
    }
    outcomes
}

#[test]
fn live_scan_counts_each_cell_once_journaled_with_its_crop() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = start(dir.path(), there_and_back(), 100);
    app.configure_live(&LiveConfig::default(), LocatorParams::default(), 0.5);
    assert!(!app.live_active());
    app.handle(ButtonEvent::ToggleLive);
    assert!(app.live_active());
    let outcomes = scan_until_off(&mut app);
    assert!(!app.live_active(), "the scan ran out of frames");
    assert_eq!(outcomes.len(), 2, "{outcomes:?}");
    for o in &outcomes {
        let CountOutcome::Counted { cell, .. } = o else {
            panic!("{o:?}")
        };
        assert!(Path::new(cell.crop.as_ref().unwrap()).exists());
    }
    assert_eq!(app.counter().session().unwrap().counts(), &[0, 0, 0, 2]);
    assert_eq!(app.live_stats().unwrap().counted, 2);
    // Undo works on a live count like on a button count, and the journal resumes.
    app.handle(ButtonEvent::Undo);
    assert_eq!(app.counter().session().unwrap().total(), 1);
    drop(app);
    let app = start(dir.path(), vec![], 100);
    assert_eq!(app.counter().session().unwrap().total(), 1);
}

#[test]
fn live_mode_on_a_simulated_scan_counts_every_white_cell_once() {
    // What `[camera] source = "scan"` gives the demo, on a slide of the first three of its
    // pictures (fields 0, 3 and 9: one white cell each) so a debug build scans it quickly:
    // stitched side by side and scanned with stops over every part, unpaced (the frames
    // and their timestamps are those of the paced source, without the waiting). No tremor
    // and no JPEG, so still frames are exact crops and cheap to render.
    let fields = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bccd/JPEGImages");
    let scenario = Scenario {
        fields: (3, 1),
        tremor: 0.0,
        jpeg_quality: 100,
        ..Scenario::by_name("steady-pans").unwrap()
    };
    let camera = ScanSource::open(&fields, &scenario, false, u64::MAX)
        .unwrap()
        .unpaced();
    assert_eq!(camera.slide().dimensions(), (3 * 640, 480));
    let frames = camera.len();
    let dir = tempfile::tempdir().unwrap();
    let mut app = start_with(dir.path(), Box::new(camera), 100);
    app.configure_live(&live_on_at_start(), LocatorParams::default(), 0.5);
    let mut outcomes = Vec::new();
    for _ in 0..=frames {
        if !app.live_active() {
            break;
        }
        outcomes.extend(app.live_step());
    }
    assert!(!app.live_active(), "the scan ends and live mode with it");
    let counted = app.counter().session().unwrap().total() as usize;
    assert_eq!(counted, outcomes.len());
    assert_eq!(
        counted, 3,
        "every white cell once, none twice: {outcomes:?}"
    );
    // Every count is journaled with its frame, as a button count is.
    let journal = std::fs::read_dir(dir.path().join("journal")).unwrap();
    let text: String = journal
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert_eq!(text.matches("\"frame\":\"scan frame ").count(), counted);
}

#[test]
fn live_mode_stops_at_the_target() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = start(dir.path(), there_and_back(), 1);
    app.configure_live(&live_on_at_start(), LocatorParams::default(), 0.5);
    assert!(app.live_active(), "enabled in the config: on at start");
    let outcomes = scan_until_off(&mut app);
    assert_eq!(outcomes.len(), 1);
    assert!(!app.live_active());
    assert!(app.counter().session().unwrap().target_reached());
    app.handle(ButtonEvent::ToggleLive);
    assert!(!app.live_active(), "no live mode past the target");
}

#[test]
fn the_live_button_without_live_setup_does_nothing_and_toggles_off() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = start(dir.path(), vec![0.0; 3], 100);
    app.handle(ButtonEvent::ToggleLive);
    assert!(!app.live_active());
    assert!(app.live_step().is_empty());
    app.configure_live(&LiveConfig::default(), LocatorParams::default(), 0.5);
    app.handle(ButtonEvent::ToggleLive);
    assert!(app.live_active());
    app.handle(ButtonEvent::ToggleLive);
    assert!(!app.live_active());
    assert_eq!(app.counter().session().unwrap().total(), 0);
}

/// Takes `n` frames through the app (live or following while off) and returns the counts.
fn steps(app: &mut App, n: usize) -> Vec<CountOutcome> {
    (0..n).flat_map(|_| app.live_step()).collect()
}

#[test]
fn toggling_live_off_and_on_while_the_slide_moves_never_counts_a_cell_twice() {
    let dir = tempfile::tempdir().unwrap();
    let mut xs = vec![0.0; 12];
    // Live off from here: to the third field, and a pause there.
    xs.extend((1..=20).map(|k| f64::from(k) * 64.0));
    xs.extend(vec![1280.0; 10]);
    // Live on again: the third field, then back to the first.
    xs.extend(vec![1280.0; 12]);
    xs.extend((0..20).rev().map(|k| f64::from(k) * 64.0));
    xs.extend(vec![0.0; 12]);
    let mut app = start(dir.path(), xs, 100);
    app.configure_live(&LiveConfig::default(), LocatorParams::default(), 0.5);
    assert!(
        !app.live_following(),
        "nothing counted yet: no frames taken while off"
    );
    app.handle(ButtonEvent::ToggleLive);
    assert_eq!(steps(&mut app, 12).len(), 1, "the first field's cell");
    app.handle(ButtonEvent::ToggleLive);
    assert!(!app.live_active());
    assert!(
        app.live_following(),
        "a counted cell to protect: the slide is followed"
    );
    assert!(
        steps(&mut app, 30).is_empty(),
        "nothing is counted while off"
    );
    app.handle(ButtonEvent::ToggleLive);
    let outcomes = scan_until_off(&mut app);
    assert_eq!(
        outcomes.len(),
        1,
        "only the third field's cell: {outcomes:?}"
    );
    assert_eq!(app.counter().session().unwrap().counts(), &[0, 0, 0, 2]);
}

#[test]
fn an_undone_live_count_stays_seen_and_is_not_counted_again() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = start(dir.path(), there_and_back(), 100);
    app.configure_live(&LiveConfig::default(), LocatorParams::default(), 0.5);
    app.handle(ButtonEvent::ToggleLive);
    assert_eq!(steps(&mut app, 12).len(), 1);
    // The technician rejects that count.
    app.handle(ButtonEvent::Undo);
    assert_eq!(app.counter().session().unwrap().total(), 0);
    assert!(app.live_active(), "undo does not stop live mode");
    // Over to the third field and back: the rejected cell is in view again, still.
    let outcomes = scan_until_off(&mut app);
    assert_eq!(
        outcomes.len(),
        1,
        "only the third field's cell: {outcomes:?}"
    );
    assert_eq!(app.counter().session().unwrap().total(), 1);
}
