//! The event loop with test devices: failures are shown and never stop counting.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hematovision::app::{App, AppSettings, CellFinder, CountOutcome, Devices, FoundCell};
use hematovision::camera::{CameraError, Frame, FrameSource};
use hematovision::hw::button::ButtonEvent;
use hematovision::hw::display::transport::TransportError;
use hematovision::hw::display::{Display, DisplayError, Screen, Status, UNSURE_REMOVED};
use hematovision::model::litert::{self, LiteRtError};
use hematovision::model::{CellAnswer, Classifier, ClassifyError, Provenance};
use image::RgbImage;
use support::NoButtons;

mod support;

/// Camera whose frames (or errors) are queued by the test.
struct QueueCamera(VecDeque<Result<(), CameraError>>);

impl FrameSource for QueueCamera {
    fn latest_frame(&mut self) -> Result<Frame, CameraError> {
        match self.0.pop_front().unwrap_or(Ok(())) {
            Ok(()) => Ok(Frame {
                image: RgbImage::new(8, 8),
                sequence: 0,
                timestamp: Duration::ZERO,
                origin: "test.jpg".into(),
            }),
            Err(e) => Err(e),
        }
    }
}

/// Finder that finds a cell unless told there is none.
struct Finder(bool);

impl CellFinder for Finder {
    fn find(&mut self, frame: &RgbImage) -> Option<FoundCell> {
        self.0.then(|| FoundCell {
            crop: frame.clone(),
            cells_in_view: 1,
        })
    }
}

/// Classifier returning queued probabilities.
struct Fixed {
    labels: Vec<String>,
    answers: VecDeque<Vec<f32>>,
}

impl Classifier for Fixed {
    fn labels(&self) -> &[String] {
        &self.labels
    }
    fn classify(&mut self, _: &RgbImage) -> Result<Vec<f32>, ClassifyError> {
        self.answers.pop_front().ok_or(ClassifyError::Engine {
            source: LiteRtError::Call {
                call: "no answer queued",
                status: litert::Status::RuntimeFailure,
            },
        })
    }
}

/// Display that records what it was asked to show, and may fail.
#[derive(Clone, Default)]
struct Recorder {
    shown: Arc<Mutex<Vec<Screen>>>,
    fail: bool,
}

impl Display for Recorder {
    fn show(&mut self, screen: &Screen) -> Result<(), DisplayError> {
        self.shown.lock().unwrap().push(screen.clone());
        if self.fail {
            Err(DisplayError::Write(TransportError {
                address: 0x3C,
                message: "unplugged".into(),
            }))
        } else {
            Ok(())
        }
    }
}

impl Recorder {
    /// Every status shown, oldest first.
    fn statuses(&self) -> Vec<Status> {
        self.shown
            .lock()
            .unwrap()
            .iter()
            .filter_map(|s| match s {
                Screen::Status { status, .. } => Some(status.clone()),
                _ => None,
            })
            .collect()
    }

    fn last_status(&self) -> Option<Status> {
        self.shown
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find_map(|s| match s {
                Screen::Status { status, .. } => Some(status.clone()),
                _ => None,
            })
    }
}

fn labels(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

const FOUR: [&str; 4] = ["EOSINOPHIL", "LYMPHOCYTE", "MONOCYTE", "NEUTROPHIL"];

fn start(
    dir: &std::path::Path,
    camera: Vec<Result<(), CameraError>>,
    finds: bool,
    answers: Vec<Vec<f32>>,
    display: Recorder,
    class_names: &[&str],
) -> App {
    let devices = Devices {
        camera: Box::new(QueueCamera(camera.into())),
        finder: Box::new(Finder(finds)),
        classifier: Box::new(Fixed {
            labels: labels(class_names),
            answers: answers.into(),
        }),
        display: Box::new(display),
        buttons: Box::new(NoButtons),
    };
    let settings = AppSettings {
        target: 2,
        confidence_threshold: 0.6,
        outside_differential: vec!["ERYTHROBLAST".into()],
        data_dir: dir.to_path_buf(),
        save_crops: true,
    };
    App::start(devices, settings).unwrap()
}

#[test]
fn a_failing_display_never_stops_counting() {
    let dir = tempfile::tempdir().unwrap();
    let display = Recorder {
        fail: true,
        ..Recorder::default()
    };
    let mut app = start(
        dir.path(),
        vec![],
        true,
        vec![vec![0.9, 0.05, 0.03, 0.02]],
        display.clone(),
        &FOUR,
    );
    let outcome = app.handle(ButtonEvent::Count).unwrap();
    assert!(
        matches!(outcome, CountOutcome::Counted { .. }),
        "{outcome:?}"
    );
    assert_eq!(app.counter().session().unwrap().counts(), &[1, 0, 0, 0]);
    assert!(display.shown.lock().unwrap().len() >= 2, "it kept trying");
    // The crop that was classified is kept beside the journal.
    let crop = match outcome {
        CountOutcome::Counted { cell, .. } => cell.crop.unwrap(),
        _ => unreachable!(),
    };
    assert!(std::path::Path::new(&crop).exists());
}

#[test]
fn no_white_cell_counts_nothing_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let display = Recorder::default();
    let mut app = start(dir.path(), vec![], false, vec![], display.clone(), &FOUR);
    assert_eq!(app.handle(ButtonEvent::Count), Some(CountOutcome::NoCell));
    assert_eq!(app.counter().session().unwrap().total(), 0);
    assert_eq!(display.last_status(), Some(Status::NoWbc));
}

#[test]
fn a_missing_camera_shows_no_camera_and_bad_frames_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let display = Recorder::default();
    let bad = || {
        Err(CameraError::BadFrame {
            origin: "x.jpg".into(),
            reason: "corrupt".into(),
        })
    };
    let mut app = start(
        dir.path(),
        vec![
            Err(CameraError::Unavailable("unplugged".into())),
            bad(),
            Ok(()),
        ],
        true,
        vec![vec![0.1, 0.8, 0.05, 0.05]],
        display.clone(),
        &FOUR,
    );
    assert!(matches!(
        app.handle(ButtonEvent::Count),
        Some(CountOutcome::NoFrame(_))
    ));
    assert_eq!(display.last_status(), Some(Status::NoCamera));
    assert!(matches!(
        app.handle(ButtonEvent::Count),
        Some(CountOutcome::Counted { .. })
    ));
}

#[test]
fn unsure_cells_are_unidentified_and_undo_and_new_slide_work() {
    let dir = tempfile::tempdir().unwrap();
    let display = Recorder::default();
    let mut app = start(
        dir.path(),
        vec![],
        true,
        vec![vec![0.4, 0.3, 0.2, 0.1], vec![0.0, 0.0, 1.0, 0.0]],
        display.clone(),
        &FOUR,
    );
    app.handle(ButtonEvent::Count);
    app.handle(ButtonEvent::Count);
    let s = app.counter().session().unwrap();
    assert_eq!((s.unidentified(), s.counts()[2]), (1, 1));
    let first = s.id.clone();
    app.handle(ButtonEvent::Undo);
    // The screen names the class taken back, so the technician knows which cell left.
    assert_eq!(
        display.last_status(),
        Some(Status::Undone("MONOCYTE".into()))
    );
    assert_eq!(app.counter().session().unwrap().total(), 1);
    app.handle(ButtonEvent::Undo);
    assert_eq!(
        display.last_status(),
        Some(Status::Undone(UNSURE_REMOVED.into())),
        "an unidentified cell is named as the UNSURE one"
    );
    app.handle(ButtonEvent::NewSlide);
    assert_eq!(display.last_status(), Some(Status::NewSlide));
    let s = app.counter().session().unwrap();
    assert_ne!(s.id, first);
    assert_eq!(s.total(), 0);
}

#[test]
fn a_classifier_failure_is_shown_and_counts_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let display = Recorder::default();
    let mut app = start(dir.path(), vec![], true, vec![], display.clone(), &FOUR);
    assert!(matches!(
        app.handle(ButtonEvent::Count),
        Some(CountOutcome::Failed(_))
    ));
    assert!(matches!(display.last_status(), Some(Status::Error(_))));
    assert_eq!(app.counter().session().unwrap().total(), 0);
}

#[test]
fn restart_resumes_and_a_changed_model_starts_a_new_slide() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = start(
        dir.path(),
        vec![],
        true,
        vec![vec![0.9, 0.05, 0.03, 0.02]],
        Recorder::default(),
        &FOUR,
    );
    app.handle(ButtonEvent::Count);
    let id = app.counter().session().unwrap().id.clone();
    drop(app);
    let resumed = start(dir.path(), vec![], true, vec![], Recorder::default(), &FOUR);
    assert_eq!(resumed.counter().session().unwrap().id, id);
    assert_eq!(resumed.counter().session().unwrap().total(), 1);
    drop(resumed);
    let other = start(
        dir.path(),
        vec![],
        true,
        vec![],
        Recorder::default(),
        &["A", "B"],
    );
    let s = other.counter().session().unwrap();
    assert_ne!(s.id, id, "slide counted with other classes is not mixed");
    assert_eq!(s.labels, labels(&["A", "B"]));
    let old = hematovision::store::read_session(dir.path(), Some(&id)).unwrap();
    assert!(!old.counter.session().unwrap().is_open());
}

#[test]
fn reaching_the_target_is_announced() {
    let dir = tempfile::tempdir().unwrap();
    let display = Recorder::default();
    let mut app = start(
        dir.path(),
        vec![],
        true,
        vec![vec![0.9, 0.05, 0.03, 0.02], vec![0.9, 0.05, 0.03, 0.02]],
        display.clone(),
        &FOUR,
    );
    app.handle(ButtonEvent::Count);
    app.handle(ButtonEvent::Count);
    assert!(app.counter().session().unwrap().target_reached());
    // The result stays up a moment, then the loop shows TARGET REACHED.
    app.run().unwrap();
    std::thread::sleep(Duration::from_millis(1600));
    app.run().unwrap();
    // Shown by the loop once due, then replaced by STOPPED as the loop quits.
    let statuses = display.statuses();
    assert_eq!(
        statuses[statuses.len() - 2..],
        [Status::TargetReached, Status::Stopped]
    );
}

#[test]
fn quitting_leaves_the_stopped_screen() {
    let dir = tempfile::tempdir().unwrap();
    let display = Recorder::default();
    let mut app = start(dir.path(), vec![], true, vec![], display.clone(), &FOUR);
    app.run().unwrap();
    assert_eq!(display.last_status(), Some(Status::Stopped));
}

const SEVEN: [&str; 7] = [
    "EOSINOPHIL",
    "LYMPHOCYTE",
    "MONOCYTE",
    "NEUTROPHIL",
    "BASOPHIL",
    "ERYTHROBLAST",
    "IG",
];

fn certain(class: usize) -> Vec<f32> {
    let mut p = vec![0.0; 7];
    p[class] = 1.0;
    p
}

#[test]
fn a_seven_class_model_counts_erythroblasts_per_100_white_cells() {
    let dir = tempfile::tempdir().unwrap();
    let display = Recorder::default();
    // A basophil, an IG, an erythroblast and a neutrophil: target 2 is reached by the two
    // white cells after the basophil only, never by the erythroblast.
    let mut app = start(
        dir.path(),
        vec![],
        true,
        vec![certain(4), certain(5), certain(6), certain(3)],
        display.clone(),
        &SEVEN,
    );
    app.handle(ButtonEvent::Count);
    app.handle(ButtonEvent::Count);
    let s = app.counter().session().unwrap();
    assert_eq!(s.outside_differential, ["ERYTHROBLAST"]);
    assert_eq!(s.differential_total(), 1);
    assert!(!s.target_reached(), "an erythroblast is not a white cell");
    // The result screen names the erythroblast; its tally keeps it out of the differential.
    let last_result = display
        .shown
        .lock()
        .unwrap()
        .iter()
        .rev()
        .find_map(|s| match s {
            Screen::Result { label, tally, .. } => Some((label.clone(), tally.clone())),
            _ => None,
        })
        .unwrap();
    assert_eq!(last_result.0, "ERYTHROBLAST");
    assert_eq!(last_result.1.differential_total(), 1);
    app.handle(ButtonEvent::Count);
    app.handle(ButtonEvent::Count);
    let s = app.counter().session().unwrap();
    assert_eq!(s.counts(), &[0, 0, 0, 1, 1, 1, 1]);
    assert_eq!((s.differential_total(), s.total()), (3, 4));
    assert!(s.target_reached());
    let pct = s.percentages();
    assert!((pct[4] - 100.0 / 3.0).abs() < 1e-9 && (pct[6] - 100.0 / 3.0).abs() < 1e-9);
    assert_eq!(pct[5], 0.0);
    let per_100 = s.per_100_wbc();
    assert!((per_100[5].unwrap() - 100.0 / 3.0).abs() < 1e-9);
    assert_eq!(per_100[4], None);
    let counted = s.clone();
    drop(app);
    // The journal replays to exactly the same slide, and a restart resumes it.
    let replay = hematovision::store::read_session(dir.path(), None).unwrap();
    assert!(replay.problems.is_empty(), "{:?}", replay.problems);
    assert_eq!(replay.counter.session().unwrap(), &counted);
    let resumed = start(
        dir.path(),
        vec![],
        true,
        vec![],
        Recorder::default(),
        &SEVEN,
    );
    assert_eq!(resumed.counter().session().unwrap(), &counted);
}

#[test]
fn a_four_class_slide_journals_no_outside_classes() {
    let dir = tempfile::tempdir().unwrap();
    let app = start(dir.path(), vec![], true, vec![], Recorder::default(), &FOUR);
    assert!(
        app.counter()
            .session()
            .unwrap()
            .outside_differential
            .is_empty()
    );
    drop(app);
    let journal = std::fs::read_dir(dir.path().join("journal"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect::<String>();
    assert!(journal.contains("\"session_started\""), "{journal}");
    assert!(!journal.contains("outside_differential"), "{journal}");
}

/// A classifier with a gate: queued answers, each flagged unfamiliar or not.
struct Gated {
    inner: Fixed,
    flags: VecDeque<bool>,
}

impl Classifier for Gated {
    fn labels(&self) -> &[String] {
        self.inner.labels()
    }
    fn classify(&mut self, image: &RgbImage) -> Result<Vec<f32>, ClassifyError> {
        self.inner.classify(image)
    }
    fn classify_cell(&mut self, image: &RgbImage) -> Result<CellAnswer, ClassifyError> {
        Ok(CellAnswer {
            probabilities: self.inner.classify(image)?,
            unfamiliar: self.flags.pop_front().unwrap_or(false),
        })
    }
    fn provenance(&self) -> Provenance {
        Provenance {
            model: Some("gated 1".into()),
            gate: Some("sha256:0123456789ab".into()),
            ..Provenance::default()
        }
    }
}

#[test]
fn an_unfamiliar_cell_is_shown_as_such_and_kept_out_of_the_differential() {
    let dir = tempfile::tempdir().unwrap();
    let display = Recorder::default();
    let confident_lymphocyte = vec![0.01, 0.97, 0.01, 0.01];
    let devices = Devices {
        camera: Box::new(QueueCamera(VecDeque::new())),
        finder: Box::new(Finder(true)),
        classifier: Box::new(Gated {
            inner: Fixed {
                labels: labels(&FOUR),
                answers: vec![confident_lymphocyte.clone(); 2].into(),
            },
            flags: vec![true, false].into(),
        }),
        display: Box::new(display.clone()),
        buttons: Box::new(NoButtons),
    };
    let settings = AppSettings {
        target: 100,
        confidence_threshold: 0.6,
        outside_differential: Vec::new(),
        data_dir: dir.path().to_path_buf(),
        save_crops: true,
    };
    let mut app = App::start(devices, settings).unwrap();
    assert_eq!(
        app.counter().session().unwrap().gate.as_deref(),
        Some("sha256:0123456789ab"),
        "the slide records the gate that checks it"
    );
    app.handle(ButtonEvent::Count);
    let last_result = || {
        display
            .shown
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find_map(|s| match s {
                Screen::Result {
                    unsure, unfamiliar, ..
                } => Some((*unsure, *unfamiliar)),
                _ => None,
            })
    };
    assert_eq!(last_result(), Some((true, true)));
    let s = app.counter().session().unwrap();
    assert_eq!((s.unidentified(), s.unfamiliar(), s.counts()[1]), (1, 1, 0));
    assert!(s.cells()[0].unfamiliar);
    app.handle(ButtonEvent::Count);
    assert_eq!(last_result(), Some((false, false)));
    let s = app.counter().session().unwrap();
    assert_eq!((s.unidentified(), s.counts()[1]), (1, 1));
    // Undo names the unfamiliar cell as the unidentified one it was.
    app.handle(ButtonEvent::Undo);
    app.handle(ButtonEvent::Undo);
    assert_eq!(
        display.last_status(),
        Some(Status::Undone(UNSURE_REMOVED.into()))
    );
}
