//! Whole-field scoring: locator, crop and classifier against each field's recorded type.

use std::path::Path;

use hematovision::eval::evaluate_fields;
use hematovision::vision::LocatorParams;
use support::Always;

mod support;

#[test]
fn fields_with_one_cell_are_scored_and_the_rest_skipped() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bccd");
    // Always answers NEUTROPHIL, and records the crops it was given.
    let mut c = Always::certain(&["EOSINOPHIL", "LYMPHOCYTE", "MONOCYTE", "NEUTROPHIL"], 3);
    let r = evaluate_fields(
        &mut c,
        &dir,
        &dir.join("labels.csv"),
        &LocatorParams::default(),
        0.5,
    )
    .unwrap();
    // 11 fields hold one white cell; field 70 holds two and is skipped.
    assert_eq!(r.fields, 11);
    assert_eq!(r.skipped.values().sum::<usize>(), 1);
    assert_eq!(r.no_cell, 0);
    // Only the two neutrophil fields are right when the answer is always NEUTROPHIL.
    assert!((r.accuracy - 2.0 / 11.0).abs() < 1e-9, "{r}");
    assert_eq!(r.confusion[3][3], 2);
    assert_eq!(r.confusion.iter().map(|row| row[3]).sum::<usize>(), 11);
    assert_eq!(r.per_class["EOSINOPHIL"].support, 3);
    // Every crop is square, as the model's training images are framed.
    assert!(
        c.crops.iter().all(|(w, h)| w == h && *w > 50),
        "{:?}",
        c.crops
    );
}
