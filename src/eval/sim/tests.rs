use super::*;
use crate::camera::{FrameSource, ReplaySource};
use crate::vision::{LocatorParams, locate};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bccd")
}

fn small(name: &'static str) -> Scenario {
    Scenario {
        fields: (3, 2),
        ..Scenario::by_name(name).unwrap()
    }
}

#[test]
fn slide_is_stitched_from_real_fields_with_their_cells_and_is_seeded() {
    let a = Slide::from_bccd(&fixtures(), 3, 2, 1).unwrap();
    assert_eq!(a.image.dimensions(), (1920, 960));
    assert_eq!(a.cells.len(), 6);
    for c in &a.cells {
        assert!(c.bbox.x1 <= 1920 && c.bbox.y1 <= 960);
        assert!(
            ["NEUTROPHIL", "EOSINOPHIL", "LYMPHOCYTE", "MONOCYTE"].contains(&c.class.as_str()),
            "{c:?}"
        );
    }
    let again = Slide::from_bccd(&fixtures(), 3, 2, 1).unwrap();
    assert_eq!(a.cells, again.cells);
    let other = Slide::from_bccd(&fixtures(), 3, 2, 2).unwrap();
    assert_ne!(a.cells, other.cells);
    assert!(matches!(
        Slide::from_bccd(&fixtures(), 10, 10, 1),
        Err(SlideError::TooFewFields { needed: 100, .. })
    ));
    assert!(matches!(
        Slide::from_bccd(Path::new("/nonexistent"), 1, 1, 1),
        Err(SlideError::Read { .. })
    ));
}

#[test]
fn the_truth_matches_the_picture() {
    let slide = Slide::from_bccd(&fixtures(), 3, 2, 5).unwrap();
    let mut r = Renderer::new(640, 480);
    let effects = Effects {
        exposure: 0.0,
        defocus: 0,
        gain: 1.0,
        jpeg_quality: 100,
    };
    for cell in &slide.cells {
        // Frame centred on the cell as far as the slide allows (a scan never looks past
        // its edge, where the renderer would repeat the edge pixels into stripes): the
        // locator finds a cell under the cell's centre.
        let (cx, cy) = cell.centre();
        let (max_x, max_y) = (
            f64::from(slide.image.width()) - 640.0,
            f64::from(slide.image.height()) - 480.0,
        );
        let pose = Pose {
            x: (cx - 320.0).clamp(0.0, max_x),
            y: (cy - 240.0).clamp(0.0, max_y),
            vx: 0.0,
            vy: 0.0,
        };
        let frame = r.render(&slide.image, &pose, &effects);
        let (fx, fy) = ((cx - pose.x) as u32, (cy - pose.y) as u32);
        let found = locate(&frame, &LocatorParams::default());
        assert!(
            found
                .iter()
                .any(|c| (c.cell.x0..c.cell.x1).contains(&fx)
                    && (c.cell.y0..c.cell.y1).contains(&fy)),
            "{} not found at ({fx}, {fy}): {found:?}",
            cell.field
        );
    }
}

#[test]
fn every_standard_scenario_is_named_seeded_and_visits_every_cell() {
    assert_eq!(
        Scenario::names(),
        [
            "steady-pans",
            "back-and-forth",
            "fast-scan-blur",
            "flicker-focus"
        ]
    );
    assert!(Scenario::by_name("nope").is_none());
    for s in Scenario::standard() {
        let s = Scenario {
            fields: (3, 2),
            ..s
        };
        let scan = Scan::build(&s, &fixtures()).unwrap();
        assert!(!scan.is_empty());
        let again = Scan::build(&s, &fixtures()).unwrap();
        assert_eq!(scan.frames, again.frames, "{} is deterministic", s.name);
        for (pose, _) in &scan.frames {
            assert!(
                pose.x > -2.0 && pose.x < 1920.0 - 638.0,
                "{}: {pose:?}",
                s.name
            );
            assert!(
                pose.y > -2.0 && pose.y < 960.0 - 478.0,
                "{}: {pose:?}",
                s.name
            );
        }
        let exposure = scan.exposure();
        assert!(
            exposure.visited.iter().all(|v| *v),
            "{}: {exposure:?}",
            s.name
        );
        let fastest = scan
            .frames
            .iter()
            .map(|(p, _)| p.vx.hypot(p.vy))
            .fold(0.0, f64::max);
        assert!(fastest > 15.0, "{} pans ({fastest} px/frame)", s.name);
    }
}

#[test]
fn back_and_forth_passes_over_cells_again() {
    let scan = Scan::build(&small("back-and-forth"), &fixtures()).unwrap();
    let plain = Scan::build(&small("steady-pans"), &fixtures()).unwrap();
    assert!(
        scan.len() > plain.len() * 3 / 2,
        "{} vs {}",
        scan.len(),
        plain.len()
    );
}

#[test]
fn frames_stream_in_process_and_write_to_a_folder_the_replay_source_reads() {
    let mut scan = Scan::build(&small("flicker-focus"), &fixtures()).unwrap();
    scan.frames.truncate(4);
    let streamed: Vec<SimFrame> = scan.iter().collect();
    assert_eq!(streamed.len(), 4);
    assert_eq!(streamed[3].t, Duration::from_millis(100));
    assert_eq!(streamed[0].image.dimensions(), (640, 480));
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(scan.write_dir(dir.path()).unwrap(), 4);
    assert!(dir.path().join("truth.json").exists());
    let mut replay = ReplaySource::open(dir.path(), false).unwrap();
    let first = replay.latest_frame().unwrap();
    assert_eq!(first.image.dimensions(), (640, 480));
    assert!(first.origin.contains("frame_00000.jpg"), "{}", first.origin);
}
