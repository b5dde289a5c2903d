//! Scoring the whole camera path on annotated fields: locate the white cell, crop it,
//! classify it, and compare with the field's recorded white-cell type.
//!
//! The folder is in the BCCD layout: `JPEGImages/BloodImage_NNNNN.jpg`,
//! `Annotations/BloodImage_NNNNN.xml` (VOC boxes) and `labels.csv` (`,Image,Category`).
//! Only fields whose annotation holds exactly one white cell of a class the model knows
//! are scored; a field where the locator finds no cell counts as wrong.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::model::{ClassMetrics, EvalError, metrics_from_confusion, top1};
use super::voc::parse_voc;
use crate::imagefile::read_rgb;
use crate::model::Classifier;
use crate::vision::{LocatorParams, SessionNorms, choose_cell, frame_box, locate_in_session};

/// The result of scoring fields.
#[derive(Debug, Clone, Serialize)]
pub struct FieldsReport {
    /// Fields scored (one annotated white cell of a known class).
    pub fields: usize,
    /// Correct classifications / fields scored (a field with no cell found is wrong).
    pub accuracy: f64,
    /// Fields where the locator found no white cell.
    pub no_cell: usize,
    /// Fields skipped, with the reason (two cells, unknown class, unreadable files).
    pub skipped: BTreeMap<String, usize>,
    /// The model's labels.
    pub labels: Vec<String>,
    /// Per-class metrics over the fields where a cell was found.
    pub per_class: BTreeMap<String, ClassMetrics>,
    /// `confusion[true][predicted]` over the fields where a cell was found.
    pub confusion: Vec<Vec<usize>>,
    /// The unfamiliar-cell gate in use (`sha256:<12 hex>`), `None` without one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gate: Option<String>,
    /// Fields whose found cell the gate flagged (the daemon would count it as
    /// unidentified, for review).
    pub unfamiliar: usize,
}

impl fmt::Display for FieldsReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "fields scored     {} (one annotated white cell of a known class)",
            self.fields
        )?;
        writeln!(
            f,
            "accuracy          {:.1}% (locate + crop + classify; no cell found counts as wrong)",
            self.accuracy * 100.0
        )?;
        writeln!(f, "no cell found     {}", self.no_cell)?;
        if let Some(gate) = &self.gate {
            writeln!(
                f,
                "unfamiliar        {} of {} fields ({:.1}%): the gate {gate} would send the cell to review",
                self.unfamiliar,
                self.fields,
                share(self.unfamiliar, self.fields) * 100.0
            )?;
        }
        for (reason, n) in &self.skipped {
            writeln!(f, "skipped           {n} ({reason})")?;
        }
        writeln!(f, "class          precision  recall     f1  support")?;
        for label in &self.labels {
            if let Some(m) = self.per_class.get(label) {
                writeln!(
                    f,
                    "{label:<14} {:>9.3} {:>7.3} {:>6.3} {:>8}",
                    m.precision, m.recall, m.f1, m.support
                )?;
            }
        }
        write!(
            f,
            "confusion (rows true, columns predicted): {:?}",
            self.confusion
        )
    }
}

/// Reads `labels.csv`: field index → category text.
fn read_categories(path: &Path) -> Result<BTreeMap<u32, String>, EvalError> {
    let text = std::fs::read_to_string(path).map_err(|e| EvalError::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    let mut out = BTreeMap::new();
    for line in text.lines().skip(1) {
        // `,12,NEUTROPHIL` or `,70,"EOSINOPHIL, LYMPHOCYTE"`
        let mut parts = line.splitn(3, ',');
        let (_, Some(index), Some(category)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        if let Ok(index) = index.trim().parse() {
            out.insert(index, category.trim().trim_matches('"').trim().to_string());
        }
    }
    Ok(out)
}

/// Scores locator + classifier on the fields of `dir` listed in `labels_csv`.
pub fn evaluate_fields(
    classifier: &mut dyn Classifier,
    dir: &Path,
    labels_csv: &Path,
    params: &LocatorParams,
    cell_fraction: f32,
) -> Result<FieldsReport, EvalError> {
    let labels = classifier.labels().to_vec();
    let k = labels.len();
    let mut confusion = vec![vec![0usize; k]; k];
    let mut skipped: BTreeMap<String, usize> = BTreeMap::new();
    let mut skip = |reason: &str| *skipped.entry(reason.to_string()).or_default() += 1;
    let (mut fields, mut correct, mut no_cell) = (0usize, 0usize, 0usize);
    let mut unfamiliar = 0usize;
    // The fields, in the CSV's order, are the frames of one session, as for the daemon.
    let mut session = SessionNorms::new();
    for (index, category) in read_categories(labels_csv)? {
        let Some(truth) = labels
            .iter()
            .position(|l| l.eq_ignore_ascii_case(&category))
        else {
            skip("category not one of the model's classes, or several cells");
            continue;
        };
        let name = format!("BloodImage_{index:05}");
        let image_path: PathBuf = dir.join("JPEGImages").join(format!("{name}.jpg"));
        let xml_path = dir.join("Annotations").join(format!("{name}.xml"));
        let Ok(xml) = std::fs::read_to_string(&xml_path) else {
            skip("no annotation file");
            continue;
        };
        let Ok(objects) = parse_voc(&xml) else {
            skip("unreadable annotation");
            continue;
        };
        if objects.iter().filter(|o| o.name == "WBC").count() != 1 {
            skip("annotation does not hold exactly one white cell");
            continue;
        }
        let Ok(image) = read_rgb(&image_path) else {
            skip("unreadable image");
            continue;
        };
        fields += 1;
        let seen = locate_in_session(&image, params, session.norms());
        session.observe(seen.measured());
        let Some(chosen) = choose_cell(&seen.candidates, image.dimensions(), None) else {
            no_cell += 1;
            continue;
        };
        let crop = frame_box(
            &image,
            &chosen.candidate.cell,
            seen.background,
            cell_fraction,
        );
        let answer = classifier
            .classify_cell(&crop)
            .map_err(|e| EvalError::Classify(format!("{}: {e}", image_path.display())))?;
        unfamiliar += usize::from(answer.unfamiliar);
        let probabilities = answer.probabilities;
        if let Some(predicted) = top1(&probabilities).filter(|&p| p < k) {
            confusion[truth][predicted] += 1;
            if predicted == truth {
                correct += 1;
            }
        }
    }
    let (_, per_class) = metrics_from_confusion(&confusion);
    Ok(FieldsReport {
        fields,
        accuracy: if fields == 0 {
            0.0
        } else {
            correct as f64 / fields as f64
        },
        no_cell,
        skipped,
        per_class: labels.iter().cloned().zip(per_class).collect(),
        labels,
        confusion,
        gate: classifier.provenance().gate,
        unfamiliar,
    })
}

/// `part / whole`, 0 for an empty whole.
fn share(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}
