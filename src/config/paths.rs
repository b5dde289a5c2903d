//! Checks of the files and folders a configuration names (`check-config` without
//! `--skip-paths`): the model, the runtime library, the calibration (checked against the
//! model), the replay folder, the data directory.

use std::path::Path;

use super::{CameraSourceKind, Config};
use crate::model::{ActiveCalibration, CalibrationError, ModelBundle};

/// A file or folder the configuration names that is missing or of the wrong kind. Not an
/// [`Invalid`](crate::invalid::Invalid) value: the value may be right for another machine.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct PathProblem {
    /// Full dotted key, e.g. `model.path`.
    pub key: &'static str,
    /// What is wrong and the fix, e.g. `/x/m.tflite does not exist: install the model …`.
    pub message: String,
}

/// What a named path must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Want {
    File,
    Folder,
    /// A folder, or nothing yet (it is created when needed).
    FolderOrAbsent,
}

impl Config {
    /// Checks that the paths this configuration names exist and are of the right kind
    /// (after [`Config::resolve_paths`]). Returns the first problem, naming the key.
    pub fn check_paths(&self) -> Result<(), PathProblem> {
        let mut checks: Vec<(&'static str, &Path, Want, &str)> = vec![(
            "model.path",
            &self.model.path,
            Want::File,
            "install the model or point model.path at the .tflite file",
        )];
        if let Some(lib) = &self.model.runtime_library {
            checks.push((
                "model.runtime_library",
                lib,
                Want::File,
                "point it at libLiteRt.so, or remove the key to search the usual places",
            ));
        }
        if let Some(calibration) = &self.model.calibration {
            checks.push((
                "model.calibration",
                calibration,
                Want::File,
                "point it at a file `hematovision calibrate` wrote, or delete the line to use \
                 the model's shipped head",
            ));
        }
        if self.camera.source != CameraSourceKind::V4l2 {
            checks.push((
                "camera.replay_dir",
                &self.camera.replay_dir,
                Want::Folder,
                "point it at a folder of images",
            ));
        }
        checks.push((
            "storage.data_dir",
            &self.storage.data_dir,
            Want::FolderOrAbsent,
            "point it at a folder (it is created when missing)",
        ));
        if let Some(dir) = &self.display.png_dir {
            checks.push((
                "display.png_dir",
                dir,
                Want::FolderOrAbsent,
                "point it at a folder (it is created when missing)",
            ));
        }
        for (key, path, want, fix) in checks {
            if let Some(problem) = path_problem(path, want) {
                return Err(PathProblem {
                    key,
                    message: format!("{problem}: {fix}"),
                });
            }
        }
        self.check_calibration()
    }

    /// A calibration must be one for this model (its sha256) with its labels: the daemon
    /// would refuse it at start and count with the shipped head.
    fn check_calibration(&self) -> Result<(), PathProblem> {
        let Some(calibration) = &self.model.calibration else {
            return Ok(());
        };
        let problem = |message: String| PathProblem {
            key: "model.calibration",
            message,
        };
        let bundle = ModelBundle::load(&self.model.path)
            .map_err(|e| problem(format!("cannot be checked, the model does not load: {e}")))?;
        // The key names the file already: only what is wrong with it, so that the message
        // fits what a configuration error echoes.
        ActiveCalibration::load(calibration, &bundle)
            .map(|_| ())
            .map_err(|e| match e {
                CalibrationError::File { source, .. } => problem(source.to_string()),
                other => problem(other.to_string()),
            })
    }
}

/// What is wrong with `path` for `want`, if anything.
fn path_problem(path: &Path, want: Want) -> Option<String> {
    let shown = path.display();
    match (std::fs::metadata(path), want) {
        (Err(e), Want::FolderOrAbsent) if e.kind() == std::io::ErrorKind::NotFound => None,
        (Err(e), _) if e.kind() == std::io::ErrorKind::NotFound => {
            Some(format!("{shown} does not exist"))
        }
        (Err(e), _) => Some(format!("cannot read {shown}: {e}")),
        (Ok(m), Want::File) if m.is_dir() => Some(format!("{shown} is a folder, not a file")),
        (Ok(m), Want::File) if !m.is_file() => Some(format!("{shown} is not a regular file")),
        (Ok(m), Want::Folder | Want::FolderOrAbsent) if !m.is_dir() => {
            Some(format!("{shown} is not a folder"))
        }
        (Ok(_), _) => None,
    }
}
