//! "Teach this microscope": the cells reviewers confirmed or corrected, under their
//! label, recalibrate the station's model exactly as `hematovision calibrate` does
//! ([`crate::model::recalibrate`]); the figures are shown, and an accepted calibration is
//! written into the data directory for the operator to activate. The configuration is
//! never changed here: the head a daemon counts with changes only when someone says so
//! and restarts it.
//!
//! One job at a time, on a blocking worker: the station's model is locked for one crop at
//! a time only, so uploads are still answered, and the daemon's own model (the button
//! path) is never touched.

use std::fmt::Write;
use std::path::PathBuf;
use std::time::Instant;

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::calib::LabelledCell;
use crate::model::integrity::sha256_hex;
use crate::model::{ClassifyError, RecalibrateError, recalibrate};
use crate::store::write_file_durably;

use super::error::ApiError;
use super::export::{ExportSummary, for_each_reviewed};
use super::html::escape;
use super::shared::Shared;

/// Fewest reviewed classes a recalibration can learn from.
pub const MIN_CLASSES: usize = 2;
/// Fewest reviewed cells: fewer cannot be split into the cross-validation's folds usefully.
pub const MIN_CELLS: usize = 6;
/// Most slides named in one request.
pub const MAX_SLIDES: usize = 1000;
/// Largest request body: a list of slide identifiers.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// The folder of the data directory calibrations are written to.
pub const FOLDER: &str = "calibrations";

/// `{"slides": ["..."]}`; no list (or an empty one) means every signed-off slide.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TeachBody {
    #[serde(default)]
    slides: Option<Vec<String>>,
}

impl TeachBody {
    /// The slides named, checked for number.
    pub(super) fn slides(self) -> Result<Vec<String>, ApiError> {
        let slides = self.slides.unwrap_or_default();
        if slides.len() > MAX_SLIDES {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("at most {MAX_SLIDES} slides per recalibration"),
            ));
        }
        Ok(slides)
    }
}

/// One class's figures.
#[derive(Debug, Clone, Serialize)]
pub struct ClassFigures {
    /// The model's class.
    pub label: String,
    /// Reviewed cells of it.
    pub cells: usize,
    /// Right answers of the shipped head, cross-validated.
    pub correct_before: usize,
    /// Right answers of the new head, cross-validated.
    pub correct_after: usize,
}

/// What a recalibration found and did.
#[derive(Debug, Clone, Serialize)]
pub struct TeachOutcome {
    /// Slides read.
    pub slides: Vec<String>,
    /// Reviewed cells gathered per class, and what was skipped and why.
    pub gathered: ExportSummary,
    /// Cells fitted to.
    pub cells: usize,
    /// Per class of the model, before and after.
    pub per_class: Vec<ClassFigures>,
    /// Overall cross-validated accuracy of the shipped head.
    pub accuracy_before: f64,
    /// Overall cross-validated accuracy of the new head.
    pub accuracy_after: f64,
    /// The pull toward the shipped head chosen by cross-validation (relative strength).
    pub strength: f64,
    /// The same pull, absolute.
    pub lambda: f64,
    /// Folds of the cross-validation.
    pub folds: usize,
    /// True when the guard accepted the new head and its file was written.
    pub accepted: bool,
    /// Why the guard refused it.
    pub refused: Option<String>,
    /// The calibration file written.
    pub calibration: Option<PathBuf>,
    /// The line that activates it, in `[model]` of the configuration.
    pub config_line: Option<String>,
    /// Seconds the job took.
    pub seconds: f64,
    /// A sentence for the page.
    pub message: String,
}

/// Runs one recalibration over `slides` (every signed-off slide when empty). Blocking:
/// call it on a blocking worker with the job slot ([`super::job::JobSlot`]) taken.
pub(super) fn run(shared: &Shared, slides: Vec<String>) -> Result<TeachOutcome, ApiError> {
    let started = Instant::now();
    let Some((shipped, model_sha256)) = shared.classify.shipped_head() else {
        let why = match shared.classify.missing() {
            Some(missing) => {
                return Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, missing));
            }
            None => ClassifyError::NoEmbedding.to_string(),
        };
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("this station's model cannot be taught: {why}"),
        ));
    };
    let ids = if slides.is_empty() {
        signed_off(shared)?
    } else {
        slides
    };
    let (gathered, crops) = gather(shared, &ids, shipped.labels())?;
    check_enough(&gathered)?;
    let mut cells = Vec::with_capacity(crops.len());
    for (class, bytes) in crops {
        let views = shared
            .classify
            .embeddings(&bytes)
            .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e))?;
        cells.push(LabelledCell { class, views });
    }
    let created_ms = crate::time::wall_ms_now();
    let done = recalibrate(
        shipped,
        &cells,
        model_sha256,
        false,
        created_ms,
        &mut |_, _| {},
    )
    .map_err(|e| match e {
        RecalibrateError::Fit(e) => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()),
        RecalibrateError::File(e) => ApiError::internal(e.to_string()),
    })?;
    let calibration = match &done.file {
        Some(bytes) => Some(write(shared, bytes, created_ms)?),
        None => None,
    };
    let c = &done.calibration;
    let per_class = c
        .before
        .per_class
        .iter()
        .zip(&c.after.per_class)
        .map(|(b, a)| ClassFigures {
            label: b.label.clone(),
            cells: b.cells,
            correct_before: b.correct,
            correct_after: a.correct,
        })
        .collect();
    let config_line = calibration
        .as_ref()
        .map(|path| format!("calibration = {}", toml_string(&path.display().to_string())));
    let refused = done.refused.as_ref().map(|r| {
        format!(
            "{}. The shipped head stays in use. Review more cells (a few dozen of each class), check that each reviewed class is right, and teach again.",
            r.findings()
        )
    });
    let message = match (&calibration, &refused) {
        (Some(path), _) => format!(
            "Accepted: written to {}. To count with it, add the line below to [model] in the configuration and restart the daemon; delete it to go back to the shipped head.",
            path.display()
        ),
        (None, Some(why)) => format!("Not written: {why}"),
        (None, None) => "Not written.".to_string(),
    };
    log::info!(
        "teach: {} cell(s) from {} slide(s), {} -> {}; {message}",
        cells.len(),
        gathered.slides.len(),
        c.before,
        c.after
    );
    Ok(TeachOutcome {
        slides: gathered.slides.clone(),
        gathered,
        cells: cells.len(),
        per_class,
        accuracy_before: c.before.overall(),
        accuracy_after: c.after.overall(),
        strength: c.strength,
        lambda: c.lambda,
        folds: c.folds,
        accepted: calibration.is_some(),
        refused,
        calibration,
        config_line,
        seconds: started.elapsed().as_secs_f64(),
        message,
    })
}

/// A reviewed cell: its class (index into the model's labels) and its crop's bytes.
type ClassCrop = (usize, Vec<u8>);

/// The reviewed cells of `ids` (each slide once), under the class of the model their
/// reviewer gave them (matched to `labels` in any case), as crops; and what was skipped.
fn gather(
    shared: &Shared,
    ids: &[String],
    labels: &[String],
) -> Result<(ExportSummary, Vec<ClassCrop>), ApiError> {
    let mut gathered = ExportSummary::default();
    let mut crops = Vec::new();
    for id in ids {
        if gathered.slides.contains(id) {
            continue;
        }
        let session = shared.slides.load(id)?;
        for_each_reviewed(
            &shared.slides,
            &session,
            &mut gathered,
            |label: &str, _, bytes| {
                let class = labels
                    .iter()
                    .position(|l| l.eq_ignore_ascii_case(label))
                    .ok_or_else(|| {
                        ApiError::new(
                            StatusCode::UNPROCESSABLE_ENTITY,
                            format!(
                                "slide {}: class {label:?} is not a class of this model ({})",
                                session.id,
                                labels.join(", ")
                            ),
                        )
                    })?;
                crops.push((class, bytes));
                Ok(())
            },
        )?;
        gathered.slides.push(session.id.clone());
    }
    Ok((gathered, crops))
}

/// Every signed-off slide, newest first: the default, as a signed-off slide's reviews are
/// final.
fn signed_off(shared: &Shared) -> Result<Vec<String>, ApiError> {
    let ids: Vec<String> = shared
        .slides
        .list()?
        .into_iter()
        .filter(|s| s.state == "signed off")
        .map(|s| s.id)
        .collect();
    if ids.is_empty() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "no slide is signed off yet: review and sign off slides, or choose the slides to learn from",
        ));
    }
    Ok(ids)
}

/// Refuses, saying what is missing, when too few classes or cells were reviewed.
fn check_enough(gathered: &ExportSummary) -> Result<(), ApiError> {
    let classes = gathered.written.values().filter(|&&n| n > 0).count();
    if classes >= MIN_CLASSES && gathered.total() >= MIN_CELLS {
        return Ok(());
    }
    let have: Vec<String> = gathered
        .written
        .iter()
        .map(|(class, n)| format!("{class} {n}"))
        .collect();
    Err(ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        format!(
            "not enough reviewed cells to learn from: {} cell(s) of {classes} class(es){} from {} slide(s); at least {MIN_CELLS} cells of {MIN_CLASSES} classes are needed (a few dozen of each class is better). Skipped: {} unreviewed, {} moved to unidentified, {} without a crop. Confirm or correct more cells on the slide pages.",
            gathered.total(),
            if have.is_empty() {
                String::new()
            } else {
                format!(" ({})", have.join(", "))
            },
            gathered.slides.len(),
            gathered.unreviewed,
            gathered.unidentified,
            gathered.without_crop
        ),
    ))
}

/// Writes an accepted calibration durably as `calibrations/<UTC date>-<sha256 prefix>.json`
/// in the data directory: the name comes from the content, never from the request.
fn write(shared: &Shared, bytes: &[u8], created_ms: u64) -> Result<PathBuf, ApiError> {
    let date: String = crate::time::rfc3339_utc(created_ms)
        .chars()
        .take(10)
        .collect();
    let name = format!("{date}-{}.json", &sha256_hex(bytes)[..12]);
    let path = shared.slides.data_dir().join(FOLDER).join(name);
    write_file_durably(&path, bytes)
        .map_err(|e| ApiError::internal(format!("the calibration was not written: {e}")))?;
    Ok(std::path::absolute(&path).unwrap_or(path))
}

/// `s` as a TOML basic string.
fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The outcome as an HTML fragment for the page: the before/after table, the pull, the
/// verdict and, when accepted, the line to add.
pub fn html(outcome: &TeachOutcome) -> String {
    let mut rows = String::new();
    for c in &outcome.per_class {
        let _ = write!(
            rows,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&c.label),
            c.cells,
            fraction(c.correct_before, c.cells),
            fraction(c.correct_after, c.cells)
        );
    }
    let (before, after): (usize, usize) = outcome.per_class.iter().fold((0, 0), |(b, a), c| {
        (b + c.correct_before, a + c.correct_after)
    });
    let _ = write!(
        rows,
        "<tr class=\"all\"><th>all</th><th>{}</th><th>{}</th><th>{}</th></tr>",
        outcome.cells,
        fraction(before, outcome.cells),
        fraction(after, outcome.cells)
    );
    let g = &outcome.gathered;
    let verdict = match (&outcome.config_line, &outcome.refused) {
        (Some(line), _) => format!(
            r#"<p class="signed" id="teach-verdict">Accepted: the new head does at least as well as the shipped one. Written to <code>{}</code>.</p><p>To count with it, add this line to <code>[model]</code> in the configuration and restart the daemon (delete the line to go back to the shipped head):</p><pre id="teach-config">[model]
{}</pre>"#,
            escape(
                &outcome
                    .calibration
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default()
            ),
            escape(line)
        ),
        (None, Some(why)) => format!(
            r#"<p class="error" id="teach-verdict">Refused, nothing written: {}</p>"#,
            escape(why)
        ),
        (None, None) => r#"<p id="teach-verdict">Nothing written.</p>"#.to_string(),
    };
    format!(
        r#"<p>{} reviewed cell(s) from {} slide(s); skipped {} unreviewed, {} moved to unidentified, {} without a crop. Pull toward the shipped head: strength {:.0e} (λ {:.3e}), chosen by {}-fold cross-validation; {:.1} s.</p><table id="teach-table"><thead><tr><th>Class</th><th>Cells</th><th>Shipped head</th><th>New head (cross-validated)</th></tr></thead><tbody>{rows}</tbody></table>{verdict}"#,
        outcome.cells,
        g.slides.len(),
        g.unreviewed,
        g.unidentified,
        g.without_crop,
        outcome.strength,
        outcome.lambda,
        outcome.folds,
        outcome.seconds
    )
}

fn fraction(correct: usize, cells: usize) -> String {
    if cells == 0 {
        return "–".to_string();
    }
    format!(
        "{correct}/{cells} ({:.0}%)",
        100.0 * correct as f64 / cells as f64
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_configuration_line_is_valid_toml() {
        let line = format!("calibration = {}", toml_string("/data/a \"b\"\\c.json"));
        let v: toml::Value = toml::from_str(&line).unwrap();
        assert_eq!(v["calibration"].as_str(), Some("/data/a \"b\"\\c.json"));
    }
}
