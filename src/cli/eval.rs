//! `hematovision eval`: accuracy of a model on a labelled folder, through the daemon's path.

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;

use hematovision::eval::evaluate_fields;
use hematovision::eval::model::evaluate;
use hematovision::eval::outside::evaluate_outside;
use hematovision::eval::write_confusion_png;
use hematovision::model::Classifier;
use hematovision::model::reframe::Reframing;
use hematovision::vision::LocatorParams;

use super::ModelArgs;

/// Where the classifier's pictures come from.
pub struct Pictures<'a> {
    /// `dir` holds whole camera fields scored against this labels.csv.
    pub fields: Option<&'a Path>,
    /// Re-frame every crop by its white cell first.
    pub reframe: bool,
    /// Configuration whose `[locator]` finds the cells (defaults without one).
    pub config: Option<&'a Path>,
    /// `dir` holds classes the model does not know; counted at this confidence threshold.
    pub outside: Option<f32>,
}

/// Evaluates the model on `dir/CLASS/*.{jpg,jpeg,png}` (or on fields, see [`Pictures`]).
pub fn run(
    dir: &Path,
    model: &ModelArgs,
    calibration: Option<&Path>,
    json: bool,
    png: Option<&Path>,
    pictures: &Pictures<'_>,
) -> anyhow::Result<ExitCode> {
    let Pictures {
        fields,
        reframe,
        config,
        outside,
    } = *pictures;
    let params = match config {
        Some(path) => hematovision::config::Config::load(path)?.locator,
        None => LocatorParams::default(),
    };
    let mut classifier = model.open_calibrated(calibration)?;
    if let Some(labels_csv) = fields {
        let cell_fraction = classifier.bundle().cell_fraction();
        let report = evaluate_fields(&mut classifier, dir, labels_csv, &params, cell_fraction)?;
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
            super::progress::draw("", done, total);
        }
    };
    let cell_fraction = classifier.bundle().cell_fraction();
    if let Some(threshold) = outside {
        let report = if reframe {
            let mut framed = Reframing::new(&mut classifier, params, cell_fraction);
            evaluate_outside(&mut framed, dir, threshold, &mut progress)?
        } else {
            evaluate_outside(&mut classifier, dir, threshold, &mut progress)?
        };
        if json {
            println!("{}", serde_json::to_string(&report)?);
        } else {
            println!("{report}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let report = if reframe {
        let mut framed = Reframing::new(&mut classifier, params, cell_fraction);
        let report = evaluate(&mut framed, dir, &mut progress)?;
        log::info!(
            "re-framed by the white cell; no cell found in {} pictures (classified as they are)",
            framed.unframed
        );
        if !json {
            println!(
                "re-framed          no white cell found in {} pictures",
                framed.unframed
            );
        }
        report
    } else {
        evaluate(&mut classifier, dir, &mut progress)?
    };
    if let Some(png) = png {
        write_confusion_png(&report, png)?;
    }
    let head = classifier.provenance().head;
    if json {
        let mut value = serde_json::to_value(&report)?;
        if let (Some(head), Some(map)) = (&head, value.as_object_mut()) {
            map.insert("head".into(), serde_json::json!(head));
        }
        println!("{value}");
    } else {
        println!("{report}");
        if let Some(head) = &head {
            println!("head: {head}");
        }
        if let Some(png) = png {
            println!("confusion matrix written to {}", png.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}
