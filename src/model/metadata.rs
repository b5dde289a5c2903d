//! The model's `metadata.json` (written by the training pipeline next to the `.tflite`) and
//! `labels.txt`. The metadata states how the model was trained to see pictures, so that the
//! daemon's preprocessing cannot silently disagree with training.
//!
//! ```json
//! {"name": "hematovision-wbc4", "version": "1.0", "input_size": 224, "color_order": "RGB",
//!  "crop": "center_square", "resize": "bilinear",
//!  "normalization": {"mean": 127.5, "std": 127.5},
//!  "labels": ["eosinophil", "lymphocyte", "monocyte", "neutrophil"],
//!  "output": "probabilities", "cell_fraction": 0.6,
//!  "sha256": {"hematovision-wbc4.tflite": "<64 hex digits>"}, "training": {}}
//! ```
//! Unknown keys are ignored (the file also documents training); the keys the daemon relies on
//! are required and checked.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Deserializer, Serialize};

use super::illumination::Illumination;
use super::preprocess::{ColorOrder, Crop};

/// File name of the metadata, beside the model.
pub const METADATA_FILE: &str = "metadata.json";
/// File name of the labels, beside the model.
pub const LABELS_FILE: &str = "labels.txt";

/// Resampling used when resizing to the input size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resize {
    /// `tf.image.resize(..., method="bilinear", antialias=False)`.
    Bilinear,
}

/// What the model's output vector holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputKind {
    /// Already probabilities (the model ends in softmax).
    Probabilities,
    /// Raw scores; the classifier applies softmax.
    Logits,
}

/// Pixel normalisation: `(x - mean) / std` on 0–255 values.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Normalization {
    /// Subtracted first.
    pub mean: f32,
    /// Divides the result.
    pub std: f32,
}

/// Contents of `metadata.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelMetadata {
    /// Model name.
    #[serde(default)]
    pub name: Option<String>,
    /// Model version (a string or a number in the file).
    #[serde(default, deserialize_with = "string_or_number")]
    pub version: Option<String>,
    /// Input width and height in pixels.
    pub input_size: u32,
    /// Channel order.
    pub color_order: ColorOrder,
    /// Crop before resizing.
    pub crop: Crop,
    /// Resampling method.
    pub resize: Resize,
    /// Pixel normalisation.
    pub normalization: Normalization,
    /// Class names in output order; must equal `labels.txt`.
    pub labels: Vec<String>,
    /// Whether the output is probabilities or logits.
    pub output: OutputKind,
    /// Fraction of the crop the cell should fill (used by the cell locator), if given.
    #[serde(default)]
    pub cell_fraction: Option<f32>,
    /// Orientation views the classifier averages over (1, 2, 4 or 8; see
    /// [`crate::model::views`]), if the model's trainer recommends more than the upright one.
    #[serde(default)]
    pub views: Option<usize>,
    /// sha256 of each model file this metadata describes, by file name (the int8 and the
    /// float32 model share one folder); checked on every load (see [`crate::model::integrity`]).
    #[serde(default)]
    pub sha256: BTreeMap<String, String>,
    /// Free-form training record.
    #[serde(default)]
    pub training: Option<serde_json::Value>,
    /// How the model's training pictures were framed, if recorded.
    #[serde(default)]
    pub framing: Option<Framing>,
    /// Background normalisation applied to the whole picture before the crop (absent: none,
    /// as for every model before 2.0); see [`crate::model::illumination`].
    #[serde(default)]
    pub illumination: Option<Illumination>,
    /// Which output tensor holds what, for a model with more than one output (absent: the
    /// only output holds the probabilities).
    #[serde(default)]
    pub outputs: Option<Outputs>,
    /// The classification head's weights, in a file beside the model, for a model that
    /// exports its embedding (absent: none, as for every model before 2.0).
    #[serde(default)]
    pub head: Option<HeadSpec>,
    /// The unfamiliar-cell gate on the embedding, in a file beside the model (absent: none);
    /// see [`crate::model::gate`].
    #[serde(default)]
    pub gate: Option<GateSpec>,
}

/// The `gate` object of `metadata.json`: where the unfamiliar-cell gate is. It reads the
/// embedding the head reads, so it needs `head`. Other keys document it and are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateSpec {
    /// The gate file's name, beside the model (`gate.json`); its sha256 is in `sha256`.
    pub file: String,
}

/// The `head` object of `metadata.json`: where the shipped head's weights are, and their
/// shape. Other keys (activation, formula, measured agreement) document it and are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeadSpec {
    /// The head file's name, beside the model (`head.json`); its sha256 is in `sha256`.
    pub file: String,
    /// Values of the embedding the head reads.
    pub embedding_size: usize,
    /// Classes it answers (the labels).
    pub classes: usize,
}

/// The `outputs` object of `metadata.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outputs {
    /// The class vector the classifier reads.
    pub probabilities: OutputTensor,
    /// The pooled embedding before the classification head, if the model exports it (the
    /// head's weights are in the file `head` names, so the answer can be recomputed).
    #[serde(default)]
    pub embedding: Option<OutputTensor>,
}

/// One output tensor of the model, by its signature name (preferred) or its index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputTensor {
    /// Index among the model's outputs.
    pub index: usize,
    /// Name in the model's signature; when given it must match and wins over `index`.
    #[serde(default)]
    pub name: Option<String>,
    /// Number of values.
    #[serde(default)]
    pub size: Option<usize>,
}

/// The `framing` object of `metadata.json`: how the training pictures were framed, so the
/// daemon frames what it classifies the same way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Framing {
    /// `dataset_crop` (the pictures as the datasets give them, cell about `cell_fraction`
    /// of the side) or `cell_box` (re-framed by the located cell,
    /// `models/training/framing.py`).
    pub trained_on: String,
    /// Fraction of the side the white cell fills.
    pub cell_fraction: f32,
    /// What fills the square beyond the picture: `background` (its own background colour).
    pub pad: String,
    /// Whether pictures that are already crops should be re-framed by their cell before
    /// classifying (measured: see docs/BENCHMARKS.md).
    pub reframe_crops: bool,
}

fn string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<serde_json::Value>::deserialize(d)? {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) => Some(s),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        Some(other) => {
            return Err(serde::de::Error::custom(format!(
                "version must be a string or a number, not {other}"
            )));
        }
    })
}

impl ModelMetadata {
    /// Parses and checks metadata text.
    pub fn parse(text: &str) -> Result<Self, String> {
        let meta: Self = serde_json::from_str(text).map_err(|e| e.to_string())?;
        meta.validate()?;
        Ok(meta)
    }

    /// Checks values serde cannot: sizes, finite normalisation, labels.
    pub fn validate(&self) -> Result<(), String> {
        if self.input_size == 0 {
            return Err("input_size must be at least 1".into());
        }
        let Normalization { mean, std } = self.normalization;
        if !mean.is_finite() || !std.is_finite() || std == 0.0 {
            return Err(format!(
                "normalization must have a finite mean and a finite non-zero std (got mean {mean}, std {std})"
            ));
        }
        if self.labels.is_empty() {
            return Err("labels must not be empty".into());
        }
        if let Some(i) = self.labels.iter().position(|l| l.trim().is_empty()) {
            return Err(format!("label {i} is empty"));
        }
        if let Some(f) = self.cell_fraction
            && !(f > 0.0 && f <= 1.0)
        {
            return Err(format!("cell_fraction must be in (0, 1], got {f}"));
        }
        if let Some(ill) = &self.illumination {
            ill.validate()?;
        }
        if let Some(head) = &self.head {
            if head.classes != self.labels.len() {
                return Err(format!(
                    "head.classes is {} but there are {} labels",
                    head.classes,
                    self.labels.len()
                ));
            }
            if head.embedding_size == 0 {
                return Err("head.embedding_size must be at least 1".into());
            }
            if self
                .outputs
                .as_ref()
                .and_then(|o| o.embedding.as_ref())
                .is_none()
            {
                return Err(
                    "head is given but outputs.embedding is not: the head reads the embedding"
                        .into(),
                );
            }
        }
        if self.gate.is_some() && self.head.is_none() {
            return Err(
                "gate is given but head is not: the gate reads the embedding the head reads".into(),
            );
        }
        if let Some(n) = self.views {
            let side = self.input_size as usize;
            crate::model::views::check_views(n, side, side)?;
        }
        if let Some((file, digest)) = self
            .sha256
            .iter()
            .find(|(_, d)| !crate::model::integrity::is_sha256_hex(d))
        {
            return Err(format!(
                "sha256 of {file} must be 64 lowercase hexadecimal digits (as sha256sum prints \
                 it), got {digest:?}"
            ));
        }
        Ok(())
    }
}

/// Reads `labels.txt`: one class name per line, in output order; trailing blank lines and
/// surrounding whitespace are ignored, blank lines in between are an error.
pub fn parse_labels(text: &str) -> Result<Vec<String>, String> {
    let mut labels: Vec<String> = text.lines().map(|l| l.trim().to_string()).collect();
    while labels.last().is_some_and(|l| l.is_empty()) {
        labels.pop();
    }
    if labels.is_empty() {
        return Err("no labels (the file is empty)".into());
    }
    if let Some(i) = labels.iter().position(|l| l.is_empty()) {
        return Err(format!("line {} is blank", i + 1));
    }
    Ok(labels)
}

/// Reads `labels.txt` at `path`.
pub fn read_labels(path: &Path) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    parse_labels(&text)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"name": "wbc", "version": 3, "input_size": 224, "color_order": "RGB",
        "crop": "center_square", "resize": "bilinear",
        "normalization": {"mean": 127.5, "std": 127.5},
        "labels": ["eosinophil", "lymphocyte", "monocyte", "neutrophil"],
        "output": "probabilities", "cell_fraction": 0.6, "views": 8,
        "training": {"epochs": 5}, "some_future_key": [1, 2]}"#;

    #[test]
    fn full_contract_parses_and_ignores_unknown_keys() {
        let m = ModelMetadata::parse(GOOD).unwrap();
        assert_eq!(m.version.as_deref(), Some("3"));
        assert_eq!(m.crop, Crop::CenterSquare);
        assert_eq!(m.output, OutputKind::Probabilities);
        assert_eq!(m.labels.len(), 4);
        assert_eq!(m.cell_fraction, Some(0.6));
        assert_eq!(m.views, Some(8));
        let upright = ModelMetadata::parse(&GOOD.replace(" \"views\": 8,", "")).unwrap();
        assert_eq!(upright.views, None);
        assert_eq!(m.illumination, None);
        let lit = ModelMetadata::parse(&GOOD.replace(
            "\"views\": 8,",
            "\"views\": 8, \"illumination\": {\"method\": \"background_gain\", \"top_permille\": 100, \
             \"reference\": [240, 240, 240], \"min_background\": 32, \"applied_to\": \"picture\"},",
        ))
        .unwrap();
        assert_eq!(lit.illumination.map(|i| i.reference), Some([240; 3]));
        assert_eq!(m.outputs, None);
        let two = ModelMetadata::parse(&GOOD.replace(
            "\"views\": 8,",
            "\"views\": 8, \"outputs\": {\"probabilities\": {\"index\": 1, \"name\": \"output_1\", \
             \"size\": 4}, \"embedding\": {\"index\": 0, \"name\": \"output_0\", \"size\": 1280}},",
        ))
        .unwrap();
        let outputs = two.outputs.unwrap();
        assert_eq!(outputs.probabilities.index, 1);
        assert_eq!(outputs.probabilities.name.as_deref(), Some("output_1"));
        assert_eq!(outputs.embedding.and_then(|e| e.size), Some(1280));
    }

    #[test]
    fn bad_values_are_rejected_with_the_reason() {
        let cases = [
            (GOOD.replace("\"bilinear\"", "\"nearest\""), "nearest"),
            (GOOD.replace("\"std\": 127.5", "\"std\": 0"), "std"),
            (
                GOOD.replace("\"input_size\": 224", "\"input_size\": 0"),
                "input_size",
            ),
            (GOOD.replace("\"RGB\"", "\"HSV\""), "HSV"),
            (GOOD.replace("\"probabilities\"", "\"odds\""), "odds"),
            (GOOD.replace("\"crop\": \"center_square\", ", ""), "crop"),
            (GOOD.replace("0.6", "1.5"), "cell_fraction"),
            (
                GOOD.replace("\"views\": 8", "\"views\": 3"),
                "views must be 1, 2, 4 or 8",
            ),
            (GOOD.replace("\"views\": 8", "\"views\": -1"), "`-1`"),
            (
                GOOD.replace(
                    "\"views\": 8,",
                    "\"views\": 8, \"sha256\": {\"m.tflite\": \"12ab\"},",
                ),
                "sha256 of m.tflite",
            ),
        ];
        for (text, needle) in cases {
            let err = ModelMetadata::parse(&text).unwrap_err();
            assert!(err.contains(needle), "{needle}: {err}");
        }
    }

    #[test]
    fn labels_file_rules() {
        assert_eq!(parse_labels("a\r\nb \n\n\n").unwrap(), vec!["a", "b"]);
        assert!(parse_labels("").is_err());
        assert!(parse_labels("\n\n").is_err());
        assert!(parse_labels("a\n\nb\n").unwrap_err().contains("line 2"));
    }
}
