//! The journal: durable events, replay, and recovery from a torn last line.

use std::fs;
use std::io::Write;

use hematovision::count::{Counter, Event, Stamp};
use hematovision::store::{Journal, list_sessions, read_session};

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

/// Journals and applies, as the daemon does.
fn commit(journal: &mut Journal, counter: &mut Counter, event: Event) {
    journal.append(&event).unwrap();
    counter.apply(&event).unwrap();
}

/// A slide with `n` counted cells (cycling through the classes) in a fresh data dir.
fn slide_with(n: usize) -> (tempfile::TempDir, Counter, String) {
    let dir = tempfile::tempdir().unwrap();
    let (mut journal, replay) = Journal::open(dir.path()).unwrap();
    let mut counter = replay.counter;
    let id = journal.new_session_id(at(0).wall_ms);
    let start = counter
        .start_event(id.clone(), labels(), 100, 0.5, at(0))
        .unwrap();
    commit(&mut journal, &mut counter, start);
    for i in 0..n {
        let mut p = vec![0.05; 4];
        p[i % 4] = 0.85;
        let e = counter
            .count_event(p, format!("f{i}.jpg"), None, at(i as u64 + 1))
            .unwrap();
        commit(&mut journal, &mut counter, e);
    }
    (dir, counter, id)
}

#[test]
fn reopening_resumes_the_open_slide_with_identical_counts() {
    let (dir, counter, id) = slide_with(7);
    let (_journal, replay) = Journal::open(dir.path()).unwrap();
    assert_eq!(replay.counter, counter);
    assert_eq!(replay.events, 8);
    assert!(replay.problems.is_empty());
    assert_eq!(replay.counter.open_session().unwrap().id, id);
}

#[test]
fn a_torn_last_line_is_reported_dropped_and_nothing_before_it_is_lost() {
    let (dir, counter, id) = slide_with(5);
    let file = dir.path().join("journal").join(format!("{id}.jsonl"));
    let clean_len = fs::metadata(&file).unwrap().len();
    // A power cut in the middle of writing the sixth cell.
    let mut p = vec![0.05; 4];
    p[2] = 0.85;
    let sixth = counter
        .count_event(p, "f5.jpg".into(), None, at(99))
        .unwrap();
    let line = serde_json::to_vec(&sixth).unwrap();
    fs::OpenOptions::new()
        .append(true)
        .open(&file)
        .unwrap()
        .write_all(&line[..line.len() / 2])
        .unwrap();

    let (mut journal, replay) = Journal::open(dir.path()).unwrap();
    assert_eq!(replay.counter, counter, "the five complete cells survive");
    assert_eq!(replay.torn_bytes, line.len() / 2);
    assert_eq!(replay.problems.len(), 1);
    assert!(replay.problems[0].contains("torn"));
    assert_eq!(
        fs::metadata(&file).unwrap().len(),
        clean_len,
        "tail cut off"
    );

    // Counting goes on after recovery, and a later replay is clean.
    let mut counter = replay.counter;
    let e = counter
        .count_event(vec![0.9, 0.05, 0.03, 0.02], "g.jpg".into(), None, at(100))
        .unwrap();
    commit(&mut journal, &mut counter, e);
    let (_j, again) = Journal::open(dir.path()).unwrap();
    assert!(again.problems.is_empty());
    assert_eq!(again.counter.session().unwrap().total(), 6);
}

#[test]
fn an_unreadable_middle_line_is_skipped_and_reported() {
    let (dir, _counter, id) = slide_with(3);
    let file = dir.path().join("journal").join(format!("{id}.jsonl"));
    let text = fs::read_to_string(&file).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines[2] = "{not json";
    fs::write(&file, lines.join("\n") + "\n").unwrap();
    let (_j, replay) = Journal::open(dir.path()).unwrap();
    assert_eq!(replay.counter.session().unwrap().total(), 2);
    assert_eq!(replay.problems.len(), 1);
    assert!(replay.problems[0].contains(":3:"));
}

#[test]
fn finished_slides_are_not_resumed_but_stay_readable() {
    let (dir, mut counter, id) = slide_with(4);
    let (mut journal, _) = Journal::open(dir.path()).unwrap();
    let fin = counter.finish_event(at(50)).unwrap();
    commit(&mut journal, &mut counter, fin);
    let (_j, replay) = Journal::open(dir.path()).unwrap();
    assert!(replay.counter.session().is_none());
    let past = read_session(dir.path(), Some(&id)).unwrap();
    assert_eq!(past.counter.session().unwrap().counts(), &[1, 1, 1, 1]);
    assert!(!past.counter.session().unwrap().is_open());
    let list = list_sessions(dir.path()).unwrap();
    assert_eq!(list.len(), 1);
    assert!(!list[0].open);
    assert!(read_session(dir.path(), Some("nope")).is_err());
}

#[test]
fn session_ids_never_collide() {
    let (dir, _counter, id) = slide_with(0);
    let (journal, _) = Journal::open(dir.path()).unwrap();
    let next = journal.new_session_id(at(0).wall_ms);
    assert_ne!(next, id);
    assert_eq!(next, format!("{id}-2"));
}

#[test]
fn an_unwritable_data_dir_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("file");
    fs::write(&blocker, b"x").unwrap();
    let err = Journal::open(&blocker).unwrap_err().to_string();
    assert!(err.contains("data directory"), "{err}");
}

// ---- issue 18: faults and crafted journals

fn journal_file(dir: &std::path::Path, id: &str) -> std::path::PathBuf {
    dir.join("journal").join(format!("{id}.jsonl"))
}

#[test]
fn an_append_never_writes_onto_a_torn_tail() {
    let (dir, counter, id) = slide_with(3);
    let (mut journal, _) = Journal::open(dir.path()).unwrap();
    let file = journal_file(dir.path(), &id);
    // A fragment left by a write that failed (a full disk) after the journal was opened.
    fs::OpenOptions::new()
        .append(true)
        .open(&file)
        .unwrap()
        .write_all(b"{\"event\":\"cell_cou")
        .unwrap();
    let torn_len = fs::metadata(&file).unwrap().len();
    let cell = counter
        .count_event(vec![0.9, 0.05, 0.03, 0.02], "g.jpg".into(), None, at(50))
        .unwrap();
    let err = journal.append(&cell).unwrap_err().to_string();
    assert!(err.contains("incomplete line"), "{err}");
    assert_eq!(
        fs::metadata(&file).unwrap().len(),
        torn_len,
        "nothing appended"
    );

    // Recovery cuts the fragment off, says a full disk may be the cause, and counting goes on.
    let (mut journal, replay) = Journal::open(dir.path()).unwrap();
    assert_eq!(replay.problems.len(), 1);
    assert!(
        replay.problems[0].contains("full disk"),
        "{:?}",
        replay.problems
    );
    let mut counter = replay.counter;
    commit(&mut journal, &mut counter, cell);
    let again = read_session(dir.path(), Some(&id)).unwrap();
    assert!(again.problems.is_empty(), "{:?}", again.problems);
    assert_eq!(again.counter.session().unwrap().total(), 4);
}

/// A journal file holding `lines` (JSON values), one per line.
fn write_lines(dir: &std::path::Path, name: &str, lines: &[serde_json::Value]) {
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    fs::create_dir_all(dir.join("journal")).unwrap();
    fs::write(dir.join("journal").join(name), text).unwrap();
}

fn start_line(session: &str) -> serde_json::Value {
    serde_json::json!({"event": "session_started", "session": session, "labels": labels(),
        "target": 100, "threshold": 0.6, "at": {"wall_ms": 1, "mono_ms": 1}})
}

fn cell_line(session: &str, seq: u64) -> serde_json::Value {
    serde_json::json!({"event": "cell_counted", "session": session, "cell": {
        "seq": seq, "class": 3, "label": "NEUTROPHIL", "confidence": 0.85,
        "probabilities": [0.05, 0.05, 0.05, 0.85], "identified": true,
        "frame": "f.jpg", "at": {"wall_ms": 2, "mono_ms": 2}}})
}

#[test]
fn slide_ids_from_the_journal_are_never_used_as_paths() {
    let dir = tempfile::tempdir().unwrap();
    for (name, id) in [("evil.jsonl", "../../x"), ("abs.jsonl", "/tmp/hv-abs")] {
        write_lines(dir.path(), name, &[start_line(id), cell_line(id, 1)]);
    }
    let (mut journal, replay) = Journal::open(dir.path()).unwrap();
    assert!(
        replay.counter.session().is_none(),
        "resumed {:?}",
        replay.counter.session().map(|s| &s.id)
    );
    assert!(
        replay.problems.iter().any(|p| p.contains("session")),
        "{:?}",
        replay.problems
    );
    // Read on its own, the file's start line is refused for its id.
    let evil = read_session(dir.path(), Some("evil")).unwrap();
    assert!(evil.counter.session().is_none());
    assert!(
        evil.problems.iter().any(|p| p.contains("evil.jsonl:1:")),
        "{:?}",
        evil.problems
    );
    // Neither can an event with such an id be written, nor a report asked for one.
    let err = journal
        .append(&serde_json::from_value(start_line("../../x")).unwrap())
        .unwrap_err()
        .to_string();
    assert!(err.contains("session id"), "{err}");
    let err = read_session(dir.path(), Some("../../x"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("session id") && err.contains("report --list"),
        "{err}"
    );
    assert!(!dir.path().join("x.jsonl").exists());
    assert!(list_sessions(dir.path()).unwrap().is_empty());
}

#[test]
fn odd_entries_in_the_journal_folder_are_skipped_and_the_rest_is_read() {
    let (dir, counter, id) = slide_with(2);
    let journal = dir.path().join("journal");
    // A folder, a symbolic link to a slide outside the data directory, a bad name, and a
    // file holding another session than its name says.
    fs::create_dir(journal.join("x.jsonl")).unwrap();
    let outside = tempfile::tempdir().unwrap();
    write_lines(
        outside.path(),
        "link.jsonl",
        &[start_line("link"), cell_line("link", 1)],
    );
    std::os::unix::fs::symlink(
        outside.path().join("journal").join("link.jsonl"),
        journal.join("link.jsonl"),
    )
    .unwrap();
    write_lines(dir.path(), "bad name.jsonl", &[start_line("bad")]);
    write_lines(
        dir.path(),
        "zz.jsonl",
        &[start_line("other"), cell_line("other", 1)],
    );

    let (_journal, replay) = Journal::open(dir.path()).unwrap();
    assert_eq!(replay.counter, counter, "the real slide is resumed");
    let listed: Vec<String> = list_sessions(dir.path())
        .unwrap()
        .into_iter()
        .map(|s| s.session)
        .collect();
    assert_eq!(listed, vec![id.clone()]);
    assert!(
        read_session(dir.path(), Some("link")).is_err(),
        "symlink not followed"
    );
    let zz = read_session(dir.path(), Some("zz")).unwrap();
    assert!(zz.counter.session().is_none());
    assert!(zz.problems[0].contains("zz.jsonl:1:"), "{:?}", zz.problems);
}

#[test]
fn wrong_values_in_the_journal_are_refused_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let s = "s1";
    let mut unknown_label = cell_line(s, 2);
    unknown_label["cell"]["label"] = "BASOPHIL".into();
    let mut over_one = cell_line(s, 2);
    over_one["cell"]["confidence"] = 1.5.into();
    over_one["cell"]["probabilities"][3] = 1.5.into();
    let mut negative = cell_line(s, 2);
    negative["cell"]["probabilities"][0] = (-0.2).into();
    let mut identified_under = cell_line(s, 2);
    identified_under["cell"]["confidence"] = 0.4.into();
    identified_under["cell"]["probabilities"] = serde_json::json!([0.2, 0.2, 0.2, 0.4]);
    let wraps = cell_line(s, u64::MAX);
    let mut unfamiliar_counted = cell_line(s, 2);
    unfamiliar_counted["cell"]["unfamiliar"] = true.into();
    let lines = [
        start_line(s),      // 1
        cell_line(s, 1),    // 2
        unknown_label,      // 3
        over_one,           // 4
        negative,           // 5
        identified_under,   // 6
        wraps,              // 7
        unfamiliar_counted, // 8
        cell_line(s, 2),    // 9
    ];
    write_lines(dir.path(), "s1.jsonl", &lines);
    let replay = read_session(dir.path(), Some(s)).unwrap();
    let session = replay.counter.session().unwrap();
    let seqs: Vec<u64> = session.cells().iter().map(|c| c.seq).collect();
    assert_eq!(seqs, vec![1, 2], "{:?}", replay.problems);
    assert_eq!(session.counts(), &[0, 0, 0, 2]);
    assert_eq!(replay.problems.len(), 6, "{:?}", replay.problems);
    for (problem, line) in replay.problems.iter().zip(3..) {
        assert!(problem.contains(&format!("s1.jsonl:{line}:")), "{problem}");
        assert!(problem.contains("not counted"), "{problem}");
    }
}

// Issue 22: which model and head counted. Journals written before recalibration have none
// of these fields; they must load as "the shipped head", and new lines must say which.

/// A journal line exactly as the daemon wrote it before issue 22 (no `model`,
/// `calibration` or `head`).
const OLD_JOURNAL: &str = concat!(
    r#"{"event":"session_started","session":"20261122-064733","labels":["EOSINOPHIL","LYMPHOCYTE","MONOCYTE","NEUTROPHIL"],"target":100,"threshold":0.6,"at":{"wall_ms":1795330053000,"mono_ms":12}}"#,
    "\n",
    r#"{"event":"cell_counted","session":"20261122-064733","cell":{"seq":1,"class":3,"label":"NEUTROPHIL","confidence":0.85,"probabilities":[0.05,0.05,0.05,0.85],"identified":true,"frame":"BloodImage_00000.jpg","crop":"crops/20261122-064733/000001.jpg","at":{"wall_ms":1795330054000,"mono_ms":1012}}}"#,
    "\n"
);

#[test]
fn an_old_journal_loads_as_counted_by_the_shipped_head() {
    let path = std::path::Path::new("journal/20261122-064733.jsonl");
    let replay = hematovision::store::replay_bytes(OLD_JOURNAL.as_bytes(), path);
    assert!(replay.problems.is_empty(), "{:?}", replay.problems);
    assert_eq!(replay.events, 2);
    let slide = replay.counter.session().unwrap();
    assert_eq!(slide.cells().len(), 1);
    assert_eq!(slide.cells()[0].head, None);
    // Read and written again, an old line is the same bytes: nothing is added to it.
    for line in OLD_JOURNAL.lines() {
        let event: Event = serde_json::from_str(line).unwrap();
        if let Event::SessionStarted {
            model, calibration, ..
        } = &event
        {
            assert_eq!((model, calibration), (&None, &None));
        }
        assert_eq!(serde_json::to_string(&event).unwrap(), line);
    }
}

#[test]
fn new_lines_record_the_model_and_the_head_and_replay() {
    let dir = tempfile::tempdir().unwrap();
    let (mut journal, replay) = Journal::open(dir.path()).unwrap();
    let mut counter = replay.counter;
    let id = journal.new_session_id(at(0).wall_ms);
    let start = counter
        .start_event(id.clone(), labels(), 100, 0.5, at(0))
        .unwrap()
        .with_model(
            Some("hematovision-wbc7 2.0.0".into()),
            Some("sha256:0123456789ab".into()),
        );
    commit(&mut journal, &mut counter, start);
    let head = Some("calibration sha256:0123456789ab".to_string());
    let cell = counter
        .count_event_by(
            vec![0.1, 0.7, 0.1, 0.1],
            false,
            "f.jpg".into(),
            None,
            head.clone(),
            at(1),
        )
        .unwrap();
    commit(&mut journal, &mut counter, cell);
    let shipped = counter
        .count_event(vec![0.1, 0.1, 0.7, 0.1], "g.jpg".into(), None, at(2))
        .unwrap();
    commit(&mut journal, &mut counter, shipped);
    drop(journal);

    let text = fs::read_to_string(journal_file(dir.path(), &id)).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["model"], "hematovision-wbc7 2.0.0");
    assert_eq!(lines[0]["calibration"], "sha256:0123456789ab");
    assert_eq!(lines[1]["cell"]["head"], "calibration sha256:0123456789ab");
    assert!(lines[2]["cell"].get("head").is_none(), "{}", lines[2]);

    let (_journal, replay) = Journal::open(dir.path()).unwrap();
    assert!(replay.problems.is_empty(), "{:?}", replay.problems);
    let cells = replay.counter.session().unwrap().cells();
    assert_eq!(cells[0].head, head);
    assert_eq!(cells[1].head, None);
    let read = read_session(dir.path(), Some(&id)).unwrap();
    assert!(read.problems.is_empty(), "{:?}", read.problems);
    assert_eq!(read.counter.session().unwrap().cells().len(), 2);
}

#[test]
fn an_unfamiliar_cell_is_journaled_unidentified_and_replays_so() {
    let dir = tempfile::tempdir().unwrap();
    let (mut journal, replay) = Journal::open(dir.path()).unwrap();
    let mut counter = replay.counter;
    let id = journal.new_session_id(at(0).wall_ms);
    let start = counter
        .start_event(id.clone(), labels(), 100, 0.6, at(0))
        .unwrap()
        .with_model(Some("hematovision-wbc4 1.3.1".into()), None)
        .with_gate(Some("sha256:abcdefabcdef".into()));
    commit(&mut journal, &mut counter, start);
    // Confident, but the gate flagged it: unidentified whatever the confidence.
    let flagged = counter
        .count_event_by(
            vec![0.02, 0.95, 0.02, 0.01],
            true,
            "b.jpg".into(),
            None,
            None,
            at(1),
        )
        .unwrap();
    commit(&mut journal, &mut counter, flagged);
    let known = counter
        .count_event_by(
            vec![0.02, 0.95, 0.02, 0.01],
            false,
            "l.jpg".into(),
            None,
            None,
            at(2),
        )
        .unwrap();
    commit(&mut journal, &mut counter, known);
    drop(journal);

    let text = fs::read_to_string(journal_file(dir.path(), &id)).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["gate"], "sha256:abcdefabcdef");
    assert_eq!(lines[1]["cell"]["unfamiliar"], true);
    assert_eq!(lines[1]["cell"]["identified"], false);
    // A cell the gate passed carries no flag, as every line written before the gate.
    assert!(lines[2]["cell"].get("unfamiliar").is_none(), "{}", lines[2]);

    let (_journal, replay) = Journal::open(dir.path()).unwrap();
    assert!(replay.problems.is_empty(), "{:?}", replay.problems);
    let session = replay.counter.session().unwrap();
    assert_eq!(session.gate.as_deref(), Some("sha256:abcdefabcdef"));
    assert_eq!(session.counts(), &[0, 1, 0, 0]);
    assert_eq!(session.unidentified(), 1);
    assert_eq!(session.unfamiliar(), 1);
    let report = hematovision::report::SlideReport::of(session);
    assert_eq!((report.unidentified, report.unfamiliar), (1, 1));
    let text = report.to_string();
    assert!(
        text.contains("unfamiliar-cell gate sha256:abcdefabcdef"),
        "{text}"
    );
    assert!(
        text.contains("1 unlike any class the model knows"),
        "{text}"
    );
}
