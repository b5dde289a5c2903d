//! Choosing the cell to classify and cutting the classifier's square crop around it.

use image::RgbImage;

use super::PixelBox;
use super::locator::Candidate;

/// Smallest and largest `cell_fraction` accepted by [`crop_square`]; values outside are
/// clamped so that a bad metadata file cannot ask for a huge allocation.
pub const CELL_FRACTION_RANGE: (f32, f32) = (0.2, 1.0);

/// The cell picked for classification.
#[derive(Debug, Clone, PartialEq)]
pub struct ChosenCell {
    /// The chosen candidate.
    pub candidate: Candidate,
    /// Its index in the candidate list.
    pub index: usize,
    /// How many candidates were in view (more than 1: the display says which one was taken).
    pub count: usize,
}

/// Picks the candidate whose cell centre is nearest the reticle, or the image centre when
/// there is no reticle; ties go to the earlier (higher-scoring) candidate. `None` when no
/// cell was found.
pub fn choose_cell(
    candidates: &[Candidate],
    image_size: (u32, u32),
    reticle: Option<(u32, u32)>,
) -> Option<ChosenCell> {
    let (tx, ty) = match reticle {
        Some((x, y)) => (x as f32, y as f32),
        None => (image_size.0 as f32 / 2.0, image_size.1 as f32 / 2.0),
    };
    let distance = |c: &Candidate| {
        let (cx, cy) = c.cell.centre();
        (cx - tx).powi(2) + (cy - ty).powi(2)
    };
    let (index, candidate) = candidates
        .iter()
        .enumerate()
        .min_by(|(_, a), (_, b)| distance(a).total_cmp(&distance(b)))?;
    Some(ChosenCell {
        candidate: candidate.clone(),
        index,
        count: candidates.len(),
    })
}

/// Cuts a square centred on `cell` whose side is the cell's diameter (longer box side)
/// divided by `cell_fraction`, so the cell fills that fraction of the crop's width as in
/// the classifier's training images (`cell_fraction` comes from the model's metadata,
/// typically 0.4–0.6, and is clamped to [`CELL_FRACTION_RANGE`]).
///
/// Where the square reaches past the image border the nearest edge pixel is repeated. An
/// empty image gives an empty crop.
pub fn crop_square(image: &RgbImage, cell: &PixelBox, cell_fraction: f32) -> RgbImage {
    let (w, h) = image.dimensions();
    if w == 0 || h == 0 {
        return RgbImage::new(0, 0);
    }
    let fraction = if cell_fraction.is_finite() {
        cell_fraction.clamp(CELL_FRACTION_RANGE.0, CELL_FRACTION_RANGE.1)
    } else {
        CELL_FRACTION_RANGE.1
    };
    let diameter = cell.width().max(cell.height()).max(1) as f32;
    let side = (diameter / fraction).round().max(1.0) as u32;
    let (cx, cy) = cell.centre();
    let left = (cx - side as f32 / 2.0).round() as i64;
    let top = (cy - side as f32 / 2.0).round() as i64;
    let (max_x, max_y) = (i64::from(w) - 1, i64::from(h) - 1);
    RgbImage::from_fn(side, side, |x, y| {
        let sx = (left + i64::from(x)).clamp(0, max_x) as u32;
        let sy = (top + i64::from(y)).clamp(0, max_y) as u32;
        *image.get_pixel(sx, sy)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;

    fn cand(x0: u32, y0: u32, x1: u32, y1: u32, score: f32) -> Candidate {
        let b = PixelBox { x0, y0, x1, y1 };
        Candidate {
            cell: b,
            nucleus: b,
            score,
            at_border: false,
        }
    }

    #[test]
    fn chooses_nearest_centre_or_reticle_and_counts() {
        let cs = [
            cand(0, 0, 100, 100, 0.9),
            cand(280, 200, 360, 280, 0.5),
            cand(500, 380, 600, 480, 0.4),
        ];
        let chosen = choose_cell(&cs, (640, 480), None).unwrap();
        assert_eq!((chosen.index, chosen.count), (1, 3));
        let chosen = choose_cell(&cs, (640, 480), Some((600, 470))).unwrap();
        assert_eq!(chosen.index, 2);
        assert_eq!(chosen.candidate, cs[2]);
        assert!(choose_cell(&[], (640, 480), None).is_none());
    }

    #[test]
    fn crop_is_square_centred_and_sized_by_fraction() {
        let img = RgbImage::from_fn(640, 480, |x, y| Rgb([(x / 3) as u8, (y / 2) as u8, 7]));
        let cell = PixelBox {
            x0: 270,
            y0: 190,
            x1: 370,
            y1: 290,
        };
        let crop = crop_square(&img, &cell, 0.5);
        assert_eq!(crop.dimensions(), (200, 200));
        // The crop starts 50 px left/above the cell box.
        assert_eq!(crop.get_pixel(0, 0), img.get_pixel(220, 140));
        assert_eq!(crop.get_pixel(100, 100), img.get_pixel(320, 240));
        // A non-square box uses its longer side.
        let tall = PixelBox {
            x0: 300,
            y0: 100,
            x1: 340,
            y1: 220,
        };
        assert_eq!(crop_square(&img, &tall, 0.6).dimensions(), (200, 200));
    }

    #[test]
    fn crop_near_border_repeats_edge_pixels() {
        let img = RgbImage::from_fn(64, 48, |x, y| Rgb([x as u8, y as u8, 0]));
        let cell = PixelBox {
            x0: 0,
            y0: 0,
            x1: 20,
            y1: 20,
        };
        let crop = crop_square(&img, &cell, 0.5);
        assert_eq!(crop.dimensions(), (40, 40));
        assert_eq!(*crop.get_pixel(0, 0), Rgb([0, 0, 0]));
        assert_eq!(*crop.get_pixel(15, 5), Rgb([5, 0, 0]));
        assert_eq!(*crop.get_pixel(39, 39), Rgb([29, 29, 0]));
    }

    #[test]
    fn bad_fraction_and_empty_image_do_not_panic() {
        let img = RgbImage::from_pixel(10, 10, Rgb([1, 2, 3]));
        let cell = PixelBox {
            x0: 2,
            y0: 2,
            x1: 8,
            y1: 8,
        };
        assert_eq!(crop_square(&img, &cell, f32::NAN).dimensions(), (6, 6));
        assert_eq!(crop_square(&img, &cell, 0.0).dimensions(), (30, 30));
        assert_eq!(
            crop_square(&RgbImage::new(0, 0), &cell, 0.5).dimensions(),
            (0, 0)
        );
    }
}
