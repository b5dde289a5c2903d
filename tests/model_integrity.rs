//! A damaged or incomplete installation of the shipped model is refused with a message that
//! says how to reinstall it, instead of aborting the process or silently answering otherwise.
//! Each load runs in a child process (`hematovision classify --model`), so an abort of the
//! runtime would be observed, not suffered.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A real cell picture to classify.
fn cell() -> PathBuf {
    let dir = root().join("../shared/datasets/pbc-wbc4/val/NEUTROPHIL");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files.remove(0)
}

/// Copies the shipped `model` with the given companions into `dir`.
fn install(dir: &Path, model: &str, companions: &[&str]) -> PathBuf {
    for f in companions.iter().chain([&model]) {
        std::fs::copy(root().join("models").join(f), dir.join(f)).unwrap();
    }
    dir.join(model)
}

fn classify(model: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hematovision"))
        .args(["classify", "--threads", "1", "--views", "1", "--model"])
        .arg(model)
        .arg(cell())
        .output()
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn shipped_model_with_16_changed_bytes_is_refused_as_damaged() {
    let dir = tempfile::tempdir().unwrap();
    let model = install(
        dir.path(),
        "hematovision-wbc4.tflite",
        &["labels.txt", "metadata.json"],
    );
    let mut bytes = std::fs::read(&model).unwrap();
    // 16 bytes spread over the file, each certainly changed.
    let step = bytes.len() / 17;
    for k in 1..=16 {
        bytes[k * step] ^= 0x5a;
    }
    std::fs::write(&model, &bytes).unwrap();
    let out = classify(&model);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{:?}: {err}", out.status);
    assert!(err.contains("model file damaged"), "{err}");
    assert!(
        err.contains("apt install --reinstall hematovision"),
        "{err}"
    );
}

#[test]
fn both_shipped_models_pass_their_own_sha256() {
    for model in [
        "hematovision-wbc4.tflite",
        "hematovision-wbc4-float32.tflite",
    ] {
        let dir = tempfile::tempdir().unwrap();
        let path = install(dir.path(), model, &["labels.txt", "metadata.json"]);
        let out = classify(&path);
        assert!(out.status.success(), "{model}: {}", stderr(&out));
    }
}

#[test]
fn shipped_model_without_its_metadata_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let model = install(dir.path(), "hematovision-wbc4.tflite", &["labels.txt"]);
    let out = classify(&model);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("metadata.json is missing"), "{err}");
    assert!(err.contains("--reinstall hematovision"), "{err}");
}

#[test]
fn third_party_model_without_metadata_loads_with_a_loud_warning() {
    let shared = root().join("../shared/weights/imagenet-mobilenet-v2");
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("mobilenet_v2_1.0_224_quant.tflite");
    std::fs::copy(shared.join("mobilenet_v2_1.0_224_quant.tflite"), &model).unwrap();
    std::fs::copy(
        shared.join("imagenet_labels.txt"),
        dir.path().join("labels.txt"),
    )
    .unwrap();
    let out = classify(&model);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("no metadata.json beside it"), "{err}");
    assert!(err.contains("third-party model"), "{err}");
}
