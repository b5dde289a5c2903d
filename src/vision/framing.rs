//! Framing by the cell: the square the classifier sees is sized by the measured white cell,
//! so the cell fills the model's `cell_fraction` of the side whatever the magnification and
//! whether the picture is a whole field or already a crop.
//!
//! [`framing_box`] is the shared definition: `models/training/framing.py` is its Python
//! twin and `models/training/framing_vectors.json` holds test vectors both check. It is
//! integer arithmetic (the fraction is taken in thousandths) so the two languages cannot
//! round differently.

use image::{Rgb, RgbImage};
use serde::Serialize;

use super::PixelBox;
use super::crop::choose_cell;
use super::locator::{Candidate, Sighting, locate_crop, locate_in_session, locate_tight_crop};
use super::params::LocatorParams;
use super::session::SessionNorms;

/// Smallest and largest `cell_fraction` accepted; values outside are clamped so that a bad
/// metadata file cannot ask for a huge allocation (non-finite values mean 1.0).
pub const FRACTION_RANGE: (f32, f32) = (0.2, 1.0);

/// The square cut around a cell, in picture pixels; it may reach past the picture's edges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FramingBox {
    /// Left edge (may be negative).
    pub left: i64,
    /// Top edge (may be negative).
    pub top: i64,
    /// Side in pixels (at least 1).
    pub side: u32,
}

/// The fraction in thousandths, clamped to [`FRACTION_RANGE`].
fn permille(cell_fraction: f32) -> i64 {
    let f = if cell_fraction.is_finite() {
        cell_fraction.clamp(FRACTION_RANGE.0, FRACTION_RANGE.1)
    } else {
        FRACTION_RANGE.1
    };
    (f64::from(f) * 1000.0).round() as i64
}

/// The square centred on `cell` whose side is the cell's longer side divided by
/// `cell_fraction` (rounded half up), its left/top edge the floor of centre minus half.
pub fn framing_box(cell: &PixelBox, cell_fraction: f32) -> FramingBox {
    let p = permille(cell_fraction);
    let diameter = i64::from(cell.width().max(cell.height()).max(1));
    let side = ((2000 * diameter + p) / (2 * p)).max(1);
    FramingBox {
        left: (i64::from(cell.x0) + i64::from(cell.x1) - side).div_euclid(2),
        top: (i64::from(cell.y0) + i64::from(cell.y1) - side).div_euclid(2),
        side: side as u32,
    }
}

/// Cuts `frame` out of `image`; pixels outside the picture are `pad` (the picture's own
/// background colour, so the model sees more slide rather than smeared edge pixels).
pub fn cut(image: &RgbImage, frame: &FramingBox, pad: Rgb<u8>) -> RgbImage {
    let (w, h) = (i64::from(image.width()), i64::from(image.height()));
    RgbImage::from_fn(frame.side, frame.side, |x, y| {
        let (sx, sy) = (frame.left + i64::from(x), frame.top + i64::from(y));
        if (0..w).contains(&sx) && (0..h).contains(&sy) {
            *image.get_pixel(sx as u32, sy as u32)
        } else {
            pad
        }
    })
}

/// The white cell chosen in a picture, with what the locator measured there.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PictureCell {
    /// The chosen cell (nearest the reticle or the picture's centre).
    pub candidate: Candidate,
    /// White cells in view.
    pub count: usize,
    /// Every white cell in view, strongest first.
    pub cells: Vec<PixelBox>,
    /// Typical red-cell diameter in picture pixels, when red cells were seen.
    pub red_cell_px: Option<f32>,
    /// Diameter of the whole, round red cells in picture pixels, when the adaptive locator
    /// found enough of them ([`crate::vision::round_ruler`]).
    pub round_red_cell_px: Option<f32>,
    /// The picture's background colour (padding for the crop).
    pub background: [u8; 3],
}

/// Locates the white cells of a camera frame and chooses the one nearest `reticle` (the
/// centre when `None`). Frames come in order, as the frames of a session: the locator
/// uses what `session` has measured of the microscope so far, and the frame's
/// measurements are added to it.
pub fn find_cell_in_session(
    image: &RgbImage,
    params: &LocatorParams,
    reticle: Option<(u32, u32)>,
    session: &mut SessionNorms,
) -> Option<PictureCell> {
    let seen = locate_in_session(image, params, session.norms());
    session.observe(seen.measured());
    chosen_in(image, seen, reticle)
}

/// The cell nearest `reticle` (the centre when `None`) among what the locator saw.
fn chosen_in(image: &RgbImage, seen: Sighting, reticle: Option<(u32, u32)>) -> Option<PictureCell> {
    let chosen = choose_cell(&seen.candidates, image.dimensions(), reticle)?;
    Some(PictureCell {
        cells: seen.candidates.iter().map(|c| c.cell).collect(),
        candidate: chosen.candidate,
        count: chosen.count,
        red_cell_px: seen.red_cell_px,
        round_red_cell_px: seen.round_red_cell_px,
        background: seen.background,
    })
}

/// The white cell of a picture that is already a crop (an upload, a dataset image): the
/// adaptive locator measuring the cytoplasm ([`locate_crop`]: a crop's bulk is not a
/// field's, the cell may fill most of it, under any stain), and the cell nearest the
/// picture's centre. The picture is also searched as a tight crop, whose bulk is the cell
/// itself ([`locate_tight_crop`]); that reading is taken when the first sees no nucleus,
/// or when it sees the whole of a nucleus the first saw only part of.
pub fn find_in_picture(image: &RgbImage, params: &LocatorParams) -> Option<PictureCell> {
    let params = LocatorParams {
        adaptive: true,
        ..params.clone()
    };
    let tight = || chosen_in(image, locate_tight_crop(image, &params), None);
    match chosen_in(image, locate_crop(image, &params), None) {
        Some(loose) => Some(tight().filter(|t| sees_more_of(t, &loose)).unwrap_or(loose)),
        None => tight(),
    }
}

/// Whether the tight-crop reading `tight` saw the whole of a nucleus that the loose
/// reading `loose` saw only part of (one lobe of a neutrophil, the dark corner of a
/// lymphocyte, as in tight Jiangxi crops): its nucleus holds the loose one and is larger,
/// and stays inside the picture (a "nucleus" reaching the edge is red cells merged in,
/// as in loose crops full of them).
fn sees_more_of(tight: &PictureCell, loose: &PictureCell) -> bool {
    let (t, l) = (&tight.candidate.nucleus, &loose.candidate.nucleus);
    let holds = t.x0 <= l.x0 && t.y0 <= l.y0 && t.x1 >= l.x1 && t.y1 >= l.y1;
    holds
        && !tight.candidate.at_border
        && u64::from(t.width()) * u64::from(t.height())
            > u64::from(l.width()) * u64::from(l.height())
}

/// How a picture that is already a crop frames its cell, as the model sees it after its
/// central square crop: the cell's longer side over the picture's shorter side, and how far
/// the cell's centre sits from the picture's centre, in the same unit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CropFraming {
    /// Cell diameter (longer box side) over the picture's shorter side.
    pub fraction: f32,
    /// Largest of the horizontal and vertical distance between the cell's centre and the
    /// picture's centre, over the picture's shorter side.
    pub offset: f32,
}

/// [`CropFraming`] of `cell` in a `width` x `height` picture.
pub fn crop_framing(width: u32, height: u32, cell: &PixelBox) -> CropFraming {
    let short = width.min(height).max(1) as f32;
    let diameter = cell.width().max(cell.height()) as f32;
    let dx = ((cell.x0 + cell.x1) as f32 - width as f32).abs() / 2.0;
    let dy = ((cell.y0 + cell.y1) as f32 - height as f32).abs() / 2.0;
    CropFraming {
        fraction: diameter / short,
        offset: dx.max(dy) / short,
    }
}

/// The classifier's crop of a found cell: [`framing_box`] cut with background padding.
pub fn frame_cell(image: &RgbImage, cell: &PictureCell, cell_fraction: f32) -> RgbImage {
    frame_box(image, &cell.candidate.cell, cell.background, cell_fraction)
}

/// The classifier's crop around the cell box `cell`: [`framing_box`] cut with `background`
/// (the picture's background colour, [`super::Sighting::background`]) as padding. The one
/// framing of the button, live mode, `classify`, `eval` and the station.
pub fn frame_box(
    image: &RgbImage,
    cell: &PixelBox,
    background: [u8; 3],
    cell_fraction: f32,
) -> RgbImage {
    cut(image, &framing_box(cell, cell_fraction), Rgb(background))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(x0: u32, y0: u32, x1: u32, y1: u32) -> PixelBox {
        PixelBox { x0, y0, x1, y1 }
    }

    #[test]
    fn box_is_centred_and_sized_by_the_fraction() {
        assert_eq!(
            framing_box(&b(270, 190, 370, 290), 0.5),
            FramingBox {
                left: 220,
                top: 140,
                side: 200
            }
        );
        // The longer side counts; halves round up; the edge floors.
        assert_eq!(
            framing_box(&b(300, 100, 341, 220), 0.35),
            FramingBox {
                left: 149,
                top: -12,
                side: 343
            }
        );
        assert_eq!(framing_box(&b(0, 0, 3, 3), 0.4).side, 8);
    }

    #[test]
    fn shared_vectors_give_the_same_boxes_as_python() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/models/training/framing_vectors.json"
        );
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let cases = v["cases"].as_array().unwrap();
        assert!(cases.len() >= 8);
        for c in cases {
            let n: Vec<u32> = c["cell"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_u64().unwrap() as u32)
                .collect();
            let f = c["cell_fraction"].as_f64().map_or(f32::NAN, |f| f as f32);
            let e = &c["expect"];
            let want = FramingBox {
                left: e["left"].as_i64().unwrap(),
                top: e["top"].as_i64().unwrap(),
                side: e["side"].as_u64().unwrap() as u32,
            };
            assert_eq!(framing_box(&b(n[0], n[1], n[2], n[3]), f), want, "{c}");
        }
    }

    #[test]
    fn crop_framing_is_relative_to_the_short_side() {
        let f = crop_framing(320, 240, &b(100, 60, 220, 180));
        assert!((f.fraction - 0.5).abs() < 1e-6, "{f:?}");
        assert!(f.offset.abs() < 1e-6, "{f:?}");
        let f = crop_framing(200, 200, &b(0, 0, 40, 20));
        assert!((f.fraction - 0.2).abs() < 1e-6, "{f:?}");
        assert!((f.offset - 0.45).abs() < 1e-6, "{f:?}");
    }

    #[test]
    fn bad_fractions_are_clamped() {
        let cell = b(2, 2, 8, 8);
        assert_eq!(framing_box(&cell, f32::NAN).side, 6);
        assert_eq!(framing_box(&cell, 0.0).side, 30);
        assert_eq!(framing_box(&cell, 7.0).side, 6);
        assert_eq!(framing_box(&b(5, 5, 5, 5), 0.5).side, 2);
    }

    #[test]
    fn cut_pads_outside_the_picture_with_the_given_colour() {
        let img = RgbImage::from_fn(10, 10, |x, y| Rgb([x as u8, y as u8, 0]));
        let frame = FramingBox {
            left: -2,
            top: 8,
            side: 4,
        };
        let out = cut(&img, &frame, Rgb([9, 9, 9]));
        assert_eq!(out.dimensions(), (4, 4));
        assert_eq!(*out.get_pixel(0, 0), Rgb([9, 9, 9]));
        assert_eq!(*out.get_pixel(2, 0), Rgb([0, 8, 0]));
        assert_eq!(*out.get_pixel(3, 1), Rgb([1, 9, 0]));
        assert_eq!(*out.get_pixel(3, 2), Rgb([9, 9, 9]));
    }

    #[test]
    fn a_tight_crop_the_field_rules_miss_is_found_as_a_crop() {
        // Yellow background, a cell filling three quarters of the side, magenta nucleus.
        let img = RgbImage::from_fn(120, 120, |x, y| {
            let d2 = (x as i32 - 60).pow(2) + (y as i32 - 60).pow(2);
            Rgb(match d2 {
                d if d < 22 * 22 => [132, 22, 79],
                d if d < 44 * 44 => [175, 94, 89],
                _ => [250, 235, 139],
            })
        });
        let params = LocatorParams::default();
        let adaptive = LocatorParams {
            adaptive: true,
            ..params.clone()
        };
        assert!(
            crate::vision::locate_detailed(&img, &adaptive)
                .candidates
                .is_empty()
        );
        let cell = find_in_picture(&img, &params).expect("found as a tight crop");
        assert!(
            cell.candidate.cell.iou(&b(16, 16, 104, 104)) >= 0.8,
            "{cell:?}"
        );
    }
}
