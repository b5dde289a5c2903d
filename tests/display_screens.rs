//! Renders every screen the daemon can show into `docs/screens/` (PNG, 4x scale) and
//! checks the layouts: the class name in large type, the UNSURE marker only when unsure,
//! the multi-cell hint only with more than one cell, progress bars that follow the count.

use std::fs;
use std::path::PathBuf;

use embedded_graphics::mono_font::MonoTextStyle;
use embedded_graphics::mono_font::ascii::{FONT_6X10, FONT_10X20};
use embedded_graphics::pixelcolor::BinaryColor;
use embedded_graphics::prelude::*;
use embedded_graphics::text::{Alignment, Baseline, Text, TextStyleBuilder};
use hematovision::hw::display::framebuffer::{Framebuffer, HEIGHT, WIDTH};
use hematovision::hw::display::screens::{
    self, CELLS_HINT, RESULT_LABEL, TALLY_PROGRESS, UNSURE_MARKER,
};
use hematovision::hw::display::{ErrorCode, Screen, Status, TallyView};

fn tally(counts: [u32; 4], unidentified: u32) -> TallyView {
    TallyView {
        labels: vec![
            "eosinophil".into(),
            "lymphocyte".into(),
            "monocyte".into(),
            "neutrophil".into(),
        ],
        outside_differential: Vec::new(),
        counts: counts.to_vec(),
        unidentified,
        target: 100,
    }
}

/// Model 2.0's classes, in output order.
const SEVEN: [&str; 7] = [
    "EOSINOPHIL",
    "LYMPHOCYTE",
    "MONOCYTE",
    "NEUTROPHIL",
    "BASOPHIL",
    "ERYTHROBLAST",
    "IG",
];

/// A seven-class tally with erythroblasts outside the differential.
fn tally7(counts: [u32; 7], unidentified: u32) -> TallyView {
    TallyView {
        labels: SEVEN.iter().map(|s| s.to_string()).collect(),
        outside_differential: vec!["ERYTHROBLAST".into()],
        counts: counts.to_vec(),
        unidentified,
        target: 100,
    }
}

fn result(label: &str, confidence: f32, unsure: bool, cells: usize) -> Screen {
    Screen::Result {
        label: label.into(),
        confidence,
        unsure,
        unfamiliar: false,
        cells_in_view: cells,
        tally: tally([2, 14, 3, 28], if unsure { 2 } else { 0 }),
    }
}

/// A cell the model's gate flagged: unidentified whatever its confidence.
fn unfamiliar(label: &str, confidence: f32) -> Screen {
    Screen::Result {
        label: label.into(),
        confidence,
        unsure: true,
        unfamiliar: true,
        cells_in_view: 1,
        tally: tally([2, 14, 3, 28], 3),
    }
}

fn render(screen: &Screen) -> Framebuffer {
    let mut fb = Framebuffer::new();
    match screens::draw(&mut fb, screen) {
        Ok(()) => fb,
        Err(never) => match never {},
    }
}

fn region((x0, y0, x1, y1): (usize, usize, usize, usize)) -> usize {
    (x1 - x0) * (y1 - y0)
}

fn lit(fb: &Framebuffer, (x0, y0, x1, y1): (usize, usize, usize, usize)) -> usize {
    fb.lit_in(x0, y0, x1, y1)
}

/// Every screen variant, with the file name it is documented under.
fn catalogue() -> Vec<(String, &'static str, Screen)> {
    let mut all = vec![
        (
            "boot",
            "Start-up: version, model, camera found",
            Screen::Boot {
                version: "0.1.0".into(),
                model: "hematovision-wbc4 1.3.0".into(),
                camera: "USB".into(),
            },
        ),
        (
            "result",
            "A counted cell",
            result("neutrophil", 0.97, false, 1),
        ),
        (
            "result-unsure",
            "Under the threshold: unidentified",
            result("monocyte", 0.41, true, 1),
        ),
        (
            "result-unfamiliar",
            "Unlike any class the model knows (a basophil, an IG, an NRBC?): unidentified",
            unfamiliar("lymphocyte", 0.91),
        ),
        (
            "result-two-cells",
            "Two cells in view: centre the one you mean",
            result("lymphocyte", 0.88, false, 2),
        ),
        (
            "result-unsure-three-cells",
            "Unsure and three cells in view",
            result("eosinophil", 0.52, true, 3),
        ),
        (
            "tally-empty",
            "New slide, nothing counted",
            Screen::Tally(tally([0, 0, 0, 0], 0)),
        ),
        (
            "tally",
            "Running differential with unidentified cells",
            Screen::Tally(tally([2, 14, 3, 28], 3)),
        ),
        (
            "tally-done",
            "Target reached",
            Screen::Tally(tally([3, 31, 6, 60], 0)),
        ),
    ];
    all.extend([
        (
            "tally-7",
            "Seven classes: the differential, then erythroblasts (NRBC) outside it",
            Screen::Tally(tally7([3, 28, 6, 55, 1, 4, 2], 2)),
        ),
        (
            "result-7-nrbc",
            "An erythroblast: named, counted beside the differential",
            Screen::Result {
                label: "ERYTHROBLAST".into(),
                confidence: 0.93,
                unsure: false,
                unfamiliar: false,
                cells_in_view: 1,
                tally: tally7([3, 28, 6, 55, 1, 4, 2], 2),
            },
        ),
        (
            "status-ready-7",
            "Seven classes: differential counts, progress, NRBC and unidentified",
            Screen::Status {
                status: Status::Ready,
                tally: Some(tally7([3, 28, 6, 55, 1, 4, 2], 2)),
            },
        ),
    ]);
    let statuses = [
        ("status-ready", Status::Ready),
        ("status-capturing", Status::Capturing),
        ("status-no-camera", Status::NoCamera),
        ("status-no-wbc", Status::NoWbc),
        ("status-target-reached", Status::TargetReached),
        ("status-undone", Status::Undone("NEUTROPHIL".into())),
        ("status-new-slide", Status::NewSlide),
        ("status-error", Status::Error("E12".into())),
        ("status-stopped", Status::Stopped),
    ];
    for (name, status) in statuses {
        // The target is reached only with the differential at its target.
        let counts = if status == Status::TargetReached {
            [3, 31, 6, 60]
        } else {
            [2, 14, 3, 28]
        };
        all.push((
            name,
            "Status with the running count",
            Screen::Status {
                status,
                tally: Some(tally(counts, 1)),
            },
        ));
    }
    let mut all: Vec<(String, &str, Screen)> = all
        .into_iter()
        .map(|(name, caption, screen)| (name.to_string(), caption, screen))
        .collect();
    all.push((
        "status-no-camera-no-slide".to_string(),
        "Status before any slide is open",
        Screen::Status {
            status: Status::NoCamera,
            tally: None,
        },
    ));
    for code in ErrorCode::ALL {
        all.push((
            format!("status-error-{}", code.code().to_lowercase()),
            "An error code with its meaning (docs/INSTALL.md, troubleshooting)",
            Screen::Status {
                status: code.into(),
                tally: Some(tally([2, 14, 3, 28], 1)),
            },
        ));
    }
    all
}

#[test]
fn every_screen_renders_to_png_in_docs() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/screens");
    fs::create_dir_all(&dir).unwrap();
    let mut index = String::from(
        "# Display screens\n\nRendered by `cargo test --test display_screens` from the same drawing \
         code the OLED uses (128x64, shown at 4x).\n\n",
    );
    let mut renders = Vec::new();
    for (name, caption, screen) in catalogue() {
        let fb = render(&screen);
        assert!(fb.lit_pixels() > 150, "{name} is nearly empty");
        let png = fb.to_png(4).unwrap();
        let path = dir.join(format!("{name}.png"));
        // Rewrite only when the picture changed, so the committed files stay stable.
        if fs::read(&path).ok().as_deref() != Some(png.as_slice()) {
            fs::write(&path, &png).unwrap();
        }
        let decoded = image::open(&path).unwrap().to_rgb8();
        assert_eq!(decoded.dimensions(), (WIDTH as u32 * 4, HEIGHT as u32 * 4));
        index.push_str(&format!(
            "**{name}** — {caption}\n\n![{name}]({name}.png)\n\n"
        ));
        renders.push((name, fb));
    }
    fs::write(dir.join("README.md"), index).unwrap();
    // A documented screen never contradicts itself: TARGET REACHED only at the target.
    for (name, _, screen) in catalogue() {
        if let Screen::Status {
            status: Status::TargetReached,
            tally: Some(t),
        } = &screen
        {
            assert!(t.differential_total() >= t.target, "{name}: {t:?}");
        }
    }
    // Every screen is distinguishable from every other one.
    for (i, (a, fa)) in renders.iter().enumerate() {
        for (b, fb) in &renders[i + 1..] {
            assert_ne!(fa.as_bytes(), fb.as_bytes(), "{a} and {b} look the same");
        }
    }
}

#[test]
fn class_name_is_drawn_in_large_type_centred() {
    for label in ["neutrophil", "lymphocyte", "monocyte", "eosinophil"] {
        let fb = render(&result(label, 0.9, false, 1));
        let mut expected = Framebuffer::new();
        let style = TextStyleBuilder::new()
            .alignment(Alignment::Center)
            .baseline(Baseline::Top)
            .build();
        Text::with_text_style(
            &label.to_uppercase(),
            Point::new(64, 0),
            MonoTextStyle::new(&FONT_10X20, BinaryColor::On),
            style,
        )
        .draw(&mut expected)
        .unwrap();
        for y in 0..20 {
            for x in 0..WIDTH {
                assert_eq!(fb.pixel(x, y), expected.pixel(x, y), "{label} at ({x},{y})");
            }
        }
        assert!(lit(&fb, RESULT_LABEL) > 100);
    }
}

#[test]
fn unsure_marker_appears_only_when_unsure() {
    for confidence in [0.05, 0.41, 0.69, 0.95] {
        let sure = render(&result("monocyte", confidence, false, 1));
        let unsure = render(&result("monocyte", confidence, true, 1));
        let area = region(UNSURE_MARKER);
        // The marker is an inverted (mostly lit) box; without it the area holds at most
        // the bar, which at these confidences never fills most of it... except at 0.95.
        assert!(
            lit(&unsure, UNSURE_MARKER) * 10 > area * 6,
            "marker missing at {confidence}"
        );
        if confidence < 0.6 {
            assert!(
                lit(&sure, UNSURE_MARKER) * 10 < area * 4,
                "marker shown at {confidence}"
            );
        }
        assert_ne!(sure.as_bytes(), unsure.as_bytes());
    }
}

#[test]
fn an_unfamiliar_cell_names_no_class_and_shows_the_unsure_marker() {
    let draw_top = |text: &str, font| {
        let mut fb = Framebuffer::new();
        let style = TextStyleBuilder::new()
            .alignment(Alignment::Center)
            .baseline(Baseline::Top)
            .build();
        Text::with_text_style(
            text,
            Point::new(64, 0),
            MonoTextStyle::new(font, BinaryColor::On),
            style,
        )
        .draw(&mut fb)
        .unwrap();
        fb
    };
    let same_top = |a: &Framebuffer, b: &Framebuffer| {
        (0..20).all(|y| (0..WIDTH).all(|x| a.pixel(x, y) == b.pixel(x, y)))
    };
    for confidence in [0.3, 0.91] {
        let fb = render(&unfamiliar("lymphocyte", confidence));
        assert!(same_top(&fb, &draw_top(screens::UNFAMILIAR, &FONT_10X20)));
        assert!(!same_top(&fb, &draw_top("LYMPHOCYTE", &FONT_10X20)));
        let area = region(UNSURE_MARKER);
        assert!(lit(&fb, UNSURE_MARKER) * 10 > area * 6, "marker missing");
        // The hint, not a confidence, left of the marker; no bar under it.
        assert!(screens::UNFAMILIAR_HINT.len() * 6 <= UNSURE_MARKER.0);
        assert!(fb.lit_in(0, 22, UNSURE_MARKER.0, 36) > 40);
    }
    // The confidence is not drawn: two confidences give the same screen.
    assert_eq!(
        render(&unfamiliar("lymphocyte", 0.3)).as_bytes(),
        render(&unfamiliar("lymphocyte", 0.91)).as_bytes()
    );
}

#[test]
fn cells_hint_only_with_more_than_one_cell() {
    assert_eq!(
        lit(&render(&result("neutrophil", 0.9, false, 1)), CELLS_HINT),
        0
    );
    assert_eq!(
        lit(&render(&result("neutrophil", 0.9, false, 0)), CELLS_HINT),
        0
    );
    assert!(lit(&render(&result("neutrophil", 0.9, false, 2)), CELLS_HINT) > 50);
    let two = render(&result("neutrophil", 0.9, false, 2));
    let three = render(&result("neutrophil", 0.9, false, 3));
    assert_ne!(lit(&two, CELLS_HINT), 0);
    assert_ne!(two.as_bytes(), three.as_bytes());
}

#[test]
fn confidence_bar_grows_with_confidence() {
    let row = 28; // middle of the bar
    let filled = |c: f32| {
        let fb = render(&result("neutrophil", c, false, 1));
        (33..126).filter(|&x| fb.pixel(x, row)).count()
    };
    assert_eq!(filled(0.0), 0);
    assert!(filled(0.5) > 40 && filled(0.5) < 52);
    assert_eq!(filled(1.0), 93);
}

#[test]
fn progress_bar_follows_differential_not_unidentified() {
    let row = TALLY_PROGRESS.1 + 5;
    let filled = |t: TallyView| {
        let fb = render(&Screen::Tally(t));
        (TALLY_PROGRESS.0 + 2..WIDTH)
            .filter(|&x| fb.pixel(x, row))
            .count()
    };
    let empty = filled(tally([0, 0, 0, 0], 0));
    let half = filled(tally([10, 10, 10, 20], 0));
    let full = filled(tally([25, 25, 25, 25], 0));
    let over = filled(tally([30, 30, 30, 30], 0));
    assert!(empty < half && half < full, "{empty} {half} {full}");
    assert_eq!(full, over, "the bar stops at the target");
    // Unidentified cells do not advance the differential.
    let with_unidentified = render(&Screen::Tally(tally([10, 10, 10, 20], 30)));
    let bar_lit = (TALLY_PROGRESS.0 + 2..WIDTH - 30)
        .filter(|&x| with_unidentified.pixel(x, row))
        .count();
    assert!(bar_lit < full);
}

#[test]
fn percentages_exclude_the_unidentified_bin() {
    assert_eq!(screens::percent(14, 47), 30);
    assert_eq!(screens::percent(1, 3), 33);
    assert_eq!(screens::percent(1, 8), 13); // 12.5 rounds half up
    assert_eq!(screens::percent(0, 0), 0);
    assert_eq!(screens::confidence_percent(f32::NAN), 0);
    assert_eq!(screens::confidence_percent(1.7), 100);
    let t = tally([2, 14, 3, 28], 50);
    assert_eq!(t.differential_total(), 47);
    assert_eq!(screens::short_label("neutrophil"), "NEUTRO");
    assert_eq!(screens::short_label("Monocyte"), "MONO");
    assert_eq!(screens::large_label("lymphocyte"), "LYMPHOCYTE");
}

#[test]
fn status_wording_fits_the_panel() {
    for s in [
        Status::Ready,
        Status::Capturing,
        Status::NoCamera,
        Status::NoWbc,
        Status::TargetReached,
        Status::Undone("ERYTHROBLAST".into()),
        Status::Undone(String::new()),
        Status::NewSlide,
        Status::Error("E7".into()),
        Status::Stopped,
    ] {
        let text = screens::status_text(&s);
        assert!(text.chars().count() <= 14, "{text}");
        let fb = render(&Screen::Status {
            status: s,
            tally: None,
        });
        assert!(fb.lit_in(0, 0, WIDTH, 20) > 60, "{text} not in large type");
        // Nothing drawn where the tally would be when there is none.
        assert_eq!(fb.lit_in(0, 40, WIDTH, HEIGHT), 0, "{text}");
    }
    assert_eq!(
        screens::status_text(&Status::Error("e12".into())),
        "ERR E12"
    );
}

#[test]
fn the_undone_screen_names_the_class_taken_back() {
    let hint = |label: &str| screens::status_hint(&Status::Undone(label.into()));
    assert_eq!(hint("neutrophil"), "NEUTROPHIL REMOVED");
    assert_eq!(hint("UNSURE"), "UNSURE REMOVED");
    assert_eq!(hint("ERYTHROBLAST"), "ERYTHROBLAST REMOVED");
    for label in SEVEN {
        assert!(hint(label).chars().count() <= 21, "{label}: too wide");
    }
    assert_eq!(hint(""), "LAST CELL REMOVED", "no class known");
}

#[test]
fn the_boot_screen_shows_the_whole_model_name() {
    let lines = screens::boot_lines("0.1.0", "hematovision-wbc4 1.3.0", "REPLAY");
    assert!(lines.iter().all(|l| l.chars().count() <= 21), "{lines:?}");
    assert_eq!(lines[0], "v0.1.0     CAM REPLAY");
    assert_eq!(&lines[1..], ["MODEL hematovision-", "wbc4 1.3.0"]);
    // What is drawn is those lines, the model's version included.
    let fb = render(&Screen::Boot {
        version: "0.1.0".into(),
        model: "hematovision-wbc4 1.3.0".into(),
        camera: "REPLAY".into(),
    });
    let expected = small_text("wbc4 1.3.0", 0, 50, Alignment::Left);
    same_rows(&fb, &expected, 50..60, "the model's second line");
}

#[test]
fn the_tally_names_the_unsure_cells() {
    let fb = render(&Screen::Tally(tally([2, 14, 3, 28], 3)));
    let expected = small_text("UNSURE 3", WIDTH as i32, 54, Alignment::Right);
    for y in 54..64 {
        for x in WIDTH - 6 * 8..WIDTH {
            assert_eq!(
                fb.pixel(x, y),
                expected.pixel(x, y),
                "UNSURE 3 at ({x},{y})"
            );
        }
    }
}

/// `text` in 6x10 type at (`x`, `y`), aligned as told, on an empty frame.
fn small_text(text: &str, x: i32, y: i32, alignment: Alignment) -> Framebuffer {
    let mut fb = Framebuffer::new();
    let style = TextStyleBuilder::new()
        .alignment(alignment)
        .baseline(Baseline::Top)
        .build();
    Text::with_text_style(
        text,
        Point::new(x, y),
        MonoTextStyle::new(&FONT_6X10, BinaryColor::On),
        style,
    )
    .draw(&mut fb)
    .unwrap();
    fb
}

fn same_rows(a: &Framebuffer, b: &Framebuffer, rows: std::ops::Range<usize>, what: &str) {
    for y in rows {
        for x in 0..WIDTH {
            assert_eq!(a.pixel(x, y), b.pixel(x, y), "{what} at ({x},{y})");
        }
    }
}

#[test]
fn seven_classes_are_abbreviated_from_one_table_and_erythroblast_fits() {
    let short: Vec<String> = SEVEN.iter().map(|l| screens::abbreviation(l)).collect();
    assert_eq!(short, ["EOS", "LYM", "MON", "NEU", "BAS", "NRBC", "IG"]);
    assert_eq!(screens::abbreviation("platelet"), "PLAT");
    // Twelve characters of 10x20 fill 120 of the 128 columns: shown whole.
    assert_eq!(screens::large_label("Erythroblast"), "ERYTHROBLAST");
    assert_eq!(screens::large_label("IG"), "IG");
    let fb = render(&result("ERYTHROBLAST", 0.9, false, 1));
    assert!(lit(&fb, RESULT_LABEL) > 100);
    assert_eq!(fb.lit_in(0, 0, 4, 20) + fb.lit_in(124, 0, WIDTH, 20), 0);
}

#[test]
fn a_seven_class_tally_keeps_erythroblasts_out_of_the_differential() {
    let t = tally7([3, 28, 6, 55, 1, 4, 2], 9);
    assert_eq!(t.differential_total(), 3 + 28 + 6 + 55 + 1 + 2);
    assert!(!t.in_differential(5) && t.in_differential(4) && t.in_differential(6));
    // Status: the differential counts on one line, then progress, NRBC and unidentified.
    let status = render(&Screen::Status {
        status: Status::Ready,
        tally: Some(t.clone()),
    });
    same_rows(
        &status,
        &small_text("E3 L28 M6 N55 B1 I2", 0, 40, Alignment::Left),
        40..50,
        "counts line",
    );
    let right = small_text("NRBC4 UNS 9", WIDTH as i32, 54, Alignment::Right);
    for y in 54..HEIGHT {
        for x in WIDTH - 66..WIDTH {
            assert_eq!(status.pixel(x, y), right.pixel(x, y), "NRBC at ({x},{y})");
        }
    }
    // Too many for one line: the empty classes make way.
    let crowded = render(&Screen::Status {
        status: Status::Ready,
        tally: Some(tally7([10, 20, 10, 30, 0, 4, 15], 0)),
    });
    same_rows(
        &crowded,
        &small_text("E10 L20 M10 N30 I15", 0, 40, Alignment::Left),
        40..50,
        "crowded counts line",
    );
    // The target counts the differential only: 95 of 100 with 4 erythroblasts.
    let progress = |t: TallyView| {
        let fb = render(&Screen::Tally(t));
        (TALLY_PROGRESS.0 + 2..WIDTH)
            .filter(|&x| fb.pixel(x, TALLY_PROGRESS.1 + 5))
            .count()
    };
    let with_nrbc = progress(tally7([3, 28, 6, 55, 1, 4, 2], 0));
    let without = progress(tally7([3, 28, 6, 55, 1, 0, 2], 0));
    assert_eq!(with_nrbc, without);
}

#[test]
fn the_seven_class_tally_has_two_columns_with_every_class() {
    let fb = render(&Screen::Tally(tally7([3, 28, 6, 55, 1, 4, 2], 0)));
    // Four rows on the left, three on the right (BAS, IG, NRBC), nothing in the fourth.
    for row in 0..4 {
        let y = 13 * row;
        assert!(fb.lit_in(0, y, 60, y + 13) > 20, "left row {row}");
        let right = fb.lit_in(68, y, WIDTH, y + 13);
        if row < 3 {
            assert!(right > 20, "right row {row}");
        } else {
            assert_eq!(right, 0, "right row {row}");
        }
    }
    assert_eq!(fb.lit_in(59, 0, 68, 52), 0, "the columns do not touch");
    // Four-class tallies keep their layout: no second column.
    let four = render(&Screen::Tally(tally([3, 28, 6, 55], 0)));
    assert_ne!(four.as_bytes(), fb.as_bytes());
}
