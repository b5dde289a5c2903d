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

/// `hematovision run` with the demo configuration over `data`.
fn demo(data: &Path) -> Command {
    let mut command = Command::new(bin());
    command
        .args(["run", "--config"])
        .arg(demo_config())
        .arg("--data-dir")
        .arg(data);
    command
}

/// Runs the demo over `data` with `args` to its end; it must succeed: (stdout, stderr).
fn demo_ok(data: &Path, args: &[&str]) -> (String, String) {
    let out = demo(data).args(args).stdin(Stdio::null()).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    (String::from_utf8_lossy(&out.stdout).into_owned(), stderr)
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
    // -v: the log lines checked here are info lines, which the quiet terminal screen hides.
    let out = Command::new(bin())
        .args(["-v", "run", "--config"])
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
    let (stdout, stderr) = demo_ok(
        data.path(),
        &[
            "--presses",
            "0ms,0ms,0ms,0ms,0ms,0ms,0ms,0ms,0ms,0ms,0ms,0ms,undo:0ms",
            "--exit-when-done",
        ],
    );
    assert!(
        stdout
            .chars()
            .any(|c| ('\u{2801}'..='\u{28FF}').contains(&c)),
        "no screen printed"
    );
    // A first-time user's terminal: compact screens, nothing wider than 80 columns, and
    // not the log of every step (warnings only; -v brings it back).
    for line in stdout.lines() {
        assert!(line.chars().count() <= 80, "too wide: {line}");
    }
    assert!(!stderr.contains(" INFO "), "{stderr}");
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
    let live_demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/demo-live.toml");
    for (file, flags) in [
        (demo_config(), vec![]),
        (live_demo, vec![]),
        (production, vec!["--skip-paths"]),
    ] {
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

#[test]
fn the_demo_serves_the_station_and_counts_on_when_its_port_is_taken() {
    // Port taken by someone else: the daemon says why and counts anyway.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let data = tempfile::tempdir().unwrap();
    let (_, stderr) = demo_ok(
        data.path(),
        &[
            "--listen",
            &addr,
            "--presses",
            "0ms,0ms",
            "--exit-when-done",
        ],
    );
    assert!(
        stderr.contains("the review station is not served") && stderr.contains(&addr),
        "{stderr}"
    );
    assert_eq!(report(data.path())["total"], 2, "{stderr}");

    // A free port: the station answers while the daemon runs.
    drop(taken);
    let mut child = demo(data.path())
        .args(["--listen", &addr, "--presses", "60s"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let answer = loop {
        if let Ok(mut s) = std::net::TcpStream::connect(&addr) {
            use std::io::{Read, Write};
            s.write_all(
                b"GET /api/slides HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
            )
            .unwrap();
            let mut text = String::new();
            s.read_to_string(&mut text).unwrap();
            break text;
        }
        assert!(Instant::now() < deadline, "the station never answered");
        std::thread::sleep(Duration::from_millis(100));
    };
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"state\":\"open\""), "{answer}");
}

#[test]
fn report_without_a_configuration_says_what_to_type() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(bin())
        .args(["report", "--config"])
        .arg(dir.path().join("missing.toml"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--config config/demo.toml"), "{err}");
    assert!(!err.contains("os error"), "{err}");
    assert_eq!(err.matches("missing.toml").count(), 1, "{err}");
}

/// The journal's events, every line of every slide.
fn journal_events(data: &Path) -> Vec<serde_json::Value> {
    let dir = std::fs::read_dir(data.join("journal")).unwrap();
    dir.map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .flat_map(|t| {
            t.lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn the_demo_takes_back_two_wrong_answers() {
    let data = tempfile::tempdir().unwrap();
    // The demo's own schedule, as `cargo run --release -- run --config config/demo.toml`.
    let out = Command::new(bin())
        .args(["-v", "run", "--config"])
        .arg(demo_config())
        .arg("--data-dir")
        .arg(data.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let events = journal_events(data.path());
    let counted: Vec<&serde_json::Value> = events
        .iter()
        .filter(|e| e["event"] == "cell_counted")
        .map(|e| &e["cell"])
        .collect();
    let by_field = |field: &str| {
        counted
            .iter()
            .find(|c| c["frame"] == field)
            .unwrap_or_else(|| panic!("{field} not counted: {counted:?}"))
    };
    // An eosinophil and a monocyte the model calls neutrophils, each taken back by the undo
    // after it.
    let undone: Vec<&serde_json::Value> =
        events.iter().filter(|e| e["event"] == "undone").collect();
    assert_eq!(undone.len(), 2);
    for (field, undo) in ["BloodImage_00023.jpg", "BloodImage_00110.jpg"]
        .iter()
        .zip(&undone)
    {
        let wrong = by_field(field);
        assert_eq!(wrong["label"], "NEUTROPHIL", "{wrong}");
        assert_eq!(undo["seq"], wrong["seq"]);
        assert!(
            stderr.contains(&format!(
                "undo: cell {} NEUTROPHIL ({field}) removed from the count",
                wrong["seq"]
            )),
            "{stderr}"
        );
    }
    let r = report(data.path());
    assert_eq!(r["total"], 10, "{r}");
    assert_eq!(r["unidentified"], 0, "{r}");
    assert_eq!(r["differential_total"], 10, "{r}");
}
