//! `hematovision classify`: one-shot classification of image files.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use hematovision::config::Config;
use hematovision::model::preprocess::read_rgb;
use hematovision::model::{CellAnswer, Classifier};
use hematovision::vision::framing::find_in_picture;
use hematovision::vision::{
    LocatorParams, PictureCell, SessionNorms, find_cell_in_session, frame_cell, framing_box,
};
use image::RgbImage;
use serde_json::json;

use super::ModelArgs;

/// Models with more classes than this list only their most probable ones in text output.
const MAX_LISTED: usize = 5;

/// How `classify` frames and prints.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Whole camera fields: find the white cell first.
    pub locate: bool,
    /// Crops: re-frame them by their white cell.
    pub reframe: bool,
    /// One JSON object per line.
    pub json: bool,
}

/// Classifies every file; unreadable files are reported and skipped, and make the exit
/// code non-zero.
pub fn run(
    files: &[PathBuf],
    model: &ModelArgs,
    calibration: Option<&Path>,
    options: Options,
    config: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let Options {
        locate,
        reframe,
        json,
    } = options;
    let mut classifier = model.open_calibrated(calibration)?;
    let head = classifier.provenance().head;
    let gated = classifier.gate().is_some();
    let config = match config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    // Whole fields given together are frames of one microscope: one session.
    let mut session = SessionNorms::new();
    let cell_fraction = classifier.bundle().cell_fraction();
    let reticle = config.camera.reticle.map(|[x, y]| (x, y));
    let labels = classifier.labels().to_vec();
    let mut failed = 0usize;
    for file in files {
        let how = How {
            locate,
            reframe,
            params: &config.locator,
            cell_fraction,
            reticle,
        };
        match classify_one(&mut classifier, file, &how, &mut session) {
            Ok((
                CellAnswer {
                    probabilities,
                    unfamiliar,
                },
                seen,
            )) => {
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
                    let mut line = json!({
                        "file": file.display().to_string(),
                        "label": labels[best],
                        "confidence": confidence,
                        "probabilities": all,
                    });
                    if let (Some(head), Some(map)) = (&head, line.as_object_mut()) {
                        map.insert("head".into(), json!(head));
                    }
                    if let (true, Some(map)) = (gated, line.as_object_mut()) {
                        map.insert("unfamiliar".into(), json!(unfamiliar));
                    }
                    if (locate || reframe)
                        && let Some(map) = line.as_object_mut()
                    {
                        map.insert(
                            "cells_in_view".into(),
                            json!(seen.as_ref().map_or(0, |c| c.count)),
                        );
                        map.insert("cells".into(), json!(seen.as_ref().map(|c| &c.cells)));
                        map.insert(
                            "cell".into(),
                            json!(seen.as_ref().map(|c| c.candidate.cell)),
                        );
                        map.insert(
                            "nucleus".into(),
                            json!(seen.as_ref().map(|c| c.candidate.nucleus)),
                        );
                        map.insert(
                            "red_cell_px".into(),
                            json!(seen.as_ref().and_then(|c| c.red_cell_px)),
                        );
                        map.insert(
                            "round_red_cell_px".into(),
                            json!(seen.as_ref().and_then(|c| c.round_red_cell_px)),
                        );
                        map.insert(
                            "crop".into(),
                            json!(
                                seen.as_ref()
                                    .map(|c| framing_box(&c.candidate.cell, cell_fraction))
                            ),
                        );
                    }
                    println!("{line}");
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
                        "{}: {} {:.1}%{}  ({})",
                        file.display(),
                        labels[best],
                        confidence * 100.0,
                        if unfamiliar {
                            " UNFAMILIAR (unlike any class the model knows)"
                        } else {
                            ""
                        },
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

/// How each file is turned into the classifier's picture.
pub struct How<'a> {
    /// The file is a whole camera field: find the white cell first.
    pub locate: bool,
    /// The file is a crop: re-frame it by its white cell.
    pub reframe: bool,
    /// The locator's settings.
    pub params: &'a LocatorParams,
    /// The model's cell fraction (the framing of its training pictures).
    pub cell_fraction: f32,
    /// The camera's reticle, where the technician centres the cell.
    pub reticle: Option<(u32, u32)>,
}

/// The answer (probabilities, and the gate's verdict), and the cell found when locating or
/// re-framing (`None` when the picture was classified as it is).
fn classify_one(
    classifier: &mut dyn Classifier,
    file: &Path,
    how: &How<'_>,
    session: &mut SessionNorms,
) -> Result<(CellAnswer, Option<PictureCell>), String> {
    let (picture, seen) = picture_of(file, how, session)?;
    let answer = classifier
        .classify_cell(&picture)
        .map_err(|e| e.to_string())?;
    Ok((answer, seen))
}

/// The picture the classifier sees for `file`, framed as `how` says (as the daemon frames
/// a camera field with `locate`), and the cell found when locating or re-framing.
pub fn picture_of(
    file: &Path,
    how: &How<'_>,
    session: &mut SessionNorms,
) -> Result<(RgbImage, Option<PictureCell>), String> {
    let image = read_rgb(file).map_err(|e| format!("cannot read the image: {e}"))?;
    let seen = if how.locate {
        let cell = find_cell_in_session(&image, how.params, how.reticle, session)
            .ok_or("no white cell found in the field")?;
        Some(cell)
    } else if how.reframe {
        let cell = find_in_picture(&image, how.params);
        if cell.is_none() {
            log::warn!(
                "{}: no white cell found; classified as it is",
                file.display()
            );
        }
        cell
    } else {
        None
    };
    let picture = match &seen {
        Some(cell) => frame_cell(&image, cell, how.cell_fraction),
        None => image,
    };
    Ok((picture, seen))
}
