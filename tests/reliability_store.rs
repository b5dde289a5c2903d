//! Reliability of the journal under faults: the daemon killed at random moments, a disk
//! that fills up and frees again (a fault-injecting writer, and a real tmpfs when running
//! as root), and replay fed arbitrary bytes. Each test prints one `RELIABILITY | ...`
//! line (see docs/RELIABILITY.md) and asserts that nothing confirmed was lost.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use hematovision::count::{Counter, Event, Stamp};
use hematovision::store::{Journal, JournalFile, append_line, read_session, replay_bytes};

fn labels() -> Vec<String> {
    ["EOSINOPHIL", "LYMPHOCYTE", "MONOCYTE", "NEUTROPHIL"]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

fn at(ms: u64) -> Stamp {
    Stamp {
        wall_ms: 1_795_330_053_000 + ms,
        mono_ms: ms,
    }
}

/// A small deterministic generator (xorshift), so every run tries the same moments.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Sequence numbers of the cells a replay holds, and how often each cell's line appears.
fn journaled_cells(data: &Path, session: &str) -> (Vec<u64>, BTreeMap<u64, usize>) {
    let replay = read_session(data, Some(session)).unwrap();
    let held = replay
        .counter
        .session()
        .map(|s| s.cells().iter().map(|c| c.seq).collect())
        .unwrap_or_default();
    let text = fs::read_to_string(data.join("journal").join(format!("{session}.jsonl"))).unwrap();
    let mut lines = BTreeMap::new();
    for line in text.lines() {
        if let Ok(Event::CellCounted { cell, .. }) = serde_json::from_str::<Event>(line) {
            *lines.entry(cell.seq).or_insert(0) += 1;
        }
    }
    (held, lines)
}

// ---------------------------------------------------------------- SIGKILL

/// The demo configuration with absolute paths and one view per cell, so a cycle is short.
fn fast_demo_config(dir: &Path) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = format!(
        "[camera]\nsource = \"replay\"\nreplay_dir = \"{}\"\nreplay_loop = true\n\n\
         [model]\npath = \"{}\"\nthreads = 1\nviews = 1\n\n\
         [counting]\ntarget = 100\nconfidence_threshold = 0.6\n\n\
         [storage]\ndata_dir = \"{}\"\nsave_crops = true\n\n\
         [buttons]\ndriver = \"sim\"\n\n\
         [display]\ndriver = \"sim\"\nterminal = false\n",
        root.join("tests/fixtures/bccd/JPEGImages").display(),
        root.join("models/hematovision-wbc4.tflite").display(),
        dir.join("data").display(),
    );
    let path = dir.join("fast-demo.toml");
    fs::write(&path, text).unwrap();
    path
}

/// Confirmed cell numbers in a daemon log line: `<field>: cell <n> <CLASS> ...`.
fn confirmed_seq(line: &str) -> Option<u64> {
    let rest = &line[line.find(": cell ")? + ": cell ".len()..];
    rest.split_whitespace().next()?.parse().ok()
}

#[test]
fn sigkill_at_random_moments_loses_and_duplicates_no_confirmed_cell() {
    const CYCLES: usize = 50;
    let tmp = tempfile::tempdir().unwrap();
    let config = fast_demo_config(tmp.path());
    let data = tmp.path().join("data");
    let mut rng = Rng(0x5EED_CAFE_F00D_0001);
    let mut confirmed: BTreeMap<u64, usize> = BTreeMap::new();
    let mut session = None::<String>;
    let started = Instant::now();
    for cycle in 0..CYCLES {
        let mut child = Command::new(env!("CARGO_BIN_EXE_hematovision"))
            .args(["run", "--config"])
            .arg(&config)
            .args(["--presses", "0ms,20ms,20ms,20ms,20ms,20ms,20ms,20ms,60s"])
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line.clone()).is_err() {
                    break;
                }
            }
        });
        // Kill after 1..=3 confirmed cells, and then after a further 0..40 ms: sometimes
        // between two counts, sometimes in the middle of a journal write.
        let wait_for = 1 + rng.below(3) as usize;
        let extra = Duration::from_millis(rng.below(40));
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut seen = 0;
        while seen < wait_for {
            assert!(Instant::now() < deadline, "cycle {cycle}: no count in time");
            match rx.recv_timeout(Duration::from_millis(200)) {
                Ok(line) => {
                    if let Some(seq) = confirmed_seq(&line) {
                        *confirmed.entry(seq).or_insert(0) += 1;
                        seen += 1;
                    }
                    if let Some(id) = line.split("new slide ").nth(1) {
                        session.get_or_insert_with(|| id.trim().to_string());
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if let Some(status) = child.try_wait().unwrap() {
                        panic!("cycle {cycle}: the daemon stopped: {status}");
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    panic!("cycle {cycle}: the daemon closed its log")
                }
            }
        }
        std::thread::sleep(extra);
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        // Lines logged before the kill are still in the pipe: each is a confirmed count.
        for line in rx.iter() {
            if let Some(seq) = confirmed_seq(&line) {
                *confirmed.entry(seq).or_insert(0) += 1;
            }
        }
        reader.join().unwrap();
    }
    let session = session.expect("the first cycle started a slide");
    let (held, lines) = journaled_cells(&data, &session);
    let lost: Vec<u64> = confirmed
        .keys()
        .filter(|s| !held.contains(s))
        .copied()
        .collect();
    let duplicated: Vec<u64> = lines
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(s, _)| *s)
        .chain(confirmed.iter().filter(|(_, n)| **n > 1).map(|(s, _)| *s))
        .collect();
    let unconfirmed = held.iter().filter(|s| !confirmed.contains_key(s)).count();
    println!(
        "RELIABILITY | SIGKILL cycles | {CYCLES} | lost {}, duplicated {} | {} confirmed cells, {} journaled but killed before the log line, {:.0} s",
        lost.len(),
        duplicated.len(),
        confirmed.len(),
        unconfirmed,
        started.elapsed().as_secs_f64()
    );
    assert!(lost.is_empty(), "confirmed cells lost: {lost:?}");
    assert!(duplicated.is_empty(), "cells counted twice: {duplicated:?}");
}

// ---------------------------------------------------------------- ENOSPC

/// A real file that accepts `budget` more bytes and then fails like a full disk: the
/// write that crosses the budget writes what fits, then returns ENOSPC.
struct FillingFile {
    file: fs::File,
    budget: usize,
}

impl JournalFile for FillingFile {
    fn append_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        let fits = bytes.len().min(self.budget);
        self.file.write_all(&bytes[..fits])?;
        self.budget -= fits;
        if fits < bytes.len() {
            return Err(io::Error::from_raw_os_error(libc::ENOSPC));
        }
        Ok(())
    }

    fn sync(&mut self) -> io::Result<()> {
        self.file.sync_data()
    }

    fn cut_back(&mut self, len: u64) -> io::Result<()> {
        self.file.set_len(len)?;
        self.file.sync_all()
    }
}

fn cell_event(counter: &Counter, i: usize) -> Event {
    let mut p = vec![0.05; 4];
    p[i % 4] = 0.85;
    counter
        .count_event(p, format!("f{i}.jpg"), None, at(i as u64 + 1))
        .unwrap()
}

#[test]
fn a_disk_that_fills_and_frees_loses_no_confirmed_event() {
    const RUNS: usize = 64;
    let mut lost = 0;
    let mut merged = 0;
    let mut confirmed_total = 0;
    for run in 0..RUNS {
        let dir = tempfile::tempdir().unwrap();
        let session = "s1";
        let journal = dir.path().join("journal");
        fs::create_dir_all(&journal).unwrap();
        let path = journal.join(format!("{session}.jsonl"));
        let file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap();
        // The disk fills after a different number of bytes in every run (the first
        // event is about 130 bytes, a cell about 300).
        let mut disk = FillingFile {
            file,
            budget: 131 + run * 37,
        };
        let mut counter = Counter::new();
        let mut good = 0u64;
        let mut confirmed = Vec::new();
        let start = counter
            .start_event(session.into(), labels(), 100, 0.6, at(0))
            .unwrap();
        let mut pending = vec![start];
        let mut i = 0;
        // 12 presses while the disk is full, then space comes back for 6 more.
        for press in 0..18 {
            if press == 12 {
                disk.budget = usize::MAX;
            }
            let event = match pending.pop() {
                Some(e) => e,
                None => {
                    i += 1;
                    cell_event(&counter, i)
                }
            };
            let line = [serde_json::to_vec(&event).unwrap(), b"\n".to_vec()].concat();
            match append_line(&mut disk, good, &line) {
                Ok(len) => {
                    good = len;
                    counter.apply(&event).unwrap();
                    confirmed.push(event);
                }
                Err(failure) => {
                    assert!(failure.rollback.is_none(), "{failure:?}");
                    assert_eq!(fs::metadata(&path).unwrap().len(), good, "cut back");
                    if matches!(event, Event::SessionStarted { .. }) {
                        pending.push(event);
                    }
                }
            }
        }
        let replay = read_session(dir.path(), Some(session)).unwrap();
        let held = replay.counter.session().map_or(0, |s| s.cells().len());
        let want = confirmed
            .iter()
            .filter(|e| matches!(e, Event::CellCounted { .. }))
            .count();
        confirmed_total += want;
        lost += want.saturating_sub(held);
        merged += replay.problems.len();
        assert_eq!(replay.counter, counter, "run {run}: {:?}", replay.problems);
    }
    println!(
        "RELIABILITY | ENOSPC runs (fault-injecting writer) | {RUNS} | lost {lost}, unreadable lines {merged} | disk full after 131 + 37*run bytes, 12 presses while full then 6 after space returns; {confirmed_total} confirmed cells"
    );
    assert_eq!(lost + merged, 0);
}

/// Mounts a small tmpfs, or says why it cannot.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Result<Tmpfs, String> {
        if !nix_is_root() {
            return Err("not running as root".into());
        }
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output()
            .map_err(|e| format!("mount: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "mount -t tmpfs failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(Tmpfs { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

fn nix_is_root() -> bool {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

/// Fills the file system until a write fails; returns the filler file.
fn fill(dir: &Path) -> PathBuf {
    let filler = dir.join("filler");
    let mut f = fs::File::create(&filler).unwrap();
    let block = vec![0u8; 4096];
    while f.write_all(&block).is_ok() {}
    let _ = f.sync_all();
    filler
}

#[test]
fn a_real_tmpfs_that_fills_and_frees_loses_no_confirmed_cell() {
    const RUNS: usize = 8;
    let tmpfs = match Tmpfs::mount("200k") {
        Ok(t) => t,
        Err(why) => {
            println!("skipped a_real_tmpfs_that_fills_and_frees_loses_no_confirmed_cell: {why}");
            return;
        }
    };
    let mut lost = 0;
    let mut unreadable = 0;
    let mut refused_appends = 0;
    let mut confirmed_total = 0;
    for run in 0..RUNS {
        let data = tmpfs.path().join(format!("run{run}"));
        let (mut journal, _) = Journal::open(&data).unwrap();
        let mut counter = Counter::new();
        let id = "s1".to_string();
        let start = counter
            .start_event(id.clone(), labels(), 100, 0.6, at(0))
            .unwrap();
        journal.append(&start).unwrap();
        counter.apply(&start).unwrap();
        // tmpfs allocates whole pages: the disk is full once the journal's last page is,
        // so a different number of lines before the fill moves the cut within a line.
        let before = 8 + run * 2;
        for i in 0..before {
            let e = cell_event(&counter, i);
            journal.append(&e).unwrap();
            counter.apply(&e).unwrap();
        }
        let filler = fill(tmpfs.path());
        for i in before..before + 14 {
            let e = cell_event(&counter, i);
            match journal.append(&e) {
                Ok(()) => counter.apply(&e).unwrap(),
                Err(e) => {
                    refused_appends += 1;
                    assert!(e.to_string().contains("full"), "{e}");
                }
            }
        }
        fs::remove_file(&filler).unwrap();
        for i in before + 14..before + 18 {
            let e = cell_event(&counter, i);
            journal.append(&e).unwrap();
            counter.apply(&e).unwrap();
        }
        let want = counter.session().unwrap().cells().len();
        confirmed_total += want;
        let replay = read_session(&data, Some(&id)).unwrap();
        let held = replay.counter.session().map_or(0, |s| s.cells().len());
        lost += want.saturating_sub(held);
        unreadable += replay.problems.len();
        assert_eq!(replay.counter, counter, "run {run}: {:?}", replay.problems);
        fs::remove_dir_all(&data).unwrap();
    }
    println!(
        "RELIABILITY | ENOSPC runs (200 KB tmpfs filled then freed) | {RUNS} | lost {lost}, unreadable lines {unreadable} | 14 presses while full ({refused_appends} refused in all), 4 after space returns; {confirmed_total} confirmed cells"
    );
    assert!(refused_appends > 0, "the tmpfs never filled");
    assert_eq!(lost + unreadable, 0);
}

#[test]
fn a_full_tmpfs_at_start_leaves_no_empty_journal() {
    let tmpfs = match Tmpfs::mount("64k") {
        Ok(t) => t,
        Err(why) => {
            println!("skipped a_full_tmpfs_at_start_leaves_no_empty_journal: {why}");
            return;
        }
    };
    let data = tmpfs.path().join("data");
    let (mut journal, _) = Journal::open(&data).unwrap();
    let filler = fill(tmpfs.path());
    let counter = Counter::new();
    let id = journal.new_session_id(at(0).wall_ms);
    let start = counter.start_event(id, labels(), 100, 0.6, at(0)).unwrap();
    let err = journal.append(&start).unwrap_err().to_string();
    assert!(err.contains("full"), "{err}");
    let left: Vec<_> = fs::read_dir(data.join("journal"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "journal files left behind: {left:?}");
    fs::remove_file(filler).unwrap();
    journal.append(&start).unwrap();
    let (_j, replay) = Journal::open(&data).unwrap();
    assert!(replay.problems.is_empty(), "{:?}", replay.problems);
    assert!(replay.counter.open_session().is_some());
}

// ---------------------------------------------------------------- fuzz

#[test]
fn replay_of_arbitrary_bytes_never_panics() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRng, TestRunner};
    use std::sync::atomic::{AtomicUsize, Ordering};

    const CASES: u32 = 2000;
    // A valid journal to mutate, so that cases reach deep into validation, not only JSON.
    let mut counter = Counter::new();
    let start = counter
        .start_event("s1".into(), labels(), 100, 0.6, at(0))
        .unwrap();
    counter.apply(&start).unwrap();
    let mut valid = [serde_json::to_vec(&start).unwrap(), b"\n".to_vec()].concat();
    for i in 0..6 {
        let e = cell_event(&counter, i);
        counter.apply(&e).unwrap();
        valid.extend(serde_json::to_vec(&e).unwrap());
        valid.push(b'\n');
    }
    let undo = counter.undo_event(at(99)).unwrap();
    valid.extend(serde_json::to_vec(&undo).unwrap());
    valid.push(b'\n');

    let tried = AtomicUsize::new(0);
    let panics = AtomicUsize::new(0);
    let strategy = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..2048),
        (
            prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
            any::<prop::sample::Index>()
        )
            .prop_map(move |(flips, cut)| {
                let mut bytes = valid.clone();
                for (at, b) in flips {
                    let i = at.index(bytes.len());
                    bytes[i] = b;
                }
                bytes.truncate(cut.index(bytes.len() + 1));
                bytes
            }),
    ];
    let config = Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    };
    let rng = TestRng::deterministic_rng(config.rng_algorithm);
    let mut runner = TestRunner::new_with_rng(config, rng);
    let path = Path::new("/nonexistent/journal/s1.jsonl");
    let result = runner.run(&strategy, |bytes| {
        tried.fetch_add(1, Ordering::Relaxed);
        let outcome = std::panic::catch_unwind(|| {
            let replay = replay_bytes(&bytes, path);
            if let Some(s) = replay.counter.session() {
                assert_eq!(s.total(), s.cells().len() as u32);
            }
        });
        if outcome.is_err() {
            panics.fetch_add(1, Ordering::Relaxed);
        }
        prop_assert!(outcome.is_ok(), "replay panicked on {:?}", bytes);
        Ok(())
    });
    let panics = panics.into_inner();
    println!(
        "RELIABILITY | journal fuzz (arbitrary bytes and mutated journals) | {} | panics {panics} | proptest, fixed seed, up to 2 KB each, half random bytes, half a valid journal with byte flips and a cut",
        tried.into_inner()
    );
    assert_eq!(panics, 0, "{result:?}");
    result.unwrap();
}

// ---------------------------------------------------------------- crops

/// The number after the last ` = ` of an strace line (a syscall's result).
fn strace_result(line: &str) -> Option<i64> {
    line.rsplit(" = ")
        .next()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The first argument of a syscall in an strace line, if it is a number (a descriptor).
fn strace_fd(line: &str, call: &str) -> Option<i64> {
    let rest = &line[line.find(&format!("{call}("))? + call.len() + 1..];
    rest.split([',', ')', ' ']).next()?.parse().ok()
}

#[test]
fn a_crop_is_on_disk_before_the_journal_line_that_names_it() {
    let tmp = tempfile::tempdir().unwrap();
    let config = fast_demo_config(tmp.path());
    let trace = tmp.path().join("strace.log");
    let out = match Command::new("strace")
        .args(["-f", "-s", "256", "-o"])
        .arg(&trace)
        .args([
            "-e",
            "trace=openat,close,fsync,fdatasync,write,rename,renameat,renameat2",
        ])
        .arg(env!("CARGO_BIN_EXE_hematovision"))
        .args(["run", "--config"])
        .arg(&config)
        .args(["--presses", "0ms", "--exit-when-done"])
        .stdin(Stdio::null())
        .output()
    {
        Ok(out) => out,
        Err(e) => {
            println!(
                "skipped a_crop_is_on_disk_before_the_journal_line_that_names_it: strace: {e}"
            );
            return;
        }
    };
    let log = fs::read_to_string(&trace).unwrap_or_default();
    if !out.status.success() && log.is_empty() {
        println!(
            "skipped a_crop_is_on_disk_before_the_journal_line_that_names_it: strace cannot trace here: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
        return;
    }
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Descriptors open on a crop file, and whether one of them was fsync'd.
    let mut crop_fds = Vec::new();
    let mut crop_synced = false;
    let mut crop_named = false;
    let mut journal_line = None;
    for (i, line) in log.lines().enumerate() {
        if line.contains("openat(") && line.contains("/crops/") {
            if let Some(fd) = strace_result(line).filter(|fd| *fd >= 0) {
                crop_fds.push(fd);
                crop_named |= line.contains("/00001.jpg\"");
            }
        } else if line.contains("rename") && line.contains("/crops/") {
            crop_named |= line.contains("/00001.jpg\"") && strace_result(line) == Some(0);
        } else if let Some(fd) = strace_fd(line, "close") {
            crop_fds.retain(|f| *f != fd);
        } else if let Some(fd) = strace_fd(line, "fsync").or_else(|| strace_fd(line, "fdatasync")) {
            crop_synced |= crop_fds.contains(&fd);
        } else if line.contains("write(") && line.contains("cell_counted") {
            journal_line = Some(i);
            break;
        }
    }
    let journal_line = journal_line.expect("the cell was journaled");
    assert!(
        crop_named,
        "the crop has its name before journal line {journal_line} names it"
    );
    assert!(
        crop_synced,
        "the crop was not fsync'd before the journal line naming it (strace line {journal_line})"
    );
}
