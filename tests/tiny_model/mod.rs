//! The tiny real two-output model of `tests/fixtures/models/tiny/embedding/` (made by
//! `make_fixtures.py`) and the pictures tests recalibrate it with, shared by the
//! calibration and station tests.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use image::{Rgb, RgbImage};

pub fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/models/tiny/embedding")
}

pub fn int8_model() -> PathBuf {
    fixture_dir().join("hematovision-tiny.tflite")
}

/// A 40x40 picture of a disc of `colour` on a pale background, its place and colour
/// varied by `i` (a cell of one class looks alike, not the same).
pub fn disc(colour: [u8; 3], i: u32) -> RgbImage {
    let (cx, cy, r) = (
        18.0 + (i % 3) as f32,
        19.0 + (i % 2) as f32,
        9.0 + (i % 4) as f32,
    );
    let shade = |c: u8| c.saturating_add((i * 7 % 20) as u8);
    RgbImage::from_fn(40, 40, |x, y| {
        let d = ((x as f32 - cx).powi(2) + (y as f32 - cy).powi(2)).sqrt();
        if d <= r {
            Rgb(colour.map(shade))
        } else {
            Rgb([235, 225, 230])
        }
    })
}

/// The tiny model with a neutral shipped head (all zeros): a head fitted to contradictory
/// reviews does worse than it, so the guard refuses.
pub fn neutral_bundle(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    for file in ["hematovision-tiny.tflite", "labels.txt"] {
        std::fs::copy(fixture_dir().join(file), dir.join(file)).unwrap();
    }
    let head = serde_json::json!({
        "format": "dense_softmax",
        "labels": ["EOSINOPHIL", "LYMPHOCYTE", "MONOCYTE", "NEUTROPHIL"],
        "embedding_size": 16, "classes": 4, "bias": [0.0, 0.0, 0.0, 0.0],
        "kernel": vec![vec![0.0; 4]; 16],
    });
    let head = head.to_string();
    std::fs::write(dir.join("head.json"), &head).unwrap();
    let mut meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture_dir().join("metadata.json")).unwrap())
            .unwrap();
    meta["sha256"]["head.json"] =
        serde_json::json!(hematovision::model::integrity::sha256_hex(head.as_bytes()));
    std::fs::write(dir.join("metadata.json"), meta.to_string()).unwrap();
    dir.join("hematovision-tiny.tflite")
}
