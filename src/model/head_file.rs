//! The shipped classification head, `head.json` beside a model that exports its embedding
//! (`models/training/train.py` writes it):
//!
//! ```json
//! {"format": "dense_softmax", "labels": ["EOSINOPHIL", ...], "embedding_size": 1280,
//!  "classes": 7, "bias": [...], "kernel": [[... one value per class] x embedding_size]}
//! ```
//!
//! `probabilities = softmax(embedding @ kernel + bias)`: the kernel is stored one row per
//! embedding value, the transpose of [`Head`]'s one row per class.

use serde::Deserialize;

use crate::calib::Head;

/// The `format` of a head file this build reads.
pub const HEAD_FORMAT: &str = "dense_softmax";

#[derive(Deserialize)]
struct HeadJson {
    format: String,
    labels: Vec<String>,
    embedding_size: usize,
    classes: usize,
    bias: Vec<f32>,
    kernel: Vec<Vec<f32>>,
}

/// Parses `head.json` text into a [`Head`], checking it against the model's `labels` (same
/// names, same order) and the embedding size the metadata states.
pub fn parse_head(text: &str, labels: &[String], embedding_size: usize) -> Result<Head, String> {
    let json: HeadJson = serde_json::from_str(text).map_err(|e| e.to_string())?;
    if json.format != HEAD_FORMAT {
        return Err(format!(
            "format {:?}, this HematoVision reads {HEAD_FORMAT:?}",
            json.format
        ));
    }
    if json.labels != labels {
        return Err(format!(
            "labels {:?} are not the model's {labels:?}",
            json.labels
        ));
    }
    if json.embedding_size != embedding_size || json.kernel.len() != embedding_size {
        return Err(format!(
            "embedding_size {} with {} kernel rows, the metadata says {embedding_size}",
            json.embedding_size,
            json.kernel.len()
        ));
    }
    let classes = labels.len();
    if json.classes != classes {
        return Err(format!("classes {} for {classes} labels", json.classes));
    }
    if let Some(i) = json.kernel.iter().position(|row| row.len() != classes) {
        return Err(format!(
            "kernel row {i} has {} values for {classes} classes",
            json.kernel[i].len()
        ));
    }
    // Transposed: Head keeps one row of weights per class.
    let weights: Vec<f32> = (0..classes)
        .flat_map(|c| json.kernel.iter().map(move |row| row[c]))
        .collect();
    Head::new(labels.to_vec(), embedding_size, weights, json.bias).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Vec<String> {
        vec!["A".into(), "B".into()]
    }

    const GOOD: &str = r#"{"format": "dense_softmax", "labels": ["A", "B"],
        "embedding_size": 3, "classes": 2, "bias": [0.5, -0.5],
        "kernel": [[1, 2], [3, 4], [5, 6]]}"#;

    #[test]
    fn reads_the_kernel_as_one_row_per_embedding_value() {
        let head = parse_head(GOOD, &labels(), 3).unwrap();
        assert_eq!(head.row(0), [1.0, 3.0, 5.0]);
        assert_eq!(head.row(1), [2.0, 4.0, 6.0]);
        assert_eq!(head.bias(), [0.5, -0.5]);
        // softmax(x @ kernel + bias) for x = (1, 0, 0): scores (1.5, 1.5).
        let p = head.probabilities(&[1.0, 0.0, 0.0]).unwrap();
        assert!((p[0] - 0.5).abs() < 1e-7, "{p:?}");
    }

    #[test]
    fn refuses_a_head_that_does_not_fit_the_model() {
        let wrong_labels = vec!["B".to_string(), "A".to_string()];
        assert!(
            parse_head(GOOD, &wrong_labels, 3)
                .unwrap_err()
                .contains("labels")
        );
        assert!(
            parse_head(GOOD, &labels(), 4)
                .unwrap_err()
                .contains("embedding_size")
        );
        let short_row = GOOD.replace("[5, 6]", "[5]");
        assert!(
            parse_head(&short_row, &labels(), 3)
                .unwrap_err()
                .contains("row 2")
        );
        let other = GOOD.replace("dense_softmax", "conv");
        assert!(
            parse_head(&other, &labels(), 3)
                .unwrap_err()
                .contains("format")
        );
        let bias = GOOD.replace("[0.5, -0.5]", "[0.5]");
        assert!(parse_head(&bias, &labels(), 3).is_err());
    }
}
