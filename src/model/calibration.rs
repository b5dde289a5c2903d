//! A calibration file loaded for the model in use ([`ActiveCalibration`]): the head the
//! classifier answers with instead of the shipped one, and the identity the journal, the
//! boot screen, `doctor` and `--version` name it by.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::calib::{CalibrationFile, CalibrationFileError, Expected, Head};

use super::bundle::ModelBundle;
use super::integrity::sha256_hex;

/// Hexadecimal digits of the file's sha256 in its identity: enough to tell calibrations
/// apart on one device, short enough for a journal line and the boot screen.
const ID_DIGITS: usize = 12;

/// Why a calibration cannot be used with this model. Every message names the fix.
#[derive(Debug, thiserror::Error)]
pub enum CalibrationError {
    /// The model has no embedding output or no shipped head, so no head can replace it.
    #[error(
        "{model} exports no embedding and head (metadata.json `outputs.embedding` and `head`), \
         so it cannot be recalibrated; use a model from HematoVision 2.0 on, or delete \
         model.calibration (or --calibration) to use the model as it is"
    )]
    NotRecalibratable {
        /// The model file.
        model: PathBuf,
    },
    /// The file is unreadable, damaged, or made for another model or other labels.
    #[error("calibration {}: {source}", path.display())]
    File {
        /// The calibration file.
        path: PathBuf,
        /// What is wrong with it.
        source: CalibrationFileError,
    },
}

/// A calibration checked against the model in use and ready to answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ActiveCalibration {
    path: PathBuf,
    sha256: String,
    file: CalibrationFile,
    head: Head,
}

impl ActiveCalibration {
    /// Reads the calibration at `path` and checks it against `bundle`: the model's sha256,
    /// its labels (same names, same order) and its embedding size.
    pub fn load(path: &Path, bundle: &ModelBundle) -> Result<Self, CalibrationError> {
        let shipped = bundle
            .shipped_head()
            .ok_or_else(|| CalibrationError::NotRecalibratable {
                model: bundle.model_path().to_path_buf(),
            })?;
        let file_error = |source| CalibrationError::File {
            path: path.to_path_buf(),
            source,
        };
        let bytes = std::fs::read(path).map_err(|source| {
            file_error(CalibrationFileError::Io {
                path: path.to_path_buf(),
                source,
            })
        })?;
        let expected = Expected {
            model_sha256: bundle.sha256(),
            labels: bundle.labels(),
            dim: shipped.dim(),
        };
        let file = CalibrationFile::parse(&bytes, &expected).map_err(file_error)?;
        let head = file.head().map_err(file_error)?;
        Ok(Self {
            path: path.to_path_buf(),
            sha256: sha256_hex(&bytes),
            file,
            head,
        })
    }

    /// The calibration file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `sha256:` and the first 12 hexadecimal digits of the file's sha256: how the journal
    /// (`session_started.calibration`) and the screens name this calibration.
    pub fn identity(&self) -> String {
        format!("sha256:{}", &self.sha256[..ID_DIGITS])
    }

    /// What the journal records as the head of every cell it answers
    /// (`cell_counted.cell.head`): `calibration sha256:<12 hex>`.
    pub fn head_name(&self) -> String {
        format!("calibration {}", self.identity())
    }

    /// The file as read (date, cells per class, cross-validated accuracy).
    pub fn file(&self) -> &CalibrationFile {
        &self.file
    }

    /// The fitted head.
    pub fn head(&self) -> &Head {
        &self.head
    }
}

impl fmt::Display for ActiveCalibration {
    /// `sha256:<12 hex> (<path>; <cells> cells, made <date>, cross-validated accuracy
    /// <before>% -> <after>%)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (before, after) = (self.file.accuracy_before(), self.file.accuracy_after());
        write!(
            f,
            "{} ({}; {} cells, made {}, cross-validated accuracy {:.1}% -> {:.1}%)",
            self.identity(),
            self.path.display(),
            before.cells(),
            self.file.created_utc,
            100.0 * before.overall(),
            100.0 * after.overall()
        )
    }
}
