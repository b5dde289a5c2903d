//! Recalibration end to end (issue 22), with the tiny real two-output model of
//! `tests/fixtures/models/tiny/embedding/` (made by `make_fixtures.py`): embeddings out of
//! the model, `calibrate` writing, refusing and naming why, `classify`, `eval` and the
//! daemon answering through the file, and the shipped head when the file is refused.

mod tiny_model;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

use hematovision::calib::CalibrationFile;
use hematovision::config::ModelSection;
use hematovision::doctor::{Check, Status, inference};
use hematovision::model::litert::Runtime;
use hematovision::model::preprocess::read_rgb;
use hematovision::model::{
    ActiveCalibration, Classifier, ClassifierOptions, ModelBundle, TfliteClassifier,
};
use tiny_model::{disc, fixture_dir, int8_model, neutral_bundle};

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_hematovision"))
}

fn float_model() -> PathBuf {
    fixture_dir().join("hematovision-tiny-float32.tflite")
}

fn run(args: &[&str], extra: &[&Path]) -> Output {
    Command::new(bin())
        .args(args)
        .args(extra)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Reviewed cells: each class a colour, `per_class` pictures in a folder named in its
/// own case (matched to the labels case-insensitively); NEUTROPHIL is missing.
fn reviewed_cells(dir: &Path, per_class: u32) {
    let classes: [(&str, [u8; 3]); 3] = [
        ("eosinophil", [200, 60, 60]),
        ("Lymphocyte", [60, 60, 200]),
        ("MONOCYTE", [60, 180, 60]),
    ];
    for (folder, colour) in classes {
        let folder = dir.join(folder);
        std::fs::create_dir_all(&folder).unwrap();
        for i in 0..per_class {
            disc(colour, i)
                .save(folder.join(format!("{i:02}.png")))
                .unwrap();
        }
    }
}

/// Runs `calibrate` (JSON) and returns its exit status and object.
fn calibrate(dir: &Path, model: &Path, out: &Path, extra: &[&str]) -> (bool, serde_json::Value) {
    let output = Command::new(bin())
        .arg("calibrate")
        .arg(dir)
        .arg("--model")
        .arg(model)
        .arg("--out")
        .arg(out)
        .args(["--json", "--threads", "1"])
        .args(extra)
        .output()
        .unwrap();
    let value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", text(&output.stdout), text(&output.stderr)));
    (output.status.success(), value)
}

fn open(model: &Path) -> TfliteClassifier {
    let runtime = Runtime::load(None).unwrap();
    let bundle = Arc::new(ModelBundle::load(model).unwrap());
    let options = ClassifierOptions {
        threads: std::num::NonZeroUsize::new(1),
        views: None,
    };
    TfliteClassifier::new(&runtime, bundle, &options).unwrap()
}

/// A calibration made with the int8 model from 8 cells of each of three classes.
fn made_calibration(work: &Path) -> PathBuf {
    made_for(work, &int8_model(), "calibration.json")
}

/// A calibration made with `model` from 8 cells of each of three classes, in `work/name`.
fn made_for(work: &Path, model: &Path, name: &str) -> PathBuf {
    let cells = work.join("cells");
    reviewed_cells(&cells, 8);
    let out = work.join(name);
    let (ok, report) = calibrate(&cells, model, &out, &[]);
    assert!(ok, "{report}");
    out
}

#[test]
fn the_model_gives_every_views_embedding_and_its_own_answer_unchanged() {
    let picture = disc([60, 60, 200], 1);
    for (model, tolerance) in [(float_model(), 1e-5), (int8_model(), 0.03)] {
        let mut classifier = open(&model);
        assert!(classifier.has_embedding());
        let outputs = classifier.outputs(&picture).unwrap();
        assert_eq!(outputs.embeddings.len(), 8, "one embedding per view");
        assert!(outputs.embeddings.iter().all(|e| e.len() == 16));
        // Without a calibration the answer is the model's own output, bit for bit.
        let answer = classifier.classify(&picture).unwrap();
        assert_eq!(answer, outputs.probabilities);
        assert_eq!(classifier.provenance().head, None);
        // The shipped head recomputes that answer from the embeddings: to float rounding
        // for the float32 model, within the int8 model's own head arithmetic for int8.
        let shipped = classifier.bundle().shipped_head().unwrap().clone();
        let recomputed = shipped.cell_probabilities(&outputs.embeddings).unwrap();
        let worst = recomputed
            .iter()
            .zip(&answer)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(worst <= tolerance, "{}: {worst}", model.display());
        assert_eq!(classifier.embeddings(&picture).unwrap(), outputs.embeddings);
    }
}

#[test]
fn calibrate_writes_a_file_that_classify_and_eval_answer_with_exactly() {
    let work = tempfile::tempdir().unwrap();
    let cells = work.path().join("cells");
    reviewed_cells(&cells, 8);
    let out = work.path().join("calibration.json");
    let (ok, report) = calibrate(&cells, &int8_model(), &out, &[]);
    assert!(ok, "{report}");
    assert_eq!(report["written"], true);
    assert_eq!(report["cells"], 24);
    assert_eq!(report["views"], 8);
    let per_class = report["per_class"].as_array().unwrap();
    assert_eq!(per_class.len(), 4);
    assert_eq!(per_class[3]["label"], "NEUTROPHIL");
    assert_eq!(per_class[3]["cells"], 0, "a class may be missing");
    let before = report["accuracy_before"].as_f64().unwrap();
    let after = report["accuracy_after"].as_f64().unwrap();
    assert!(after >= before, "{report}");
    assert!(
        after > 0.9,
        "three colours are easy to tell apart: {report}"
    );

    // The file: the head, the labels, the model's checksum, cells per class, the figures.
    let bundle = ModelBundle::load(&int8_model()).unwrap();
    let file: CalibrationFile = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(file.model_sha256, bundle.sha256());
    assert_eq!(file.labels, bundle.labels());
    assert_eq!(file.cells_per_class(), [8, 8, 8, 0]);
    assert_eq!(file.dim, 16);
    let active = ActiveCalibration::load(&out, &bundle).unwrap();
    assert_eq!(report["calibration"], active.identity());

    // classify --calibration answers exactly the mean of the head's softmax over the views.
    let mut classifier = open(&int8_model());
    let picture_file = cells.join("MONOCYTE/03.png");
    let picture = read_rgb(&picture_file).unwrap();
    let embeddings = classifier.embeddings(&picture).unwrap();
    let expected = active.head().cell_probabilities(&embeddings).unwrap();
    let shipped = classifier.classify(&picture).unwrap();
    for (calibration, want) in [(Some(&out), &expected), (None, &shipped)] {
        let model = int8_model();
        let mut command = Command::new(bin());
        command.args(["classify", "--json", "--threads", "1", "--model"]);
        command.arg(&model);
        if let Some(c) = calibration {
            command.arg("--calibration").arg(c);
        }
        let output = command.arg(&picture_file).output().unwrap();
        assert!(output.status.success(), "{}", text(&output.stderr));
        let line: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        let got: Vec<f32> = bundle
            .labels()
            .iter()
            .map(|l| line["probabilities"][l].as_f64().unwrap() as f32)
            .collect();
        assert_eq!(&got, want, "{line}");
        match calibration {
            Some(_) => assert_eq!(line["head"], active.head_name()),
            None => assert!(line.get("head").is_none(), "{line}"),
        }
    }
    assert_ne!(expected, shipped, "the calibration changes the answer");

    // eval --calibration scores through the same head.
    let with = run(
        &["eval", "--json", "--threads", "1", "--calibration"],
        &[&out, Path::new("--model"), &int8_model(), &cells],
    );
    assert!(with.status.success(), "{}", text(&with.stderr));
    let with: serde_json::Value = serde_json::from_slice(&with.stdout).unwrap();
    assert_eq!(with["head"], active.head_name());
    assert_eq!(with["n"], 24);
    let without = run(
        &["eval", "--json", "--threads", "1", "--model"],
        &[&int8_model(), &cells],
    );
    let without: serde_json::Value = serde_json::from_slice(&without.stdout).unwrap();
    assert!(without.get("head").is_none());
    assert!(
        with["accuracy"].as_f64().unwrap() > without["accuracy"].as_f64().unwrap(),
        "{with}\n{without}"
    );
}

/// A copy of the int8 bundle whose shipped head is all zeros: it answers every cell the
/// same (the first class, on a tie), so what a fitted head does is the data's doing alone.
#[test]
fn calibrate_refuses_a_harmful_head_and_says_why_unless_forced() {
    // The same picture reviewed as three eosinophils and three lymphocytes. Cross-validated,
    // a head fitted without a held-out cell has seen more of the other class, so it answers
    // the other class: worse than the neutral shipped head, which is right on the three
    // eosinophils.
    let work = tempfile::tempdir().unwrap();
    let model = neutral_bundle(&work.path().join("model"));
    let cells = work.path().join("cells");
    for folder in ["EOSINOPHIL", "LYMPHOCYTE"] {
        std::fs::create_dir_all(cells.join(folder)).unwrap();
        for i in 0..3 {
            disc([120, 80, 160], 0)
                .save(cells.join(folder).join(format!("{i}.png")))
                .unwrap();
        }
    }
    let out = work.path().join("calibration.json");
    let (ok, report) = calibrate(&cells, &model, &out, &[]);
    assert!(!ok, "a harmful head must fail the command: {report}");
    assert_eq!(report["written"], false);
    assert!(!out.exists(), "nothing written");
    let why = report["refused"].as_str().unwrap();
    assert!(
        why.contains("calibration refused") && why.contains("shipped head stays in use"),
        "{why}"
    );
    assert!(why.contains("--force"), "{why}");
    assert!(report["accuracy_after"].as_f64() < report["accuracy_before"].as_f64());

    // In text, the refusal is said too.
    let output = run(
        &["calibrate", "--threads", "1", "--model"],
        &[&model, Path::new("--out"), &out, &cells],
    );
    assert!(!output.status.success());
    assert!(
        text(&output.stdout).contains("NOT WRITTEN"),
        "{}",
        text(&output.stdout)
    );

    let (ok, report) = calibrate(&cells, &model, &out, &["--force"]);
    assert!(ok, "{report}");
    assert_eq!(report["written"], true);
    assert!(out.exists());
}

#[test]
fn a_calibration_for_another_model_or_other_labels_is_refused_with_the_fix() {
    let work = tempfile::tempdir().unwrap();
    let made = made_calibration(work.path());
    let picture = work.path().join("cells/MONOCYTE/00.png");

    // Made with the int8 model, loaded with the float32 one: another checksum.
    let output = run(
        &["classify", "--model"],
        &[&float_model(), Path::new("--calibration"), &made, &picture],
    );
    assert!(!output.status.success());
    let err = text(&output.stderr);
    assert!(
        err.contains("another model") && err.contains("calibrate again"),
        "{err}"
    );

    // The model's labels in another order: each row would answer for another class.
    let mut file: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&made).unwrap()).unwrap();
    file["labels"].as_array_mut().unwrap().swap(0, 1);
    let swapped = work.path().join("swapped.json");
    std::fs::write(&swapped, file.to_string()).unwrap();
    let output = run(
        &["eval", "--model"],
        &[
            &int8_model(),
            Path::new("--calibration"),
            &swapped,
            &work.path().join("cells"),
        ],
    );
    assert!(!output.status.success());
    let err = text(&output.stderr);
    assert!(
        err.contains("labels") && err.contains("calibrate again"),
        "{err}"
    );

    // A model without an embedding cannot take one at all.
    let old = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/models/tiny");
    let bundle = ModelBundle::load(&old.join("tiny_f32.tflite")).unwrap();
    let err = ActiveCalibration::load(&made, &bundle).unwrap_err();
    assert!(err.to_string().contains("exports no embedding"), "{err}");
}

/// `doctor`'s model checks with `calibration` configured, and its calibration line.
fn doctor_line(calibration: PathBuf) -> (Vec<Check>, Check) {
    let section = ModelSection {
        path: int8_model(),
        runtime_library: None,
        threads: 1,
        views: 0,
        calibration: Some(calibration),
        unfamiliar_gate: true,
    };
    let checks = inference::check_model(&section);
    let line = checks
        .iter()
        .find(|c| c.name == "calibration")
        .unwrap()
        .clone();
    (checks, line)
}

/// A daemon configuration over the bundled fields with the int8 tiny model; the
/// calibration line, when given, is written as it is (relative to the file).
fn daemon_config(dir: &Path, calibration: Option<&str>) -> PathBuf {
    let fields = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bccd/JPEGImages");
    let line = calibration.map_or(String::new(), |c| format!("calibration = \"{c}\"\n"));
    let config = dir.join("hv.toml");
    std::fs::write(
        &config,
        format!(
            "[camera]\nsource = \"replay\"\nreplay_dir = \"{}\"\n\n[model]\npath = \"{}\"\n\
             threads = 1\n{line}\n[storage]\ndata_dir = \"{}\"\n\n[buttons]\ndriver = \"sim\"\n\n\
             [display]\ndriver = \"sim\"\n",
            fields.display(),
            int8_model().display(),
            dir.join("data").display(),
        ),
    )
    .unwrap();
    config
}

/// Runs the daemon for three counts and returns its stderr and its journal's lines.
fn count_three(config: &Path) -> (String, Vec<serde_json::Value>) {
    // -v: the calibration's log line is an info line, which the quiet terminal screen hides.
    let output = run(
        &[
            "-v",
            "run",
            "--presses",
            "0ms,0ms,0ms",
            "--exit-when-done",
            "--config",
        ],
        &[config],
    );
    let stderr = text(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let journal = config.parent().unwrap().join("data/journal");
    let mut lines = Vec::new();
    for entry in std::fs::read_dir(journal).unwrap() {
        let body = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        lines.extend(body.lines().map(|l| serde_json::from_str(l).unwrap()));
    }
    (stderr, lines)
}

#[test]
fn the_daemon_counts_with_the_configured_calibration_and_journals_which_head() {
    let work = tempfile::tempdir().unwrap();
    let made = made_calibration(work.path());
    let bundle = ModelBundle::load(&int8_model()).unwrap();
    let identity = ActiveCalibration::load(&made, &bundle).unwrap().identity();
    // A path relative to the configuration file, like the model's.
    let config = daemon_config(work.path(), Some("calibration.json"));

    let check = run(&["check-config"], &[&config]);
    assert!(check.status.success(), "{}", text(&check.stderr));

    let (stderr, lines) = count_three(&config);
    let start = &lines[0];
    assert_eq!(start["event"], "session_started");
    assert_eq!(start["model"], "hematovision-tiny 0.1.0");
    assert_eq!(start["calibration"], identity.as_str());
    let cells: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["event"] == "cell_counted")
        .collect();
    assert_eq!(cells.len(), 3, "{stderr}");
    for cell in cells {
        assert_eq!(cell["cell"]["head"], format!("calibration {identity}"));
    }
    assert!(stderr.contains(&identity), "the log names the calibration");

    // doctor's line says which calibration answers.
    let (checks, line) = doctor_line(made);
    assert_eq!(line.status, Status::Ok, "{line}");
    assert!(line.detail.contains(&identity), "{line}");
    assert!(checks.iter().all(|c| c.status == Status::Ok), "{checks:?}");
}

#[test]
fn a_refused_calibration_falls_back_to_the_shipped_head_loudly() {
    let work = tempfile::tempdir().unwrap();
    // Made for the float32 model, configured with the int8 one.
    let other = made_for(work.path(), &float_model(), "for-float32.json");
    let config = daemon_config(work.path(), Some("for-float32.json"));

    let check = run(&["check-config"], &[&config]);
    assert!(!check.status.success(), "check-config must refuse it");
    let err = text(&check.stderr);
    assert!(
        err.contains("model.calibration") && err.contains("another model"),
        "{err}"
    );

    let (stderr, lines) = count_three(&config);
    assert!(stderr.contains("CALIBRATION REFUSED"), "{stderr}");
    assert!(stderr.contains("another model"), "{stderr}");
    assert_eq!(lines[0]["model"], "hematovision-tiny 0.1.0");
    assert!(lines[0].get("calibration").is_none(), "{}", lines[0]);
    let counted: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["event"] == "cell_counted")
        .collect();
    assert_eq!(counted.len(), 3, "counting goes on with the shipped head");
    assert!(counted.iter().all(|l| l["cell"].get("head").is_none()));

    let (_, line) = doctor_line(other);
    assert_eq!(line.status, Status::Fail, "{line}");
    assert!(line.fix.as_deref().unwrap().contains("calibrate"), "{line}");
}

#[test]
fn a_stratified_subset_is_drawn_reproducibly() {
    let work = tempfile::tempdir().unwrap();
    let cells = work.path().join("cells");
    reviewed_cells(&cells, 8);
    let out = work.path().join("c.json");
    let (ok, a) = calibrate(
        &cells,
        &int8_model(),
        &out,
        &["--cells", "9", "--seed", "3"],
    );
    assert!(ok, "{a}");
    assert_eq!(a["cells"], 9);
    let per_class: Vec<u64> = a["per_class"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["cells"].as_u64().unwrap())
        .collect();
    assert_eq!(per_class, [3, 3, 3, 0]);
    let first = std::fs::read(&out).unwrap();
    let (_, b) = calibrate(
        &cells,
        &int8_model(),
        &out,
        &["--cells", "9", "--seed", "3"],
    );
    assert_eq!(a["per_class"], b["per_class"]);
    let second: CalibrationFile = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let first: CalibrationFile = serde_json::from_slice(&first).unwrap();
    assert_eq!(first.weights, second.weights, "same cells, same head");
}
