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
