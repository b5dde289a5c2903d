//! Reliability of the daemon and of its configuration checks, measured on the real binary.
//!
//! Each test prints one line `RELIABILITY | what | tried | failures | detail` (visible with
//! `cargo test --release --test reliability_daemon -- --nocapture`) and asserts that the
//! failure count is 0.

use std::fs::File;
use std::io::Write;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hematovision::config::{Config, cap_echo, line_of_key};
use hematovision::hw::display::sim::SimDisplay;
use hematovision::hw::display::{Display, Screen, Status, TerminalStyle};

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_hematovision"))
}

fn demo_config() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("config/demo.toml")
}

fn figure(what: &str, tried: usize, failures: &str, detail: &str) {
    println!("RELIABILITY | {what} | {tried} | {failures} | {detail}");
}

/// Counted cells in the journal; panics on a line that is not JSON (a torn write).
fn journaled_cells(data: &Path) -> usize {
    let Ok(dir) = std::fs::read_dir(data.join("journal")) else {
        return 0;
    };
    let mut cells = 0;
    for entry in dir.filter_map(|e| e.ok()) {
        if entry.path().extension().is_none_or(|x| x != "jsonl") {
            continue;
        }
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("torn journal line {line:?}: {e}"));
            if v.to_string().contains("\"cell_counted\"") {
                cells += 1;
            }
        }
    }
    cells
}

/// Cells the daemon confirmed (logged after the journal write), from its log.
fn confirmed_cells(log: &str) -> usize {
    log.lines()
        .filter(|l| l.contains(": cell ") && l.contains(" in view)"))
        .count()
}

/// A screen exactly as the simulated OLED prints it with the demo's settings (the compact
/// style; not in place, as stdout is a file here).
fn printed(screen: &Screen) -> String {
    #[derive(Clone)]
    struct Shared(Arc<Mutex<Vec<u8>>>);
    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let out = Shared(Arc::new(Mutex::new(Vec::new())));
    let mut display = SimDisplay::with_writer(Box::new(out.clone()), None)
        .unwrap()
        .styled(TerminalStyle::Compact, false);
    display.show(screen).unwrap();
    let bytes = out.0.lock().unwrap().clone();
    String::from_utf8(bytes).unwrap()
}

/// True when `screen` is the last screen printed (the slide's report may follow it).
fn last_screen_is(stdout: &str, screen: &str) -> bool {
    stdout.rfind(screen).is_some_and(|at| {
        !stdout[at + screen.len()..]
            .chars()
            .any(|c| ('\u{2801}'..='\u{28FF}').contains(&c))
    })
}

/// A daemon child on the demo configuration, with its output in files and a systemd
/// notification socket the test reads.
struct Daemon {
    child: Child,
    dir: tempfile::TempDir,
    notify: UnixDatagram,
}

impl Daemon {
    fn start(data: &Path, presses: &str, extra: &[&str]) -> Daemon {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("notify");
        let notify = UnixDatagram::bind(&socket).unwrap();
        notify.set_nonblocking(true).unwrap();
        // -v: the log line of every count, which the tests compare with the journal.
        let child = Command::new(bin())
            .args(["-v", "run", "--config"])
            .arg(demo_config())
            .arg("--data-dir")
            .arg(data)
            .args(["--presses", presses])
            .args(extra)
            .env("NOTIFY_SOCKET", &socket)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(File::create(dir.path().join("stdout")).unwrap())
            .stderr(File::create(dir.path().join("stderr")).unwrap())
            .spawn()
            .unwrap();
        Daemon { child, dir, notify }
    }

    fn signal(&self, name: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success(), "kill -{name} failed");
    }

    /// Waits for the exit (killing the child after a generous guard).
    fn wait(&mut self) -> ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("the daemon did not exit:\n{}", self.stderr());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn stdout(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stdout")).unwrap_or_default()
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stderr")).unwrap_or_default()
    }

    /// Every notification received so far.
    fn notifications(&self) -> Vec<String> {
        let mut buf = [0u8; 512];
        let mut got = Vec::new();
        while let Ok(n) = self.notify.recv(&mut buf) {
            got.push(String::from_utf8_lossy(&buf[..n]).to_string());
        }
        got
    }
}

/// SIGTERM (what `systemctl stop` sends) mid-slide: exit status 0, every confirmed count in
/// the journal, the stopped screen shown, systemd told STOPPING=1. Defect 10 of issue 18.
#[test]
fn sigterm_stops_the_daemon_cleanly() {
    const RUNS: usize = 5;
    let stopped = printed(&Screen::Status {
        status: Status::Stopped,
        tally: None,
    });
    let (mut unclean, mut lost) = (0, 0);
    for run in 0..RUNS {
        let data = tempfile::tempdir().unwrap();
        // Presses every 30 ms, then a long wait: the signal comes mid-slide, after a
        // different number of counts each run.
        let presses = format!("{},600s", ["30ms"; 12].join(","));
        let mut daemon = Daemon::start(data.path(), &presses, &[]);
        let wanted = run + 1;
        let deadline = Instant::now() + Duration::from_secs(120);
        while journaled_cells(data.path()) < wanted {
            assert!(Instant::now() < deadline, "nothing counted in time");
            if let Some(status) = daemon.child.try_wait().unwrap() {
                panic!("the daemon stopped early: {status}\n{}", daemon.stderr());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let signal = if run == RUNS - 1 { "INT" } else { "TERM" };
        daemon.signal(signal);
        let status = daemon.wait();
        let (stdout, stderr) = (daemon.stdout(), daemon.stderr());
        let notes = daemon.notifications();
        let clean = status.code() == Some(0)
            && last_screen_is(&stdout, &stopped)
            && notes.iter().any(|n| n.starts_with("READY=1"))
            && notes.iter().any(|n| n == "STOPPING=1");
        if !clean {
            unclean += 1;
            eprintln!("run {run} (SIG{signal}): {status}, notifications {notes:?}\n{stderr}");
        }
        let (journaled, confirmed) = (journaled_cells(data.path()), confirmed_cells(&stderr));
        if journaled < confirmed || confirmed == 0 {
            lost += 1;
            eprintln!("run {run}: {confirmed} confirmed, {journaled} journaled\n{stderr}");
        }
    }
    figure(
        "SIGTERM/SIGINT stops the daemon mid-slide",
        RUNS,
        &format!("unclean {unclean}, lost {lost}"),
        "exit 0, STOPPED screen, STOPPING=1, every confirmed count journaled",
    );
    assert_eq!((unclean, lost), (0, 0));
}

/// Mounts a tmpfs on `dir`; unmounted on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path) -> Result<Tmpfs, String> {
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=16m", "tmpfs"])
            .arg(dir)
            .output()
            .map_err(|e| format!("mount: {e}"))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
        }
        Ok(Tmpfs(dir.to_path_buf()))
    }

    fn remount_read_only(&self) {
        let ok = Command::new("mount")
            .args(["-o", "remount,ro"])
            .arg(&self.0)
            .status()
            .unwrap();
        assert!(ok.success(), "remount read-only failed");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// A read-only data directory holding an open slide: the daemon must not tell systemd it is
/// ready; it shows ERR J02, logs the fix, exits non-zero, and the slide is untouched.
/// Defect 6 of issue 18.
#[test]
fn a_read_only_data_dir_is_refused_before_ready() {
    let dir = tempfile::tempdir().unwrap();
    let mount = match Tmpfs::mount(dir.path()) {
        Ok(m) => m,
        Err(why) => {
            // Root is not stopped by file modes, so only a read-only mount is honest.
            println!("skipped: a read-only data directory needs a tmpfs mount ({why})");
            return;
        }
    };
    let data = dir.path().join("data");
    let mut first = Daemon::start(&data, "0ms,0ms", &["--exit-when-done"]);
    assert!(first.wait().success(), "{}", first.stderr());
    let before = journaled_cells(&data);
    assert_eq!(before, 2, "{}", first.stderr());
    mount.remount_read_only();

    let mut daemon = Daemon::start(&data, "0ms,0ms", &["--exit-when-done"]);
    let status = daemon.wait();
    let (stdout, stderr) = (daemon.stdout(), daemon.stderr());
    let notes = daemon.notifications();
    let error_screen = printed(&Screen::Status {
        status: Status::Error("J02".into()),
        tally: None,
    });
    let mut failures = Vec::new();
    if status.success() {
        failures.push(format!("exit {status}"));
    }
    if notes.iter().any(|n| n.contains("READY=1")) {
        failures.push(format!("READY sent: {notes:?}"));
    }
    if !stdout.contains(&error_screen) {
        failures.push("no ERR J02 screen".into());
    }
    if !(stderr.contains("cannot be written") && stderr.contains("storage.data_dir")) {
        failures.push("the log does not say why and how to fix it".into());
    }
    if journaled_cells(&data) != before {
        failures.push("the journal changed".into());
    }
    figure(
        "read-only data dir at start",
        1,
        &format!("checks failed {}", failures.len()),
        "refused before READY, ERR J02 on the display, fix in the log, journal intact",
    );
    assert!(failures.is_empty(), "{failures:?}\n{stderr}");
}

/// Parses `text` as a configuration the way `check-config` does, plus the helpers that
/// point into it; true when anything panicked.
fn panics_on(text: &str) -> bool {
    std::panic::catch_unwind(|| {
        if let Ok(mut config) = Config::parse(text, Path::new("fuzz.toml")) {
            config.resolve_paths(Path::new("/nonexistent-base"));
            let _ = config.check_paths();
        }
        let _ = line_of_key(text, "camera.v4l2.width");
        let _ = cap_echo(text);
    })
    .is_err()
}

/// Runs `cases` generated texts through [`panics_on`]; returns (tried, panics).
fn fuzz<S>(strategy: S, cases: u32) -> (usize, usize)
where
    S: proptest::strategy::Strategy<Value = String>,
{
    use proptest::test_runner::{Config as RunnerConfig, TestRunner};
    use std::sync::atomic::{AtomicUsize, Ordering};
    let (tried, panics) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let mut runner = TestRunner::new(RunnerConfig {
        cases,
        failure_persistence: None,
        ..RunnerConfig::default()
    });
    let outcome = runner.run(&strategy, |text| {
        tried.fetch_add(1, Ordering::SeqCst);
        if panics_on(&text) {
            panics.fetch_add(1, Ordering::SeqCst);
        }
        Ok(())
    });
    assert!(outcome.is_ok(), "{outcome:?}");
    (tried.into_inner(), panics.into_inner())
}

/// Arbitrary text and bytes never make the configuration parser panic.
#[test]
fn config_parser_survives_arbitrary_input() {
    use proptest::prelude::*;
    let (tried, panics) = fuzz(any::<String>(), 2000);
    figure(
        "config fuzz (arbitrary text)",
        tried,
        &format!("panics {panics}"),
        "proptest strings through parse, check_paths, line lookup and echo cap",
    );
    assert_eq!(panics, 0);
    let bytes = prop::collection::vec(any::<u8>(), 0..2048)
        .prop_map(|b| String::from_utf8_lossy(&b).into_owned());
    let (tried, panics) = fuzz(bytes, 2000);
    figure(
        "config fuzz (arbitrary bytes)",
        tried,
        &format!("panics {panics}"),
        "random bytes, read as text like a damaged file",
    );
    assert_eq!(panics, 0);
}

/// TOML-shaped input (real section and key names, odd values) reaches the checks past the
/// syntax; none of it panics.
#[test]
fn config_parser_survives_toml_shaped_input() {
    use proptest::prelude::*;
    let section = prop::sample::select(vec![
        "",
        "camera",
        "camera.v4l2",
        "model",
        "counting",
        "storage",
        "buttons",
        "buttons.sim",
        "buttons.gpio",
        "display",
        "locator",
        "live",
        "camra",
    ]);
    let key = prop::sample::select(vec![
        "source",
        "replay_dir",
        "reticle",
        "path",
        "runtime_library",
        "threads",
        "views",
        "target",
        "confidence_threshold",
        "data_dir",
        "driver",
        "presses",
        "width",
        "height",
        "chip",
        "bus",
        "address",
        "png_dir",
        "gate",
        "x.y",
        "\"q\"",
    ]);
    let value = prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|f| format!("{f:?}")),
        Just("nan".to_string()),
        Just("inf".to_string()),
        Just("true".to_string()),
        "[0-9a-z ./_-]{0,40}".prop_map(|t| format!("\"{t}\"")),
        prop::collection::vec(any::<u32>(), 0..5).prop_map(|v| format!("{v:?}")),
        Just("{ a = 1 }".to_string()),
        Just("1979-05-27T07:32:00Z".to_string()),
        "[\\PC]{0,12}",
    ];
    let line = (section, key, value).prop_map(|(s, k, v)| {
        if s.is_empty() {
            format!("{k} = {v}\n")
        } else {
            format!("[{s}]\n{k} = {v}\n")
        }
    });
    let text = prop::collection::vec(line, 0..12).prop_map(|lines| lines.concat());
    let (tried, panics) = fuzz(text, 2000);
    figure(
        "config fuzz (TOML-shaped)",
        tried,
        &format!("panics {panics}"),
        "real sections and keys with odd values: ranges, types, paths, duplicates",
    );
    assert_eq!(panics, 0);
}

/// Runs check-config on `file` with a guard against hanging; None when it hung.
fn check_config(file: &Path) -> Option<std::process::Output> {
    let mut child = Command::new(bin())
        .arg("check-config")
        .arg(file)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Some(child.wait_with_output().unwrap())
}

/// Broken configuration files (each a case from issue 18) are all refused by check-config,
/// with the key and line where there is one, and without echoing a huge value.
#[test]
fn check_config_refuses_broken_files() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.tflite");
    std::fs::write(&model, b"model").unwrap();
    std::fs::create_dir(dir.path().join("frames")).unwrap();
    let ok = "[model]\npath = \"m.tflite\"\n[camera]\nreplay_dir = \"frames\"\n";
    let huge = "A".repeat(10 * 1024 * 1024);
    let cases: Vec<(&str, String, &str)> = vec![
        ("empty", String::new(), "is empty"),
        ("blank", "\n \n".into(), "is empty"),
        (
            "reticle of three",
            format!("{ok}reticle = [1, 2, 3]\n"),
            ":5: key `camera.reticle`",
        ),
        (
            "missing model",
            "[model]\npath = \"gone.tflite\"\n".into(),
            ":2: key `model.path`",
        ),
        (
            "model is a folder",
            "[model]\npath = \"frames\"\n".into(),
            ":2: key `model.path`",
        ),
        (
            "missing runtime library",
            ok.replace("[model]\n", "[model]\nruntime_library = \"no.so\"\n"),
            ":2: key `model.runtime_library`",
        ),
        (
            "missing replay folder",
            "[model]\npath = \"m.tflite\"\n[camera]\nreplay_dir = \"gone\"\n".into(),
            ":4: key `camera.replay_dir`",
        ),
        (
            "target out of range",
            format!("{ok}[counting]\ntarget = 0\n"),
            ":6: key `counting.target`",
        ),
        (
            "threshold NaN",
            format!("{ok}[counting]\nconfidence_threshold = nan\n"),
            ":6: key",
        ),
        (
            "unknown key",
            format!("{ok}[counting]\ntargte = 3\n"),
            ":6: key `counting.targte`",
        ),
        (
            "wrong type",
            format!("{ok}[counting]\ntarget = \"many\"\n"),
            ":6: key `counting.target`",
        ),
        (
            "10 MB value",
            format!("{ok}source = \"{huge}\"\n"),
            ":5: key `camera.source`",
        ),
        ("broken TOML", format!("{ok}[counting\n"), "line 5"),
        ("a folder", String::new(), "a folder"),
        ("a FIFO", String::new(), "a FIFO"),
    ];
    let mut accepted = Vec::new();
    for (i, (name, text, expected)) in cases.iter().enumerate() {
        let file = match *name {
            "a folder" => dir.path().join("frames"),
            "a FIFO" => {
                let fifo = dir.path().join("config.fifo");
                let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
                assert!(made.success());
                fifo
            }
            _ => {
                let file = dir.path().join(format!("case{i}.toml"));
                std::fs::write(&file, text).unwrap();
                file
            }
        };
        let Some(out) = check_config(&file) else {
            accepted.push(format!("{name}: hung"));
            continue;
        };
        let err = String::from_utf8_lossy(&out.stderr);
        if out.status.success() || !err.contains(expected) || err.len() > 2000 {
            accepted.push(format!("{name}: {} {}", out.status, cap_echo(&err)));
        }
    }
    let good = dir.path().join("good.toml");
    std::fs::write(&good, ok).unwrap();
    let fine = check_config(&good).is_some_and(|o| o.status.success());
    figure(
        "broken config files",
        cases.len(),
        &format!("accepted {}", accepted.len()),
        "each refused by check-config with its key and line, no hang, no echo over 2 kB",
    );
    assert!(accepted.is_empty(), "{accepted:#?}");
    assert!(fine, "a good file was refused");
}
