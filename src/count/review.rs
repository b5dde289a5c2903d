//! A reviewer's answers about a slide: per-cell verdicts and the sign-off.

use serde::Serialize;

use super::event::Stamp;

/// Longest reviewer or operator name accepted, in characters.
pub const MAX_NAME_CHARS: usize = 100;

/// A reviewer's verdict on one counted cell; the cell's record keeps the model's answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Review {
    /// Index of the reviewer's class in the slide's labels; `None` for unidentified.
    pub class: Option<usize>,
    /// Who reviewed the cell.
    pub reviewer: String,
    /// When.
    pub at: Stamp,
}

/// The operator's sign-off: the slide is closed for edits.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SignOff {
    /// The operator's name.
    pub operator: String,
    /// When.
    pub at: Stamp,
}

/// Checks a reviewer's or operator's name: not blank, printable, at most
/// [`MAX_NAME_CHARS`] characters. Returns why it is refused.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.trim().is_empty() {
        return Err("a name is needed".into());
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(format!("a name has at most {MAX_NAME_CHARS} characters"));
    }
    if name.chars().any(char::is_control) {
        return Err("a name cannot hold control characters".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::count::{CountError, Counter, Event};

    fn stamp(ms: u64) -> Stamp {
        Stamp {
            wall_ms: ms,
            mono_ms: ms,
        }
    }

    /// A finished slide of three cells: neutrophil, lymphocyte, and one unsure neutrophil.
    fn slide() -> Counter {
        let mut c = Counter::new();
        let labels = vec!["lymphocyte".to_string(), "neutrophil".to_string()];
        let e = c
            .start_event("s1".into(), labels, 10, 0.6, stamp(1))
            .unwrap();
        c.apply(&e).unwrap();
        for p in [[0.1, 0.9], [0.8, 0.2], [0.45, 0.55]] {
            let e = c
                .count_event(p.to_vec(), "f".into(), None, stamp(2))
                .unwrap();
            c.apply(&e).unwrap();
        }
        let e = c.finish_event(stamp(3)).unwrap();
        c.apply(&e).unwrap();
        c
    }

    fn counts(c: &Counter) -> (Vec<u32>, u32) {
        let s = c.session().unwrap();
        (s.counts().to_vec(), s.unidentified())
    }

    #[test]
    fn a_review_recounts_the_cell_and_keeps_the_models_answer() {
        let mut c = slide();
        assert_eq!(counts(&c), (vec![1, 1], 1));
        let e = c
            .review_event(1, Some("lymphocyte".into()), "Ana".into(), stamp(4))
            .unwrap();
        c.apply(&e).unwrap();
        assert_eq!(counts(&c), (vec![2, 0], 1));
        let s = c.session().unwrap();
        assert_eq!(
            s.cell(1).unwrap().label,
            "neutrophil",
            "model's answer kept"
        );
        assert_eq!(s.final_class(s.cell(1).unwrap()), Some(0));
        assert_eq!(s.review(1).unwrap().reviewer, "Ana");
        // An unsure cell identified by the reviewer enters the differential; a cell moved
        // to unidentified leaves it.
        for (seq, label) in [(3, Some("neutrophil")), (2, None)] {
            let e = c
                .review_event(seq, label.map(String::from), "Ana".into(), stamp(5))
                .unwrap();
            c.apply(&e).unwrap();
        }
        assert_eq!(counts(&c), (vec![1, 1], 1));
        // Reviewing again replaces the verdict, counted once.
        let e = c
            .review_event(2, Some("lymphocyte".into()), "Ben".into(), stamp(6))
            .unwrap();
        c.apply(&e).unwrap();
        assert_eq!(counts(&c), (vec![2, 1], 0));
    }

    #[test]
    fn bad_reviews_are_refused_and_change_nothing() {
        let mut c = slide();
        let before = c.clone();
        assert_eq!(
            c.review_event(9, None, "Ana".into(), stamp(4)),
            Err(CountError::NoSuchCell(9))
        );
        assert!(matches!(
            c.review_event(1, Some("basophil".into()), "Ana".into(), stamp(4)),
            Err(CountError::Invalid(_))
        ));
        assert!(matches!(
            c.review_event(1, None, " ".into(), stamp(4)),
            Err(CountError::Invalid(_))
        ));
        let other = Event::CellReviewed {
            session: "s2".into(),
            seq: 1,
            label: None,
            reviewer: "Ana".into(),
            at: stamp(4),
        };
        assert_eq!(c.apply(&other), Err(CountError::NotThisSlide("s2".into())));
        assert_eq!(c, before);
    }

    #[test]
    fn sign_off_closes_the_slide_for_edits_and_finishes_an_open_one() {
        let mut c = Counter::new();
        let e = c
            .start_event("s1".into(), vec!["a".into()], 5, 0.5, stamp(1))
            .unwrap();
        c.apply(&e).unwrap();
        let e = c
            .count_event(vec![1.0], "f".into(), None, stamp(2))
            .unwrap();
        c.apply(&e).unwrap();
        let e = c.sign_off_event("Dr. Ana".into(), stamp(3)).unwrap();
        c.apply(&e).unwrap();
        let s = c.session().unwrap();
        assert!(!s.is_open());
        assert_eq!(s.signed_off.as_ref().unwrap().operator, "Dr. Ana");
        assert_eq!(
            c.review_event(1, None, "Ana".into(), stamp(4)),
            Err(CountError::SignedOff("s1".into()))
        );
        assert_eq!(
            c.sign_off_event("Ben".into(), stamp(4)),
            Err(CountError::SignedOff("s1".into()))
        );
    }

    #[test]
    fn undo_of_a_reviewed_cell_takes_back_the_reviewed_class() {
        let mut c = Counter::new();
        let labels = vec!["a".to_string(), "b".to_string()];
        let e = c
            .start_event("s1".into(), labels, 5, 0.5, stamp(1))
            .unwrap();
        c.apply(&e).unwrap();
        let e = c
            .count_event(vec![1.0, 0.0], "f".into(), None, stamp(2))
            .unwrap();
        c.apply(&e).unwrap();
        let e = c
            .review_event(1, Some("b".into()), "Ana".into(), stamp(3))
            .unwrap();
        c.apply(&e).unwrap();
        assert_eq!(counts(&c), (vec![0, 1], 0));
        let e = c.undo_event(stamp(4)).unwrap();
        c.apply(&e).unwrap();
        assert_eq!(counts(&c), (vec![0, 0], 0));
        assert!(c.session().unwrap().review(1).is_none());
    }

    #[test]
    fn an_unfamiliar_cell_is_unidentified_until_a_reviewer_names_it() {
        let mut c = Counter::new();
        let labels = vec!["lymphocyte".to_string(), "neutrophil".to_string()];
        let e = c
            .start_event("s1".into(), labels, 10, 0.6, stamp(1))
            .unwrap();
        c.apply(&e).unwrap();
        // Confident, yet flagged: the confidence does not let it into the differential.
        let e = c
            .count_event_by(vec![0.05, 0.95], true, "f".into(), None, None, stamp(2))
            .unwrap();
        let Event::CellCounted { cell, .. } = &e else {
            panic!("{e:?}")
        };
        assert!(cell.unfamiliar && !cell.identified);
        assert_eq!(cell.unsure_tag(), " UNFAMILIAR");
        c.apply(&e).unwrap();
        assert_eq!(counts(&c), (vec![0, 0], 1));
        assert_eq!(c.session().unwrap().unfamiliar(), 1);
        // The reviewer's eye decides: counted as named, no longer waiting for review.
        let e = c
            .review_event(1, Some("lymphocyte".into()), "Ana".into(), stamp(3))
            .unwrap();
        c.apply(&e).unwrap();
        assert_eq!(counts(&c), (vec![1, 0], 0));
        assert_eq!(c.session().unwrap().unfamiliar(), 0);
        // A flagged cell under the threshold is unidentified too, and marked unfamiliar.
        let e = c
            .count_event_by(vec![0.45, 0.55], true, "g".into(), None, None, stamp(4))
            .unwrap();
        c.apply(&e).unwrap();
        assert_eq!(counts(&c), (vec![1, 0], 1));
        assert_eq!(c.session().unwrap().unfamiliar(), 1);
        // An unflagged confident cell is counted as before.
        let e = c
            .count_event_by(vec![0.05, 0.95], false, "h".into(), None, None, stamp(5))
            .unwrap();
        c.apply(&e).unwrap();
        assert_eq!(counts(&c), (vec![1, 1], 1));
    }

    #[test]
    fn names_are_checked() {
        assert!(check_name("Ana Souza").is_ok());
        assert!(check_name("").is_err());
        assert!(check_name("a\nb").is_err());
        assert!(check_name(&"x".repeat(MAX_NAME_CHARS + 1)).is_err());
    }
}
