//! `hematovision classify`: output formats and exit codes on good and bad files.

use std::path::{Path, PathBuf};
use std::process::Command;

fn shared() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/weights/imagenet-mobilenet-v2")
}

/// The Coral ImageNet model with its labels beside it, as `classify --model` expects.
fn coral_model(dir: &Path) -> PathBuf {
    let model = dir.join("mobilenet_v2_1.0_224_quant.tflite");
    std::fs::copy(shared().join("mobilenet_v2_1.0_224_quant.tflite"), &model).unwrap();
    std::fs::copy(shared().join("imagenet_labels.txt"), dir.join("labels.txt")).unwrap();
    model
}

fn classify(args: &[&std::ffi::OsStr]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_hematovision"))
        .arg("classify")
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn good_files_are_classified_bad_ones_reported_and_the_exit_code_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let model = coral_model(dir.path());
    let truncated = dir.path().join("truncated.jpg");
    let jpeg = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/bccd/JPEGImages/BloodImage_00000.jpg"),
    )
    .unwrap();
    std::fs::write(&truncated, &jpeg[..jpeg.len() / 3]).unwrap();
    let missing = dir.path().join("missing.png");
    let cat = shared().join("test_images/cat.bmp");
    let bird = shared().join("test_images/bird.bmp");

    let out = classify(&[
        "--json".as_ref(),
        "--model".as_ref(),
        model.as_os_str(),
        cat.as_os_str(),
        truncated.as_os_str(),
        missing.as_os_str(),
        bird.as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(1), "some files failed");
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4, "one line per file, good or bad");
    assert_eq!(lines[0]["label"], "Egyptian cat");
    assert!(lines[0]["confidence"].as_f64().unwrap() > 0.5);
    assert!(lines[1]["error"].is_string(), "{}", lines[1]);
    assert!(lines[2]["error"].is_string(), "{}", lines[2]);
    assert_eq!(lines[3]["label"], "chickadee", "keeps going past bad files");
    assert_eq!(lines[3]["file"], bird.display().to_string());

    let ok = classify(&["--model".as_ref(), model.as_os_str(), cat.as_os_str()]);
    assert!(ok.status.success());
    assert!(String::from_utf8_lossy(&ok.stdout).contains("Egyptian cat"));
}

#[test]
fn a_model_without_labels_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.tflite");
    std::fs::copy(shared().join("mobilenet_v2_1.0_224_quant.tflite"), &model).unwrap();
    let cat = shared().join("test_images/cat.bmp");
    let out = classify(&["--model".as_ref(), model.as_os_str(), cat.as_os_str()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("labels.txt"));
}

#[test]
fn the_locator_settings_come_from_the_configuration_given() {
    use hematovision::eval::shifts::{Shift, apply};
    let dir = tempfile::tempdir().unwrap();
    // A BCCD field as a microscope with another stain shows it: hue turned by 30 degrees.
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/bccd/JPEGImages/BloodImage_00000.jpg");
    let field = image::open(&fixture).unwrap().into_rgb8();
    let shifted = apply(&field, &[], Shift::parse("hue+30").unwrap(), 20, 0).image;
    let picture = dir.path().join("field.png");
    shifted.save(&picture).unwrap();
    let config = dir.path().join("fixed.toml");
    std::fs::write(&config, "[locator]\nadaptive = false\n").unwrap();

    let fixed = classify(&[
        "--locate".as_ref(),
        "--json".as_ref(),
        "--config".as_ref(),
        config.as_os_str(),
        picture.as_os_str(),
    ]);
    let line: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&fixed.stdout).trim()).unwrap();
    assert!(
        line["error"]
            .as_str()
            .unwrap_or("")
            .contains("no white cell"),
        "the fixed locator should miss this field: {line}"
    );

    // The default, the adaptive locator, finds it.
    let adaptive = classify(&["--locate".as_ref(), "--json".as_ref(), picture.as_os_str()]);
    assert!(adaptive.status.success(), "{adaptive:?}");
    let line: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&adaptive.stdout).trim()).unwrap();
    assert!(line["cell"]["x1"].as_u64().unwrap() > 0, "{line}");
    assert!(line["red_cell_px"].as_f64().unwrap() > 0.0, "{line}");
    // This field has no two whole round red cells apart; BloodImage_00023 has, and they
    // measure as the annotations' red-cell boxes do (about 100 px across in BCCD).
    assert!(line["round_red_cell_px"].is_null(), "{line}");
    let round_cells = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/bccd/JPEGImages/BloodImage_00023.jpg");
    let out = classify(&[
        "--locate".as_ref(),
        "--json".as_ref(),
        round_cells.as_os_str(),
    ]);
    let line: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).unwrap();
    let round = line["round_red_cell_px"].as_f64().unwrap();
    assert!((70.0..=120.0).contains(&round), "{line}");

    let missing = dir.path().join("missing.toml");
    let bad = classify(&[
        "--locate".as_ref(),
        "--config".as_ref(),
        missing.as_os_str(),
        picture.as_os_str(),
    ]);
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("missing.toml"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
}
