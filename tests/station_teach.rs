//! "Teach this microscope" on the station (issue 23 item 4): reviewed cells recalibrate the
//! station's model as `hematovision calibrate` does, with the tiny real two-output model of
//! `tests/fixtures/models/tiny/embedding/`; accepted runs write a file `--calibration`
//! loads, refused runs write nothing, and what is missing is said.

mod station_support;
mod support;
mod tiny_model;

use std::path::{Path, PathBuf};

use image::RgbImage;
use station_support::{Setup, post_json, request, serve, serve_with};
use support::Always;
use tiny_model::{LABELS, disc, int8_model, neutral_bundle, service, slide, three_classes};

fn calibrations(dir: &Path) -> Vec<PathBuf> {
    match std::fs::read_dir(dir.join("calibrations")) {
        Ok(entries) => entries.map(|e| e.unwrap().path()).collect(),
        Err(_) => Vec::new(),
    }
}

#[test]
fn an_accepted_recalibration_writes_a_file_that_classify_loads() {
    let dir = tempfile::tempdir().unwrap();
    let mut cells = three_classes(8);
    // Skipped and counted: an unreviewed cell, one moved to unidentified.
    cells.push((disc([200, 60, 60], 9), None));
    cells.push((disc([60, 60, 200], 9), Some("unidentified")));
    slide(dir.path(), "20250105T000000Z", &cells, true);
    // Not signed off: not taken by default.
    slide(dir.path(), "20250106T000000Z", &three_classes(1), false);
    let station = serve_with(dir.path(), service(&int8_model()), Setup::default());

    let a = post_json(station.addr, "/api/calibrate", "{}");
    assert_eq!(a.status, 200, "{}", a.text());
    let v = a.json();
    assert_eq!(v["accepted"], true, "{v}");
    assert_eq!(v["slides"], serde_json::json!(["20250105T000000Z"]));
    assert_eq!(v["cells"], 24);
    assert_eq!(v["gathered"]["unreviewed"], 1);
    assert_eq!(v["gathered"]["unidentified"], 1);
    let per_class = v["per_class"].as_array().unwrap();
    assert_eq!(per_class.len(), 4);
    assert_eq!(per_class[0]["label"], "EOSINOPHIL");
    assert_eq!(per_class[0]["cells"], 8);
    assert_eq!(per_class[3]["cells"], 0);
    assert!(v["accuracy_after"].as_f64() >= v["accuracy_before"].as_f64());
    assert!(v["strength"].as_f64().unwrap() > 0.0);
    let html = v["html"].as_str().unwrap();
    assert!(
        html.contains("teach-table") && html.contains("Accepted"),
        "{html}"
    );

    // Written durably under calibrations/, named by date and content.
    let written = calibrations(dir.path());
    assert_eq!(written.len(), 1, "{written:?}");
    let file = &written[0];
    let name = file.file_name().unwrap().to_string_lossy().into_owned();
    let bytes = std::fs::read(file).unwrap();
    let sha = hematovision::model::integrity::sha256_hex(&bytes);
    assert!(name.ends_with(&format!("-{}.json", &sha[..12])), "{name}");
    assert_eq!(name.len(), "2026-12-01-".len() + 12 + ".json".len());
    assert_eq!(
        std::path::absolute(file).unwrap().to_string_lossy(),
        v["calibration"].as_str().unwrap()
    );
    let line = v["config_line"].as_str().unwrap();
    let parsed: toml::Value = toml::from_str(line).unwrap();
    assert_eq!(parsed["calibration"].as_str(), v["calibration"].as_str());
    assert!(v["message"].as_str().unwrap().contains("restart"), "{v}");

    // The file loads: classify --calibration answers through it.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_hematovision"))
        .args(["classify", "--json", "--threads", "1", "--model"])
        .arg(int8_model())
        .arg("--calibration")
        .arg(file)
        .arg(dir.path().join("crops/20250105T000000Z/00001.jpg"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let answer: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(
        answer["head"].as_str().unwrap_or("").contains("calibrat"),
        "{answer}"
    );

    // One chosen slide, from the slide page's button: too few cells, and it says so.
    let a = post_json(
        station.addr,
        "/api/calibrate",
        r#"{"slides": ["20250106T000000Z", "20250106T000000Z"]}"#,
    );
    assert_eq!(a.status, 422, "{}", a.text());
    let why = a.json()["error"].as_str().unwrap().to_string();
    assert!(
        why.contains("not enough reviewed cells")
            && why.contains("at least 6")
            && why.contains("3 cell(s) of 3 class(es)")
            && why.contains("from 1 slide(s)"),
        "{why}"
    );
    assert_eq!(calibrations(dir.path()).len(), 1, "nothing more written");
}

#[test]
fn a_refused_recalibration_writes_nothing_and_says_why() {
    // The same picture reviewed as three eosinophils and three lymphocytes: a head fitted
    // without the held-out cell answers the other class, worse than the neutral head.
    let work = tempfile::tempdir().unwrap();
    let model = neutral_bundle(&work.path().join("model"));
    let dir = work.path().join("data");
    let same = disc([120, 80, 160], 0);
    let cells: Vec<(RgbImage, Option<&str>)> = ["EOSINOPHIL", "LYMPHOCYTE"]
        .iter()
        .flat_map(|l| std::iter::repeat_n((same.clone(), Some(*l)), 3))
        .collect();
    slide(&dir, "20250105T000000Z", &cells, true);
    let station = serve_with(&dir, service(&model), Setup::default());
    let a = post_json(station.addr, "/api/calibrate", r#"{"slides": []}"#);
    assert_eq!(a.status, 200, "{}", a.text());
    let v = a.json();
    assert_eq!(v["accepted"], false, "{v}");
    assert!(v["calibration"].is_null() && v["config_line"].is_null());
    let why = v["refused"].as_str().unwrap();
    assert!(why.contains("shipped head stays in use"), "{why}");
    assert!(
        !why.contains("--force"),
        "the station has no --force: {why}"
    );
    assert!(v["html"].as_str().unwrap().contains("Refused"), "{v}");
    assert!(v["accuracy_after"].as_f64() < v["accuracy_before"].as_f64());
    assert!(calibrations(&dir).is_empty(), "nothing written");
}

#[test]
fn a_model_without_embedding_and_bad_requests_get_a_clear_answer() {
    let dir = tempfile::tempdir().unwrap();
    slide(dir.path(), "20250105T000000Z", &three_classes(3), true);
    let labels: Vec<&str> = LABELS.to_vec();
    let station = serve(
        dir.path(),
        Box::new(Always::new(&labels, vec![0.25; 4])),
        Setup::default(),
    );
    let a = post_json(station.addr, "/api/calibrate", "{}");
    assert_eq!(a.status, 422, "{}", a.text());
    let why = a.json()["error"].as_str().unwrap().to_string();
    assert!(why.contains("exports no embedding"), "{why}");

    // Another site may not start it; no slide id leads outside the data directory; the
    // body is small and of the expected shape.
    let a = request(
        station.addr,
        "POST",
        "/api/calibrate",
        &[
            ("Origin", "http://evil.example"),
            ("Content-Type", "application/json"),
        ],
        b"{}",
    );
    assert_eq!(a.status, 403, "{}", a.text());
    let station = serve_with(dir.path(), service(&int8_model()), Setup::default());
    let a = post_json(station.addr, "/api/calibrate", r#"{"slides": ["../x"]}"#);
    assert_eq!(a.status, 400, "{}", a.text());
    let a = post_json(station.addr, "/api/calibrate", r#"{"slide": "x"}"#);
    assert_eq!(a.status, 422, "{}", a.text());
    let big = format!(r#"{{"slides": ["{}"]}}"#, "a".repeat(100 * 1024));
    let a = post_json(station.addr, "/api/calibrate", &big);
    assert_eq!(a.status, 413, "{}", a.text());
    assert!(calibrations(dir.path()).is_empty());
}

#[test]
fn a_second_request_while_one_runs_is_told_it_is_running() {
    // Enough cells that a run lasts a while; requests sent together until one overlaps.
    let dir = tempfile::tempdir().unwrap();
    slide(dir.path(), "20250105T000000Z", &three_classes(40), true);
    let station = serve_with(dir.path(), service(&int8_model()), Setup::default());
    let addr = station.addr;
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let both: Vec<_> = (0..2)
            .map(|_| std::thread::spawn(move || post_json(addr, "/api/calibrate", "{}")))
            .collect();
        let answers: Vec<_> = both.into_iter().map(|t| t.join().unwrap()).collect();
        statuses.extend(answers.iter().map(|a| a.status));
        if let Some(busy) = answers.iter().find(|a| a.status == 409) {
            assert!(
                busy.json()["error"]
                    .as_str()
                    .unwrap()
                    .contains("already running"),
                "{}",
                busy.text()
            );
            assert!(answers.iter().any(|a| a.status == 200), "{statuses:?}");
            return;
        }
    }
    panic!("no two requests overlapped: {statuses:?}");
}
