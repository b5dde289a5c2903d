//! Command-line interface: argument definitions and dispatch.

mod bench;
mod calibrate;
mod check;
mod classify;
mod devices;
mod doctor;
mod error_text;
mod eval;
mod export_cells;
mod live_eval;
mod locate_eval;
pub mod logging;
mod paths;
mod progress;
mod report;
mod run;
mod station;
pub mod version;

pub use error_text::describe;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// A white-blood-cell differential counter for a microscope camera.
#[derive(Debug, Parser)]
#[command(name = "hematovision", version, about, long_about = None)]
pub struct Cli {
    /// More log output (-v debug, -vv trace); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon: count cells on button presses until told to quit.
    Run {
        /// Configuration file.
        #[arg(long, default_value = paths::DEFAULT_CONFIG)]
        config: PathBuf,
        /// Data directory, overriding the configuration.
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Simulated presses: delays between them, e.g. `500ms,1s,undo:1s,new:2s`
        /// (overrides buttons.sim.presses).
        #[arg(long)]
        presses: Option<String>,
        /// Exit cleanly once the last scripted press has been handled.
        #[arg(long)]
        exit_when_done: bool,
        /// Start in live mode: count every new white cell while the slide is scanned
        /// (the live button or `l` switches it off and on).
        #[arg(long)]
        live: bool,
        /// Calibration file, overriding model.calibration (one refused for this model is
        /// reported loudly and the shipped head counts instead).
        #[arg(long)]
        calibration: Option<PathBuf>,
        /// The review station's address and port, overriding station.listen (with
        /// `[station] enabled = true`).
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
    },
    /// Run live mode over simulated slide scans (seeded scenarios with ground truth) and
    /// print cells missed and double-counted, class accuracy and speed.
    LiveEval {
        /// One scenario (steady-pans, back-and-forth, fast-scan-blur, flicker-focus);
        /// default: all of them.
        #[arg(long)]
        scenario: Option<String>,
        /// The model classifying counted cells (for class accuracy).
        #[command(flatten)]
        model: ModelArgs,
        /// Count only, without classifying (faster; no accuracy).
        #[arg(long)]
        no_classify: bool,
        /// One JSON object per scenario (truth, counted, missed, double, accuracy, fps, ...).
        #[arg(long)]
        json: bool,
        /// Take the locator (`[locator]`, e.g. `adaptive = true`) and live-mode (`[live]`)
        /// settings from this configuration file.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Classify image files once: class, confidence and every probability.
    Classify {
        /// Images (JPEG, PNG, BMP).
        #[arg(required = true)]
        images: Vec<PathBuf>,
        /// The model and its runtime.
        #[command(flatten)]
        model: ModelArgs,
        /// The head answering.
        #[command(flatten)]
        head: HeadArgs,
        /// The images are whole camera fields: find the white cell first.
        #[arg(long)]
        locate: bool,
        /// One JSON object per line (file, label, confidence, probabilities; with
        /// --locate or --reframe also the cells in view, the chosen cell's box and the
        /// measured red-cell size).
        #[arg(long)]
        json: bool,
        /// The images are already crops: find the white cell and re-frame it so it fills
        /// the model's cell_fraction (background padding) before classifying.
        #[arg(long, conflicts_with = "locate")]
        reframe: bool,
        /// Take the locator settings (`[locator]`) and the reticle (`[camera]`) from this
        /// configuration file for --locate and --reframe.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Score the white-cell locator on annotated camera fields (JPEGImages/ + Annotations/),
    /// on seeded synthetic shifts of them, or on single-cell crops (CLASS/*: is the chosen
    /// cell the centred one, and its box against expert masks).
    LocateEval {
        /// A folder in the BCCD layout, e.g. ../shared/datasets/bccd-fields, or of crops
        /// in CLASS/ sub-folders, e.g. ../shared/datasets/jtsc-wbc4/test.
        dir: PathBuf,
        /// Take the locator settings from this configuration file.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Score the fields changed by synthetic shifts: `all` or names separated by commas
        /// (hue+30, hue-30, yellow, blue-grey, bright+30, bright-30, scale0.5, scale1.5, mixed).
        #[arg(long)]
        shift: Option<String>,
        /// Seed of the `mixed` shift's random draws.
        #[arg(long, default_value_t = 20)]
        seed: u64,
        /// Expert masks of the crops (MASKS/<file name>, cell pixels non-zero): score the
        /// chosen cell's box against the mask's cell box.
        #[arg(long)]
        masks: Option<PathBuf>,
        /// One JSON object (recall, fp_per_field, fields, ms_median, ...).
        #[arg(long)]
        json: bool,
        /// Fields: score each field as its own session (the adaptive locator corrects each
        /// frame by its own red cells instead of the session's running median).
        #[arg(long)]
        per_frame: bool,
    },
    /// Measure a model on a labelled folder DIR/CLASS/*.jpg through the daemon's own path:
    /// accuracy, per-class precision/recall/F1, confusion matrix, speed.
    Eval {
        /// Folder with one subfolder per class (names matched case-insensitively).
        dir: PathBuf,
        /// The model and its runtime.
        #[command(flatten)]
        model: ModelArgs,
        /// The head answering.
        #[command(flatten)]
        head: HeadArgs,
        /// One JSON object (accuracy, n, per_class, confusion, ...).
        #[arg(long)]
        json: bool,
        /// Also write the confusion matrix as a PNG image.
        #[arg(long)]
        png: Option<PathBuf>,
        /// DIR holds whole camera fields in the BCCD layout: locate the white cell, crop
        /// and classify it, and score against this labels.csv (fields with one cell).
        #[arg(long)]
        fields: Option<PathBuf>,
        /// Re-frame every picture by its white cell first (the cell fills the model's
        /// cell_fraction, background padding), as the model's metadata `framing` describes.
        #[arg(long)]
        reframe: bool,
        /// Take the locator settings (`[locator]`, e.g. `adaptive = true`) from this
        /// configuration file for --fields and --reframe.
        #[arg(long)]
        config: Option<PathBuf>,
        /// DIR's sub-folders are classes the model does not know (e.g.
        /// ../shared/datasets/pbc-extra/val): report how many cells of each the daemon
        /// would count as one of its classes, with and without the unfamiliar-cell gate.
        #[arg(long, conflicts_with_all = ["fields", "png"])]
        outside: bool,
        /// The confidence threshold for --outside (the daemon's
        /// counting.confidence_threshold).
        #[arg(long, default_value_t = 0.6, requires = "outside")]
        threshold: f32,
    },
    /// Time preprocessing, inference (against the reference Python interpreter when it is
    /// installed) and the whole path from a button press to the display and the journal.
    Bench {
        /// The model and its runtime.
        #[command(flatten)]
        model: ModelArgs,
        /// The head answering.
        #[command(flatten)]
        head: HeadArgs,
        /// Timed repetitions of each measurement.
        #[arg(long, default_value_t = 200)]
        iterations: usize,
        /// Camera fields for the replay camera.
        #[arg(long, default_value_os_t = paths::bundled_fields())]
        fields: PathBuf,
        /// One JSON object (infer_ms_median, reference_ms_median, ratio,
        /// press_to_display_ms_median, rss_mb, ...).
        #[arg(long)]
        json: bool,
        /// Also time the review station: upload → result through its HTTP API, and press
        /// → display with the station served and a live page connected, against without.
        #[arg(long)]
        station: bool,
    },
    /// Teach the model a microscope: fit a new classification head to reviewed cells
    /// DIR/CLASS/* (embeddings of every orientation view; the pull toward the shipped head
    /// chosen by cross-validation) and write it to --out, unless its cross-validated
    /// accuracy is below the shipped head's. Load it with model.calibration = FILE or
    /// --calibration FILE.
    Calibrate {
        /// Reviewed cells in class folders named like the model's labels (compared
        /// case-insensitively; a class may be missing): crops, or whole camera fields with
        /// --locate.
        dir: PathBuf,
        /// The model and its runtime (the model must export its embedding: 2.0 on).
        #[command(flatten)]
        model: ModelArgs,
        /// Framing, output, guard and subset.
        #[command(flatten)]
        options: calibrate::Options,
    },
    /// Check a configuration file: keys, types, ranges, and that the model, runtime
    /// library, replay folder and data directory it names are there; exits non-zero with
    /// the problem and its line.
    CheckConfig {
        /// The file to check.
        file: PathBuf,
        /// Do not look at the files and folders it names (a file for another machine).
        #[arg(long)]
        skip_paths: bool,
    },
    /// Check the installation: configuration, model and runtime, camera, buttons, display,
    /// storage, clock and groups; one line each (OK, WARN or FAIL with the fix).
    /// Exits non-zero on any FAIL.
    Doctor {
        /// Configuration file.
        #[arg(long, default_value = paths::DEFAULT_CONFIG)]
        config: PathBuf,
    },
    /// Print the differential count of the current or a past slide.
    Report {
        /// Configuration file (for the data directory).
        #[arg(long, default_value = paths::DEFAULT_CONFIG)]
        config: PathBuf,
        /// Data directory, overriding the configuration.
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// The slide to report (default: the newest).
        #[arg(long)]
        session: Option<String>,
        /// List every slide instead.
        #[arg(long)]
        list: bool,
        /// One JSON object (or one per line with --list); the same as --format json.
        #[arg(long, conflicts_with = "format")]
        json: bool,
        /// text, json (the differential and every cell), csv (one row per cell) or html
        /// (a printable page).
        #[arg(long, value_enum, default_value = "text")]
        format: report::Format,
        /// Write the report to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Serve the review station over a data directory: classify pictures, review and
    /// correct counted cells, sign slides off, print reports (http://127.0.0.1:8080/).
    Station {
        /// Configuration file ([station], [limits], [model], the data directory); when it
        /// is absent the defaults are used, and --data-dir is needed.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Data directory, overriding the configuration.
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Address and port, overriding station.listen.
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
    },
    /// Copy the crops of reviewed cells (confirmed or corrected in the station) to
    /// OUT/CLASS/<slide>-<seq>.jpg under the reviewer's class, for recalibration; cells
    /// nobody reviewed and cells moved to unidentified are skipped and counted.
    ExportCells {
        /// Data directory (journal/ and crops/).
        #[arg(long)]
        data_dir: PathBuf,
        /// Output folder (created).
        #[arg(long, default_value_os_t = export_cells::default_out())]
        out: PathBuf,
        /// Slides to export (default: every slide).
        slides: Vec<String>,
    },
}

/// The model to load and how, for the commands that classify.
#[derive(Debug, Clone, clap::Args)]
pub struct ModelArgs {
    /// A .tflite classifier with labels.txt (and optionally metadata.json) beside it.
    #[arg(long, default_value_os_t = paths::default_model())]
    pub model: PathBuf,
    /// libLiteRt.so to use instead of searching for it.
    #[arg(long)]
    pub runtime_library: Option<PathBuf>,
    /// Inference threads (0 = every core).
    #[arg(long, default_value_t = 0)]
    pub threads: u32,
    /// Orientation views averaged per cell: 1, 2, 4 or 8 (0 = as the model's metadata.json
    /// says, else 1).
    #[arg(long, default_value_t = 0)]
    pub views: u32,
    /// Answer without the model's unfamiliar-cell gate (as `[model] unfamiliar_gate =
    /// false`), e.g. to compare.
    #[arg(long)]
    pub no_gate: bool,
}

impl ModelArgs {
    /// Loads the model, with its unfamiliar-cell gate unless `--no-gate`.
    pub fn open(&self) -> anyhow::Result<hematovision::model::TfliteClassifier> {
        let mut classifier = devices::classifier(
            &self.model,
            self.runtime_library.as_deref(),
            self.threads,
            self.views,
        )?;
        devices::use_gate(&mut classifier, !self.no_gate);
        Ok(classifier)
    }

    /// Loads the model answering through `calibration` (an error when it is refused).
    pub fn open_calibrated(
        &self,
        calibration: Option<&Path>,
    ) -> anyhow::Result<hematovision::model::TfliteClassifier> {
        let mut classifier = self.open()?;
        if let Some(path) = calibration {
            devices::load_calibration(&mut classifier, path)?;
        }
        Ok(classifier)
    }
}

/// Which head answers, for the commands that classify.
#[derive(Debug, Clone, clap::Args)]
pub struct HeadArgs {
    /// A calibration file (`hematovision calibrate`) whose head answers instead of the
    /// model's shipped head; refused with the reason when it was made for another model.
    #[arg(long)]
    pub calibration: Option<PathBuf>,
}

/// Runs the chosen subcommand.
pub fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Run {
            config,
            data_dir,
            presses,
            exit_when_done,
            live,
            calibration,
            listen,
        } => run::run(
            &config,
            run::RunOptions {
                data_dir,
                presses,
                exit_when_done,
                live,
                calibration,
                listen,
                verbose: cli.verbose,
            },
        ),
        Command::LiveEval {
            scenario,
            model,
            no_classify,
            json,
            config,
        } => live_eval::run(
            scenario.as_deref(),
            &model,
            no_classify,
            json,
            config.as_deref(),
        ),
        Command::Classify {
            images,
            model,
            head,
            locate,
            json,
            reframe,
            config,
        } => classify::run(
            &images,
            &model,
            head.calibration.as_deref(),
            classify::Options {
                locate,
                reframe,
                json,
            },
            config.as_deref(),
        ),
        Command::CheckConfig { file, skip_paths } => check::run(&file, !skip_paths),
        Command::Bench {
            model,
            head,
            iterations,
            fields,
            json,
            station,
        } => bench::run(&model, head.calibration, iterations, fields, json, station),
        Command::Calibrate {
            dir,
            model,
            options,
        } => calibrate::run(&dir, &model, &options),
        Command::Eval {
            dir,
            model,
            head,
            json,
            png,
            fields,
            reframe,
            config,
            outside,
            threshold,
        } => eval::run(
            &dir,
            &model,
            head.calibration.as_deref(),
            json,
            png.as_deref(),
            &eval::Pictures {
                fields: fields.as_deref(),
                reframe,
                config: config.as_deref(),
                outside: outside.then_some(threshold),
            },
        ),
        Command::LocateEval {
            dir,
            config,
            shift,
            seed,
            masks,
            json,
            per_frame,
        } => locate_eval::run(
            &dir,
            &locate_eval::Options {
                config,
                shift,
                seed,
                masks,
                json,
                per_frame,
            },
        ),
        Command::Doctor { config } => doctor::run(&config),
        Command::Report {
            config,
            data_dir,
            session,
            list,
            json,
            format,
            out,
        } => report::run(
            &config,
            data_dir,
            session.as_deref(),
            list,
            if json { report::Format::Json } else { format },
            out.as_deref(),
        ),
        Command::Station {
            config,
            data_dir,
            listen,
        } => station::run(config.as_deref(), data_dir, listen),
        Command::ExportCells {
            data_dir,
            out,
            slides,
        } => export_cells::run(&data_dir, &out, &slides),
    }
}
