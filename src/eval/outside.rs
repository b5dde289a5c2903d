//! Cells of classes the model does not know (`hematovision eval --outside`): how many the
//! daemon would count as one of its classes, with and without its unfamiliar-cell gate.
//!
//! For the four-class model these are basophils, immature granulocytes and erythroblasts
//! (`pbc-extra`): a counter must never silently count them as normal cells. A cell is
//! *counted* when its top probability reaches the confidence threshold and, with the gate,
//! the gate does not flag it: exactly the daemon's rule ([`crate::count::Counter`]).

use std::fmt;
use std::path::Path;

use serde::Serialize;

use super::model::{EvalError, Failure, list_folders, top1};
use crate::model::Classifier;
use crate::model::preprocess::read_rgb;

/// One folder (one class the model does not know).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutsideClass {
    /// The folder's name.
    pub class: String,
    /// Cells classified.
    pub cells: usize,
    /// Cells the gate flagged (0 without a gate).
    pub flagged: usize,
    /// Cells counted as one of the model's classes on confidence alone.
    pub counted_without_gate: usize,
    /// Cells counted as one of the model's classes by the daemon's rule (confidence, and
    /// not flagged); the same as `counted_without_gate` without a gate.
    pub counted: usize,
    /// Of the counted cells, how many as each of the model's classes (label order).
    pub counted_as: Vec<usize>,
}

/// The result of [`evaluate_outside`].
#[derive(Debug, Clone, Serialize)]
pub struct OutsideReport {
    /// The model's labels.
    pub labels: Vec<String>,
    /// The confidence threshold applied.
    pub threshold: f32,
    /// The unfamiliar-cell gate in use (`sha256:<12 hex>`), `None` without one.
    pub gate: Option<String>,
    /// One entry per folder, sorted by name.
    pub classes: Vec<OutsideClass>,
    /// Pictures that could not be read or classified.
    pub failed: Vec<Failure>,
}

/// Classifies every picture of `dir/CLASS/` where no CLASS is one of the model's labels,
/// and counts what the daemon would do with each at `threshold`.
pub fn evaluate_outside(
    classifier: &mut dyn Classifier,
    dir: &Path,
    threshold: f32,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<OutsideReport, EvalError> {
    let labels = classifier.labels().to_vec();
    let folders = list_folders(dir)?;
    if let Some((folder, _)) = folders.iter().find(|(folder, _)| {
        let name = folder.file_name().unwrap_or_default().to_string_lossy();
        labels.iter().any(|l| l.eq_ignore_ascii_case(&name))
    }) {
        return Err(EvalError::Classify(format!(
            "{} is a class of this model: --outside scores classes the model does not know; \
             evaluate known classes without it",
            folder.display()
        )));
    }
    let total: usize = folders.iter().map(|(_, files)| files.len()).sum();
    let mut done = 0;
    let mut classes = Vec::with_capacity(folders.len());
    let mut failed = Vec::new();
    for (folder, files) in folders {
        let mut class = OutsideClass {
            class: folder
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            cells: 0,
            flagged: 0,
            counted_without_gate: 0,
            counted: 0,
            counted_as: vec![0; labels.len()],
        };
        for file in files {
            let answer = read_rgb(&file)
                .map_err(|e| format!("cannot decode: {e}"))
                .and_then(|image| classifier.classify_cell(&image).map_err(|e| e.to_string()));
            done += 1;
            progress(done, total);
            let answer = match answer {
                Ok(answer) => answer,
                Err(error) => {
                    log::warn!("{}: {error}", file.display());
                    failed.push(Failure { file, error });
                    continue;
                }
            };
            class.cells += 1;
            class.flagged += usize::from(answer.unfamiliar);
            let top = top1(&answer.probabilities);
            if let Some(i) = top.filter(|&i| answer.probabilities[i] >= threshold) {
                class.counted_without_gate += 1;
                if !answer.unfamiliar {
                    class.counted += 1;
                    if let Some(n) = class.counted_as.get_mut(i) {
                        *n += 1;
                    }
                }
            }
        }
        classes.push(class);
    }
    Ok(OutsideReport {
        labels,
        threshold,
        gate: classifier.provenance().gate,
        classes,
        failed,
    })
}

fn percent(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        100.0 * part as f64 / whole as f64
    }
}

impl fmt::Display for OutsideReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "cells of classes the model does not know, counted as one of {:?} at >= {:.0}% confidence",
            self.labels,
            self.threshold * 100.0
        )?;
        match &self.gate {
            Some(gate) => writeln!(f, "unfamiliar-cell gate {gate}")?,
            None => writeln!(f, "no unfamiliar-cell gate: confidence alone decides")?,
        }
        writeln!(
            f,
            "{:<14} {:>6} {:>9} {:>17} {:>14}",
            "class", "cells", "flagged", "counted (no gate)", "counted"
        )?;
        for c in &self.classes {
            writeln!(
                f,
                "{:<14} {:>6} {:>8.1}% {:>16.1}% {:>13.1}%",
                c.class,
                c.cells,
                percent(c.flagged, c.cells),
                percent(c.counted_without_gate, c.cells),
                percent(c.counted, c.cells)
            )?;
        }
        let cells: usize = self.classes.iter().map(|c| c.cells).sum();
        let counted: usize = self.classes.iter().map(|c| c.counted).sum();
        write!(
            f,
            "overall: {counted} of {cells} cells ({:.1}%) would be counted as one of the model's classes",
            percent(counted, cells)
        )?;
        if !self.failed.is_empty() {
            write!(
                f,
                "\n{} picture(s) could not be evaluated:",
                self.failed.len()
            )?;
            for fail in &self.failed {
                write!(f, "\n  {}: {}", fail.file.display(), fail.error)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CellAnswer, ClassifyError};
    use image::RgbImage;

    /// Answers by the picture's red value: 10 = confident and flagged, 20 = confident,
    /// 30 = under the threshold.
    struct ByRed(Vec<String>);

    impl Classifier for ByRed {
        fn labels(&self) -> &[String] {
            &self.0
        }
        fn classify(&mut self, image: &RgbImage) -> Result<Vec<f32>, ClassifyError> {
            Ok(self.classify_cell(image)?.probabilities)
        }
        fn classify_cell(&mut self, image: &RgbImage) -> Result<CellAnswer, ClassifyError> {
            let red = image.get_pixel(0, 0)[0];
            let probabilities = if red == 30 {
                vec![0.5, 0.5]
            } else {
                vec![0.1, 0.9]
            };
            Ok(CellAnswer {
                probabilities,
                unfamiliar: red == 10,
            })
        }
    }

    fn picture(dir: &Path, class: &str, name: &str, red: u8) {
        std::fs::create_dir_all(dir.join(class)).unwrap();
        RgbImage::from_pixel(4, 4, image::Rgb([red, 0, 0]))
            .save(dir.join(class).join(name))
            .unwrap();
    }

    #[test]
    fn counts_follow_the_daemons_rule() {
        let dir = tempfile::tempdir().unwrap();
        picture(dir.path(), "BASOPHIL", "a.png", 10);
        picture(dir.path(), "BASOPHIL", "b.png", 20);
        picture(dir.path(), "BASOPHIL", "c.png", 30);
        picture(dir.path(), "IG", "d.png", 10);
        std::fs::write(dir.path().join("IG/e.png"), b"not a picture").unwrap();
        let mut model = ByRed(vec!["LYMPHOCYTE".into(), "NEUTROPHIL".into()]);
        let mut calls = 0;
        let report = evaluate_outside(&mut model, dir.path(), 0.6, &mut |_, _| calls += 1)
            .expect("evaluated");
        assert_eq!(calls, 5);
        let baso = &report.classes[0];
        assert_eq!(baso.class, "BASOPHIL");
        assert_eq!(
            (
                baso.cells,
                baso.flagged,
                baso.counted_without_gate,
                baso.counted
            ),
            (3, 1, 2, 1)
        );
        assert_eq!(baso.counted_as, vec![0, 1]);
        let ig = &report.classes[1];
        assert_eq!((ig.cells, ig.flagged, ig.counted), (1, 1, 0));
        assert_eq!(report.failed.len(), 1);
        let text = report.to_string();
        assert!(text.contains("BASOPHIL"), "{text}");
        assert!(text.contains("1 of 4 cells (25.0%)"), "{text}");
    }

    #[test]
    fn a_folder_of_a_known_class_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        picture(dir.path(), "neutrophil", "a.png", 20);
        let mut model = ByRed(vec!["LYMPHOCYTE".into(), "NEUTROPHIL".into()]);
        let err =
            evaluate_outside(&mut model, dir.path(), 0.6, &mut |_, _| {}).expect_err("refused");
        assert!(
            err.to_string().contains("is a class of this model"),
            "{err}"
        );
    }
}
