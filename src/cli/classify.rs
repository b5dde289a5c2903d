//! `hematovision classify`: one-shot classification of image files.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use hematovision::app::CellFinder;
use hematovision::config::Config;
use hematovision::model::Classifier;
use hematovision::model::preprocess::read_rgb;
use serde_json::json;

use super::{ModelArgs, devices};

/// Models with more classes than this list only their most probable ones in text output.
const MAX_LISTED: usize = 5;

/// Classifies every file; unreadable files are reported and skipped, and make the exit
/// code non-zero.
pub fn run(
    files: &[PathBuf],
    model: &ModelArgs,
    locate: bool,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let mut classifier = model.open()?;
    let mut finder = devices::finder(&Config::default(), classifier.bundle());
    let labels = classifier.labels().to_vec();
    let mut failed = 0usize;
    for file in files {
        match classify_one(&mut classifier, &mut finder, file, locate) {
            Ok(probabilities) => {
                let (best, confidence) = probabilities
                    .iter()
                    .copied()
                    .enumerate()
                    .fold((0, f32::MIN), |b, (i, p)| if p > b.1 { (i, p) } else { b });
                if json {
                    let all: serde_json::Map<String, serde_json::Value> = labels
                        .iter()
                        .zip(&probabilities)
                        .map(|(l, p)| (l.clone(), json!(p)))
                        .collect();
                    println!(
                        "{}",
                        json!({
                            "file": file.display().to_string(),
                            "label": labels[best],
                            "confidence": confidence,
                            "probabilities": all,
                        })
                    );
                } else {
                    let mut ranked: Vec<(&String, f32)> =
                        labels.iter().zip(probabilities.iter().copied()).collect();
                    if ranked.len() > MAX_LISTED {
                        ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
                        ranked.truncate(MAX_LISTED);
                    }
                    let all: Vec<String> =
                        ranked.iter().map(|(l, p)| format!("{l} {p:.3}")).collect();
                    println!(
                        "{}: {} {:.1}%  ({})",
                        file.display(),
                        labels[best],
                        confidence * 100.0,
                        all.join(", ")
                    );
                }
            }
            Err(reason) => {
                failed += 1;
                if json {
                    println!(
                        "{}",
                        json!({"file": file.display().to_string(), "error": reason})
                    );
                } else {
                    eprintln!("{}: {reason}", file.display());
                }
            }
        }
    }
    if failed > 0 {
        eprintln!("{failed} of {} files could not be classified", files.len());
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

fn classify_one(
    classifier: &mut dyn Classifier,
    finder: &mut dyn CellFinder,
    file: &Path,
    locate: bool,
) -> Result<Vec<f32>, String> {
    let image = read_rgb(file).map_err(|e| format!("cannot read the image: {e}"))?;
    let image = if locate {
        finder
            .find(&image)
            .ok_or("no white cell found in the field")?
            .crop
    } else {
        image
    };
    classifier.classify(&image).map_err(|e| e.to_string())
}
