//! Scoring live mode on simulated scans: the library side of `hematovision live-eval`.

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::sim::{FRAME_SIZE, Renderer, Scan, Scenario, SlideError};
use crate::live::{LiveAction, LiveConfig, LiveEngine};
use crate::model::Classifier;
use crate::vision::LocatorParams;

/// Errors of an evaluation.
#[derive(Debug, thiserror::Error)]
pub enum LiveEvalError {
    /// No standard scenario has this name.
    #[error("unknown scenario {name:?}: choose one of {known}")]
    UnknownScenario {
        /// The name asked for.
        name: String,
        /// The known names, comma-separated.
        known: String,
    },
    /// The virtual slide could not be built.
    #[error(transparent)]
    Slide(#[from] SlideError),
}

/// What the evaluation runs live mode with.
#[derive(Debug, Clone)]
pub struct LiveEvalOptions {
    /// Live-mode settings.
    pub live: LiveConfig,
    /// Locator settings.
    pub locator: LocatorParams,
    /// How much of the crop's side the cell fills ([`crate::model::ModelBundle::cell_fraction`]).
    pub cell_fraction: f32,
    /// BCCD fields folder the slides are stitched from
    /// (default: [`super::sim::Slide::default_fields_dir`]).
    pub fields_dir: PathBuf,
}

impl Default for LiveEvalOptions {
    fn default() -> Self {
        LiveEvalOptions {
            live: LiveConfig::default(),
            locator: LocatorParams::default(),
            cell_fraction: crate::model::DEFAULT_CELL_FRACTION,
            fields_dir: super::sim::Slide::default_fields_dir(),
        }
    }
}

/// Figures of one scenario.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LiveEvalReport {
    /// Scenario name.
    pub scenario: String,
    /// Frames processed.
    pub frames: usize,
    /// Ground-truth white cells the technician looked at (whole in view while the camera
    /// was still for 0.3 s): the cells live mode must count.
    pub truth: usize,
    /// White cells on the slide that were whole in at least one frame.
    pub seen: usize,
    /// Counts made by live mode (every classification request answered).
    pub counted: usize,
    /// Ground-truth cells never counted.
    pub missed: usize,
    /// Extra counts of a cell already counted.
    pub double: usize,
    /// Counts of something that is not an annotated white cell (locator false positives).
    pub spurious: usize,
    /// Fraction of `truth` missed.
    pub missed_rate: f64,
    /// `double` over the cells counted at least once.
    pub double_rate: f64,
    /// Class accuracy of counted cells that match a ground-truth cell (`None` without a
    /// classifier).
    pub accuracy: Option<f64>,
    /// Classifier failures (the cell is asked for again later).
    pub classify_errors: usize,
    /// Frames per second live mode can take on one core (frames / time spent in the
    /// engine, classification excluded).
    pub fps: f64,
    /// Frames per second of engine CPU time: what one core sustains when live mode has
    /// it to itself (`fps` is wall-clock and includes waiting on a shared machine).
    pub fps_cpu: f64,
    /// Mean CPU time per frame in the engine (thread CPU time), milliseconds.
    pub cpu_ms_per_frame: f64,
    /// 95th percentile of wall time per frame in the engine, milliseconds.
    pub ms_p95: f64,
    /// Frames on which the locator ran.
    pub located_frames: u64,
    /// Mean time per classification, milliseconds (`None` without a classifier).
    pub classify_ms_mean: Option<f64>,
}

/// CPU time of the calling thread from `/proc/thread-self/schedstat`, if readable: what a
/// measurement costs on a machine shared with other work, where wall time also counts the
/// waiting.
pub fn thread_cpu() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

/// Runs live mode over one scenario. With a classifier every requested crop is classified
/// and scored against the cell's annotated class; without, cells are counted unclassified
/// (counting-only figures).
pub fn evaluate_scenario(
    scenario: &Scenario,
    options: &LiveEvalOptions,
    mut classifier: Option<&mut dyn Classifier>,
) -> Result<LiveEvalReport, LiveEvalError> {
    let scan = Scan::build(scenario, &options.fields_dir)?;
    let exposure = scan.exposure();
    let mut engine = LiveEngine::new(
        &options.live,
        options.locator.clone(),
        options.cell_fraction,
        None,
    );
    let mut renderer = Renderer::new(FRAME_SIZE.0, FRAME_SIZE.1);
    let n_cells = scan.slide.cells.len();
    let mut counts = vec![0usize; n_cells];
    let (mut spurious, mut right, mut judged, mut errors) = (0, 0, 0, 0);
    let mut engine_time = Duration::ZERO;
    let mut cpu_time = Duration::ZERO;
    let mut per_frame = Vec::with_capacity(scan.len());
    let mut classify_time = Duration::ZERO;
    let mut classified = 0u32;
    for i in 0..scan.len() {
        let Some(frame) = scan.frame(i, &mut renderer) else {
            break;
        };
        let cpu0 = thread_cpu();
        let t0 = Instant::now();
        let actions = engine.on_frame(&frame.image, frame.t);
        let spent = t0.elapsed();
        if let (Some(a), Some(b)) = (cpu0, thread_cpu()) {
            cpu_time += b.saturating_sub(a);
        }
        engine_time += spent;
        per_frame.push(spent);
        for action in actions {
            let LiveAction::Classify {
                crop,
                cell_id,
                cell,
                ..
            } = action;
            let truth = scan.cell_at(i, cell.centre());
            let mut label = None;
            if let Some(c) = classifier.as_deref_mut() {
                let t0 = Instant::now();
                let result = c.classify(&crop);
                classify_time += t0.elapsed();
                classified += 1;
                match result {
                    Ok(p) => {
                        let best = p
                            .iter()
                            .enumerate()
                            .max_by(|a, b| a.1.total_cmp(b.1))
                            .map(|(k, _)| k);
                        label = best.and_then(|k| c.labels().get(k).cloned());
                    }
                    Err(e) => {
                        log::warn!("{}: frame {i}: {e}", scenario.name);
                        errors += 1;
                        engine.not_counted(cell_id);
                        continue;
                    }
                }
            }
            engine.counted(cell_id);
            match truth {
                Some(k) => {
                    counts[k] += 1;
                    if let Some(label) = label
                        && counts[k] == 1
                    {
                        judged += 1;
                        if label.eq_ignore_ascii_case(&scan.slide.cells[k].class) {
                            right += 1;
                        }
                    }
                }
                None => {
                    // With -v: where a count matched no annotated cell, to see why.
                    log::debug!(
                        "{}: frame {i}: counted cell at {:?} (frame pixels) is no annotated cell",
                        scenario.name,
                        cell
                    );
                    spurious += 1;
                }
            }
        }
    }
    for (cell, (visited, n)) in scan
        .slide
        .cells
        .iter()
        .zip(exposure.visited.iter().zip(&counts))
    {
        // With -v: which cells were missed or counted twice, to look at them.
        if (*visited && *n == 0) || *n > 1 {
            log::debug!(
                "{}: cell {} ({}, from {}) counted {n} times",
                scenario.name,
                cell.index,
                cell.class,
                cell.field
            );
        }
    }
    let truth = exposure.visited.iter().filter(|v| **v).count();
    let missed = exposure
        .visited
        .iter()
        .zip(&counts)
        .filter(|(v, n)| **v && **n == 0)
        .count();
    let double: usize = counts.iter().map(|n| n.saturating_sub(1)).sum();
    let once = counts.iter().filter(|n| **n > 0).count();
    let frames = per_frame.len();
    per_frame.sort();
    let p95 = per_frame
        .get((frames * 95 / 100).min(frames.saturating_sub(1)))
        .copied()
        .unwrap_or_default();
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    Ok(LiveEvalReport {
        scenario: scenario.name.to_string(),
        frames,
        truth,
        seen: exposure.seen.iter().filter(|v| **v).count(),
        counted: counts.iter().sum::<usize>() + spurious,
        missed,
        double,
        spurious,
        missed_rate: ratio(missed, truth),
        double_rate: ratio(double, once),
        accuracy: (classifier.is_some() && judged > 0).then(|| ratio(right, judged)),
        classify_errors: errors,
        fps: if engine_time.is_zero() {
            0.0
        } else {
            frames as f64 / engine_time.as_secs_f64()
        },
        fps_cpu: if cpu_time.is_zero() {
            0.0
        } else {
            frames as f64 / cpu_time.as_secs_f64()
        },
        cpu_ms_per_frame: if frames == 0 {
            0.0
        } else {
            cpu_time.as_secs_f64() * 1000.0 / frames as f64
        },
        ms_p95: p95.as_secs_f64() * 1000.0,
        located_frames: engine.stats().located_frames,
        classify_ms_mean: (classified > 0)
            .then(|| classify_time.as_secs_f64() * 1000.0 / f64::from(classified)),
    })
}

/// Runs live mode over the named scenario, or over every standard scenario when `name` is
/// `None`: the entry point of `hematovision live-eval [--scenario NAME]`.
pub fn live_eval(
    name: Option<&str>,
    options: &LiveEvalOptions,
    mut classifier: Option<&mut dyn Classifier>,
) -> Result<Vec<LiveEvalReport>, LiveEvalError> {
    let scenarios = match name {
        Some(n) => vec![
            Scenario::by_name(n).ok_or_else(|| LiveEvalError::UnknownScenario {
                name: n.to_string(),
                known: Scenario::names().join(", "),
            })?,
        ],
        None => Scenario::standard(),
    };
    let mut reports = Vec::with_capacity(scenarios.len());
    for s in &scenarios {
        let c: Option<&mut dyn Classifier> = match classifier {
            Some(ref mut c) => Some(&mut **c),
            None => None,
        };
        reports.push(evaluate_scenario(s, options, c)?);
    }
    Ok(reports)
}

/// Prints the reports as a table a person reads, with the targets.
pub fn print_reports(reports: &[LiveEvalReport], out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(
        out,
        "{:<16} {:>6} {:>6} {:>5} {:>8} {:>10} {:>10} {:>9} {:>9} {:>7} {:>8} {:>8}",
        "scenario",
        "frames",
        "truth",
        "seen",
        "counted",
        "missed",
        "double",
        "spurious",
        "accuracy",
        "fps",
        "fps/cpu",
        "cpu ms"
    )?;
    for r in reports {
        let accuracy = r
            .accuracy
            .map_or("-".to_string(), |a| format!("{:.1}%", a * 100.0));
        writeln!(
            out,
            "{:<16} {:>6} {:>6} {:>5} {:>8} {:>10} {:>10} {:>9} {:>9} {:>7.1} {:>8.1} {:>8.2}",
            r.scenario,
            r.frames,
            r.truth,
            r.seen,
            r.counted,
            format!("{} ({:.1}%)", r.missed, r.missed_rate * 100.0),
            format!("{} ({:.1}%)", r.double, r.double_rate * 100.0),
            r.spurious,
            accuracy,
            r.fps,
            r.fps_cpu,
            r.cpu_ms_per_frame
        )?;
    }
    writeln!(
        out,
        "targets: missed <= 2%, double <= 1% per scenario; >= 30 fps of 640x480 on one core"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ClassifyError;

    fn options() -> LiveEvalOptions {
        LiveEvalOptions {
            fields_dir: std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/bccd"),
            ..LiveEvalOptions::default()
        }
    }

    fn tiny() -> Scenario {
        Scenario {
            fields: (2, 1),
            jpeg_quality: 100,
            ..Scenario::by_name("steady-pans").unwrap()
        }
    }

    struct Says(Vec<String>);

    impl Classifier for Says {
        fn labels(&self) -> &[String] {
            &self.0
        }
        fn classify(&mut self, _: &image::RgbImage) -> Result<Vec<f32>, ClassifyError> {
            Ok(vec![0.1, 0.9])
        }
    }

    #[test]
    fn a_small_scan_is_scored_with_and_without_a_classifier() {
        let report = evaluate_scenario(&tiny(), &options(), None).unwrap();
        assert_eq!(
            (report.truth, report.missed, report.double),
            (2, 0, 0),
            "{report:?}"
        );
        assert_eq!(report.counted, 2);
        assert!(report.accuracy.is_none());
        assert!(report.fps > 0.0 && report.frames > 50);
        let json = serde_json::to_value(&report).unwrap();
        for key in ["truth", "counted", "missed", "double", "accuracy", "fps"] {
            assert!(json.get(key).is_some(), "{key}");
        }
        let mut says = Says(vec!["LYMPHOCYTE".into(), "neutrophil".into()]);
        let report = evaluate_scenario(&tiny(), &options(), Some(&mut says)).unwrap();
        let scan = Scan::build(&tiny(), &options().fields_dir).unwrap();
        let neutrophils = scan
            .slide
            .cells
            .iter()
            .filter(|c| c.class == "NEUTROPHIL")
            .count();
        assert_eq!(report.accuracy, Some(neutrophils as f64 / 2.0));
        let mut text = Vec::new();
        print_reports(&[report], &mut text).unwrap();
        assert!(String::from_utf8(text).unwrap().contains("steady-pans"));
    }

    #[test]
    fn an_unknown_scenario_names_the_known_ones() {
        let err = live_eval(Some("sideways"), &options(), None).unwrap_err();
        assert!(err.to_string().contains("back-and-forth"), "{err}");
    }
}
