//! The real binary, end to end: the demo configuration, a SIGKILL, and a resume.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_hematovision"))
}

fn demo_config() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("config/demo.toml")
}

fn counted_lines(data: &Path) -> usize {
    let Ok(dir) = std::fs::read_dir(data.join("journal")) else {
        return 0;
    };
    dir.filter_map(|e| e.ok())
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .map(|t| t.lines().filter(|l| l.contains("\"cell_counted\"")).count())
        .sum()
}

fn report(data: &Path) -> serde_json::Value {
    let out = Command::new(bin())
        .args(["report", "--json", "--data-dir"])
        .arg(data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Runs the daemon on a replayed empty field (no white cell) with `storage` settings, for
/// `presses` presses of the count button; returns its log and the frames kept in `missed/`.
fn run_on_an_empty_field(storage: &str, presses: usize) -> (String, Vec<String>) {
    let tmp = tempfile::tempdir().unwrap();
    let frames = tmp.path().join("frames");
    std::fs::create_dir(&frames).unwrap();
    image::RgbImage::from_pixel(640, 480, image::Rgb([236, 214, 200]))
        .save(frames.join("empty.jpg"))
        .unwrap();
    let data = tmp.path().join("data");
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/hematovision-wbc4.tflite");
    let config = tmp.path().join("hematovision.toml");
    std::fs::write(
        &config,
        format!(
            "[camera]\nsource = \"replay\"\nreplay_dir = {frames:?}\nreplay_loop = true\n\n\
             [model]\npath = {model:?}\nthreads = 1\n\n\
             [storage]\ndata_dir = {data:?}\n{storage}\n\n\
             [buttons]\ndriver = \"sim\"\n\n[display]\ndriver = \"sim\"\n"
        ),
    )
    .unwrap();
    let out = Command::new(bin())
        .args(["run", "--config"])
        .arg(&config)
        .args([
            "--presses",
            &vec!["0ms"; presses].join(","),
            "--exit-when-done",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    assert_eq!(report(&data)["total"], 0, "{stderr}");
    let kept = match std::fs::read_dir(data.join("missed")) {
        Ok(dir) => dir
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    };
    (stderr, kept)
}

#[test]
fn a_frame_without_a_white_cell_is_kept_for_review_only_when_asked_and_within_the_limit() {
    let (log, kept) =
        run_on_an_empty_field("keep_missed_frames = true\nmissed_frames_limit = 2", 3);
    assert_eq!(
        kept.len(),
        2,
        "the limit bounds the folder: {kept:?}\n{log}"
    );
    assert!(kept.iter().all(|name| name.ends_with(".jpg")), "{kept:?}");
    assert!(log.contains("no white cell found"), "{log}");
    assert!(
        log.matches("kept for review in").count() == 3 && log.contains("missed/"),
        "each kept frame is logged with its path:\n{log}"
    );

    let (log, kept) = run_on_an_empty_field("", 2);
    assert!(kept.is_empty(), "kept without being asked: {kept:?}");
    assert!(!log.contains("kept for review"), "{log}");
}

#[test]
fn killed_mid_slide_the_daemon_resumes_with_the_same_counts() {
    let data = tempfile::tempdir().unwrap();
    let mut child = Command::new(bin())
        .args(["run", "--config"])
        .arg(demo_config())
        .arg("--data-dir")
        .arg(data.path())
        .args([
            "--presses",
            "0ms,50ms,50ms,50ms,50ms,50ms,50ms,50ms,50ms,50ms,50ms,60s",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while counted_lines(data.path()) < 6 {
        assert!(
            Instant::now() < deadline,
            "the daemon counted nothing in time"
        );
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the daemon stopped early: {status}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap(); // SIGKILL: no chance to clean up
    child.wait().unwrap();

    let before = report(data.path());
    assert!(before["total"].as_u64().unwrap() >= 6, "{before}");
    assert_eq!(before["open"], true);

    let out = Command::new(bin())
        .args(["run", "--config"])
        .arg(demo_config())
        .arg("--data-dir")
        .arg(data.path())
        .args(["--presses", "quit:0ms"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after = report(data.path());
    assert_eq!(after["session"], before["session"], "same slide resumed");
    assert_eq!(after["counts"], before["counts"]);
    assert_eq!(after["unidentified"], before["unidentified"]);
    assert_eq!(after["total"], before["total"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(before["session"].as_str().unwrap()),
        "{stdout}"
    );
}

#[test]
fn the_demo_counts_every_bundled_field_and_shows_the_screen() {
    let data = tempfile::tempdir().unwrap();
    let out = Command::new(bin())
        .args(["run", "--config"])
        .arg(demo_config())
        .arg("--data-dir")
        .arg(data.path())
        .args([
            "--presses",
            "0ms,0ms,0ms,0ms,0ms,0ms,0ms,0ms,0ms,0ms,0ms,0ms,undo:0ms",
            "--exit-when-done",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains('▀') || stdout.contains('▄'),
        "no screen printed"
    );
    let r = report(data.path());
    // 12 fields, each with a white cell the locator must find; one press undone.
    assert_eq!(r["total"], 11, "{r}\n{stderr}");
    let crops = std::fs::read_dir(data.path().join("crops"))
        .unwrap()
        .flat_map(|d| std::fs::read_dir(d.unwrap().path()).unwrap())
        .count();
    assert_eq!(crops, 12, "a crop is kept for every classified cell");
}

#[test]
fn check_config_accepts_the_shipped_files_and_names_bad_keys() {
    let production = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/hematovision.toml");
    // The production file names the installed model, which a build machine lacks.
    for (file, flags) in [(demo_config(), vec![]), (production, vec!["--skip-paths"])] {
        let ok = Command::new(bin())
            .arg("check-config")
            .args(flags)
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            ok.status.success(),
            "{}",
            String::from_utf8_lossy(&ok.stderr)
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[counting]\ntarget = 100\nconfidence = 0.5\n").unwrap();
    let out = Command::new(bin())
        .arg("check-config")
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("counting.confidence") && err.contains(":3:"),
        "{err}"
    );
}

#[test]
fn check_config_names_a_missing_model_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hv.toml");
    std::fs::write(&file, "[model]\nthreads = 1\npath = \"gone.tflite\"\n").unwrap();
    let out = Command::new(bin())
        .arg("check-config")
        .arg(&file)
        .output()
        .unwrap();
    assert!(!out.status.success(), "a missing model passed");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(":3: key `model.path`"), "{err}");
    assert!(err.contains("gone.tflite does not exist"), "{err}");
    let skipped = Command::new(bin())
        .args(["check-config", "--skip-paths"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(skipped.status.success());
    assert!(String::from_utf8_lossy(&skipped.stdout).contains("paths not checked"));
}

#[test]
fn a_failing_command_states_each_cause_once() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("empty.tflite");
    std::fs::write(&model, b"").unwrap();
    let labels = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/labels.txt");
    std::fs::copy(labels, dir.path().join("labels.txt")).unwrap();
    let image = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/bccd/JPEGImages/BloodImage_00000.jpg");
    let out = Command::new(bin())
        .arg("classify")
        .arg("--model")
        .arg(&model)
        .arg(image)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let last = err.lines().last().unwrap_or_default();
    assert_eq!(last.matches("empty (0 bytes)").count(), 1, "{err}");
}
