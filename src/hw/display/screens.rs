//! Drawing of every [`Screen`] on a 128x64 monochrome panel.
//!
//! The layouts are made to be read at arm's length (~50 cm) on a 0.96" panel, where one
//! pixel is about 0.17 mm: the thing the technician acts on (the class, the status) is
//! set in 20-pixel type, secondary facts in 13-pixel bold, and only the running tally
//! line of the result screen in 10-pixel type. The same code draws on the simulated
//! display and on the real OLED, because both are [`DrawTarget`]s.
//!
//! Percentages are `class count / differential total`; the unidentified bin is shown
//! but never part of the differential (as haematology analysers do), nor are classes
//! counted outside it (erythroblasts, shown as NRBC beside the unidentified bin).
//!
//! A four-class tally keeps its original layouts. A wider one (more classes, or classes
//! outside the differential) names classes by [`abbreviation`]: a two-column tally
//! screen, and a counts line that drops what does not fit.

use embedded_graphics::mono_font::ascii::{FONT_6X10, FONT_7X13_BOLD, FONT_9X15_BOLD, FONT_10X20};
use embedded_graphics::mono_font::{MonoFont, MonoTextStyle, MonoTextStyleBuilder};
use embedded_graphics::pixelcolor::BinaryColor;
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::{PrimitiveStyle, Rectangle};
use embedded_graphics::text::{Alignment, Baseline, Text, TextStyleBuilder};

use super::error_code::ErrorCode;
use super::{Screen, Status, TallyView};

/// Panel width the layouts are made for.
const W: i32 = 128;

/// Draws `screen` on `target`, replacing everything that was there.
pub fn draw<D>(target: &mut D, screen: &Screen) -> Result<(), D::Error>
where
    D: DrawTarget<Color = BinaryColor>,
{
    target.clear(BinaryColor::Off)?;
    match screen {
        Screen::Boot {
            version,
            model,
            camera,
        } => draw_boot(target, version, model, camera),
        Screen::Result {
            label,
            confidence,
            unsure,
            unfamiliar,
            cells_in_view,
            tally,
        } => {
            let marks = (*unsure, *unfamiliar);
            draw_result(target, label, *confidence, marks, *cells_in_view, tally)
        }
        Screen::Tally(tally) => draw_tally(target, tally),
        Screen::Status { status, tally } => draw_status(target, status, tally.as_ref()),
    }
}

/// Class names and the abbreviations the panel uses when a name is too long, or when
/// more than four classes share the tally (as analysers print them; ERYTHROBLAST is the
/// nucleated red cell, NRBC).
const ABBREVIATIONS: [(&str, &str); 7] = [
    ("EOSINOPHIL", "EOS"),
    ("LYMPHOCYTE", "LYM"),
    ("MONOCYTE", "MON"),
    ("NEUTROPHIL", "NEU"),
    ("BASOPHIL", "BAS"),
    ("IG", "IG"),
    ("ERYTHROBLAST", "NRBC"),
];

/// Characters of 10x20 type across the panel.
const LARGE_CHARS: usize = 12;
/// Characters of 6x10 type across the panel.
const SMALL_CHARS: usize = 21;

/// The class name in at most four characters: the table's abbreviation (EOS, LYM, MON,
/// NEU, BAS, IG, NRBC), else its first four letters, upper case.
pub fn abbreviation(label: &str) -> String {
    ABBREVIATIONS
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(label.trim()))
        .map(|(_, short)| short.to_string())
        .unwrap_or_else(|| label.trim().to_uppercase().chars().take(4).collect())
}

/// The class name as shown in large type: upper case, at most 12 characters (the width
/// of the panel in 10x20 type), so all seven class names fit unabbreviated; a longer
/// name of the table is abbreviated, any other cut.
pub fn large_label(label: &str) -> String {
    let upper = label.to_uppercase();
    if upper.chars().count() <= LARGE_CHARS {
        return upper;
    }
    let short = abbreviation(label);
    if ABBREVIATIONS.iter().any(|(_, s)| *s == short) {
        return short;
    }
    upper.chars().take(LARGE_CHARS).collect()
}

/// The class name as shown in the tally (at most 6 characters): NEUTRO, LYMPHO, MONO,
/// EOSINO, BASO; other labels are cut to their first six letters.
pub fn short_label(label: &str) -> String {
    let upper = label.to_uppercase();
    if upper.starts_with("MONO") {
        return "MONO".to_string();
    }
    if upper.starts_with("BASO") {
        return "BASO".to_string();
    }
    upper.chars().take(6).collect()
}

/// `count` as a whole percentage of `total`, rounded half up; 0 when `total` is 0.
pub fn percent(count: u32, total: u32) -> u32 {
    if total == 0 {
        return 0;
    }
    ((u64::from(count) * 200 + u64::from(total)) / (2 * u64::from(total))) as u32
}

/// A confidence 0..=1 as a whole percentage; NaN and out-of-range values are clamped.
pub fn confidence_percent(confidence: f32) -> u32 {
    if confidence.is_nan() {
        return 0;
    }
    (confidence.clamp(0.0, 1.0) * 100.0).round() as u32
}

/// Text wording of a status, as drawn in large type.
pub fn status_text(status: &Status) -> String {
    match status {
        Status::Ready => "READY".to_string(),
        Status::Capturing => "CAPTURING".to_string(),
        Status::NoCamera => "NO CAMERA".to_string(),
        Status::NoWbc => "NO WBC".to_string(),
        Status::TargetReached => "TARGET REACHED".to_string(),
        Status::Undone(_) => "UNDONE".to_string(),
        Status::NewSlide => "NEW SLIDE".to_string(),
        Status::Live => "LIVE".to_string(),
        Status::Error(code) => format!("ERR {}", code.to_uppercase()),
        Status::Stopped => "STOPPED".to_string(),
    }
}

/// The small line under a status telling the technician what to do next; for an error,
/// what its code means (codes that are not an [`ErrorCode`] point to the log); for an
/// undo, the class of the cell taken back ("NEUTROPHIL REMOVED").
pub fn status_hint(status: &Status) -> String {
    if let Status::Undone(label) = status
        && !label.is_empty()
    {
        let hint = format!("{} REMOVED", large_label(label));
        return if hint.chars().count() <= SMALL_CHARS {
            hint
        } else {
            format!("{} REMOVED", abbreviation(label))
        };
    }
    fixed_hint(status).to_string()
}

/// [`status_hint`] of the statuses whose hint never changes.
fn fixed_hint(status: &Status) -> &'static str {
    match status {
        Status::Ready => "PRESS TO COUNT",
        Status::Capturing => "HOLD STILL",
        Status::NoCamera => "CHECK CAMERA CABLE",
        Status::NoWbc => "NOT COUNTED",
        Status::TargetReached => "2x PRESS: NEW SLIDE",
        Status::Undone(_) => "LAST CELL REMOVED",
        Status::NewSlide => "COUNT STARTS AT 0",
        Status::Live => "SCAN: CELLS COUNT ONCE",
        Status::Error(code) => {
            ErrorCode::from_code(code).map_or("DETAILS IN LOG", ErrorCode::meaning)
        }
        Status::Stopped => "COUNT SAVED",
    }
}

/// What the result screen says in large type for a cell the model's gate flagged.
pub const UNFAMILIAR: &str = "UNFAMILIAR";
/// What it asks of the technician beside the UNSURE marker (left of it: 12 characters of
/// 6x10 type).
pub const UNFAMILIAR_HINT: &str = "CHECK BY EYE";

/// Region (x0, y0, x1, y1, exclusive ends) of the UNSURE marker on the result screen.
pub const UNSURE_MARKER: (usize, usize, usize, usize) = (76, 22, 128, 35);
/// Region of the class name on the result screen.
pub const RESULT_LABEL: (usize, usize, usize, usize) = (0, 0, 128, 20);
/// Region of the "N CELLS: CENTRE" hint on the result screen.
pub const CELLS_HINT: (usize, usize, usize, usize) = (0, 38, 128, 51);
/// Region of the progress bar on the tally screen.
pub const TALLY_PROGRESS: (usize, usize, usize, usize) = (44, 54, 128, 64);

fn style(font: &'static MonoFont<'static>) -> MonoTextStyle<'static, BinaryColor> {
    MonoTextStyle::new(font, BinaryColor::On)
}

fn inverted(font: &'static MonoFont<'static>) -> MonoTextStyle<'static, BinaryColor> {
    MonoTextStyleBuilder::new()
        .font(font)
        .text_color(BinaryColor::Off)
        .background_color(BinaryColor::On)
        .build()
}

fn text_at<D>(
    target: &mut D,
    text: &str,
    x: i32,
    y: i32,
    character_style: MonoTextStyle<'static, BinaryColor>,
    alignment: Alignment,
) -> Result<(), D::Error>
where
    D: DrawTarget<Color = BinaryColor>,
{
    let text_style = TextStyleBuilder::new()
        .alignment(alignment)
        .baseline(Baseline::Top)
        .build();
    Text::with_text_style(text, Point::new(x, y), character_style, text_style).draw(target)?;
    Ok(())
}

/// A horizontal bar: 1-pixel outline, filled to `fraction` (clamped to 0..=1).
fn bar<D>(target: &mut D, x: i32, y: i32, w: u32, h: u32, fraction: f32) -> Result<(), D::Error>
where
    D: DrawTarget<Color = BinaryColor>,
{
    Rectangle::new(Point::new(x, y), Size::new(w, h))
        .into_styled(PrimitiveStyle::with_stroke(BinaryColor::On, 1))
        .draw(target)?;
    let fraction = if fraction.is_nan() {
        0.0
    } else {
        fraction.clamp(0.0, 1.0)
    };
    let inner = w.saturating_sub(4);
    let fill = (inner as f32 * fraction).round() as u32;
    if fill > 0 && h > 4 {
        Rectangle::new(Point::new(x + 2, y + 2), Size::new(fill, h - 4))
            .into_styled(PrimitiveStyle::with_fill(BinaryColor::On))
            .draw(target)?;
    }
    Ok(())
}

/// True when the tally needs the layouts for more than the four classes.
fn is_wide(tally: &TallyView) -> bool {
    tally.labels.len() > 4 || !tally.outside_differential.is_empty()
}

/// Class initials with counts: "N12 L5 M1 E0"; for a wide tally the differential classes
/// only ("E3 L31 M6 N60 B1 I2"), without the empty ones when all do not fit in a line.
fn compact_counts(tally: &TallyView) -> String {
    if is_wide(tally) {
        return wide_counts(tally);
    }
    four_counts(tally)
}

fn wide_counts(tally: &TallyView) -> String {
    let entries: Vec<(String, u32)> = tally
        .labels
        .iter()
        .zip(&tally.counts)
        .enumerate()
        .filter(|&(class, _)| tally.in_differential(class))
        .map(|(_, (label, &n))| {
            let initial: String = abbreviation(label).chars().take(1).collect();
            (format!("{initial}{n}"), n)
        })
        .collect();
    let all = entries
        .iter()
        .map(|(e, _)| e.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    if all.len() <= SMALL_CHARS {
        return all;
    }
    let counted = entries
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(e, _)| e.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    counted.chars().take(SMALL_CHARS).collect()
}

/// The classes outside the differential with their counts: "NRBC3".
fn outside_counts(tally: &TallyView) -> Vec<String> {
    tally
        .labels
        .iter()
        .zip(&tally.counts)
        .enumerate()
        .filter(|&(class, _)| !tally.in_differential(class))
        .map(|(_, (label, n))| format!("{}{n}", abbreviation(label)))
        .collect()
}

/// "N12 L5 M1 E0": class initials with counts (the four-class layout).
fn four_counts(tally: &TallyView) -> String {
    let parts = tally
        .labels
        .iter()
        .zip(tally.counts.iter())
        .map(|(label, n)| {
            let initial = label
                .chars()
                .next()
                .map(|c| c.to_ascii_uppercase())
                .unwrap_or('?');
            format!("{initial}{n}")
        })
        .collect::<Vec<String>>();
    parts.join(" ")
}

/// Counts line plus total/target in 6x10 type at `y`.
fn tally_line<D>(target: &mut D, tally: &TallyView, y: i32) -> Result<(), D::Error>
where
    D: DrawTarget<Color = BinaryColor>,
{
    let mut counts = compact_counts(tally);
    let total = format!("{}/{}", tally.differential_total(), tally.target);
    // 21 characters of 6x10 fit on the panel. Priority: counts, then the total, then
    // the unidentified bin ("UNS 2").
    let unidentified = format!(" {}", unsure_count(tally.unidentified, false));
    if tally.unidentified > 0 && counts.len() + unidentified.len() + 1 + total.len() <= 21 {
        counts.push_str(&unidentified);
    }
    if counts.len() + 1 + total.len() <= 21 {
        text_at(target, &total, W, y, style(&FONT_6X10), Alignment::Right)?;
    }
    text_at(target, &counts, 0, y, style(&FONT_6X10), Alignment::Left)
}

/// The unidentified bin as the tally shows it: "UNSURE 3", or "UNS 3" where room is short,
/// the word the result screen marks those cells with (a bare "?3" told nobody what it was).
pub fn unsure_count(n: u32, long: bool) -> String {
    if long {
        format!("UNSURE {n}")
    } else {
        format!("UNS {n}")
    }
}

/// "47/100" and a progress bar towards the target at `y` (10 rows high), then the
/// unidentified bin ("UNSURE 2") and, with `outside`, the classes outside the differential.
fn progress_line<D>(
    target: &mut D,
    tally: &TallyView,
    y: i32,
    outside: bool,
) -> Result<(), D::Error>
where
    D: DrawTarget<Color = BinaryColor>,
{
    let total = tally.differential_total();
    text_at(
        target,
        &format!("{}/{}", total, tally.target),
        0,
        y,
        style(&FONT_6X10),
        Alignment::Left,
    )?;
    let mut bar_end = W;
    let mut right = if outside {
        outside_counts(tally)
    } else {
        Vec::new()
    };
    // The bar keeps at least 8 pixels: what does not fit is dropped from the left.
    let room = ((W - TALLY_PROGRESS.0 as i32 - 8 - 3) / 6) as usize;
    if tally.unidentified > 0 {
        let long = unsure_count(tally.unidentified, true);
        let with_long = right.iter().map(|r| r.len() + 1).sum::<usize>() + long.len();
        right.push(if with_long <= room {
            long
        } else {
            unsure_count(tally.unidentified, false)
        });
    }
    while right.join(" ").len() > room && right.len() > 1 {
        right.remove(0);
    }
    if !right.is_empty() {
        let text: String = right.join(" ").chars().take(room).collect();
        text_at(target, &text, W, y, style(&FONT_6X10), Alignment::Right)?;
        bar_end = W - 6 * text.len() as i32 - 3;
    }
    let fraction = if tally.target == 0 {
        1.0
    } else {
        total as f32 / tally.target as f32
    };
    let x = TALLY_PROGRESS.0 as i32;
    bar(target, x, y, (bar_end - x).max(8) as u32, 10, fraction)
}

/// The small lines of the boot screen, each at most 21 characters: the version and the
/// camera, then the model's name and version whole, wrapped over two lines (a model
/// name is what the technician checks against the lab's records, so it is never cut
/// where it fits two lines).
pub fn boot_lines(version: &str, model: &str, camera: &str) -> Vec<String> {
    let version = format!("v{}", version.trim_start_matches('v'));
    let camera = format!("CAM {camera}");
    let first = if version.len() + 1 + camera.len() <= SMALL_CHARS {
        format!(
            "{version}{}{camera}",
            " ".repeat(SMALL_CHARS - version.len() - camera.len())
        )
    } else {
        format!("{version} {camera}")
            .chars()
            .take(SMALL_CHARS)
            .collect()
    };
    let mut lines = vec![first];
    lines.extend(wrap(&format!("MODEL {}", model.trim()), SMALL_CHARS, 2));
    lines
}

/// `text` in at most `max_lines` lines of `width` characters, broken after a space or a
/// hyphen where one is near the end of a line; what does not fit is cut.
fn wrap(text: &str, width: usize, max_lines: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut rest: Vec<char> = text.chars().collect();
    while !rest.is_empty() && lines.len() < max_lines {
        if rest.len() <= width {
            lines.push(rest.iter().collect());
            break;
        }
        let cut = (width / 2..=width)
            .rev()
            .find(|&i| rest[i - 1] == ' ' || rest[i - 1] == '-')
            .unwrap_or(width);
        let line: String = rest[..cut].iter().collect();
        lines.push(line.trim_end().to_string());
        rest.drain(..cut);
    }
    lines
}

fn draw_boot<D>(target: &mut D, version: &str, model: &str, camera: &str) -> Result<(), D::Error>
where
    D: DrawTarget<Color = BinaryColor>,
{
    text_at(
        target,
        "HEMATOVISION",
        W / 2,
        0,
        style(&FONT_10X20),
        Alignment::Center,
    )?;
    for (i, line) in boot_lines(version, model, camera).iter().enumerate() {
        text_at(
            target,
            line,
            0,
            22 + 14 * i as i32,
            style(&FONT_6X10),
            Alignment::Left,
        )?;
    }
    Ok(())
}

fn draw_result<D>(
    target: &mut D,
    label: &str,
    confidence: f32,
    (unsure, unfamiliar): (bool, bool),
    cells_in_view: usize,
    tally: &TallyView,
) -> Result<(), D::Error>
where
    D: DrawTarget<Color = BinaryColor>,
{
    // An unfamiliar cell's class is the model's guess among classes it is not one of:
    // the screen names no class and asks for the technician's eye instead.
    let shown = if unfamiliar {
        UNFAMILIAR.to_string()
    } else {
        large_label(label)
    };
    text_at(
        target,
        &shown,
        W / 2,
        0,
        style(&FONT_10X20),
        Alignment::Center,
    )?;

    if unfamiliar {
        text_at(
            target,
            UNFAMILIAR_HINT,
            0,
            24,
            style(&FONT_6X10),
            Alignment::Left,
        )?;
    } else {
        let pct = confidence_percent(confidence);
        text_at(
            target,
            &format!("{pct}%"),
            0,
            22,
            style(&FONT_7X13_BOLD),
            Alignment::Left,
        )?;
    }
    if unsure || unfamiliar {
        // Shorter bar, and a solid inverted UNSURE box that stands out at a glance.
        if !unfamiliar {
            bar(target, 31, 23, 42, 11, confidence)?;
        }
        let (x0, y0, x1, y1) = UNSURE_MARKER;
        Rectangle::new(
            Point::new(x0 as i32, y0 as i32),
            Size::new((x1 - x0) as u32, (y1 - y0) as u32),
        )
        .into_styled(PrimitiveStyle::with_fill(BinaryColor::On))
        .draw(target)?;
        text_at(
            target,
            "UNSURE",
            (x0 + x1) as i32 / 2,
            y0 as i32,
            inverted(&FONT_7X13_BOLD),
            Alignment::Center,
        )?;
    } else {
        bar(target, 31, 23, 97, 11, confidence)?;
    }

    if cells_in_view > 1 {
        let hint = format!("{} CELLS: CENTRE", cells_in_view.min(99));
        text_at(
            target,
            &hint,
            W / 2,
            CELLS_HINT.1 as i32,
            style(&FONT_7X13_BOLD),
            Alignment::Center,
        )?;
    }

    if is_wide(tally) {
        // Seven classes do not fit one line of counts: the result shows the progress and
        // what is counted beside the differential; the status screens show every count.
        return progress_line(target, tally, 54, true);
    }
    tally_line(target, tally, 54)
}

fn draw_tally<D>(target: &mut D, tally: &TallyView) -> Result<(), D::Error>
where
    D: DrawTarget<Color = BinaryColor>,
{
    if is_wide(tally) {
        return draw_wide_tally(target, tally);
    }
    let total = tally.differential_total();
    for (i, (label, &n)) in tally
        .labels
        .iter()
        .zip(tally.counts.iter())
        .take(4)
        .enumerate()
    {
        let y = 13 * i as i32;
        let font = style(&FONT_7X13_BOLD);
        text_at(target, &short_label(label), 0, y, font, Alignment::Left)?;
        text_at(target, &n.to_string(), 77, y, font, Alignment::Right)?;
        text_at(
            target,
            &format!("{}%", percent(n, total)),
            W,
            y,
            font,
            Alignment::Right,
        )?;
    }
    progress_line(target, tally, 54, false)
}

/// Up to eight classes in two columns of four rows, abbreviated with their counts: the
/// differential classes first, then those counted outside it (NRBC).
fn draw_wide_tally<D>(target: &mut D, tally: &TallyView) -> Result<(), D::Error>
where
    D: DrawTarget<Color = BinaryColor>,
{
    let order = (0..tally.labels.len())
        .filter(|&c| tally.in_differential(c))
        .chain((0..tally.labels.len()).filter(|&c| !tally.in_differential(c)));
    let font = style(&FONT_7X13_BOLD);
    for (slot, class) in order.take(8).enumerate() {
        let (x, right) = if slot < 4 { (0, 58) } else { (68, W) };
        let y = 13 * (slot % 4) as i32;
        let n = tally.counts.get(class).copied().unwrap_or(0);
        text_at(
            target,
            &abbreviation(&tally.labels[class]),
            x,
            y,
            font,
            Alignment::Left,
        )?;
        text_at(target, &n.to_string(), right, y, font, Alignment::Right)?;
    }
    progress_line(target, tally, 54, false)
}

fn draw_status<D>(
    target: &mut D,
    status: &Status,
    tally: Option<&TallyView>,
) -> Result<(), D::Error>
where
    D: DrawTarget<Color = BinaryColor>,
{
    let text = status_text(status);
    // The largest type the wording fits in: 12 characters of 10x20, 14 of 9x15 bold.
    let len = text.chars().count();
    let (font, height): (&'static MonoFont<'static>, i32) = if len <= 12 {
        (&FONT_10X20, 20)
    } else if len <= 14 {
        (&FONT_9X15_BOLD, 15)
    } else {
        (&FONT_7X13_BOLD, 13)
    };
    let shown: String = text.chars().take(18).collect();
    let top = (20 - height) / 2;
    text_at(target, &shown, W / 2, top, style(font), Alignment::Center)?;
    text_at(
        target,
        &status_hint(status),
        W / 2,
        24,
        style(&FONT_6X10),
        Alignment::Center,
    )?;
    if let Some(tally) = tally {
        text_at(
            target,
            &compact_counts(tally),
            0,
            40,
            style(&FONT_6X10),
            Alignment::Left,
        )?;
        progress_line(target, tally, 54, true)?;
    }
    Ok(())
}
