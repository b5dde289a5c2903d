//! `hematovision calibrate DIR --out FILE`: a classification head fitted to the cells a
//! technician reviewed, written only when cross-validation says it does at least as well
//! as the shipped head (issue 22).
//!
//! Both heads are scored the same way, from the embeddings: the shipped head's figures are
//! `softmax(W₀ · embedding + b₀)` averaged over views, not the model's own probabilities
//! output. With the float32 model the two agree to about 5e-7; with the int8 model, which
//! computes its head in int8, they differ by up to about 0.014, which can turn a near tie.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use hematovision::calib::{Accuracy, Calibration, LabelledCell, stratified_subset};
use hematovision::config::Config;
use hematovision::eval::model::{LabelledImage, list_labelled};
use hematovision::eval::thread_cpu;
use hematovision::model::integrity::sha256_hex;
use hematovision::model::{TfliteClassifier, recalibrate};
use hematovision::store::write_file_durably;
use hematovision::vision::SessionNorms;
use serde_json::json;

use super::ModelArgs;
use super::classify::{How, picture_of};

/// What `calibrate` does beyond the model.
#[derive(Debug, Clone, clap::Args)]
pub struct Options {
    /// The pictures are whole camera fields: find the white cell and frame it as the
    /// daemon does.
    #[arg(long)]
    pub locate: bool,
    /// The calibration file to write.
    #[arg(long)]
    pub out: PathBuf,
    /// One JSON object (cells, accuracy before and after per class, the pull, times).
    #[arg(long)]
    pub json: bool,
    /// Write the head even when its cross-validated accuracy is below the shipped head's.
    #[arg(long)]
    pub force: bool,
    /// Use only this many cells: a stratified subset drawn with --seed (for a learning
    /// curve; smaller subsets of one seed are part of larger ones).
    #[arg(long)]
    pub cells: Option<usize>,
    /// Seed of the --cells draw.
    #[arg(long, default_value_t = 22)]
    pub seed: u64,
}

/// Cells whose pictures could not be used (unreadable, no white cell found).
struct Skipped {
    file: PathBuf,
    why: String,
}

/// Reads the cells, fits, guards and writes. Exit code 1 when the head is refused.
pub fn run(dir: &Path, model: &ModelArgs, options: &Options) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let cpu_started = thread_cpu();
    let mut classifier = model.open()?;
    let bundle = classifier.bundle().clone();
    let shipped = bundle.shipped_head().cloned().with_context(|| {
        format!(
            "{} exports no embedding and head (metadata.json `outputs.embedding` and `head`), so \
             it cannot be recalibrated; use a model from HematoVision 2.0 on",
            bundle.model_path().display()
        )
    })?;
    let mut images = list_labelled(dir, bundle.labels())?;
    if let Some(n) = options.cells {
        let classes: Vec<usize> = images.iter().map(|i| i.class).collect();
        let keep = stratified_subset(&classes, n, options.seed);
        images = keep.into_iter().map(|i| images[i].clone()).collect();
        log::info!(
            "calibrate: a stratified subset of {} cells (seed {})",
            images.len(),
            options.seed
        );
    }
    let progress = Progress::new(!options.json && std::io::stderr().is_terminal());
    let (cells, skipped) = embed_all(&mut classifier, &images, options.locate, &progress)?;
    let embedded = started.elapsed();
    let fit_started = Instant::now();
    let cpu_embedded = thread_cpu();
    let recalibrated = recalibrate(
        &shipped,
        &cells,
        bundle.sha256(),
        options.force,
        now_ms(),
        &mut |done, total| {
            progress.show("fitting", done, total);
        },
    )?;
    let fit_seconds = fit_started.elapsed().as_secs_f64();
    let cpu_fitted = thread_cpu();
    // This thread's CPU time: the fit runs on it alone, and so does inference with
    // --threads 1; on a shared machine wall time also counts the waiting.
    let cpu = |from: Option<Duration>, to: Option<Duration>| {
        from.zip(to).map(|(a, b)| b.saturating_sub(a).as_secs_f64())
    };
    let calibration = recalibrated.calibration;
    let refused = recalibrated.refused;
    let written = match &recalibrated.file {
        None => None,
        Some(bytes) => {
            write_file_durably(&options.out, bytes)
                .with_context(|| format!("cannot write {}", options.out.display()))?;
            Some(format!("sha256:{}", &sha256_hex(bytes)[..12]))
        }
    };
    let summary = Summary {
        model: classifier.info().to_string(),
        calibration: &calibration,
        views: classifier.info().views,
        cells: cells.len(),
        skipped: &skipped,
        written: written.as_deref(),
        out: &options.out,
        refused: refused.as_ref().map(ToString::to_string),
        seconds: [
            embedded.as_secs_f64(),
            fit_seconds,
            started.elapsed().as_secs_f64(),
        ],
        cpu_seconds: [
            cpu(cpu_started, cpu_embedded),
            cpu(cpu_embedded, cpu_fitted),
        ],
    };
    if options.json {
        println!("{}", summary.json());
    } else {
        summary.print();
    }
    Ok(if refused.is_some() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// The embeddings of every view of every picture, framed as `classify` frames them.
fn embed_all(
    classifier: &mut TfliteClassifier,
    images: &[LabelledImage],
    locate: bool,
    progress: &Progress,
) -> anyhow::Result<(Vec<LabelledCell>, Vec<Skipped>)> {
    let config = Config::default();
    let how = How {
        locate,
        reframe: false,
        params: &config.locator,
        cell_fraction: classifier.bundle().cell_fraction(),
        reticle: config.camera.reticle.map(|[x, y]| (x, y)),
    };
    let mut cells = Vec::with_capacity(images.len());
    let mut skipped = Vec::new();
    let mut session = SessionNorms::new();
    for (done, item) in images.iter().enumerate() {
        match picture_of(&item.path, &how, &mut session) {
            Ok((picture, _)) => {
                let views = classifier
                    .embeddings(&picture)
                    .with_context(|| format!("{}", item.path.display()))?;
                cells.push(LabelledCell {
                    class: item.class,
                    views,
                });
            }
            Err(why) => {
                log::warn!("{}: {why}; left out", item.path.display());
                skipped.push(Skipped {
                    file: item.path.clone(),
                    why,
                });
            }
        }
        progress.show("embedding", done + 1, images.len());
    }
    Ok((cells, skipped))
}

/// Milliseconds since the Unix epoch, for the file's date.
fn now_ms() -> u64 {
    hematovision::time::wall_ms_now()
}

/// The progress bar, when standard error is a terminal.
struct Progress {
    on: bool,
}

impl Progress {
    fn new(on: bool) -> Self {
        Self { on }
    }

    fn show(&self, what: &str, done: usize, total: usize) {
        if self.on {
            super::progress::draw(&format!("{what:<10} "), done, total);
        }
    }
}

/// What the command reports.
struct Summary<'a> {
    model: String,
    calibration: &'a Calibration,
    views: usize,
    cells: usize,
    skipped: &'a [Skipped],
    written: Option<&'a str>,
    out: &'a Path,
    refused: Option<String>,
    /// Embedding, fitting (cross-validation and the final fit), total.
    seconds: [f64; 3],
    /// This thread's CPU time embedding and fitting, where it can be read.
    cpu_seconds: [Option<f64>; 2],
}

impl Summary<'_> {
    fn json(&self) -> serde_json::Value {
        let c = self.calibration;
        let per_class: Vec<serde_json::Value> = c
            .before
            .per_class
            .iter()
            .zip(&c.after.per_class)
            .map(|(b, a)| {
                json!({
                    "label": b.label,
                    "cells": b.cells,
                    "cv_correct_before": b.correct,
                    "cv_correct_after": a.correct,
                    "accuracy_before": b.accuracy(),
                    "accuracy_after": a.accuracy(),
                })
            })
            .collect();
        let grid: Vec<serde_json::Value> = c
            .grid
            .iter()
            .map(|g| {
                json!({
                    "strength": g.strength,
                    "lambda": g.lambda,
                    "cv_correct": g.accuracy.correct(),
                    "log_loss": g.log_loss,
                })
            })
            .collect();
        let skipped: Vec<serde_json::Value> = self
            .skipped
            .iter()
            .map(|s| json!({"file": s.file.display().to_string(), "error": s.why}))
            .collect();
        json!({
            "written": self.written.is_some(),
            "out": self.out.display().to_string(),
            "calibration": self.written,
            "refused": self.refused,
            "model": self.model,
            "cells": self.cells,
            "views": self.views,
            "skipped": skipped,
            "folds": c.folds,
            "strength": c.strength,
            "lambda": c.lambda,
            "accuracy_before": c.before.overall(),
            "accuracy_after": c.after.overall(),
            "per_class": per_class,
            "grid": grid,
            "seconds": {
                "embedding": self.seconds[0],
                "fit": self.seconds[1],
                "total": self.seconds[2],
            },
            "cpu_seconds": {
                "embedding": self.cpu_seconds[0],
                "fit": self.cpu_seconds[1],
            },
        })
    }

    fn print(&self) {
        let c = self.calibration;
        println!("model        {}", self.model);
        println!(
            "cells        {} ({} views each){}",
            self.cells,
            self.views,
            if self.skipped.is_empty() {
                String::new()
            } else {
                format!(", {} left out (see the log)", self.skipped.len())
            }
        );
        println!(
            "pull         strength {:.0e} (λ {:.3e}), chosen by {}-fold cross-validation",
            c.strength, c.lambda, c.folds
        );
        println!(
            "{:<14} {:>6} {:>16} {:>16}",
            "class", "cells", "shipped head", "new head (CV)"
        );
        for (b, a) in c.before.per_class.iter().zip(&c.after.per_class) {
            if b.cells == 0 {
                println!("{:<14} {:>6} {:>16} {:>16}", b.label, 0, "-", "-");
                continue;
            }
            println!(
                "{:<14} {:>6} {:>16} {:>16}",
                b.label,
                b.cells,
                fraction(b.correct, b.cells),
                fraction(a.correct, a.cells)
            );
        }
        println!(
            "{:<14} {:>6} {:>16} {:>16}",
            "all",
            c.before.cells(),
            overall(&c.before),
            overall(&c.after)
        );
        println!(
            "time         {:.1} s ({:.1} s embedding, {:.1} s fitting)",
            self.seconds[2], self.seconds[0], self.seconds[1]
        );
        match (&self.refused, self.written) {
            (Some(why), _) => println!("NOT WRITTEN  {why}"),
            (None, Some(id)) => {
                println!("written      {} ({id})", self.out.display());
                println!(
                    "use it       model.calibration = \"{}\" in the configuration, or \
                     --calibration {} (delete the line to go back to the shipped head)",
                    self.out.display(),
                    self.out.display()
                );
            }
            (None, None) => {}
        }
    }
}

fn fraction(correct: usize, cells: usize) -> String {
    format!(
        "{correct}/{cells} {:.0}%",
        100.0 * correct as f64 / cells.max(1) as f64
    )
}

fn overall(accuracy: &Accuracy) -> String {
    fraction(accuracy.correct(), accuracy.cells())
}
