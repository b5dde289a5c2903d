//! Classifying uploaded pictures: decoded in memory within the pixel limit, classified one
//! at a time by the one model on a blocking thread. Nothing is written to disk.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::Serialize;

use crate::imagefile::decode_rgb_within;
use crate::model::Classifier;

/// Most pictures classified in one request.
pub const MAX_IMAGES: usize = 32;

/// The answer for one uploaded picture.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Classified {
    /// The upload's file name, as the browser sent it.
    pub file: String,
    /// The most probable class.
    pub label: String,
    /// Its probability.
    pub confidence: f32,
    /// Every class's probability.
    pub probabilities: BTreeMap<String, f32>,
    /// True when the confidence is under the threshold: the daemon would count the cell
    /// as unidentified.
    pub unsure: bool,
    /// Picture size as decoded, `[width, height]`.
    pub size: [u32; 2],
}

/// The model and the rules around it.
pub struct ClassifyService {
    classifier: Option<Mutex<Box<dyn Classifier + Send>>>,
    labels: Vec<String>,
    /// Why there is no classifier (shown on the page and returned by the API).
    missing: String,
    threshold: f32,
    max_pixels: u64,
}

impl std::fmt::Debug for ClassifyService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClassifyService")
            .field("labels", &self.labels)
            .field("threshold", &self.threshold)
            .finish_non_exhaustive()
    }
}

impl ClassifyService {
    /// Classifies with `classifier`; under `threshold` a result is UNSURE; pictures over
    /// `max_pixels` are refused before decoding.
    pub fn new(classifier: Box<dyn Classifier + Send>, threshold: f32, max_pixels: u64) -> Self {
        ClassifyService {
            labels: classifier.labels().to_vec(),
            classifier: Some(Mutex::new(classifier)),
            missing: String::new(),
            threshold,
            max_pixels,
        }
    }

    /// A station without a model (a lab PC reviewing a copied data directory): uploads
    /// get `why` as their error.
    pub fn unavailable(why: impl Into<String>) -> Self {
        ClassifyService {
            classifier: None,
            labels: Vec::new(),
            missing: why.into(),
            threshold: 1.0,
            max_pixels: 0,
        }
    }

    /// Why classification is unavailable, if it is.
    pub fn missing(&self) -> Option<&str> {
        self.classifier.is_none().then_some(self.missing.as_str())
    }

    /// The model's classes.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// Decodes and classifies one upload; the error is a message for the user.
    pub fn classify(&self, file: &str, bytes: &[u8]) -> Result<Classified, String> {
        let Some(classifier) = &self.classifier else {
            return Err(self.missing.clone());
        };
        if bytes.is_empty() {
            return Err("the file is empty: choose a JPEG, PNG or BMP picture".into());
        }
        let image = decode_rgb_within(bytes, self.max_pixels)
            .map_err(|e| format!("not a picture that can be read (JPEG, PNG or BMP): {e}"))?;
        let probabilities = classifier
            .lock()
            .map_err(|_| "the model failed on an earlier picture; restart the station".to_string())?
            .classify(&image)
            .map_err(|e| e.to_string())?;
        let (best, confidence) = probabilities
            .iter()
            .copied()
            .enumerate()
            .fold((0, f32::MIN), |b, (i, p)| if p > b.1 { (i, p) } else { b });
        let label = self
            .labels
            .get(best)
            .cloned()
            .ok_or("the model gave no probabilities")?;
        Ok(Classified {
            file: file.to_string(),
            label,
            confidence,
            probabilities: self.labels.iter().cloned().zip(probabilities).collect(),
            unsure: confidence < self.threshold,
            size: [image.width(), image.height()],
        })
    }
}
