//! The white-cell locator on real BCCD camera fields.
//!
//! The committed fixtures are checked on every run. The full 364-field set is a benchmark,
//! not a test: run it with
//! `cargo test --release --test locator_fields -- --ignored --nocapture`
//! (it reads `$CARGO_MANIFEST_DIR/../shared/datasets/bccd-fields`, or `BCCD_FIELDS`).

use std::path::{Path, PathBuf};

use hematovision::eval::evaluate_dir;
use hematovision::vision::{LocatorParams, choose_cell, frame_box, locate};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bccd")
}

#[test]
fn every_fixture_white_cell_is_found() {
    let report = evaluate_dir(&fixtures(), &LocatorParams::default()).unwrap();
    println!("{report}");
    assert_eq!(report.fields, 12);
    assert_eq!(report.wbc_total, 13);
    assert_eq!(report.wbc_found, 13, "missed in {:?}", report.missed_in);
    assert!(report.skipped.is_empty());
    let json = serde_json::to_value(&report).unwrap();
    for key in ["recall", "fp_per_field", "fields", "ms_median"] {
        assert!(json.get(key).is_some(), "missing key {key}");
    }
}

#[test]
fn two_cell_field_chooses_the_one_nearest_the_reticle() {
    let img = image::open(fixtures().join("JPEGImages/BloodImage_00070.jpg"))
        .unwrap()
        .into_rgb8();
    let found = locate(&img, &LocatorParams::default());
    // Annotated: an eosinophil at (167,83)-(296,206) and a lymphocyte at (375,348)-(471,439).
    let upper = choose_cell(&found, img.dimensions(), Some((230, 140))).unwrap();
    let lower = choose_cell(&found, img.dimensions(), Some((420, 400))).unwrap();
    assert!(upper.count >= 2);
    assert_ne!(upper.index, lower.index);
    assert!(upper.candidate.cell.y1 < 300 && lower.candidate.cell.y0 > 250);
    let crop = frame_box(&img, &lower.candidate.cell, [255, 255, 255], 0.5);
    assert_eq!(crop.width(), crop.height());
    assert!(
        crop.width()
            >= 2 * lower
                .candidate
                .cell
                .width()
                .max(lower.candidate.cell.height())
                - 1
    );
}

#[test]
fn images_without_readable_annotation_are_skipped_and_listed() {
    let dir = tempfile::tempdir().unwrap();
    for sub in ["JPEGImages", "Annotations"] {
        std::fs::create_dir(dir.path().join(sub)).unwrap();
    }
    let src = fixtures();
    for name in ["BloodImage_00003", "BloodImage_00020"] {
        std::fs::copy(
            src.join(format!("JPEGImages/{name}.jpg")),
            dir.path().join(format!("JPEGImages/{name}.jpg")),
        )
        .unwrap();
    }
    std::fs::copy(
        src.join("Annotations/BloodImage_00003.xml"),
        dir.path().join("Annotations/BloodImage_00003.xml"),
    )
    .unwrap();
    let report = evaluate_dir(dir.path(), &LocatorParams::default()).unwrap();
    assert_eq!(report.fields, 1);
    assert_eq!(report.skipped.len(), 1);
    assert!(
        report.skipped[0].contains("BloodImage_00020.xml"),
        "{:?}",
        report.skipped
    );
    assert_eq!((report.wbc_found, report.wbc_total), (1, 1));
    assert!(report.to_string().contains("skipped"));
}

#[test]
#[ignore = "benchmark over the full shared BCCD set; run in release with --ignored --nocapture"]
fn full_bccd_set_report() {
    let dir = std::env::var_os("BCCD_FIELDS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/datasets/bccd-fields")
        });
    let report = evaluate_dir(&dir, &LocatorParams::default()).unwrap();
    println!("{report}");
    println!("{}", serde_json::to_string(&report).unwrap());
}

#[test]
fn the_adaptive_locator_finds_every_fixture_cell_under_other_colours_and_magnification() {
    use hematovision::eval::locate::evaluate_dir_shifted;
    use hematovision::eval::shifts::Shift;
    let adaptive = LocatorParams {
        adaptive: true,
        ..Default::default()
    };
    for name in ["hue+30", "blue-grey", "scale0.5"] {
        let shift = Shift::parse(name).unwrap();
        let fixed = evaluate_dir_shifted(
            &fixtures(),
            &LocatorParams {
                adaptive: false,
                ..Default::default()
            },
            Some((shift, 20)),
            false,
        )
        .unwrap();
        let session =
            evaluate_dir_shifted(&fixtures(), &adaptive, Some((shift, 20)), false).unwrap();
        assert!(
            fixed.wbc_found < fixed.wbc_total,
            "{name}: the shift should defeat the fixed locator, or it proves nothing"
        );
        assert_eq!(
            session.wbc_found, session.wbc_total,
            "{name}: missed in {:?}",
            session.missed_in
        );
        if name == "scale0.5" {
            // BloodImage_00040 has an unannotated white cell cut by its bottom-left corner.
            // Shrunk into the frame, its nucleus lies inside the picture, and the finer
            // working copy used for small red cells finds it: a real nucleus the
            // annotation leaves out, and the only "false positive" allowed.
            assert!(
                session.false_positives <= 1
                    && session
                        .false_positive_in
                        .iter()
                        .all(|f| f == "BloodImage_00040.jpg"),
                "{name}: {session}"
            );
        } else {
            assert_eq!(session.false_positives, 0, "{name}: {session}");
        }
    }
    let plain = evaluate_dir_shifted(&fixtures(), &adaptive, None, false).unwrap();
    assert_eq!(plain.wbc_found, 13, "missed in {:?}", plain.missed_in);
}
