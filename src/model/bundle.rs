//! [`ModelBundle`]: one model as it lies on disk — the `.tflite` bytes, `labels.txt`,
//! `metadata.json` and the file's sha256 — read and verified once, with every default a
//! model without metadata gets decided here and nowhere else.
//!
//! The classifier runs it; the locator's crop framing, `doctor`, `bench`, `eval` and the
//! command line read it. It needs no runtime library, so whatever only shows labels or
//! metadata can load it alone.

use std::fmt;
use std::path::{Path, PathBuf};

use super::error::ModelError;
use super::gate::Gate;
use super::head_file::parse_head;
use super::integrity::{self, Mismatch};
use super::metadata::{self, LABELS_FILE, METADATA_FILE, ModelMetadata, OutputKind};
use super::preprocess::Preprocessing;
use crate::calib::Head;

/// Fraction of a crop's side the cell fills when the model's metadata does not say.
pub const DEFAULT_CELL_FRACTION: f32 = 0.5;

/// Orientation views averaged when the metadata does not say: the upright one only.
const DEFAULT_VIEWS: usize = 1;

/// A model's files, loaded and checked by [`ModelBundle::load`]. Share it as
/// `Arc<ModelBundle>`: the classifier keeps one, and so can anything else that reads labels
/// or metadata, without reading the files again.
///
/// Beside `model.tflite` it reads `labels.txt` (required) and `metadata.json`, which must
/// record the model file's sha256. Without `metadata.json` a third-party model is assumed,
/// with a warning: no crop, bilinear resize, scale to [-1, 1], one view, crops framed with
/// [`DEFAULT_CELL_FRACTION`]; a file named `hematovision*` is refused instead, since its own
/// preprocessing would be lost.
///
/// A model that exports its pooled embedding (metadata `outputs.embedding` and `head`) also
/// has its shipped classification head here ([`ModelBundle::shipped_head`]), read from the
/// head file and checked against its sha256 and the labels: recalibration starts from it.
/// Such a model may also ship an unfamiliar-cell gate ([`ModelBundle::gate`]), checked alike.
pub struct ModelBundle {
    model_path: PathBuf,
    labels_path: PathBuf,
    metadata_path: PathBuf,
    bytes: Vec<u8>,
    sha256: String,
    labels: Vec<String>,
    metadata: Option<ModelMetadata>,
    name: String,
    head: Option<Head>,
    gate: Option<Gate>,
}

impl fmt::Debug for ModelBundle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ModelBundle")
            .field("model_path", &self.model_path)
            .field("bytes", &self.bytes.len())
            .field("sha256", &self.sha256)
            .field("labels", &self.labels)
            .field("has_metadata", &self.metadata.is_some())
            .field("has_head", &self.head.is_some())
            .field("gate", &self.gate.as_ref().map(Gate::identity))
            .finish()
    }
}

impl ModelBundle {
    /// Reads the model at `model_path` with the `labels.txt` and `metadata.json` beside it,
    /// and checks them against each other and the file against its recorded sha256. What
    /// only the runtime can check (tensor shapes, the input size) is left to the classifier.
    pub fn load(model_path: &Path) -> Result<Self, ModelError> {
        let dir = model_path.parent().unwrap_or(Path::new("."));
        let labels_path = dir.join(LABELS_FILE);
        let labels = metadata::read_labels(&labels_path).map_err(|reason| ModelError::Labels {
            path: labels_path.clone(),
            reason,
        })?;
        let metadata_path = dir.join(METADATA_FILE);
        let metadata = read_metadata(&metadata_path)?;
        let bytes = std::fs::read(model_path).map_err(|source| ModelError::Io {
            path: model_path.to_path_buf(),
            source,
        })?;
        let sha256 = integrity::sha256_hex(&bytes);
        // Before any runtime sees the bytes: LiteRT may abort the process on a damaged file.
        check_integrity(model_path, &metadata_path, metadata.as_ref(), &sha256)?;
        if let Some(meta) = &metadata {
            check_labels(meta, &labels, &labels_path, &metadata_path)?;
        }
        let name = metadata
            .as_ref()
            .and_then(|m| m.name.clone())
            .or_else(|| {
                model_path
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
            })
            .unwrap_or_else(|| "model".into());
        let head = match &metadata {
            Some(meta) => read_head(dir, &metadata_path, meta, &labels)?,
            None => None,
        };
        let gate = match &metadata {
            Some(meta) => read_gate(dir, &metadata_path, meta)?,
            None => None,
        };
        Ok(Self {
            model_path: model_path.to_path_buf(),
            labels_path,
            metadata_path,
            bytes,
            sha256,
            labels,
            metadata,
            name,
            head,
            gate,
        })
    }

    /// The shipped classification head, for a model that exports its embedding; `None`
    /// for every model before 2.0.
    pub fn shipped_head(&self) -> Option<&Head> {
        self.head.as_ref()
    }

    /// The unfamiliar-cell gate shipped with the model ([`crate::model::gate`]); `None` for
    /// a model without one.
    pub fn gate(&self) -> Option<&Gate> {
        self.gate.as_ref()
    }

    /// The `.tflite` file.
    pub fn model_path(&self) -> &Path {
        &self.model_path
    }

    /// The `labels.txt` read.
    pub fn labels_path(&self) -> &Path {
        &self.labels_path
    }

    /// Where `metadata.json` is (or was looked for, for a third-party model).
    pub fn metadata_path(&self) -> &Path {
        &self.metadata_path
    }

    /// The model file's bytes, as verified.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The model file's sha256, 64 lowercase hexadecimal digits (as `sha256sum` prints it).
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// Class names, in the model's output order.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// The model's `metadata.json`, if it has one (HematoVision's own models always do).
    pub fn metadata(&self) -> Option<&ModelMetadata> {
        self.metadata.as_ref()
    }

    /// Name from the metadata, else the file stem.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Version from the metadata, if any.
    pub fn version(&self) -> Option<&str> {
        self.metadata.as_ref().and_then(|m| m.version.as_deref())
    }

    /// How a picture becomes the model's `width` x `height` input: the metadata's crop,
    /// channel order and normalisation, else MobileNetV2's convention
    /// ([`Preprocessing::mobilenet`]).
    pub fn preprocessing(&self, width: u32, height: u32) -> Preprocessing {
        let mut spec = Preprocessing::mobilenet(width, height);
        if let Some(meta) = &self.metadata {
            spec.crop = meta.crop;
            spec.color_order = meta.color_order;
            spec.mean = meta.normalization.mean;
            spec.std = meta.normalization.std;
        }
        spec
    }

    /// Orientation views the model's trainer recommends averaging (see
    /// [`super::views`]); 1 without metadata.
    pub fn views(&self) -> usize {
        self.metadata
            .as_ref()
            .and_then(|m| m.views)
            .unwrap_or(DEFAULT_VIEWS)
    }

    /// How much of a crop's side the cell fills in the model's training images, so the
    /// locator's crops (`vision::framing_box`) are framed alike.
    pub fn cell_fraction(&self) -> f32 {
        self.metadata
            .as_ref()
            .and_then(|m| m.cell_fraction)
            .unwrap_or(DEFAULT_CELL_FRACTION)
    }

    /// Whether the output holds probabilities or logits, as the metadata says; `None` for a
    /// third-party model, whose output the classifier judges from its type and values.
    pub fn output(&self) -> Option<OutputKind> {
        self.metadata.as_ref().map(|m| m.output)
    }
}

/// Reads and checks `metadata.json`; `None` when there is none.
fn read_metadata(path: &Path) -> Result<Option<ModelMetadata>, ModelError> {
    let bad = |reason: String| ModelError::Metadata {
        path: path.to_path_buf(),
        reason,
    };
    match std::fs::read_to_string(path) {
        Ok(text) => ModelMetadata::parse(&text).map(Some).map_err(bad),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(bad(e.to_string())),
    }
}

/// Reads the head file the metadata names (if any), after checking its sha256 against the
/// metadata's record, as the model file's is.
fn read_head(
    dir: &Path,
    metadata_path: &Path,
    meta: &ModelMetadata,
    labels: &[String],
) -> Result<Option<Head>, ModelError> {
    let Some(spec) = &meta.head else {
        return Ok(None);
    };
    // The model answers without it; only recalibration needs the head, and it says so.
    let missing = "the model counts as shipped, but it cannot be recalibrated";
    let Some((path, text)) = read_checked(dir, metadata_path, meta, &spec.file, missing)? else {
        return Ok(None);
    };
    parse_head(&text, labels, spec.embedding_size)
        .map(Some)
        .map_err(|reason| ModelError::Metadata { path, reason })
}

/// Reads the unfamiliar-cell gate the metadata names (if any), checked as the head is.
fn read_gate(
    dir: &Path,
    metadata_path: &Path,
    meta: &ModelMetadata,
) -> Result<Option<Gate>, ModelError> {
    let (Some(spec), Some(head)) = (&meta.gate, &meta.head) else {
        return Ok(None);
    };
    let missing = "cells unlike the model's classes (basophils, immature granulocytes, \
                   erythroblasts) are then counted as one of them";
    let Some((path, text)) = read_checked(dir, metadata_path, meta, &spec.file, missing)? else {
        return Ok(None);
    };
    Gate::parse(&text, head.embedding_size)
        .map(Some)
        .map_err(|reason| ModelError::Metadata { path, reason })
}

/// Reads `file` beside the model after checking its sha256 against the metadata's record;
/// `None`, with a warning that says what is lost (`missing`), when it is not there.
fn read_checked(
    dir: &Path,
    metadata_path: &Path,
    meta: &ModelMetadata,
    file: &str,
    missing: &str,
) -> Result<Option<(PathBuf, String)>, ModelError> {
    let path = dir.join(file);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            log::warn!(
                "{} is missing although {} names it: {missing}; reinstall the model files \
                 (apt install --reinstall hematovision)",
                path.display(),
                metadata_path.display()
            );
            return Ok(None);
        }
        Err(source) => {
            return Err(ModelError::Io {
                path: path.clone(),
                source,
            });
        }
    };
    match integrity::verify(&meta.sha256, file, &integrity::sha256_hex(&bytes)) {
        Ok(()) => {}
        Err(Mismatch::Differs { expected, found }) => {
            return Err(ModelError::Damaged {
                path,
                file: file.to_string(),
                expected,
                found,
            });
        }
        Err(Mismatch::NotRecorded { found }) => {
            return Err(ModelError::DigestNotRecorded {
                meta_path: metadata_path.to_path_buf(),
                file: file.to_string(),
                found,
            });
        }
    }
    Ok(Some((path, String::from_utf8_lossy(&bytes).into_owned())))
}

/// Verifies the model's sha256 against its metadata; without metadata, refuses a
/// HematoVision model and warns loudly about a third-party one.
fn check_integrity(
    model_path: &Path,
    meta_path: &Path,
    metadata: Option<&ModelMetadata>,
    sha256: &str,
) -> Result<(), ModelError> {
    let file = model_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let Some(meta) = metadata else {
        if integrity::is_own_model(&file) {
            return Err(ModelError::MissingMetadata {
                path: model_path.to_path_buf(),
                meta_path: meta_path.to_path_buf(),
            });
        }
        log::warn!(
            "{} has no {METADATA_FILE} beside it: treating it as a third-party model with the \
             defaults (no crop, bilinear resize to the input size, RGB scaled to [-1, 1], one view, \
             probabilities detected from the output) and no check for file damage",
            model_path.display()
        );
        return Ok(());
    };
    match integrity::verify(&meta.sha256, &file, sha256) {
        Ok(()) => Ok(()),
        Err(Mismatch::Differs { expected, found }) => Err(ModelError::Damaged {
            path: model_path.to_path_buf(),
            file,
            expected,
            found,
        }),
        Err(Mismatch::NotRecorded { found }) => Err(ModelError::DigestNotRecorded {
            meta_path: meta_path.to_path_buf(),
            file,
            found,
        }),
    }
}

/// The metadata's labels must be `labels.txt`'s, in the same order.
fn check_labels(
    meta: &ModelMetadata,
    labels: &[String],
    labels_path: &Path,
    meta_path: &Path,
) -> Result<(), ModelError> {
    if meta.labels == labels {
        return Ok(());
    }
    let at = meta
        .labels
        .iter()
        .zip(labels)
        .position(|(a, b)| a != b)
        .unwrap_or(meta.labels.len().min(labels.len()));
    Err(ModelError::Metadata {
        path: meta_path.to_path_buf(),
        reason: format!(
            "labels differ from {} (first difference at position {at}: {:?} vs {:?})",
            labels_path.display(),
            meta.labels.get(at),
            labels.get(at)
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::preprocess::Crop;

    const META: &str = r#"{"name": "tiny", "version": 2, "input_size": 32, "color_order": "BGR",
        "crop": "center_square", "resize": "bilinear", "normalization": {"mean": 0, "std": 255},
        "labels": ["a", "b"], "output": "logits", "cell_fraction": 0.35, "views": 4}"#;

    /// A model folder with `bytes` as `file`, labels `a`, `b` and optionally `meta`, whose
    /// sha256 is recorded for the file when `record` holds.
    fn folder(file: &str, meta: Option<&str>, record: bool) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(file);
        std::fs::write(&path, b"not parsed here").unwrap();
        std::fs::write(dir.path().join(LABELS_FILE), "a\nb\n").unwrap();
        if let Some(meta) = meta {
            let mut v: serde_json::Value = serde_json::from_str(meta).unwrap();
            if record {
                v["sha256"] =
                    serde_json::json!({ file: integrity::sha256_hex(b"not parsed here") });
            }
            std::fs::write(dir.path().join(METADATA_FILE), v.to_string()).unwrap();
        }
        (dir, path)
    }

    #[test]
    fn a_third_party_model_gets_the_defaults() {
        let (_dir, path) = folder("mobilenet.tflite", None, false);
        let b = ModelBundle::load(&path).unwrap();
        assert_eq!(b.name(), "mobilenet");
        assert_eq!(b.version(), None);
        assert_eq!(b.labels(), ["a", "b"]);
        assert_eq!(b.sha256(), integrity::sha256_hex(b"not parsed here"));
        assert_eq!(b.bytes(), b"not parsed here");
        assert_eq!(b.views(), 1);
        assert_eq!(b.cell_fraction(), DEFAULT_CELL_FRACTION);
        assert_eq!(b.output(), None);
        assert_eq!(b.preprocessing(7, 5), Preprocessing::mobilenet(7, 5));
    }

    #[test]
    fn the_metadata_overrides_every_default() {
        let (_dir, path) = folder("m.tflite", Some(META), true);
        let b = ModelBundle::load(&path).unwrap();
        assert_eq!((b.name(), b.version()), ("tiny", Some("2")));
        assert_eq!(b.views(), 4);
        assert_eq!(b.cell_fraction(), 0.35);
        assert_eq!(b.output(), Some(OutputKind::Logits));
        let spec = b.preprocessing(32, 32);
        assert_eq!(spec.crop, Crop::CenterSquare);
        assert_eq!((spec.mean, spec.std), (0.0, 255.0));
    }

    #[test]
    fn bad_bundles_are_typed_errors() {
        let (_dir, path) = folder("hematovision-x.tflite", None, false);
        let err = ModelBundle::load(&path).unwrap_err();
        assert!(matches!(err, ModelError::MissingMetadata { .. }), "{err}");
        let (_dir, path) = folder("m.tflite", Some(META), false);
        let err = ModelBundle::load(&path).unwrap_err();
        assert!(matches!(err, ModelError::DigestNotRecorded { .. }), "{err}");
        let (_dir, path) = folder("m.tflite", Some(&META.replace("\"b\"", "\"c\"")), true);
        let err = ModelBundle::load(&path).unwrap_err();
        assert!(err.to_string().contains("labels differ"), "{err}");
    }

    #[test]
    fn a_bundle_can_be_shared_between_threads() {
        fn shared<T: Send + Sync>() {}
        shared::<ModelBundle>();
    }
}
