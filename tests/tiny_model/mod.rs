//! The tiny real two-output model of `tests/fixtures/models/tiny/embedding/` (made by
//! `make_fixtures.py`) and the pictures tests recalibrate it with, shared by the
//! calibration and station tests.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use std::sync::Arc;

use hematovision::count::{Counter, Stamp};
use hematovision::model::litert::Runtime;
use hematovision::model::{ClassifierOptions, ModelBundle, TfliteClassifier};
use hematovision::station::ClassifyService;
use hematovision::store::Journal;
use image::{Rgb, RgbImage};

/// The tiny model's classes.
pub const LABELS: [&str; 4] = ["EOSINOPHIL", "LYMPHOCYTE", "MONOCYTE", "NEUTROPHIL"];

fn stamp(ms: u64) -> Stamp {
    Stamp {
        wall_ms: ms,
        mono_ms: ms,
    }
}

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

/// The station's classify service over `model`, able to recalibrate it.
pub fn service(model: &Path) -> ClassifyService {
    let runtime = Runtime::load(None).unwrap();
    let bundle = Arc::new(ModelBundle::load(model).unwrap());
    let options = ClassifierOptions {
        threads: std::num::NonZeroUsize::new(1),
        views: None,
    };
    let head = bundle.shipped_head().cloned().unwrap();
    let sha256 = bundle.sha256().to_string();
    let classifier = TfliteClassifier::new(&runtime, bundle, &options).unwrap();
    ClassifyService::new(Box::new(classifier), 0.6, 4_000_000).with_shipped_head(head, sha256)
}

/// A journaled slide of the model's classes: one cell per `(picture, reviewed as)` with
/// its crop (`None`: left unreviewed), finished, and signed off if asked.
pub fn slide(data_dir: &Path, id: &str, cells: &[(RgbImage, Option<&str>)], sign: bool) {
    let (mut journal, _) = Journal::open(data_dir).unwrap();
    let mut c = Counter::new();
    let mut commit = |c: &mut Counter, e| {
        journal.append(&e).unwrap();
        c.apply(&e).unwrap();
    };
    let labels = LABELS.iter().map(ToString::to_string).collect();
    let e = c
        .start_event(id.into(), labels, 100, 0.6, stamp(1_700_000_000_000))
        .unwrap();
    commit(&mut c, e);
    let crops = data_dir.join("crops").join(id);
    std::fs::create_dir_all(&crops).unwrap();
    for (i, (picture, _)) in cells.iter().enumerate() {
        let path = crops.join(format!("{:05}.jpg", i + 1));
        picture.save(&path).unwrap();
        let e = c
            .count_event(
                vec![0.25; 4],
                "field.jpg".into(),
                Some(path.display().to_string()),
                stamp(1_700_000_001_000 + i as u64),
            )
            .unwrap();
        commit(&mut c, e);
    }
    let e = c.finish_event(stamp(1_700_000_100_000)).unwrap();
    commit(&mut c, e);
    for (i, (_, label)) in cells.iter().enumerate() {
        if let Some(label) = label {
            let label = (*label != "unidentified").then(|| label.to_string());
            let e = c
                .review_event(i as u64 + 1, label, "Ana".into(), stamp(1_700_000_200_000))
                .unwrap();
            commit(&mut c, e);
        }
    }
    if sign {
        let e = c
            .sign_off_event("Ana".into(), stamp(1_700_000_300_000))
            .unwrap();
        commit(&mut c, e);
    }
}

/// `per_class` reviewed discs of each of three classes, each class a colour.
pub fn three_classes(per_class: u32) -> Vec<(RgbImage, Option<&'static str>)> {
    let classes: [(&str, [u8; 3]); 3] = [
        ("EOSINOPHIL", [200, 60, 60]),
        ("LYMPHOCYTE", [60, 60, 200]),
        ("MONOCYTE", [60, 180, 60]),
    ];
    let mut cells = Vec::new();
    for i in 0..per_class {
        for (label, colour) in classes {
            cells.push((disc(colour, i), Some(label)));
        }
    }
    cells
}
