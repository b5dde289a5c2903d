//! The counting core: unit cases and property tests of its invariants.

use hematovision::count::{CountError, Counter, Event, Stamp};
use proptest::prelude::*;

const LABELS: [&str; 4] = ["EOSINOPHIL", "LYMPHOCYTE", "MONOCYTE", "NEUTROPHIL"];

fn labels() -> Vec<String> {
    LABELS.iter().map(|s| s.to_string()).collect()
}

fn at(ms: u64) -> Stamp {
    Stamp {
        wall_ms: 1_700_000_000_000 + ms,
        mono_ms: ms,
    }
}

fn started(target: u32, threshold: f32) -> Counter {
    let mut c = Counter::new();
    let e = c
        .start_event("s1".into(), labels(), target, threshold, at(0))
        .unwrap();
    c.apply(&e).unwrap();
    c
}

fn one_hot(class: usize, p: f32) -> Vec<f32> {
    let rest = (1.0 - p) / 3.0;
    (0..4).map(|i| if i == class { p } else { rest }).collect()
}

fn count(c: &mut Counter, probs: Vec<f32>, t: u64) -> Event {
    let e = c.count_event(probs, "f.jpg".into(), None, at(t)).unwrap();
    c.apply(&e).unwrap();
    e
}

#[test]
fn counts_the_most_probable_class() {
    let mut c = started(100, 0.5);
    count(&mut c, one_hot(3, 0.9), 1);
    count(&mut c, one_hot(1, 0.8), 2);
    count(&mut c, one_hot(3, 0.7), 3);
    let s = c.session().unwrap();
    assert_eq!(s.counts(), &[0, 1, 0, 2]);
    assert_eq!(s.differential_total(), 3);
    assert_eq!(s.unidentified(), 0);
    let pct = s.percentages();
    assert!((pct[3] - 200.0 / 3.0).abs() < 1e-9);
    assert_eq!(s.cells()[1].label, "LYMPHOCYTE");
}

#[test]
fn under_threshold_goes_to_unidentified_and_not_to_the_differential() {
    let mut c = started(100, 0.6);
    count(&mut c, one_hot(0, 0.55), 1);
    count(&mut c, one_hot(0, 0.6), 2);
    let s = c.session().unwrap();
    assert_eq!(s.unidentified(), 1);
    assert_eq!(s.counts(), &[1, 0, 0, 0]);
    assert_eq!(s.total(), 2);
    assert_eq!(s.percentages()[0], 100.0);
    assert!(!s.cells()[0].identified);
}

#[test]
fn target_counts_identified_cells_only() {
    let mut c = started(2, 0.6);
    count(&mut c, one_hot(2, 0.9), 1);
    count(&mut c, one_hot(2, 0.3), 2);
    assert!(!c.session().unwrap().target_reached());
    count(&mut c, one_hot(1, 0.9), 3);
    assert!(c.session().unwrap().target_reached());
}

#[test]
fn undo_takes_back_the_last_cell_and_never_reuses_its_number() {
    let mut c = started(100, 0.5);
    count(&mut c, one_hot(0, 0.9), 1);
    count(&mut c, one_hot(1, 0.9), 2);
    let u = c.undo_event(at(3)).unwrap();
    assert!(matches!(u, Event::Undone { seq: 2, .. }));
    c.apply(&u).unwrap();
    assert_eq!(c.session().unwrap().counts(), &[1, 0, 0, 0]);
    let e = count(&mut c, one_hot(2, 0.9), 4);
    match e {
        Event::CellCounted { cell, .. } => assert_eq!(cell.seq, 3),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn refusals_change_nothing() {
    let c = Counter::new();
    assert_eq!(c.undo_event(at(0)), Err(CountError::NoOpenSession));
    assert!(matches!(
        c.count_event(one_hot(0, 1.0), "f".into(), None, at(0)),
        Err(CountError::NoOpenSession)
    ));
    let mut c = started(100, 0.5);
    let before = c.clone();
    assert_eq!(c.undo_event(at(1)), Err(CountError::NothingToUndo));
    assert!(matches!(
        c.start_event("s2".into(), labels(), 100, 0.5, at(1)),
        Err(CountError::SessionStillOpen(_))
    ));
    assert!(matches!(
        c.count_event(vec![0.5, 0.5], "f".into(), None, at(1)),
        Err(CountError::Invalid(_))
    ));
    assert!(matches!(
        c.count_event(vec![f32::NAN, 0.1, 0.1, 0.1], "f".into(), None, at(1)),
        Err(CountError::Invalid(_))
    ));
    let foreign = Event::Undone {
        session: "other".into(),
        seq: 1,
        at: at(2),
    };
    assert!(matches!(
        c.apply(&foreign),
        Err(CountError::WrongSession { .. })
    ));
    assert_eq!(c, before);
}

#[test]
fn a_finished_slide_accepts_nothing_until_a_new_one_starts() {
    let mut c = started(100, 0.5);
    count(&mut c, one_hot(0, 0.9), 1);
    let f = c.finish_event(at(2)).unwrap();
    c.apply(&f).unwrap();
    assert!(c.open_session().is_none());
    assert_eq!(c.session().unwrap().counts(), &[1, 0, 0, 0]);
    assert_eq!(c.undo_event(at(3)), Err(CountError::NoOpenSession));
    let s = c
        .start_event("s2".into(), labels(), 100, 0.5, at(4))
        .unwrap();
    c.apply(&s).unwrap();
    assert_eq!(c.session().unwrap().total(), 0);
}

#[test]
fn bad_session_starts_are_refused() {
    let c = Counter::new();
    assert!(c.start_event("".into(), labels(), 100, 0.5, at(0)).is_err());
    assert!(c.start_event("s".into(), vec![], 100, 0.5, at(0)).is_err());
    assert!(c.start_event("s".into(), labels(), 0, 0.5, at(0)).is_err());
    assert!(
        c.start_event("s".into(), labels(), 100, 1.5, at(0))
            .is_err()
    );
}

#[derive(Debug, Clone)]
enum Op {
    Count(usize, f32),
    Undo,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0usize..4, 0.0f32..=1.0).prop_map(|(c, p)| Op::Count(c, p)),
        1 => Just(Op::Undo),
    ]
}

proptest! {
    /// Whatever the technician does, the totals add up, counts stay non-negative and
    /// replaying the event log gives the same state.
    #[test]
    fn invariants_hold_under_any_sequence(ops in prop::collection::vec(op(), 0..200), threshold in 0.0f32..=1.0) {
        let mut c = started(100, threshold);
        let mut log = vec![];
        let mut t = 1;
        for op in ops {
            t += 1;
            let before = c.clone();
            let result = match op {
                Op::Count(class, p) => c.count_event(one_hot(class, p), "f".into(), None, at(t)),
                Op::Undo => c.undo_event(at(t)),
            };
            match result {
                Ok(event) => {
                    c.apply(&event).unwrap();
                    log.push(event);
                }
                Err(e) => {
                    prop_assert_eq!(e, CountError::NothingToUndo);
                    prop_assert_eq!(&c, &before);
                }
            }
            let s = c.session().unwrap();
            let listed = s.cells().len() as u32;
            prop_assert_eq!(s.total(), listed);
            prop_assert_eq!(s.total(), s.counts().iter().sum::<u32>() + s.unidentified());
            let identified = s.cells().iter().filter(|c| c.identified).count() as u32;
            prop_assert_eq!(identified, s.differential_total());
            for cell in s.cells() {
                prop_assert_eq!(cell.identified, cell.confidence >= threshold);
            }
        }
        let mut replayed = started(100, threshold);
        for e in &log {
            replayed.apply(e).unwrap();
        }
        prop_assert_eq!(replayed, c);
    }

    /// Counting a cell and undoing it gives back exactly the state before.
    #[test]
    fn count_then_undo_is_identity(
        prefix in prop::collection::vec((0usize..4, 0.0f32..=1.0), 0..50),
        class in 0usize..4, p in 0.0f32..=1.0,
    ) {
        let mut c = started(100, 0.5);
        for (i, (cl, pr)) in prefix.into_iter().enumerate() {
            count(&mut c, one_hot(cl, pr), i as u64 + 1);
        }
        let before = c.session().unwrap().clone();
        count(&mut c, one_hot(class, p), 1000);
        let u = c.undo_event(at(1001)).unwrap();
        c.apply(&u).unwrap();
        let after = c.session().unwrap();
        prop_assert_eq!(after.counts(), before.counts());
        prop_assert_eq!(after.unidentified(), before.unidentified());
        prop_assert_eq!(after.cells(), before.cells());
        prop_assert_eq!(after.percentages(), before.percentages());
        prop_assert_eq!(after.target_reached(), before.target_reached());
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn classes_outside_the_differential_must_be_distinct_classes_of_the_slide() {
    let c = Counter::new();
    let seven = strings(&[
        "EOSINOPHIL",
        "LYMPHOCYTE",
        "MONOCYTE",
        "NEUTROPHIL",
        "BASOPHIL",
        "ERYTHROBLAST",
        "IG",
    ]);
    let start = |outside: &[&str]| {
        c.start_event_with_outside("s".into(), seven.clone(), strings(outside), 100, 0.6, at(0))
    };
    assert!(start(&["ERYTHROBLAST"]).is_ok());
    assert!(
        start(&["erythroblast"]).is_err(),
        "journaled as the model spells it"
    );
    assert!(start(&["PLATELET"]).is_err());
    assert!(start(&["IG", "IG"]).is_err());
    let all: Vec<&str> = seven.iter().map(String::as_str).collect();
    assert!(
        start(&all).is_err(),
        "nothing would be left to differentiate"
    );
    // Replay makes the same check on a journaled line.
    let forged = serde_json::json!({"event": "session_started", "session": "s",
        "labels": labels(), "outside_differential": ["ERYTHROBLAST"], "target": 100,
        "threshold": 0.6, "at": {"wall_ms": 1, "mono_ms": 1}});
    let event: Event = serde_json::from_value(forged).unwrap();
    assert!(matches!(c.check(&event), Err(CountError::Invalid(_))));
}

#[test]
fn a_journal_line_without_outside_classes_reads_as_before() {
    // 0.5 is exact as an f32, so the value survives the round trip unchanged.
    let old = serde_json::json!({"event": "session_started", "session": "s", "labels": labels(),
        "target": 100, "threshold": 0.5, "at": {"wall_ms": 1, "mono_ms": 1}});
    let event: Event = serde_json::from_value(old.clone()).unwrap();
    let mut c = Counter::new();
    c.apply(&event).unwrap();
    let s = c.session().unwrap();
    assert!(s.outside_differential.is_empty());
    assert!((0..4).all(|k| s.in_differential(k)));
    // Written back, the line is the same: no new field for a four-class slide.
    assert_eq!(serde_json::to_value(&event).unwrap(), old);
}

#[test]
fn cells_outside_the_differential_are_counted_beside_it() {
    let mut c = Counter::new();
    let e = c
        .start_event_with_outside(
            "s".into(),
            strings(&["A", "B", "NRBC"]),
            strings(&["NRBC"]),
            2,
            0.6,
            at(0),
        )
        .unwrap();
    c.apply(&e).unwrap();
    count(&mut c, vec![0.0, 0.1, 0.9], 1);
    count(&mut c, vec![0.0, 0.1, 0.9], 2);
    count(&mut c, vec![0.9, 0.1, 0.0], 3);
    count(&mut c, vec![0.3, 0.3, 0.4], 4);
    let s = c.session().unwrap();
    assert_eq!(s.counts(), &[1, 0, 2]);
    assert_eq!(
        (s.differential_total(), s.unidentified(), s.total()),
        (1, 1, 4)
    );
    assert!(!s.target_reached());
    assert_eq!(s.percentages(), vec![100.0, 0.0, 0.0]);
    assert_eq!(s.per_100_wbc(), vec![None, None, Some(200.0)]);
    let undo = c.undo_event(at(5)).unwrap();
    c.apply(&undo).unwrap();
    let u2 = c.undo_event(at(6)).unwrap();
    c.apply(&u2).unwrap();
    assert_eq!(c.session().unwrap().per_100_wbc()[2], Some(0.0));
}
