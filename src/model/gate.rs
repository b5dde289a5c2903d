//! The unfamiliar-cell gate, `gate.json` beside a model that exports its embedding
//! (`models/training/outside_gate.py --write-gate` writes it):
//!
//! ```json
//! {"format": "hematovision-gate/1", "embedding_size": 1280,
//!  "weights": [...], "bias": -3.1, "threshold": 0.46, ...}
//! ```
//!
//! A linear score on the mean over the orientation views of the embedding,
//! `score = weights · embedding + bias`, fitted on training cells of the model's classes
//! against cells of other classes (basophils, immature granulocytes, erythroblasts). A
//! score over `threshold` means the cell is unlike every class the model knows: it is
//! counted as unidentified, whatever the model's confidence, so a cell outside the
//! differential's classes is never silently counted as one of them.
//!
//! It reads the embedding, not the head, so it stays valid after a recalibration.

use serde::Deserialize;

use super::integrity;

/// The `format` of a gate file this build reads.
pub const GATE_FORMAT: &str = "hematovision-gate/1";

#[derive(Deserialize)]
struct GateJson {
    format: String,
    embedding_size: usize,
    weights: Vec<f32>,
    bias: f32,
    threshold: f32,
}

/// A parsed gate: see the module documentation.
#[derive(Debug, Clone, PartialEq)]
pub struct Gate {
    weights: Vec<f32>,
    bias: f32,
    threshold: f32,
    identity: String,
}

impl Gate {
    /// Parses `gate.json` text, checking it against the embedding size the model states.
    pub fn parse(text: &str, embedding_size: usize) -> Result<Gate, String> {
        let json: GateJson = serde_json::from_str(text).map_err(|e| e.to_string())?;
        if json.format != GATE_FORMAT {
            return Err(format!(
                "format {:?}, this HematoVision reads {GATE_FORMAT:?}",
                json.format
            ));
        }
        if json.embedding_size != embedding_size || json.weights.len() != embedding_size {
            return Err(format!(
                "embedding_size {} with {} weights, the model's embedding has {embedding_size} \
                 values",
                json.embedding_size,
                json.weights.len()
            ));
        }
        let finite = json.weights.iter().all(|w| w.is_finite())
            && json.bias.is_finite()
            && json.threshold.is_finite();
        if !finite {
            return Err("a weight, the bias or the threshold is not a finite number".into());
        }
        let digest = integrity::sha256_hex(text.as_bytes());
        Ok(Gate {
            weights: json.weights,
            bias: json.bias,
            threshold: json.threshold,
            identity: format!("sha256:{}", &digest[..12]),
        })
    }

    /// The score of a cell from the embedding of each of its views (their mean is scored);
    /// `None` when there is no view or a view's size is not the gate's.
    pub fn score(&self, views: &[Vec<f32>]) -> Option<f32> {
        if views.is_empty() || views.iter().any(|v| v.len() != self.weights.len()) {
            return None;
        }
        let n = views.len() as f32;
        let dot: f32 = self
            .weights
            .iter()
            .enumerate()
            .map(|(i, w)| w * views.iter().map(|v| v[i]).sum::<f32>() / n)
            .sum();
        Some(dot + self.bias)
    }

    /// True when the cell is unlike every class the model knows (its score is over the
    /// threshold); a cell that cannot be scored is not flagged.
    pub fn flags(&self, views: &[Vec<f32>]) -> bool {
        self.score(views).is_some_and(|s| s > self.threshold)
    }

    /// The score over which a cell is flagged.
    pub fn threshold(&self) -> f32 {
        self.threshold
    }

    /// `sha256:<first 12 hex digits>` of the gate file, for the journal and the report.
    pub fn identity(&self) -> &str {
        &self.identity
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate_text(weights: &[f32], bias: f32, threshold: f32) -> String {
        format!(
            r#"{{"format": "{GATE_FORMAT}", "embedding_size": {}, "weights": {weights:?},
                "bias": {bias}, "threshold": {threshold}, "rule": "documentation only"}}"#,
            weights.len()
        )
    }

    #[test]
    fn the_mean_of_the_views_is_scored_and_flagged_over_the_threshold() {
        let gate = Gate::parse(&gate_text(&[1.0, -2.0], 0.5, 1.0), 2).expect("parses");
        // Mean embedding (1, 0): 1 - 0 + 0.5 = 1.5 > 1.
        let views = vec![vec![2.0, 1.0], vec![0.0, -1.0]];
        assert_eq!(gate.score(&views), Some(1.5));
        assert!(gate.flags(&views));
        // Mean (0, 0.25): -0.5 + 0.5 = 0, under the threshold.
        assert!(!gate.flags(&[vec![0.0, 0.25]]));
        // Exactly at the threshold is not over it.
        assert!(!gate.flags(&[vec![0.5, 0.0]]));
        assert!(gate.identity().starts_with("sha256:"));
        assert_eq!(gate.identity().len(), "sha256:".len() + 12);
        assert_eq!(gate.threshold(), 1.0);
    }

    #[test]
    fn a_cell_that_cannot_be_scored_is_not_flagged() {
        let gate = Gate::parse(&gate_text(&[1.0, 1.0], 9.0, 0.0), 2).expect("parses");
        assert_eq!(gate.score(&[]), None);
        assert!(!gate.flags(&[]));
        assert!(!gate.flags(&[vec![1.0, 1.0, 1.0]]));
    }

    #[test]
    fn bad_files_are_refused_with_the_reason() {
        let err = |text: &str, size| Gate::parse(text, size).expect_err("refused");
        assert!(err("not json", 2).contains("expected"));
        assert!(err(&gate_text(&[1.0, 1.0], 0.0, 0.0), 3).contains("embedding_size 2"));
        let other = gate_text(&[1.0], 0.0, 0.0).replace(GATE_FORMAT, "other/9");
        assert!(err(&other, 1).contains("format \"other/9\""));
        let short = r#"{"format": "hematovision-gate/1", "embedding_size": 2, "weights": [1.0],
            "bias": 0, "threshold": 0}"#;
        assert!(err(short, 2).contains("1 weights"));
    }
}
