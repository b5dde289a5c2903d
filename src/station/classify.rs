//! Classifying uploaded pictures: decoded in memory within the pixel limit, the white cell
//! framed as the daemon frames a camera's (when one is found), classified one at a time by
//! the station's model on a blocking thread. Nothing is written to disk unless the user
//! saves the picture to a slide.

use std::collections::BTreeMap;
use std::sync::Mutex;

use image::RgbImage;
use serde::Serialize;

use crate::calib::Head;
use crate::imagefile::decode_rgb_within;
use crate::model::reframe::reframe;
use crate::model::{CellAnswer, Classifier};
use crate::vision::LocatorParams;

/// Longest side of the framing picture sent back with a result (it is shown small).
const FRAMING_SIDE: u32 = 224;

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
    /// True when the confidence is under the threshold or the cell is unfamiliar: the
    /// daemon would count the cell as unidentified.
    pub unsure: bool,
    /// True when the model's unfamiliar-cell gate found the cell unlike every class the
    /// model knows (a basophil, an immature granulocyte or an erythroblast, perhaps).
    pub unfamiliar: bool,
    /// Picture size as decoded, `[width, height]`.
    pub size: [u32; 2],
    /// True when a white cell was found and re-framed as the daemon frames camera cells;
    /// false when the picture was classified as it is.
    pub framed: bool,
    /// What the model saw: the picture classified, as a `data:image/jpeg;base64,` URL.
    pub framing: String,
}

/// An upload classified, with what is needed to count it.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The answer shown.
    pub classified: Classified,
    /// The picture the model saw (kept as the cell's crop when saved to a slide).
    pub crop: RgbImage,
    /// The probabilities in label order, and the gate's verdict.
    pub answer: CellAnswer,
}

/// The model and the rules around it.
pub struct ClassifyService {
    classifier: Option<Mutex<Box<dyn Classifier + Send>>>,
    labels: Vec<String>,
    /// Why there is no classifier (shown on the page and returned by the API).
    missing: String,
    threshold: f32,
    max_pixels: u64,
    /// The locator's settings and the model's `cell_fraction`, to frame the white cell.
    framing: Option<(LocatorParams, f32)>,
    /// The shipped head and the model's checksum, when the model can be recalibrated.
    shipped: Option<(Head, String)>,
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
            framing: None,
            shipped: None,
        }
    }

    /// Lets the station recalibrate the model ("Teach this microscope"): its shipped
    /// `head` and the checksum (`model_sha256`) a calibration file is tied to.
    pub fn with_shipped_head(mut self, head: Head, model_sha256: impl Into<String>) -> Self {
        self.shipped = Some((head, model_sha256.into()));
        self
    }

    /// The shipped head and the model's checksum, when the model can be recalibrated.
    pub fn shipped_head(&self) -> Option<(&Head, &str)> {
        self.shipped.as_ref().map(|(h, s)| (h, s.as_str()))
    }

    /// The embedding of every view of a kept crop (already framed as the model saw it),
    /// the model locked for this one picture only, so uploads are answered in between.
    pub fn embeddings(&self, bytes: &[u8]) -> Result<Vec<Vec<f32>>, String> {
        let Some(classifier) = &self.classifier else {
            return Err(self.missing.clone());
        };
        let image = decode_rgb_within(bytes, self.max_pixels)
            .map_err(|e| format!("a kept crop cannot be read: {e}"))?;
        classifier
            .lock()
            .map_err(|_| "the model failed on an earlier picture; restart the station".to_string())?
            .embeddings(&image)
            .map_err(|e| e.to_string())
    }

    /// Frames the white cell of every upload as the daemon frames a camera's (the
    /// locator's `params`, the model's `cell_fraction`) before classifying it.
    pub fn with_reframing(mut self, params: LocatorParams, cell_fraction: f32) -> Self {
        self.framing = Some((params, cell_fraction));
        self
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
            framing: None,
            shipped: None,
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
        self.classify_upload(file, bytes).map(|o| o.classified)
    }

    /// [`ClassifyService::classify`], with the crop and probabilities to count it.
    pub fn classify_upload(&self, file: &str, bytes: &[u8]) -> Result<Outcome, String> {
        let Some(classifier) = &self.classifier else {
            return Err(self.missing.clone());
        };
        if bytes.is_empty() {
            return Err("the file is empty: choose a JPEG, PNG or BMP picture".into());
        }
        let image = decode_rgb_within(bytes, self.max_pixels)
            .map_err(|e| format!("not a picture that can be read (JPEG, PNG or BMP): {e}"))?;
        let size = [image.width(), image.height()];
        let framed = self
            .framing
            .as_ref()
            .and_then(|(params, fraction)| reframe(&image, params, *fraction));
        let is_framed = framed.is_some();
        let crop = framed.unwrap_or(image);
        let answer = classifier
            .lock()
            .map_err(|_| "the model failed on an earlier picture; restart the station".to_string())?
            .classify_cell(&crop)
            .map_err(|e| e.to_string())?;
        let probabilities = &answer.probabilities;
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
        let classified = Classified {
            file: file.to_string(),
            label,
            confidence,
            probabilities: self
                .labels
                .iter()
                .cloned()
                .zip(probabilities.iter().copied())
                .collect(),
            unsure: confidence < self.threshold || answer.unfamiliar,
            unfamiliar: answer.unfamiliar,
            size,
            framed: is_framed,
            framing: data_url(&crop),
        };
        Ok(Outcome {
            classified,
            crop,
            answer,
        })
    }
}

/// A small JPEG of `image` as a data URL, for the page to show beside the upload.
fn data_url(image: &RgbImage) -> String {
    let (w, h) = image.dimensions();
    let scale = f64::from(FRAMING_SIDE) / f64::from(w.max(h).max(1));
    let small = if scale < 1.0 {
        image::imageops::thumbnail(
            image,
            ((f64::from(w) * scale) as u32).max(1),
            ((f64::from(h) * scale) as u32).max(1),
        )
    } else {
        image.clone()
    };
    let mut jpeg = std::io::Cursor::new(Vec::new());
    match small.write_to(&mut jpeg, image::ImageFormat::Jpeg) {
        Ok(()) => format!(
            "data:image/jpeg;base64,{}",
            super::csp::base64(jpeg.get_ref())
        ),
        Err(e) => {
            log::warn!("framing picture not encoded: {e}");
            String::new()
        }
    }
}
