//! `hematovision eval`: accuracy of a model on a labelled folder, through the daemon's path.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use hematovision::model::eval::evaluate;
use hematovision::model::eval_fields::evaluate_fields;
use hematovision::model::write_confusion_png;
use hematovision::vision::LocatorParams;

use super::devices;

/// Options of `eval`.
#[derive(Debug)]
pub struct EvalOptions {
    /// The model.
    pub model: PathBuf,
    /// The runtime library, if not searched for.
    pub library: Option<PathBuf>,
    /// Inference threads (0 = every core).
    pub threads: u32,
    /// One JSON object instead of the text report.
    pub json: bool,
    /// Write the confusion matrix as a PNG here.
    pub png: Option<PathBuf>,
    /// Score whole camera fields (locate, crop, classify) against this `labels.csv`.
    pub fields: Option<PathBuf>,
}

/// Evaluates the model on `dir/CLASS/*.{jpg,jpeg,png}`.
pub fn run(dir: &Path, options: &EvalOptions) -> anyhow::Result<ExitCode> {
    let mut classifier =
        devices::classifier(&options.model, options.library.as_deref(), options.threads)?;
    if let Some(labels_csv) = &options.fields {
        let cell_fraction = classifier
            .metadata()
            .and_then(|m| m.cell_fraction)
            .unwrap_or(devices::DEFAULT_CELL_FRACTION);
        let report = evaluate_fields(
            &mut classifier,
            dir,
            labels_csv,
            &LocatorParams::default(),
            cell_fraction,
        )?;
        if options.json {
            println!("{}", serde_json::to_string(&report)?);
        } else {
            println!("{report}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let show_progress = std::io::stderr().is_terminal();
    let mut progress = |done: usize, total: usize| {
        if show_progress && (done.is_multiple_of(16) || done == total) {
            let width = 40;
            let filled = (done * width).checked_div(total).unwrap_or(width);
            let mut err = std::io::stderr();
            let _ = write!(
                err,
                "\r[{}{}] {done}/{total}",
                "#".repeat(filled),
                " ".repeat(width - filled)
            );
            if done == total {
                let _ = writeln!(err);
            }
        }
    };
    let report = evaluate(&mut classifier, dir, &mut progress)?;
    if let Some(png) = &options.png {
        write_confusion_png(&report, png)?;
    }
    if options.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!("{report}");
        if let Some(png) = &options.png {
            println!("confusion matrix written to {}", png.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}
