//! Recalibration from embedded cells: the fit, the guard and the file, shared by
//! `hematovision calibrate` and the station's "Teach this microscope", so both decide
//! alike and write the same bytes.

use thiserror::Error;

use crate::calib::{
    Calibration, CalibrationFile, CalibrationFileError, CalibrationRefused, CvOptions, FitError,
    Head, LabelledCell, calibrate, decide,
};

/// A recalibration done: the figures, and either the file to write or why not.
#[derive(Debug, Clone)]
pub struct Recalibrated {
    /// Accuracy before and after, the pull chosen, the grid.
    pub calibration: Calibration,
    /// Why the guard refused the new head (nothing is to be written then).
    pub refused: Option<CalibrationRefused>,
    /// The calibration file's bytes, when accepted (or forced).
    pub file: Option<Vec<u8>>,
}

/// Why a recalibration could not be done at all.
#[derive(Debug, Error)]
pub enum RecalibrateError {
    /// Too few cells or classes, or cells that do not fit the head.
    #[error(transparent)]
    Fit(#[from] FitError),
    /// The file could not be serialised.
    #[error(transparent)]
    File(#[from] CalibrationFileError),
}

/// Fits a head to `cells` (the embeddings of every view of each reviewed cell) pulled
/// toward `shipped`, guards it against the shipped head (unless `force`) and, when it
/// passes, serialises the calibration file for the model whose checksum is
/// `model_sha256`, dated `created_ms`.
pub fn recalibrate(
    shipped: &Head,
    cells: &[LabelledCell],
    model_sha256: &str,
    force: bool,
    created_ms: u64,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Recalibrated, RecalibrateError> {
    let calibration = calibrate(shipped, cells, &CvOptions::default(), progress)?;
    let refused = decide(&calibration.before, &calibration.after, force).err();
    let file = match refused {
        Some(_) => None,
        None => Some(CalibrationFile::new(&calibration, model_sha256, created_ms).to_json_bytes()?),
    };
    Ok(Recalibrated {
        calibration,
        refused,
        file,
    })
}
