//! `hematovision eval`: accuracy of a model on a labelled folder, through the daemon's path.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use hematovision::eval::evaluate_fields;
use hematovision::eval::model::evaluate;
use hematovision::eval::write_confusion_png;
use hematovision::vision::LocatorParams;

use super::{ModelArgs, devices};

/// Evaluates the model on `dir/CLASS/*.{jpg,jpeg,png}`.
pub fn run(
    dir: &Path,
    model: &ModelArgs,
    json: bool,
    png: Option<&Path>,
    fields: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let mut classifier = model.open()?;
    if let Some(labels_csv) = fields {
        let cell_fraction = devices::cell_fraction(&classifier);
        let report = evaluate_fields(
            &mut classifier,
            dir,
            labels_csv,
            &LocatorParams::default(),
            cell_fraction,
        )?;
        if json {
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
    if let Some(png) = png {
        write_confusion_png(&report, png)?;
    }
    if json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!("{report}");
        if let Some(png) = png {
            println!("confusion matrix written to {}", png.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}
