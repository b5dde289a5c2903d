//! The `TfliteClassifier` end to end: known ImageNet answers through the project's own image
//! loading and preprocessing, preprocessing against TensorFlow, the tiny fixtures against the
//! Python interpreter, and every kind of bad model file → a typed error, never a crash.

use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hematovision::model::integrity::sha256_hex;
use hematovision::model::litert::Runtime;
use hematovision::model::preprocess::{Crop, Preprocessing, Preprocessor, read_rgb};
use hematovision::model::{
    Classifier, ClassifierOptions, ModelBundle, ModelError, TfliteClassifier,
};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/models/tiny")
}

fn shared() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared")
}

fn reference() -> serde_json::Value {
    let text = std::fs::read_to_string(fixtures().join("reference.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn runtime() -> Runtime {
    Runtime::load(None).expect("libLiteRt.so (run cross/fetch-litert.sh)")
}

fn f32s(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// A temporary model folder: `model.tflite` plus the given labels and optional metadata, to
/// which the model's sha256 is added (as the exporter does) unless it names one itself.
fn model_dir(model: &Path, labels: &str, metadata: Option<&str>) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.tflite");
    std::fs::copy(model, &path).unwrap();
    std::fs::write(dir.path().join("labels.txt"), labels).unwrap();
    if let Some(m) = metadata {
        let text = match serde_json::from_str::<serde_json::Value>(m) {
            Ok(mut v) if v.is_object() && v.get("sha256").is_none() => {
                let digest = sha256_hex(&std::fs::read(&path).unwrap());
                v["sha256"] = serde_json::json!({ "model.tflite": digest });
                v.to_string()
            }
            _ => m.to_string(),
        };
        std::fs::write(dir.path().join("metadata.json"), text).unwrap();
    }
    (dir, path)
}

fn tiny_labels() -> String {
    std::fs::read_to_string(fixtures().join("labels.txt")).unwrap()
}

/// Loads the model's bundle and compiles it, as the daemon does.
fn load(
    rt: &Runtime,
    model: &Path,
    threads: Option<NonZeroUsize>,
) -> Result<TfliteClassifier, ModelError> {
    let bundle = Arc::new(ModelBundle::load(model)?);
    let options = ClassifierOptions {
        threads,
        views: None,
    };
    TfliteClassifier::new(rt, bundle, &options)
}

fn one_thread() -> Option<NonZeroUsize> {
    NonZeroUsize::new(1)
}

fn argmax(v: &[f32]) -> usize {
    v.iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|(i, _)| i)
        .unwrap()
}

#[test]
fn coral_imagenet_model_gives_the_known_answers() {
    let weights = shared().join("weights/imagenet-mobilenet-v2");
    let labels = std::fs::read_to_string(weights.join("imagenet_labels.txt")).unwrap();
    let (_dir, model) = model_dir(
        &weights.join("mobilenet_v2_1.0_224_quant.tflite"),
        &labels,
        None,
    );
    let mut classifier = load(&runtime(), &model, None).unwrap();
    let info = classifier.info().clone();
    assert_eq!(info.input_dtype, "uint8");
    assert_eq!((info.input_width, info.input_height), (224, 224));
    assert_eq!(info.classes, 1001);
    for (file, expected) in [
        ("cat.bmp", "Egyptian cat"),
        ("grace_hopper.bmp", "military uniform"),
        ("bird.bmp", "chickadee"),
    ] {
        let image = read_rgb(&weights.join("test_images").join(file)).unwrap();
        let probs = classifier.classify(&image).unwrap();
        assert_eq!(probs.len(), 1001);
        let top = argmax(&probs);
        assert_eq!(
            classifier.labels()[top],
            expected,
            "{file}: p = {}",
            probs[top]
        );
        assert!(probs.iter().all(|p| (0.0..=1.0).contains(p)));
    }
}

#[test]
fn preprocessing_matches_tensorflow() {
    let r = reference();
    let pre = &r["preprocess"];
    let image = read_rgb(&fixtures().join(pre["image"].as_str().unwrap())).unwrap();
    for case in pre["cases"].as_array().unwrap() {
        let size = case["size"].as_u64().unwrap() as u32;
        let mut spec = Preprocessing::mobilenet(size, size);
        spec.crop = match case["crop"].as_str().unwrap() {
            "center_square" => Crop::CenterSquare,
            _ => Crop::None,
        };
        let expected =
            f32s(&std::fs::read(fixtures().join(case["file"].as_str().unwrap())).unwrap());
        let mut got = vec![0.0; spec.tensor_len()];
        let mut p = Preprocessor::new(spec);
        // Twice: the cached resampling plan must give the same result.
        for _ in 0..2 {
            p.run(&image, &mut got).unwrap();
            assert_eq!(got.len(), expected.len());
            let worst = got
                .iter()
                .zip(&expected)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            assert!(worst <= 1e-5, "{case}: max difference {worst}");
        }
    }
}

#[test]
fn float_classifier_matches_python_on_a_png() {
    let r = reference();
    let expected: Vec<f32> = r["tiny_f32"]["preprocess_png_output"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap() as f32)
        .collect();
    let image = read_rgb(&fixtures().join("preprocess.png")).unwrap();
    let rt = runtime();
    // The softmax model, and the logits model whose softmax the classifier must apply itself
    // (no metadata: detected because logits are not a distribution).
    for file in ["tiny_f32.tflite", "tiny_logits_f32.tflite"] {
        let (_dir, model) = model_dir(&fixtures().join(file), &tiny_labels(), None);
        let mut c = load(&rt, &model, one_thread()).unwrap();
        assert_eq!(c.labels().len(), 4);
        for _ in 0..3 {
            let got = c.classify(&image).unwrap();
            for (g, e) in got.iter().zip(&expected) {
                assert!((g - e).abs() <= 1e-5, "{file}: {got:?} vs {expected:?}");
            }
        }
    }
}

const META: &str = r#"{"name": "tiny", "version": "0.1", "input_size": 32, "color_order": "RGB",
  "crop": "none", "resize": "bilinear", "normalization": {"mean": 127.5, "std": 127.5},
  "labels": ["eosinophil", "lymphocyte", "monocyte", "neutrophil"],
  "output": "logits", "cell_fraction": 0.5, "training": {"note": "random weights"}}"#;

#[test]
fn metadata_drives_preprocessing_and_output_handling() {
    let r = reference();
    let expected: Vec<f32> = r["tiny_f32"]["preprocess_png_output"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap() as f32)
        .collect();
    let image = read_rgb(&fixtures().join("preprocess.png")).unwrap();
    let rt = runtime();
    let (_dir, model) = model_dir(
        &fixtures().join("tiny_logits_f32.tflite"),
        &tiny_labels(),
        Some(META),
    );
    let mut c = load(&rt, &model, one_thread()).unwrap();
    assert_eq!(c.info().name, "tiny");
    assert_eq!(c.info().version.as_deref(), Some("0.1"));
    assert!(c.info().has_metadata);
    assert_eq!(c.bundle().metadata().unwrap().cell_fraction, Some(0.5));
    let got = c.classify(&image).unwrap();
    for (g, e) in got.iter().zip(&expected) {
        assert!((g - e).abs() <= 1e-5, "{got:?} vs {expected:?}");
    }
    // A centre-square crop changes the tensor, and the classifier follows the metadata.
    let square = META.replace("\"crop\": \"none\"", "\"crop\": \"center_square\"");
    let (_dir2, model2) = model_dir(
        &fixtures().join("tiny_logits_f32.tflite"),
        &tiny_labels(),
        Some(&square),
    );
    let mut c2 = load(&rt, &model2, one_thread()).unwrap();
    let cropped = c2.preprocess(&image).unwrap();
    let tf = f32s(&std::fs::read(fixtures().join("preprocess_center_square_32.bin")).unwrap());
    let worst = cropped
        .iter()
        .zip(&tf)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(
        worst <= 1e-5,
        "classifier preprocessing differs from TF by {worst}"
    );
}

#[test]
fn metadata_that_contradicts_the_model_is_rejected() {
    let rt = runtime();
    let model_file = fixtures().join("tiny_f32.tflite");
    let cases = [
        META.replace("\"input_size\": 32", "\"input_size\": 224"),
        META.replace("\"monocyte\"", "\"basophil\""),
        META.replace("\"bilinear\"", "\"area\""),
        "{not json".to_string(),
    ];
    for meta in cases {
        let (_dir, model) = model_dir(&model_file, &tiny_labels(), Some(&meta));
        let err = load(&rt, &model, one_thread()).unwrap_err();
        assert!(matches!(err, ModelError::Metadata { .. }), "{err}");
        assert!(err.to_string().contains("metadata.json"), "{err}");
    }
}

#[test]
fn metadata_without_or_with_another_sha256_is_refused() {
    let rt = runtime();
    let model_file = fixtures().join("tiny_f32.tflite");
    let without = META.replace("\"output\"", "\"sha256\": {}, \"output\"");
    let (_dir, model) = model_dir(&model_file, &tiny_labels(), Some(&without));
    let err = load(&rt, &model, one_thread()).unwrap_err();
    assert!(matches!(err, ModelError::DigestNotRecorded { .. }), "{err}");
    let actual = sha256_hex(&std::fs::read(&model_file).unwrap());
    assert!(err.to_string().contains(&actual), "{err}");

    let other = META.replace(
        "\"output\"",
        &format!(
            "\"sha256\": {{\"model.tflite\": \"{}\"}}, \"output\"",
            "0".repeat(64)
        ),
    );
    let (_dir, model) = model_dir(&model_file, &tiny_labels(), Some(&other));
    let err = load(&rt, &model, one_thread()).unwrap_err();
    assert!(matches!(err, ModelError::Damaged { .. }), "{err}");
    assert!(err.to_string().contains("model file damaged"), "{err}");
    assert!(
        err.to_string().contains("--reinstall hematovision"),
        "{err}"
    );
}

#[test]
fn int8_classifier_quantises_the_tensorflow_input() {
    let rt = runtime();
    let (_dir, model) = model_dir(&fixtures().join("tiny_int8.tflite"), &tiny_labels(), None);
    let mut c = load(&rt, &model, NonZeroUsize::new(2)).unwrap();
    assert_eq!(c.info().input_dtype, "int8");
    let image = read_rgb(&fixtures().join("preprocess.png")).unwrap();
    let probs = c.classify(&image).unwrap();
    assert_eq!(probs.len(), 4);
    // int8 softmax output, dequantised: a distribution within quantisation error (1/256 each).
    let sum: f32 = probs.iter().sum();
    assert!((sum - 1.0).abs() <= 4.0 / 256.0, "{probs:?}");
    assert!(probs.iter().all(|p| (0.0..=1.0).contains(p)));
}

#[test]
fn wrong_label_count_and_missing_labels_are_typed_errors() {
    let rt = runtime();
    let model_file = fixtures().join("tiny_f32.tflite");
    let (_dir, model) = model_dir(&model_file, "a\nb\nc\n", None);
    let err = load(&rt, &model, one_thread()).unwrap_err();
    assert!(
        matches!(
            err,
            ModelError::LabelCount {
                labels: 3,
                outputs: 4,
                ..
            }
        ),
        "{err}"
    );
    let (dir, model) = model_dir(&model_file, "", None);
    std::fs::remove_file(dir.path().join("labels.txt")).unwrap();
    let err = load(&rt, &model, one_thread()).unwrap_err();
    assert!(matches!(err, ModelError::Labels { .. }), "{err}");
}

#[test]
fn non_image_model_is_a_typed_error() {
    let rt = runtime();
    let (_dir, model) = model_dir(&fixtures().join("non_image.tflite"), &tiny_labels(), None);
    let err = load(&rt, &model, one_thread()).unwrap_err();
    assert!(matches!(err, ModelError::NotImageInput { .. }), "{err}");
}

#[test]
fn missing_model_file_is_a_typed_error() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("labels.txt"), "a\n").unwrap();
    let err = load(&rt, &dir.path().join("nope.tflite"), None).unwrap_err();
    assert!(matches!(err, ModelError::Io { .. }), "{err}");
}

/// A small deterministic generator (SplitMix64) for the mutation loop.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Loads `bytes` as a model; if it loads, classifies with it. Either way nothing may crash.
fn try_model(rt: &Runtime, bytes: &[u8]) -> Result<(), ModelError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.tflite");
    std::fs::write(&path, bytes).unwrap();
    std::fs::write(dir.path().join("labels.txt"), tiny_labels()).unwrap();
    let mut c = load(rt, &path, one_thread())?;
    let image = image::RgbImage::from_pixel(40, 30, image::Rgb([120, 60, 200]));
    // A mutant may still be a valid model; its result is whatever it is, but typed.
    let _ = c.classify(&image);
    Ok(())
}

#[test]
fn empty_truncated_and_random_files_are_typed_errors() {
    let rt = runtime();
    let good = std::fs::read(fixtures().join("tiny_int8.tflite")).unwrap();
    let mut rng = Rng(0x5eed);
    let mut cases: Vec<Vec<u8>> = vec![Vec::new(), vec![0u8; 1], vec![0u8; 64]];
    for len in [4, 8, 16, 100, good.len() / 2, good.len() - 1] {
        cases.push(good[..len].to_vec());
    }
    for len in [10, 1000, 30_000] {
        cases.push((0..len).map(|_| rng.next() as u8).collect());
    }
    for bytes in cases {
        match try_model(&rt, &bytes) {
            Err(ModelError::InvalidModel { .. }) => {}
            other => panic!(
                "{} bytes: expected InvalidModel, got {other:?}",
                bytes.len()
            ),
        }
    }
}

#[test]
fn bit_flipped_models_never_crash() {
    let rt = runtime();
    let good = std::fs::read(fixtures().join("tiny_int8.tflite")).unwrap();
    let mut rng = Rng(20261122);
    let (mut rejected, mut loaded) = (0, 0);
    for _ in 0..100 {
        let mut bytes = good.clone();
        for _ in 0..1 + rng.below(8) {
            let i = rng.below(bytes.len());
            bytes[i] ^= 1 << rng.below(8);
        }
        match try_model(&rt, &bytes) {
            Ok(()) => loaded += 1,
            Err(_) => rejected += 1,
        }
    }
    eprintln!("bit-flip mutants: {rejected} rejected with a typed error, {loaded} still loaded");
    assert_eq!(rejected + loaded, 100);
    // The seeded mutants include damaged structure, which must have been caught as errors.
    assert!(rejected >= 10, "only {rejected} mutants rejected");
}
