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

use hematovision::hw::display::sim::SimDisplay;
use hematovision::hw::display::{Display, Screen, Status};

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

/// A screen exactly as the simulated OLED prints it.
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
    let mut display = SimDisplay::with_writer(Box::new(out.clone()), None).unwrap();
    display.show(screen).unwrap();
    let bytes = out.0.lock().unwrap().clone();
    String::from_utf8(bytes).unwrap()
}

/// True when `screen` is the last screen printed (the slide's report may follow it).
fn last_screen_is(stdout: &str, screen: &str) -> bool {
    stdout
        .rfind(screen)
        .is_some_and(|at| !stdout[at + screen.len()..].contains(['▀', '▄', '█']))
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
        let child = Command::new(bin())
            .args(["run", "--config"])
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
        let presses = format!("{},600s", vec!["30ms"; 12].join(","));
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
