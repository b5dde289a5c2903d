//! The locator on real single-cell crops from microscopes it was not tuned on
//! (`../shared/datasets`): the cell it frames must match the expert mask.

use std::path::{Path, PathBuf};

use hematovision::eval::crop::evaluate_crops;
use hematovision::vision::LocatorParams;

fn shared(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/datasets")
        .join(rel)
}

/// Copies `set/test/CLASS/FILE` and its mask under a name that says where it came from.
fn take(dir: &Path, set: &str, class: &str, file: &str) {
    let name = format!("{set}-{file}");
    std::fs::create_dir_all(dir.join("crops").join(class)).unwrap();
    std::fs::create_dir_all(dir.join("masks")).unwrap();
    std::fs::copy(
        shared(&format!("{set}/test/{class}/{file}")),
        dir.join("crops").join(class).join(&name),
    )
    .unwrap();
    std::fs::copy(
        shared(&format!("{set}/masks/{file}")),
        dir.join("masks").join(&name),
    )
    .unwrap();
}

#[test]
fn a_tight_crop_is_framed_by_its_whole_nucleus_and_a_loose_one_keeps_its_cell() {
    let dir = tempfile::tempdir().unwrap();
    // Jiangxi crops where the first reading saw a lobe or a dark corner of the nucleus.
    take(dir.path(), "jtsc-wbc4", "LYMPHOCYTE", "025.png");
    take(dir.path(), "jtsc-wbc4", "NEUTROPHIL", "043.png");
    // A CellaVision crop full of red cells, whose tight reading merges them into the
    // nucleus up to the picture's edge: the first reading must stand.
    take(dir.path(), "cvblog-wbc4", "LYMPHOCYTE", "068.png");
    let report = evaluate_crops(
        &dir.path().join("crops"),
        Some(&dir.path().join("masks")),
        &LocatorParams::default(),
    )
    .unwrap();
    assert_eq!(report.with_mask, 3, "{report}");
    assert!(report.low_iou_in.is_empty(), "{report}");
    assert_eq!(report.centred, 3, "{report}");
}
