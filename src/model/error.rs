//! [`ModelError`]: why a model could not be loaded, from its files ([`super::ModelBundle`])
//! or by the runtime ([`super::TfliteClassifier`]). Each names the file and what to fix.

use std::path::PathBuf;

use super::litert::{DType, LiteRtError};

/// Errors while loading a model for classification. Each names the file and what to fix.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The model file could not be read.
    #[error("cannot read the model {path}: {source}")]
    Io {
        /// The model file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The runtime library could not be loaded.
    #[error(transparent)]
    Runtime(#[from] LiteRtError),
    /// LiteRT rejected the model (damaged or not a .tflite file, unsupported operators).
    #[error("{path} is not a usable .tflite model: {source}")]
    InvalidModel {
        /// The model file.
        path: PathBuf,
        /// What LiteRT said.
        source: LiteRtError,
    },
    /// `labels.txt` is missing or malformed.
    #[error(
        "{path}: {reason} (every model needs labels.txt beside it: one class name per line, in output order)"
    )]
    Labels {
        /// The labels file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The label count differs from the model's output size.
    #[error(
        "{labels_path} has {labels} labels but the model {model} has {outputs} outputs; they must match one to one"
    )]
    LabelCount {
        /// The labels file.
        labels_path: PathBuf,
        /// The model file.
        model: PathBuf,
        /// Number of labels.
        labels: usize,
        /// Number of outputs.
        outputs: usize,
    },
    /// `metadata.json` is malformed or contradicts the model or `labels.txt`.
    #[error("{path}: {reason}")]
    Metadata {
        /// The metadata file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The model file's sha256 differs from the one its `metadata.json` records.
    #[error(
        "model file damaged: {path} has sha256 {found}, expected {expected} (from metadata.json); \
         reinstall it with `sudo apt install --reinstall hematovision`, or copy models/{file} \
         from the HematoVision release or source tree again"
    )]
    Damaged {
        /// The model file.
        path: PathBuf,
        /// Its file name, as the fix names it.
        file: String,
        /// The recorded sha256.
        expected: String,
        /// The file's sha256.
        found: String,
    },
    /// `metadata.json` records no sha256 for the model file, so damage cannot be detected.
    #[error(
        "{meta_path} records no sha256 for {file}, so the model cannot be checked for damage; \
         re-export the model with models/training/train.py, or, if {file} is the very file this \
         metadata was written for, add \"sha256\": {{\"{file}\": \"{found}\"}} to it"
    )]
    DigestNotRecorded {
        /// The metadata file.
        meta_path: PathBuf,
        /// The model's file name.
        file: String,
        /// The model file's sha256.
        found: String,
    },
    /// A HematoVision model without its `metadata.json`.
    #[error(
        "{meta_path} is missing: {path} is a HematoVision model, whose preprocessing, views and \
         sha256 are in that file, and guessing them would change its answers; reinstall with \
         `sudo apt install --reinstall hematovision`, or copy models/metadata.json beside the model"
    )]
    MissingMetadata {
        /// The model file.
        path: PathBuf,
        /// Where the metadata was looked for.
        meta_path: PathBuf,
    },
    /// The model's input is not one RGB image.
    #[error(
        "{path}: the model input is {dtype} {shape:?}, not an image; a classifier needs one input of shape [1, height, width, 3]"
    )]
    NotImageInput {
        /// The model file.
        path: PathBuf,
        /// The input's shape.
        shape: Vec<usize>,
        /// The input's element type.
        dtype: DType,
    },
    /// The model is an image model, but of a kind this classifier cannot drive.
    #[error("{path}: {reason}")]
    Unsupported {
        /// The model file.
        path: PathBuf,
        /// What is not supported.
        reason: String,
    },
}
