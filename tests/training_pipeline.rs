//! The training pipeline's Python tests (`models/training/test_*.py`) run as part of `cargo test`,
//! so the README's one test command covers the code that makes the shipped model.
//!
//! `models/training/run_tests.py` runs them with the pinned packages of
//! `models/training/requirements.txt`, installing those once into `.training-python/` when the
//! interpreter lacks them. `PYTHON` names the interpreter (default `python3`).

use std::path::Path;
use std::process::Command;

/// How many `def test_` functions the Python test files hold: every one must run and pass.
fn python_test_count(dir: &Path) -> usize {
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("test_") && name.ends_with(".py") {
            let text = std::fs::read_to_string(&path).unwrap();
            n += text
                .lines()
                .filter(|l| l.trim_start().starts_with("def test_"))
                .count();
        }
    }
    n
}

#[test]
fn every_python_test_of_the_training_pipeline_passes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let expected = python_test_count(&root.join("models/training"));
    assert!(
        expected >= 30,
        "found only {expected} Python tests in models/training"
    );
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let out = Command::new(&python)
        .arg(root.join("models/training/run_tests.py"))
        .current_dir(root)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot start '{python}': {e}; install Python 3 with pip, or set PYTHON")
        });
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let report = format!("--- stdout\n{stdout}\n--- stderr\n{stderr}");
    assert!(out.status.success(), "the Python tests failed:\n{report}");
    // unittest writes its summary to stderr: "Ran N tests in Xs" then "OK".
    let ran = stderr.lines().find_map(|l| {
        l.strip_prefix("Ran ")?
            .split(' ')
            .next()?
            .parse::<usize>()
            .ok()
    });
    assert_eq!(ran, Some(expected), "not every Python test ran:\n{report}");
    let last = stderr.lines().rev().find(|l| !l.trim().is_empty());
    assert_eq!(last, Some("OK"), "tests were skipped or failed:\n{report}");
}
