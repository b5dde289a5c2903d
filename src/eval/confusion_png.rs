//! Drawing an evaluation's confusion matrix as a PNG: one square per (true, predicted) pair,
//! shaded by the share of the true class's images, with the count and percentage written in.

use std::convert::Infallible;
use std::path::Path;

use embedded_graphics::mono_font::MonoTextStyle;
use embedded_graphics::mono_font::ascii::FONT_6X10;
use embedded_graphics::pixelcolor::Rgb888;
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::{PrimitiveStyle, Rectangle};
use embedded_graphics::text::{Alignment, Baseline, Text, TextStyleBuilder};
use image::RgbImage;

use super::model::EvalReport;

/// Side of a cell when there are few classes.
const CELL: u32 = 64;
/// Largest side of the matrix area; many classes get smaller cells (and no text).
const MAX_MATRIX_SIDE: u32 = 2048;
const CHAR_W: u32 = 6;
const LINE_H: i32 = 12;

/// An `RgbImage` as an embedded-graphics drawing surface (pixels outside are dropped).
struct Canvas<'a>(&'a mut RgbImage);

impl OriginDimensions for Canvas<'_> {
    fn size(&self) -> Size {
        Size::new(self.0.width(), self.0.height())
    }
}

impl DrawTarget for Canvas<'_> {
    type Color = Rgb888;
    type Error = Infallible;

    fn draw_iter<I: IntoIterator<Item = Pixel<Rgb888>>>(
        &mut self,
        pixels: I,
    ) -> Result<(), Infallible> {
        let (w, h) = self.0.dimensions();
        for Pixel(p, c) in pixels {
            if let (Ok(x), Ok(y)) = (u32::try_from(p.x), u32::try_from(p.y))
                && x < w
                && y < h
            {
                self.0.put_pixel(x, y, image::Rgb([c.r(), c.g(), c.b()]));
            }
        }
        Ok(())
    }
}

fn text(canvas: &mut Canvas<'_>, s: &str, at: Point, color: Rgb888, align: Alignment) {
    let style = MonoTextStyle::new(&FONT_6X10, color);
    let layout = TextStyleBuilder::new()
        .alignment(align)
        .baseline(Baseline::Middle)
        .build();
    // Drawing into an image cannot fail (`Infallible`).
    let _ = Text::with_text_style(s, at, style, layout).draw(canvas);
}

fn shorten(label: &str, max_chars: usize) -> String {
    if label.chars().count() <= max_chars {
        label.to_string()
    } else {
        let mut s: String = label.chars().take(max_chars.saturating_sub(1)).collect();
        s.push('.');
        s
    }
}

/// Cell side for `k` classes: 64 pixels, smaller when the matrix would exceed
/// [`MAX_MATRIX_SIDE`] (at least one pixel).
fn cell_size(k: u32) -> u32 {
    (MAX_MATRIX_SIDE / k.max(1)).clamp(1, CELL)
}

/// Renders the confusion matrix of `report`. Up to 32 classes every cell shows its count and
/// row percentage; with many classes the cells shrink and only the shading remains.
pub fn render_confusion(report: &EvalReport) -> RgbImage {
    let k = report.labels.len() as u32;
    let cell = cell_size(k);
    let with_labels = cell >= LINE_H as u32;
    let with_counts = cell >= 40;
    let label_chars = report
        .labels
        .iter()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(4) as u32;
    let left = if with_labels {
        (label_chars.min(24) + 2) * CHAR_W
    } else {
        8
    };
    let title = format!(
        "accuracy {:.2}% (n = {}); rows: true class, columns: predicted",
        report.accuracy * 100.0,
        report.n
    );
    let top = 3 * LINE_H as u32;
    let width = (left + k * cell + 8).max(title.len() as u32 * CHAR_W + 16);
    let height = top + k * cell + 8;
    let mut img = RgbImage::from_pixel(width, height, image::Rgb([255, 255, 255]));
    let mut canvas = Canvas(&mut img);
    let black = Rgb888::BLACK;
    text(
        &mut canvas,
        &title,
        Point::new(8, LINE_H / 2 + 2),
        black,
        Alignment::Left,
    );
    for (j, label) in report.labels.iter().enumerate().filter(|_| with_labels) {
        let x = (left + j as u32 * cell + cell / 2) as i32;
        let short = shorten(label, ((cell / CHAR_W) as usize).max(1));
        text(
            &mut canvas,
            &short,
            Point::new(x, top as i32 - LINE_H / 2 - 2),
            black,
            Alignment::Center,
        );
    }
    for (i, (label, row)) in report.labels.iter().zip(&report.confusion).enumerate() {
        let y0 = top + i as u32 * cell;
        let short = shorten(label, 24);
        if with_labels {
            text(
                &mut canvas,
                &short,
                Point::new(left as i32 - CHAR_W as i32, (y0 + cell / 2) as i32),
                black,
                Alignment::Right,
            );
        }
        let support: usize = row.iter().sum();
        for (j, &count) in row.iter().enumerate() {
            let share = if support == 0 {
                0.0
            } else {
                count as f64 / support as f64
            };
            // White (0 %) to dark blue (100 %).
            let shade = |full: f64, none: f64| (none + (full - none) * share).round() as u8;
            let fill = Rgb888::new(shade(8.0, 255.0), shade(48.0, 255.0), shade(107.0, 255.0));
            let x0 = left + j as u32 * cell;
            // A one-pixel white gap between cells, unless cells are tiny.
            let side = if cell > 2 { cell - 1 } else { cell };
            let _ = Rectangle::new(Point::new(x0 as i32, y0 as i32), Size::new(side, side))
                .into_styled(PrimitiveStyle::with_fill(fill))
                .draw(&mut canvas);
            if !with_counts {
                continue;
            }
            let ink = if share > 0.5 { Rgb888::WHITE } else { black };
            let cx = (x0 + cell / 2) as i32;
            let cy = (y0 + cell / 2) as i32;
            text(
                &mut canvas,
                &count.to_string(),
                Point::new(cx, cy - 6),
                ink,
                Alignment::Center,
            );
            let pct = format!("{:.1}%", share * 100.0);
            text(
                &mut canvas,
                &pct,
                Point::new(cx, cy + 7),
                ink,
                Alignment::Center,
            );
        }
    }
    img
}

/// Writes the confusion matrix of `report` as a PNG file.
pub fn write_confusion_png(report: &EvalReport, path: &Path) -> Result<(), image::ImageError> {
    render_confusion(report).save_with_format(path, image::ImageFormat::Png)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::model::{Latency, metrics_from_confusion};

    fn report() -> EvalReport {
        let confusion = vec![vec![9, 1], vec![0, 5]];
        let (accuracy, per_class) = metrics_from_confusion(&confusion);
        EvalReport {
            accuracy,
            n: 15,
            labels: vec!["EOSINOPHIL".into(), "LYMPHOCYTE".into()],
            per_class,
            confusion,
            images_per_second: 1.0,
            latency_ms: Latency::from_durations(&[]),
            failed: Vec::new(),
            gate: None,
            unfamiliar: vec![0; 2],
        }
    }

    #[test]
    fn cells_are_shaded_by_row_share_and_file_is_a_png() {
        let r = report();
        let img = render_confusion(&r);
        const CELL: u32 = super::CELL;
        let k = 2;
        let left = (10 + 2) * CHAR_W;
        let top = 3 * LINE_H as u32;
        assert!(img.width() >= left + k * CELL);
        // Corner pixel of each cell (no text there): 90 % cell dark, 10 % light, 0 % white.
        let at = |i: u32, j: u32| *img.get_pixel(left + j * CELL + 1, top + i * CELL + 1);
        assert!(at(0, 0)[0] < 60, "{:?}", at(0, 0));
        assert!(at(0, 1)[0] > 200, "{:?}", at(0, 1));
        assert_eq!(at(1, 0), image::Rgb([255, 255, 255]));
        assert!(at(1, 1)[2] < 120);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cm.png");
        write_confusion_png(&r, &path).unwrap();
        let back = image::open(&path).unwrap().to_rgb8();
        assert_eq!(back, img);
    }

    #[test]
    fn many_classes_stay_a_reasonable_size() {
        let k = 1001;
        let mut confusion = vec![vec![0usize; k]; k];
        confusion[5][5] = 3;
        let (accuracy, per_class) = metrics_from_confusion(&confusion);
        let r = EvalReport {
            accuracy,
            n: 3,
            labels: (0..k).map(|i| format!("class {i}")).collect(),
            per_class,
            confusion,
            images_per_second: 1.0,
            latency_ms: Latency::from_durations(&[]),
            failed: Vec::new(),
            gate: None,
            unfamiliar: vec![0; k],
        };
        let img = render_confusion(&r);
        assert!(img.width() <= MAX_MATRIX_SIDE + 600 && img.height() <= MAX_MATRIX_SIDE + 100);
    }
}
