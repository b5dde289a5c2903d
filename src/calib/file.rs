//! The calibration file: a fitted head and the figures that justify it, as versioned
//! JSON. It names the model it was made for (sha256) and its labels, so that it is never
//! applied to another model.
//!
//! Accuracies are stored as counts of cells (`cells`, `cv_correct_before`,
//! `cv_correct_after` per class) so that they cannot disagree with the number of cells;
//! [`CalibrationFile::accuracy_before`] and [`CalibrationFile::accuracy_after`] give the
//! fractions. Writing is left to the caller ([`CalibrationFile::to_json_bytes`]), which
//! writes durably with `store::write_file_durably`: this room does not depend on the
//! journal's.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::cv::{Accuracy, Calibration, ClassTally};
use super::head::Head;

/// The `format` field of every calibration file.
pub const FORMAT: &str = "hematovision-calibration";

/// The version this build writes and reads.
pub const VERSION: u32 = 1;

/// Per class: reviewed cells and cross-validated cells right before and after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassRecord {
    /// The class label (the head's row of the same index).
    pub label: String,
    /// Reviewed cells of the class.
    pub cells: usize,
    /// Of those, answered right by the shipped head.
    pub cv_correct_before: usize,
    /// Of those, answered right by the fitted head in cross-validation.
    pub cv_correct_after: usize,
}

/// A calibration file as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalibrationFile {
    /// Always [`FORMAT`].
    pub format: String,
    /// [`VERSION`] when written by this build.
    pub version: u32,
    /// sha256 of the model file the head was fitted to (lowercase hexadecimal).
    pub model_sha256: String,
    /// When it was made, UTC (`2026-11-22T06:47:33Z`).
    pub created_utc: String,
    /// The head's labels, in row order: the model's labels.
    pub labels: Vec<String>,
    /// Embedding dimension.
    pub dim: usize,
    /// One row of `dim` weights per label.
    pub weights: Vec<Vec<f32>>,
    /// One bias per label.
    pub bias: Vec<f32>,
    /// The pull toward the shipped head that cross-validation chose.
    pub lambda: f64,
    /// The same pull as a multiple of the embeddings' scale.
    pub strength: f64,
    /// Cross-validation folds.
    pub folds: usize,
    /// Cells and cross-validated accuracy per label, in row order.
    pub classes: Vec<ClassRecord>,
}

/// What the calibration must fit: the model in use.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    /// sha256 of the model file in use.
    pub model_sha256: &'a str,
    /// The model's labels, in output order.
    pub labels: &'a [String],
    /// The model's embedding dimension.
    pub dim: usize,
}

/// Why a calibration file is refused. Every message says what to do.
#[derive(Debug, Error)]
pub enum CalibrationFileError {
    /// The file cannot be read.
    #[error("cannot read calibration {}: {source}; fix the path in model.calibration (or --calibration), or delete that line to use the shipped head", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Not JSON of the right shape.
    #[error("not a valid calibration file ({0}); make it again with `hematovision calibrate`")]
    Json(#[from] serde_json::Error),
    /// JSON, but not a calibration file.
    #[error("not a HematoVision calibration file (format {0:?}, expected {FORMAT:?})")]
    Format(String),
    /// A version this build does not read.
    #[error(
        "calibration file version {found}, this HematoVision reads version {VERSION}; make it again with this version's `hematovision calibrate`, or upgrade"
    )]
    Version {
        /// The file's version.
        found: u32,
    },
    /// Made for another model.
    #[error(
        "made for another model (sha256 {}…, the model in use is {}…): calibrate again with this model, or delete model.calibration",
        short(file),
        short(model)
    )]
    ModelMismatch {
        /// The file's model sha256.
        file: String,
        /// The model in use.
        model: String,
    },
    /// Labels that are not the model's.
    #[error(
        "the calibration's labels {file:?} are not the model's {model:?} (same names, same order); calibrate again with this model, or delete model.calibration to use the shipped head"
    )]
    Labels {
        /// The file's labels.
        file: Vec<String>,
        /// The model's labels.
        model: Vec<String>,
    },
    /// Arrays of the wrong size.
    #[error(
        "calibration file shape: {0}; the file is damaged or not for this model: make it again with `hematovision calibrate`"
    )]
    Shape(String),
    /// NaN, infinite or out-of-range numbers.
    #[error(
        "calibration file holds an invalid number in {0}; the file is damaged: make it again with `hematovision calibrate`"
    )]
    Number(String),
}

/// The first 12 hexadecimal digits of a sha256, enough to tell two models apart in a
/// message that must stay short (a configuration error echoes about 200 characters).
fn short(sha256: &str) -> &str {
    sha256.get(..12).unwrap_or(sha256)
}

impl CalibrationFile {
    /// The file for `calibration`, fitted to the model whose file has sha256
    /// `model_sha256`, made at `created_ms` (milliseconds since the Unix epoch).
    pub fn new(calibration: &Calibration, model_sha256: &str, created_ms: u64) -> Self {
        let head = &calibration.head;
        let classes = calibration
            .before
            .per_class
            .iter()
            .zip(&calibration.after.per_class)
            .map(|(b, a)| ClassRecord {
                label: b.label.clone(),
                cells: b.cells,
                cv_correct_before: b.correct,
                cv_correct_after: a.correct,
            })
            .collect();
        Self {
            format: FORMAT.into(),
            version: VERSION,
            model_sha256: model_sha256.to_ascii_lowercase(),
            created_utc: crate::time::rfc3339_utc(created_ms),
            labels: head.labels().to_vec(),
            dim: head.dim(),
            weights: (0..head.classes()).map(|c| head.row(c).to_vec()).collect(),
            bias: head.bias().to_vec(),
            lambda: calibration.lambda,
            strength: calibration.strength,
            folds: calibration.folds,
            classes,
        }
    }

    /// The file's bytes: pretty JSON with a final newline. f32 numbers are written in
    /// their shortest exact form, so reading them back gives the same head bit for bit.
    pub fn to_json_bytes(&self) -> Result<Vec<u8>, CalibrationFileError> {
        let mut bytes = serde_json::to_vec_pretty(self)?;
        bytes.push(b'\n');
        Ok(bytes)
    }

    /// Parses `bytes` and checks the result against `expected` (see
    /// [`CalibrationFile::validate`]).
    pub fn parse(bytes: &[u8], expected: &Expected<'_>) -> Result<Self, CalibrationFileError> {
        // Format and version first, so that a newer file is named as such rather than
        // failing on a field this build does not know.
        #[derive(Deserialize)]
        struct Probe {
            format: Option<String>,
            version: Option<u32>,
        }
        let probe: Probe = serde_json::from_slice(bytes)?;
        let format = probe.format.unwrap_or_default();
        if format != FORMAT {
            return Err(CalibrationFileError::Format(format));
        }
        match probe.version {
            Some(VERSION) => {}
            found => {
                return Err(CalibrationFileError::Version {
                    found: found.unwrap_or(0),
                });
            }
        }
        let file: Self = serde_json::from_slice(bytes)?;
        file.validate(expected)?;
        Ok(file)
    }

    /// Reads and parses the calibration at `path` (see [`CalibrationFile::parse`]).
    pub fn read(path: &Path, expected: &Expected<'_>) -> Result<Self, CalibrationFileError> {
        let bytes = std::fs::read(path).map_err(|source| CalibrationFileError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&bytes, expected)
    }

    /// Refuses a file made for another model (sha256), with other labels (compared
    /// case-insensitively, in order: a row belongs to its label), of the wrong shape
    /// (including another embedding dimension), or holding non-finite numbers.
    pub fn validate(&self, expected: &Expected<'_>) -> Result<(), CalibrationFileError> {
        if !self
            .model_sha256
            .eq_ignore_ascii_case(expected.model_sha256)
        {
            return Err(CalibrationFileError::ModelMismatch {
                file: self.model_sha256.clone(),
                model: expected.model_sha256.to_ascii_lowercase(),
            });
        }
        let same_labels = self.labels.len() == expected.labels.len()
            && self
                .labels
                .iter()
                .zip(expected.labels)
                .all(|(a, b)| a.eq_ignore_ascii_case(b));
        if !same_labels {
            return Err(CalibrationFileError::Labels {
                file: self.labels.clone(),
                model: expected.labels.to_vec(),
            });
        }
        if self.dim != expected.dim {
            return Err(CalibrationFileError::Shape(format!(
                "embedding dimension {}, the model's is {}",
                self.dim, expected.dim
            )));
        }
        let classes = self.labels.len();
        if self.weights.len() != classes || self.bias.len() != classes {
            return Err(CalibrationFileError::Shape(format!(
                "{} weight rows and {} biases for {classes} labels",
                self.weights.len(),
                self.bias.len()
            )));
        }
        if let Some((i, row)) = self
            .weights
            .iter()
            .enumerate()
            .find(|(_, r)| r.len() != self.dim)
        {
            return Err(CalibrationFileError::Shape(format!(
                "weight row {i} has {} values, dimension {}",
                row.len(),
                self.dim
            )));
        }
        if let Some(i) = self
            .weights
            .iter()
            .position(|r| !r.iter().all(|w| w.is_finite()))
        {
            return Err(CalibrationFileError::Number(format!("weights row {i}")));
        }
        if !self.bias.iter().all(|b| b.is_finite()) {
            return Err(CalibrationFileError::Number("bias".into()));
        }
        if !(self.lambda.is_finite() && self.lambda > 0.0) {
            return Err(CalibrationFileError::Number("lambda".into()));
        }
        if !(self.strength.is_finite() && self.strength > 0.0) {
            return Err(CalibrationFileError::Number("strength".into()));
        }
        let records_match = self.classes.len() == classes
            && self
                .classes
                .iter()
                .zip(&self.labels)
                .all(|(r, l)| r.label == *l);
        if !records_match {
            return Err(CalibrationFileError::Shape(
                "the per-class figures do not follow the labels".into(),
            ));
        }
        if let Some(r) = self
            .classes
            .iter()
            .find(|r| r.cv_correct_before > r.cells || r.cv_correct_after > r.cells)
        {
            return Err(CalibrationFileError::Number(format!(
                "the figures of {}: more cells right than cells",
                r.label
            )));
        }
        Ok(())
    }

    /// The head to answer with.
    pub fn head(&self) -> Result<Head, CalibrationFileError> {
        Head::new(
            self.labels.clone(),
            self.dim,
            self.weights.concat(),
            self.bias.clone(),
        )
        .map_err(|e| CalibrationFileError::Shape(e.to_string()))
    }

    /// Reviewed cells per label, in row order.
    pub fn cells_per_class(&self) -> Vec<usize> {
        self.classes.iter().map(|r| r.cells).collect()
    }

    /// The shipped head's accuracy on the reviewed cells.
    pub fn accuracy_before(&self) -> Accuracy {
        self.accuracy(|r| r.cv_correct_before)
    }

    /// The fitted head's cross-validated accuracy on the reviewed cells.
    pub fn accuracy_after(&self) -> Accuracy {
        self.accuracy(|r| r.cv_correct_after)
    }

    fn accuracy(&self, correct: impl Fn(&ClassRecord) -> usize) -> Accuracy {
        Accuracy {
            per_class: self
                .classes
                .iter()
                .map(|r| ClassTally {
                    label: r.label.clone(),
                    cells: r.cells,
                    correct: correct(r),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calib::cv::{CvOptions, calibrate};
    use crate::calib::synthetic::{Rng, cells, labels, random_head};

    const SHA: &str = "94cce3dadac07fad8d7c54a91cf72c4182c538e23a033b9f44ba75a5df699a8d";
    const OTHER_SHA: &str = "371caf7ab5ec9d22f33cad73dd1080e09f4f660ed66de1683df896abd66da75f";

    fn sample() -> (CalibrationFile, Vec<String>) {
        let mut rng = Rng::new(2);
        let truth = random_head(&mut rng, 3, 6, 1.0);
        let shipped = random_head(&mut rng, 3, 6, 1.0);
        let data = cells(&mut rng, &truth, 12, 2, 0.1, false);
        let options = CvOptions {
            folds: 3,
            strengths: vec![0.1, 0.01],
        };
        let calibration = calibrate(&shipped, &data, &options, &mut |_, _| {}).unwrap();
        let file = CalibrationFile::new(&calibration, SHA, 1_795_330_053_000);
        assert_eq!(file.head().unwrap(), calibration.head);
        (file, labels(3))
    }

    fn expected(labels: &[String]) -> Expected<'_> {
        Expected {
            model_sha256: SHA,
            labels,
            dim: 6,
        }
    }

    fn json(file: &CalibrationFile) -> serde_json::Value {
        serde_json::from_slice(&file.to_json_bytes().unwrap()).unwrap()
    }

    fn parse_value(
        value: &serde_json::Value,
        expected: &Expected<'_>,
    ) -> Result<CalibrationFile, CalibrationFileError> {
        CalibrationFile::parse(&serde_json::to_vec(value).unwrap(), expected)
    }

    #[test]
    fn round_trips_the_head_bit_for_bit() {
        let (file, labels) = sample();
        let bytes = file.to_json_bytes().unwrap();
        assert!(bytes.ends_with(b"}\n"));
        let back = CalibrationFile::parse(&bytes, &expected(&labels)).unwrap();
        assert_eq!(back, file);
        let (a, b) = (back.head().unwrap(), file.head().unwrap());
        let bits = |h: &Head| -> Vec<u32> {
            h.weights()
                .iter()
                .chain(h.bias())
                .map(|v| v.to_bits())
                .collect()
        };
        assert_eq!(bits(&a), bits(&b));
        assert_eq!(back.created_utc, "2026-11-22T06:47:33Z");
        assert_eq!(back.cells_per_class().iter().sum::<usize>(), 12);
        assert_eq!(back.accuracy_before().cells(), 12);
        assert!(back.accuracy_after().correct() <= 12);
    }

    #[test]
    fn refuses_a_calibration_for_another_model() {
        let (file, labels) = sample();
        let mut other = expected(&labels);
        other.model_sha256 = OTHER_SHA;
        let err = CalibrationFile::parse(&file.to_json_bytes().unwrap(), &other).unwrap_err();
        assert!(matches!(err, CalibrationFileError::ModelMismatch { .. }));
        let message = err.to_string();
        assert!(message.contains("another model") && message.contains("delete model.calibration"));
        let upper = SHA.to_ascii_uppercase();
        let mut same = expected(&labels);
        same.model_sha256 = &upper;
        assert!(file.validate(&same).is_ok());
    }

    #[test]
    fn labels_must_match_in_order_but_not_in_case() {
        let (file, labels) = sample();
        let lower: Vec<String> = labels.iter().map(|l| l.to_lowercase()).collect();
        assert!(file.validate(&expected(&lower)).is_ok());
        let mut swapped = labels.clone();
        swapped.swap(0, 1);
        let fewer = labels[..2].to_vec();
        let mut renamed = labels.clone();
        renamed[2] = "BASOPHIL".into();
        for wrong in [swapped, fewer, renamed] {
            let err = file.validate(&expected(&wrong)).unwrap_err();
            assert!(matches!(err, CalibrationFileError::Labels { .. }), "{err}");
        }
    }

    #[test]
    fn refuses_wrong_shapes() {
        let (file, labels) = sample();
        let mut other_dim = expected(&labels);
        other_dim.dim = 1280;
        assert!(matches!(
            file.validate(&other_dim),
            Err(CalibrationFileError::Shape(_))
        ));
        let mut v = json(&file);
        v["weights"][1].as_array_mut().unwrap().pop();
        assert!(matches!(
            parse_value(&v, &expected(&labels)),
            Err(CalibrationFileError::Shape(m)) if m.contains("row 1")
        ));
        let mut v = json(&file);
        v["bias"].as_array_mut().unwrap().pop();
        assert!(matches!(
            parse_value(&v, &expected(&labels)),
            Err(CalibrationFileError::Shape(_))
        ));
        let mut v = json(&file);
        v["classes"].as_array_mut().unwrap().swap(0, 1);
        assert!(matches!(
            parse_value(&v, &expected(&labels)),
            Err(CalibrationFileError::Shape(_))
        ));
    }

    #[test]
    fn refuses_non_finite_and_impossible_numbers() {
        let (file, labels) = sample();
        let mut nan = file.clone();
        nan.weights[2][3] = f32::NAN;
        assert!(matches!(
            nan.validate(&expected(&labels)),
            Err(CalibrationFileError::Number(m)) if m == "weights row 2"
        ));
        let mut inf = file.clone();
        inf.bias[0] = f32::NEG_INFINITY;
        assert!(matches!(
            inf.validate(&expected(&labels)),
            Err(CalibrationFileError::Number(_))
        ));
        // JSON has no NaN, but a number beyond f32's range reads as infinity.
        let mut v = json(&file);
        v["weights"][0][0] = serde_json::json!(1e39);
        assert!(matches!(
            parse_value(&v, &expected(&labels)),
            Err(CalibrationFileError::Number(_))
        ));
        let mut v = json(&file);
        v["lambda"] = serde_json::json!(0.0);
        assert!(matches!(
            parse_value(&v, &expected(&labels)),
            Err(CalibrationFileError::Number(_))
        ));
        let mut v = json(&file);
        v["classes"][0]["cv_correct_after"] = serde_json::json!(1000);
        assert!(matches!(
            parse_value(&v, &expected(&labels)),
            Err(CalibrationFileError::Number(_))
        ));
    }

    #[test]
    fn names_other_files_and_versions() {
        let (file, labels) = sample();
        let mut v = json(&file);
        v["version"] = serde_json::json!(2);
        v["new_field"] = serde_json::json!("from the future");
        assert!(matches!(
            parse_value(&v, &expected(&labels)),
            Err(CalibrationFileError::Version { found: 2 })
        ));
        let mut v = json(&file);
        v["format"] = serde_json::json!("something-else");
        assert!(matches!(
            parse_value(&v, &expected(&labels)),
            Err(CalibrationFileError::Format(_))
        ));
        let mut v = json(&file);
        v["surprise"] = serde_json::json!(1);
        assert!(matches!(
            parse_value(&v, &expected(&labels)),
            Err(CalibrationFileError::Json(_))
        ));
        assert!(matches!(
            CalibrationFile::parse(b"not json", &expected(&labels)),
            Err(CalibrationFileError::Json(_))
        ));
    }

    #[test]
    fn reads_a_file_and_names_a_missing_one() {
        let (file, labels) = sample();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("calibration.json");
        std::fs::write(&path, file.to_json_bytes().unwrap()).unwrap();
        assert_eq!(
            CalibrationFile::read(&path, &expected(&labels)).unwrap(),
            file
        );
        let missing = dir.path().join("missing.json");
        let err = CalibrationFile::read(&missing, &expected(&labels)).unwrap_err();
        assert!(err.to_string().contains("missing.json"), "{err}");
    }
}
