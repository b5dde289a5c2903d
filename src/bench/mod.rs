//! `hematovision bench`: how long a technician waits, measured.
//!
//! Times preprocessing and inference of a model on a real camera field's cell crop,
//! the same model and input in Google's reference Python interpreter when it is
//! installed, and the whole path from a button press to the display updated and the
//! count fsync'd (replay camera, simulated display, a journal in a temporary folder).

mod error;
mod station;
mod stats;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use serde::Serialize;

pub use error::BenchError;
pub use station::{StationBench, station_figures};
pub use stats::Summary;

use crate::app::{App, AppError, AppSettings, CellFinder, Devices, LocatorFinder};
use crate::camera::replay::ReplaySource;
use crate::hw::button::ButtonEvent;
use crate::hw::button::sim::ScriptedButtons;
use crate::hw::display::SimDisplay;
use crate::model::{Classifier, ClassifierOptions, TfliteClassifier};
use crate::vision::LocatorParams;

/// What to measure.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// The model.
    pub model: PathBuf,
    /// The runtime library, if not searched for.
    pub library: Option<PathBuf>,
    /// Inference threads; `None` = every core.
    pub threads: Option<std::num::NonZeroUsize>,
    /// Orientation views per classification; `None` = as the model's metadata says.
    pub views: Option<std::num::NonZeroUsize>,
    /// Timed repetitions of each measurement.
    pub iterations: usize,
    /// Folder of camera fields (the replay camera of the press-to-display path).
    pub fields: PathBuf,
    /// A calibration whose head answers (`None`: the shipped head), to time the
    /// recalibrated path.
    pub calibration: Option<PathBuf>,
    /// Also time the review station ([`station_figures`]).
    pub station: bool,
}

/// The measured figures (milliseconds unless named otherwise).
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    /// The model measured.
    pub model: String,
    /// The calibration answering (`sha256:<12 hex>`), `None` for the shipped head.
    pub calibration: Option<String>,
    /// Inference threads.
    pub threads: usize,
    /// Orientation views averaged per classification (one inference each).
    pub views: usize,
    /// Preprocessing (crop, resize, normalise, quantise) median.
    pub preprocess_ms_median: f64,
    /// Preprocessing 95th percentile.
    pub preprocess_ms_p95: f64,
    /// Inference (the runtime's run, one view) median.
    pub infer_ms_median: f64,
    /// Inference 95th percentile.
    pub infer_ms_p95: f64,
    /// A whole classification (preprocessing, then one inference per view, averaged) median.
    pub classify_ms_median: f64,
    /// Its 95th percentile.
    pub classify_ms_p95: f64,
    /// The reference Python interpreter's inference median on the same input, if available.
    pub reference_ms_median: Option<f64>,
    /// The reference's 95th percentile.
    pub reference_ms_p95: Option<f64>,
    /// Our inference median / the reference's (goal: at most 1.05).
    pub ratio: Option<f64>,
    /// Largest difference between our output and the reference's on the same input.
    pub reference_max_abs_diff: Option<f64>,
    /// Why the reference was not measured, if it was not.
    pub reference_note: Option<String>,
    /// Button press to display updated and count fsync'd, median.
    pub press_to_display_ms_median: f64,
    /// Its 95th percentile.
    pub press_to_display_ms_p95: f64,
    /// Locating the cell in a 640x480 field, median.
    pub locate_ms_median: f64,
    /// Peak resident memory of this process, in MiB.
    pub rss_mb: f64,
    /// CPU model and core count of the machine.
    pub machine: String,
    /// The review station's figures, when asked for.
    pub station: Option<StationBench>,
}

/// Runs every measurement.
pub fn run(options: &BenchOptions) -> Result<BenchReport, BenchError> {
    let mut classifier = TfliteClassifier::open(
        &options.model,
        options.library.as_deref(),
        &ClassifierOptions {
            threads: options.threads,
            views: options.views,
        },
    )
    .map_err(BenchError::Model)?;
    if let Some(path) = &options.calibration {
        classifier
            .load_calibration(path)
            .map_err(BenchError::Calibration)?;
    }
    let calibration = classifier.provenance().calibration;
    let info = classifier.info().clone();
    let cell_fraction = classifier.bundle().cell_fraction();

    let mut camera = ReplaySource::open(&options.fields, true).map_err(BenchError::Fields)?;
    let field = crate::camera::FrameSource::latest_frame(&mut camera)
        .map_err(BenchError::Fields)?
        .image;
    let params = LocatorParams::default();
    let mut finder = LocatorFinder::new(params.clone(), cell_fraction, None);
    let crop = finder
        .find(&field)
        .map(|f| f.crop)
        .unwrap_or_else(|| field.clone());

    let n = options.iterations.max(1);
    let locate = stats::time(n, || {
        std::hint::black_box(crate::vision::locate(&field, &params));
    });
    // Each half is timed back to back, as the reference interpreter is timed.
    let mut failure = None;
    let prep = stats::time(n, || {
        if let Err(e) = classifier.prepare(&crop) {
            failure.get_or_insert(e);
        }
    });
    let infer_s = stats::time(n, || {
        if let Err(e) = classifier.infer() {
            failure.get_or_insert(e);
        }
    });
    if let Some(e) = failure {
        return Err(BenchError::Classify(e));
    }
    // The reference runs our exact upright input tensor: time whole classifications first,
    // then prepare the upright view again.
    let classify = stats::time(n, || {
        // As the daemon classifies: one pass gives the answer and the gate's verdict.
        if let Err(e) = classifier.classify_cell(&crop) {
            failure.get_or_insert(e);
        }
    });
    if let Some(e) = failure {
        return Err(BenchError::Classify(e));
    }
    classifier.prepare(&crop).map_err(BenchError::Classify)?;

    let scratch = tempdir()?;
    let ours = classifier.infer().map_err(BenchError::Classify)?;
    let model = classifier.bundle().model_path().to_path_buf();
    let reference = reference_timing(&classifier, &model, info.threads, n, &scratch);

    let press = press_to_display(classifier, finder, options, &scratch, n)?;
    let station = if options.station {
        Some(station_figures(options, &crop, &scratch, n)?)
    } else {
        None
    };
    let _ = std::fs::remove_dir_all(&scratch);

    let (reference_ms_median, reference_ms_p95, ratio, diff, note) = match reference {
        Ok(r) => {
            let diff = max_abs_diff(&ours, &r.output);
            (
                Some(r.median_ms),
                Some(r.p95_ms),
                Some(infer_s.median_ms / r.median_ms),
                diff,
                None,
            )
        }
        Err(why) => (None, None, None, None, Some(why)),
    };
    Ok(BenchReport {
        model: info.to_string(),
        calibration,
        threads: info.threads,
        views: info.views,
        preprocess_ms_median: prep.median_ms,
        preprocess_ms_p95: prep.p95_ms,
        infer_ms_median: infer_s.median_ms,
        infer_ms_p95: infer_s.p95_ms,
        classify_ms_median: classify.median_ms,
        classify_ms_p95: classify.p95_ms,
        reference_ms_median,
        reference_ms_p95,
        ratio,
        reference_max_abs_diff: diff,
        reference_note: note,
        press_to_display_ms_median: press.median_ms,
        press_to_display_ms_p95: press.p95_ms,
        locate_ms_median: locate.median_ms,
        rss_mb: peak_rss_mb(),
        machine: machine(),
        station,
    })
}

/// The reference interpreter's answer.
#[derive(Debug, serde::Deserialize)]
struct Reference {
    median_ms: f64,
    p95_ms: f64,
    output: Vec<f64>,
}

/// Times the Python interpreter on our exact input tensor.
fn reference_timing(
    classifier: &TfliteClassifier,
    model: &Path,
    threads: usize,
    iterations: usize,
    scratch: &Path,
) -> Result<Reference, String> {
    let tensor = scratch.join("input.bin");
    let bytes = classifier.input_bytes().map_err(|e| e.to_string())?;
    std::fs::write(&tensor, bytes).map_err(|e| e.to_string())?;
    let script = scratch.join("reference_timing.py");
    std::fs::write(&script, include_str!("reference_timing.py")).map_err(|e| e.to_string())?;
    let out = Command::new("python3")
        .arg(&script)
        .arg(model)
        .arg(&tensor)
        .arg(threads.to_string())
        .arg(iterations.to_string())
        .output()
        .map_err(|e| format!("python3 not available: {e}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let last = err.lines().last().unwrap_or("failed");
        return Err(format!(
            "reference interpreter not available (pip install ai-edge-litert==2.3.0): {last}"
        ));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("unexpected reference output: {e}"))
}

/// Largest difference between our output and the reference's (both dequantised).
fn max_abs_diff(ours: &[f32], reference: &[f64]) -> Option<f64> {
    if ours.len() != reference.len() {
        return None;
    }
    Some(
        ours.iter()
            .zip(reference)
            .map(|(&a, &b)| (f64::from(a) - b).abs())
            .fold(0.0, f64::max),
    )
}

/// Presses the count button `n` times on the real loop and times each press.
fn press_to_display(
    classifier: TfliteClassifier,
    finder: LocatorFinder,
    options: &BenchOptions,
    scratch: &Path,
    n: usize,
) -> Result<Summary, BenchError> {
    let mut app = bench_app(classifier, finder, options, &scratch.join("data"))?;
    Ok(presses(&mut app, n))
}

/// The real loop over the replayed fields, a silent simulated display and a journal in
/// `data_dir`, pressed by [`App::handle`] calls.
fn bench_app(
    classifier: TfliteClassifier,
    finder: LocatorFinder,
    options: &BenchOptions,
    data_dir: &Path,
) -> Result<App, BenchError> {
    let camera = ReplaySource::open(&options.fields, true).map_err(BenchError::Fields)?;
    let display = SimDisplay::with_writer(Box::new(std::io::sink()), None)
        .map_err(|e| BenchError::Display(Box::new(e)))?;
    let devices = Devices {
        camera: Box::new(camera),
        finder: Box::new(finder),
        classifier: Box::new(classifier),
        display: Box::new(display),
        // Never polled: the presses are `App::handle` calls. An empty schedule presses nothing.
        buttons: Box::new(ScriptedButtons::new(Vec::new(), false)),
    };
    let settings = AppSettings {
        target: u32::MAX / 2,
        confidence_threshold: 0.0,
        outside_differential: Vec::new(),
        data_dir: data_dir.to_path_buf(),
        save_crops: true,
    };
    App::start(devices, settings).map_err(|e| match e {
        AppError::Store(e) => BenchError::Journal(e),
        AppError::Buttons(e) => BenchError::Buttons(e),
    })
}

/// Times `n` presses of the count button, from the press to the screen drawn.
fn presses(app: &mut App, n: usize) -> Summary {
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        app.handle(ButtonEvent::Count);
        times.push(t.elapsed());
    }
    Summary::of(&times)
}

fn tempdir() -> std::io::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("hematovision-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Peak resident set size from /proc (0 where unavailable).
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// CPU model name and core count.
fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    format!("{cpu}, {cores} cores")
}
