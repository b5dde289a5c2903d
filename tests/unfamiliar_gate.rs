//! The unfamiliar-cell gate end to end: its file checked like the model's own files, the
//! tiny real two-output model flagging through it without changing its answers, and the
//! shipped model keeping real cells of classes it does not know (basophils, immature
//! granulocytes, erythroblasts from `../shared/datasets/pbc-extra/val`) out of the count.

mod tiny_model;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use hematovision::model::integrity::sha256_hex;
use hematovision::model::litert::Runtime;
use hematovision::model::preprocess::read_rgb;
use hematovision::model::{
    Classifier, ClassifierOptions, ModelBundle, ModelError, TfliteClassifier,
};
use tiny_model::{disc, fixture_dir};

/// The tiny model's embedding size.
const EMBEDDING: usize = 16;

/// A copy of the tiny two-output model with `gate` as its gate.json, recorded in its
/// metadata with the digest of `recorded` (the gate itself unless a test tampers).
fn gated(dir: &Path, gate: &serde_json::Value, recorded: Option<&str>) -> PathBuf {
    for file in ["hematovision-tiny.tflite", "labels.txt", "head.json"] {
        std::fs::copy(fixture_dir().join(file), dir.join(file)).unwrap();
    }
    let text = gate.to_string();
    std::fs::write(dir.join("gate.json"), &text).unwrap();
    let mut meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture_dir().join("metadata.json")).unwrap())
            .unwrap();
    meta["gate"] = serde_json::json!({"file": "gate.json"});
    meta["sha256"]["gate.json"] = sha256_hex(recorded.unwrap_or(&text).as_bytes()).into();
    std::fs::write(dir.join("metadata.json"), meta.to_string()).unwrap();
    dir.join("hematovision-tiny.tflite")
}

/// A gate whose score is `bias` for every cell (all weights zero), flagging over 0.
fn constant_gate(bias: f32) -> serde_json::Value {
    serde_json::json!({"format": "hematovision-gate/1", "embedding_size": EMBEDDING,
        "weights": vec![0.0; EMBEDDING], "bias": bias, "threshold": 0.0})
}

fn open(model: &Path) -> TfliteClassifier {
    let runtime = Runtime::load(None).expect("libLiteRt.so (run cross/fetch-litert.sh)");
    let bundle = Arc::new(ModelBundle::load(model).unwrap());
    let options = ClassifierOptions {
        threads: std::num::NonZeroUsize::new(1),
        views: None,
    };
    TfliteClassifier::new(&runtime, bundle, &options).unwrap()
}

#[test]
fn the_gate_flags_without_changing_the_answer_and_can_be_turned_off() {
    let picture = disc([60, 60, 200], 1);
    for (bias, flags) in [(1.0, true), (-1.0, false)] {
        let dir = tempfile::tempdir().unwrap();
        let mut classifier = open(&gated(dir.path(), &constant_gate(bias), None));
        let identity = classifier.gate().map(|g| g.identity().to_string());
        assert!(identity.is_some(), "the gate is in use once loaded");
        assert_eq!(classifier.provenance().gate, identity);
        let plain = classifier.classify(&picture).unwrap();
        let answer = classifier.classify_cell(&picture).unwrap();
        assert_eq!(
            answer.probabilities, plain,
            "the gate does not touch the answer"
        );
        assert_eq!(answer.unfamiliar, flags);
        assert!(!classifier.use_gate(false));
        assert!(!classifier.classify_cell(&picture).unwrap().unfamiliar);
        assert_eq!(classifier.provenance().gate, None);
        assert!(classifier.use_gate(true));
        assert_eq!(
            classifier.classify_cell(&picture).unwrap().unfamiliar,
            flags
        );
    }
    // The tiny model without a gate file never flags.
    let mut plain = open(&fixture_dir().join("hematovision-tiny.tflite"));
    assert!(plain.gate().is_none());
    assert!(!plain.use_gate(true));
    assert!(!plain.classify_cell(&picture).unwrap().unfamiliar);
}

#[test]
fn a_damaged_wrong_or_missing_gate_file_is_handled_like_the_head() {
    // Changed after its digest was recorded: refused, as a damaged model file is.
    let dir = tempfile::tempdir().unwrap();
    let recorded = constant_gate(-1.0).to_string();
    let model = gated(dir.path(), &constant_gate(1.0), Some(&recorded));
    match ModelBundle::load(&model) {
        Err(ModelError::Damaged { file, .. }) => assert_eq!(file, "gate.json"),
        other => panic!("expected a damaged gate.json, got {other:?}"),
    }
    // Another embedding size: refused, naming the file and the sizes.
    let dir = tempfile::tempdir().unwrap();
    let mut wrong = constant_gate(1.0);
    wrong["embedding_size"] = 8.into();
    wrong["weights"] = serde_json::json!(vec![0.0; 8]);
    let err = ModelBundle::load(&gated(dir.path(), &wrong, None)).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("gate.json") && text.contains("embedding_size 8"),
        "{text}"
    );
    // Missing: the model loads and counts without it (the log says what that means).
    let dir = tempfile::tempdir().unwrap();
    let model = gated(dir.path(), &constant_gate(1.0), None);
    std::fs::remove_file(dir.path().join("gate.json")).unwrap();
    let bundle = ModelBundle::load(&model).unwrap();
    assert!(bundle.gate().is_none());
    assert!(bundle.shipped_head().is_some());
    // A gate named by a model without a head (no embedding to read): refused.
    let dir = tempfile::tempdir().unwrap();
    let model = gated(dir.path(), &constant_gate(1.0), None);
    let meta_path = dir.path().join("metadata.json");
    let mut meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&meta_path).unwrap()).unwrap();
    meta.as_object_mut().unwrap().remove("head");
    std::fs::write(&meta_path, meta.to_string()).unwrap();
    let text = ModelBundle::load(&model).unwrap_err().to_string();
    assert!(text.contains("gate is given but head is not"), "{text}");
}

fn shared_val(set: &str, class: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/datasets")
        .join(set)
        .join(class);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files.truncate(CELLS_PER_CLASS);
    files
}

/// Cells per class read from the shared sets (the first ones by name).
const CELLS_PER_CLASS: usize = 40;

#[test]
fn the_shipped_gate_keeps_cells_outside_the_four_out_of_the_count() {
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/hematovision-wbc4.tflite");
    let mut classifier = open(&model);
    assert!(
        classifier.gate().is_some(),
        "the shipped model ships its gate"
    );
    let mut flagged_share = |files: &[PathBuf]| {
        let flagged = files
            .iter()
            .filter(|f| {
                let image = read_rgb(f).unwrap();
                classifier.classify_cell(&image).unwrap().unfamiliar
            })
            .count();
        flagged as f64 / files.len() as f64
    };
    // On all of pbc-extra/val: 99.2%, 95.8% and 90.8% flagged (docs/BENCHMARKS.md); the
    // first 40 of each (by name) measured 97.5%, 92.5% and 82.5%.
    for (class, least) in [("BASOPHIL", 0.9), ("ERYTHROBLAST", 0.85), ("IG", 0.75)] {
        let share = flagged_share(&shared_val("pbc-extra/val", class));
        eprintln!("{class}: {share:.3} flagged");
        assert!(share >= least, "{class}: only {share:.2} flagged");
    }
    // On all of pbc-wbc4/val: 1.5% of the four sent to review; the first 40 of each class
    // measured 0-5% (2 of 40 at most).
    for class in ["EOSINOPHIL", "LYMPHOCYTE", "MONOCYTE", "NEUTROPHIL"] {
        let share = flagged_share(&shared_val("pbc-wbc4/val", class));
        eprintln!("{class}: {share:.3} flagged");
        assert!(share <= 0.1, "{class}: {share:.2} flagged");
    }
}

/// `hematovision` with `args`, its JSON output parsed.
fn cli_json(args: &[&std::ffi::OsStr]) -> serde_json::Value {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_hematovision"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stdout)))
}

#[test]
fn eval_and_classify_report_what_the_gate_does() {
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/hematovision-wbc4.tflite");
    let tree = tempfile::tempdir().unwrap();
    for (set, class, n) in [
        ("pbc-extra/val", "BASOPHIL", 6),
        ("pbc-extra/val", "IG", 4),
        ("pbc-wbc4/val", "NEUTROPHIL", 5),
    ] {
        let folder = tree.path().join(set.replace('/', "-")).join(class);
        std::fs::create_dir_all(&folder).unwrap();
        for file in shared_val(set, class).iter().take(n) {
            std::fs::copy(file, folder.join(file.file_name().unwrap())).unwrap();
        }
    }
    let extra = tree.path().join("pbc-extra-val");
    let four = tree.path().join("pbc-wbc4-val");
    let common = ["--json", "--threads", "1", "--model"].map(std::ffi::OsStr::new);
    let eval = |dir: &Path, more: &[&str]| {
        let mut args = vec![std::ffi::OsStr::new("eval")];
        args.extend(common);
        args.extend([model.as_os_str(), dir.as_os_str()]);
        args.extend(more.iter().map(std::ffi::OsStr::new));
        cli_json(&args)
    };

    let gated = eval(&extra, &["--outside"]);
    assert!(
        gated["gate"].as_str().unwrap().starts_with("sha256:"),
        "{gated}"
    );
    let baso = &gated["classes"][0];
    assert_eq!(
        (baso["class"].as_str(), baso["cells"].as_u64()),
        (Some("BASOPHIL"), Some(6))
    );
    // The first six basophils by name are all flagged, so none is counted.
    assert_eq!(baso["flagged"], 6, "{gated}");
    assert_eq!(baso["counted"], 0, "{gated}");
    assert!(
        baso["counted_without_gate"].as_u64().unwrap() >= 4,
        "{gated}"
    );
    let plain = eval(&extra, &["--outside", "--no-gate"]);
    assert!(plain["gate"].is_null(), "{plain}");
    for class in plain["classes"].as_array().unwrap() {
        assert_eq!(class["flagged"], 0, "{plain}");
        assert_eq!(class["counted"], class["counted_without_gate"], "{plain}");
    }
    // A folder of a class the model knows is refused under --outside.
    let refused = std::process::Command::new(env!("CARGO_BIN_EXE_hematovision"))
        .args([
            std::ffi::OsStr::new("eval"),
            std::ffi::OsStr::new("--outside"),
        ])
        .args([
            std::ffi::OsStr::new("--model"),
            model.as_os_str(),
            four.as_os_str(),
        ])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("is a class of this model"));

    // On the four: the usual report, plus what the gate sends to review, by class.
    let report = eval(&four, &[]);
    assert_eq!(report["n"], 5);
    assert_eq!(report["unfamiliar"]["NEUTROPHIL"], 0, "{report}");
    assert!(eval(&four, &["--no-gate"]).get("unfamiliar").is_none());

    // classify says it per picture.
    let basophil = extra.join("BASOPHIL");
    let first = std::fs::read_dir(&basophil)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut args = vec![std::ffi::OsStr::new("classify")];
    args.extend(common);
    args.extend([model.as_os_str(), first.as_os_str()]);
    assert_eq!(cli_json(&args)["unfamiliar"], true);
}
