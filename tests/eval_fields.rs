//! Whole-field scoring: locator, crop and classifier against each field's recorded type.

use std::path::Path;

use hematovision::eval::fields::evaluate_fields;
use hematovision::model::{Classifier, ClassifyError};
use hematovision::vision::LocatorParams;
use image::RgbImage;

/// Always answers the same class, and records the crops it was given.
struct Always {
    labels: Vec<String>,
    class: usize,
    crops: Vec<(u32, u32)>,
}

impl Classifier for Always {
    fn labels(&self) -> &[String] {
        &self.labels
    }
    fn classify(&mut self, image: &RgbImage) -> Result<Vec<f32>, ClassifyError> {
        self.crops.push(image.dimensions());
        let mut p = vec![0.0; self.labels.len()];
        p[self.class] = 1.0;
        Ok(p)
    }
}

#[test]
fn fields_with_one_cell_are_scored_and_the_rest_skipped() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bccd");
    let mut c = Always {
        labels: ["EOSINOPHIL", "LYMPHOCYTE", "MONOCYTE", "NEUTROPHIL"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        class: 3,
        crops: vec![],
    };
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
