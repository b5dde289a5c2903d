//! Test doubles shared by the integration tests (`mod support;` in each test file).

// Each test binary compiles this module and uses only some of it.
#![allow(dead_code)]

use std::time::Duration;

use hematovision::hw::button::{ButtonError, ButtonEvent, Buttons};
use hematovision::model::{CellAnswer, Classifier, ClassifyError};
use image::RgbImage;

/// Buttons nobody presses: the first poll asks the event loop to quit, so a test drives the
/// app by calling it directly.
pub struct NoButtons;

impl Buttons for NoButtons {
    fn next_event(&mut self, _: Duration) -> Result<Option<ButtonEvent>, ButtonError> {
        Ok(Some(ButtonEvent::Quit))
    }
}

/// A classifier that gives every crop the same probabilities, and records the size of each
/// crop it was given.
pub struct Always {
    labels: Vec<String>,
    answer: Vec<f32>,
    /// Whether a gate would flag every crop as unfamiliar.
    unfamiliar: bool,
    /// Width and height of every crop classified, in order.
    pub crops: Vec<(u32, u32)>,
}

impl Always {
    /// Answers `answer` (one probability per label) for every crop.
    pub fn new(labels: &[&str], answer: Vec<f32>) -> Self {
        Always {
            labels: labels.iter().map(|s| s.to_string()).collect(),
            answer,
            unfamiliar: false,
            crops: Vec::new(),
        }
    }

    /// Also flags every crop as unfamiliar, as a model's gate does a cell unlike its classes.
    pub fn unfamiliar(mut self) -> Self {
        self.unfamiliar = true;
        self
    }

    /// Answers class `class` with certainty for every crop.
    pub fn certain(labels: &[&str], class: usize) -> Self {
        let mut answer = vec![0.0; labels.len()];
        answer[class] = 1.0;
        Self::new(labels, answer)
    }
}

impl Classifier for Always {
    fn labels(&self) -> &[String] {
        &self.labels
    }
    fn classify(&mut self, image: &RgbImage) -> Result<Vec<f32>, ClassifyError> {
        self.crops.push(image.dimensions());
        Ok(self.answer.clone())
    }
    fn classify_cell(&mut self, image: &RgbImage) -> Result<CellAnswer, ClassifyError> {
        Ok(CellAnswer {
            probabilities: self.classify(image)?,
            unfamiliar: self.unfamiliar,
        })
    }
}
