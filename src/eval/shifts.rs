//! Seeded synthetic shifts of annotated fields: what another microscope, stain, lamp or
//! objective would do to the same slide. Used by `locate-eval --shift` to measure the
//! locator on conditions the bundled fields never show.
//!
//! Every shift is a pure function of the field, its boxes, the shift and a seed:
//! - `hue+30` / `hue-30`: the colours rotated about the grey axis (another stain batch);
//! - `yellow`, `blue-grey`: a warm lamp, and a cool desaturated camera (casts);
//! - `bright+30` / `bright-30`: exposure ±30 % (clipped at 255 like a camera);
//! - `scale0.5` / `scale1.5`: another objective. Up: the centre `1/s` of the field is
//!   enlarged to the full frame. Down: the field is shrunk and centred on its own median
//!   colour, so the frame keeps its size and shows less;
//! - `mixed`: for each field, a random hue rotation in ±30°, cast, brightness in ±30 % and
//!   scale in 0.5–1.5x drawn from the seed and the field's index.
//!
//! Boxes follow the geometry. A box cut by more than half by the new frame is not scored
//! (it is returned in `ignore`): a detection on it is neither a hit nor a false positive.

use image::{Rgb, RgbImage, imageops};

use crate::vision::PixelBox;

/// One synthetic shift.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Shift {
    /// Hue rotation about the grey axis, degrees.
    Hue(f32),
    /// Colour cast.
    Cast(Cast),
    /// Brightness factor (1.3 = 30 % brighter).
    Brightness(f32),
    /// Magnification factor (1.5 = a 1.5x stronger objective).
    Scale(f32),
    /// A random combination per field (see the module documentation).
    Mixed,
}

/// A colour cast.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cast {
    /// Warm halogen lamp: blue lost, a little green.
    Yellow,
    /// Cool camera, washed out: 40 % towards grey, then red and green lost.
    BlueGrey,
}

/// The named shifts `all` stands for, in report order.
pub const ALL: [&str; 9] = [
    "hue+30",
    "hue-30",
    "yellow",
    "blue-grey",
    "bright+30",
    "bright-30",
    "scale0.5",
    "scale1.5",
    "mixed",
];

/// A name that is not a shift.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown shift {0:?}: expected all or one of {ALL:?}")]
pub struct UnknownShift(pub String);

impl Shift {
    /// Parses one of the names of [`ALL`].
    pub fn parse(name: &str) -> Result<Shift, UnknownShift> {
        Ok(match name {
            "hue+30" => Shift::Hue(30.0),
            "hue-30" => Shift::Hue(-30.0),
            "yellow" => Shift::Cast(Cast::Yellow),
            "blue-grey" => Shift::Cast(Cast::BlueGrey),
            "bright+30" => Shift::Brightness(1.3),
            "bright-30" => Shift::Brightness(0.7),
            "scale0.5" => Shift::Scale(0.5),
            "scale1.5" => Shift::Scale(1.5),
            "mixed" => Shift::Mixed,
            other => return Err(UnknownShift(other.to_string())),
        })
    }
}

/// A shifted field.
#[derive(Debug, Clone)]
pub struct Shifted {
    /// The new picture (same size as the original).
    pub image: RgbImage,
    /// The annotated boxes that are still to be found.
    pub truth: Vec<PixelBox>,
    /// Boxes cut by the new frame: detections on them are not scored.
    pub ignore: Vec<PixelBox>,
}

/// SplitMix64: a tiny, well-mixed generator, so results never depend on a crate's version.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Uniform in `lo..hi`.
fn uniform(state: &mut u64, lo: f32, hi: f32) -> f32 {
    let unit = (splitmix(state) >> 40) as f32 / (1u64 << 24) as f32;
    lo + (hi - lo) * unit
}

/// Applies `shift` to a field and its white-cell boxes. `seed` and `index` (the field's
/// position in the set) only matter for [`Shift::Mixed`].
pub fn apply(image: &RgbImage, truth: &[PixelBox], shift: Shift, seed: u64, index: u64) -> Shifted {
    match shift {
        Shift::Hue(deg) => same_geometry(colour_map(image, hue_matrix(deg)), truth),
        Shift::Cast(cast) => same_geometry(colour_map(image, cast_matrix(cast)), truth),
        Shift::Brightness(f) => same_geometry(colour_map(image, scaled(identity(), f)), truth),
        Shift::Scale(s) => rescale(image, truth, s),
        Shift::Mixed => {
            let mut state = seed ^ index.wrapping_mul(0xD6E8_FEB8_6659_FD93);
            let hue = uniform(&mut state, -30.0, 30.0);
            let bright = uniform(&mut state, 0.7, 1.3);
            let scale = uniform(&mut state, 0.5, 1.5);
            let cast = match splitmix(&mut state) % 3 {
                0 => identity(),
                1 => cast_matrix(Cast::Yellow),
                _ => cast_matrix(Cast::BlueGrey),
            };
            let m = scaled(matmul(cast, hue_matrix(hue)), bright);
            rescale(&colour_map(image, m), truth, scale)
        }
    }
}

type Matrix = [[f32; 3]; 3];

fn identity() -> Matrix {
    [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
}

fn scaled(m: Matrix, f: f32) -> Matrix {
    m.map(|row| row.map(|v| v * f))
}

fn matmul(a: Matrix, b: Matrix) -> Matrix {
    let mut out = [[0.0; 3]; 3];
    for (i, row) in out.iter_mut().enumerate() {
        for (j, v) in row.iter_mut().enumerate() {
            *v = (0..3).map(|k| a[i][k] * b[k][j]).sum();
        }
    }
    out
}

/// Rotation by `deg` about the grey axis (1,1,1): greys stay, hues turn.
fn hue_matrix(deg: f32) -> Matrix {
    let (s, c) = deg.to_radians().sin_cos();
    let a = (1.0 - c) / 3.0;
    let b = s / 3f32.sqrt();
    [
        [c + a, a - b, a + b],
        [a + b, c + a, a - b],
        [a - b, a + b, c + a],
    ]
}

fn cast_matrix(cast: Cast) -> Matrix {
    match cast {
        Cast::Yellow => [[1.0, 0.0, 0.0], [0.0, 0.96, 0.0], [0.0, 0.0, 0.72]],
        Cast::BlueGrey => {
            // 40 % towards the pixel's grey level, then a cool balance.
            let k = 0.4 / 3.0;
            let desat = [[0.6 + k, k, k], [k, 0.6 + k, k], [k, k, 0.6 + k]];
            matmul([[0.84, 0.0, 0.0], [0.0, 0.92, 0.0], [0.0, 0.0, 1.0]], desat)
        }
    }
}

fn colour_map(image: &RgbImage, m: Matrix) -> RgbImage {
    let mut out = image.clone();
    for p in out.pixels_mut() {
        let v = p.0.map(f32::from);
        for (c, row) in m.iter().enumerate() {
            let x = row[0] * v[0] + row[1] * v[1] + row[2] * v[2];
            p.0[c] = x.round().clamp(0.0, 255.0) as u8;
        }
    }
    out
}

fn same_geometry(image: RgbImage, truth: &[PixelBox]) -> Shifted {
    Shifted {
        image,
        truth: truth.to_vec(),
        ignore: Vec::new(),
    }
}

/// Per-channel median, the colour a shrunk field is centred on.
fn median_colour(image: &RgbImage) -> Rgb<u8> {
    let mut hist = [[0usize; 256]; 3];
    for p in image.pixels() {
        for c in 0..3 {
            hist[c][usize::from(p.0[c])] += 1;
        }
    }
    let half = (image.width() as usize * image.height() as usize) / 2;
    Rgb(hist.map(|h| {
        let mut seen = 0;
        h.iter()
            .position(|&n| {
                seen += n;
                seen > half
            })
            .unwrap_or(0) as u8
    }))
}

/// Maps a box by `x -> (x - offset) * s + shift`, clipped to the frame; `None` when it
/// keeps less than half of its area.
fn map_box(b: &PixelBox, s: f32, offset: (f32, f32), frame: (u32, u32)) -> (PixelBox, bool) {
    let f = |v: u32, o: f32| (v as f32 - o) * s;
    let (x0, y0, x1, y1) = (
        f(b.x0, offset.0),
        f(b.y0, offset.1),
        f(b.x1, offset.0),
        f(b.y1, offset.1),
    );
    let full = (x1 - x0).max(0.0) * (y1 - y0).max(0.0);
    let clip = |v: f32, hi: u32| v.round().clamp(0.0, hi as f32) as u32;
    let boxed = PixelBox {
        x0: clip(x0, frame.0),
        y0: clip(y0, frame.1),
        x1: clip(x1, frame.0),
        y1: clip(y1, frame.1),
    };
    let kept = boxed.area() as f32 >= 0.5 * full;
    (boxed, kept)
}

fn rescale(image: &RgbImage, truth: &[PixelBox], s: f32) -> Shifted {
    let (w, h) = image.dimensions();
    let mut out = Shifted {
        image: RgbImage::new(w, h),
        truth: Vec::new(),
        ignore: Vec::new(),
    };
    if w == 0 || h == 0 || !(s.is_finite() && s > 0.0) {
        out.image = image.clone();
        out.truth = truth.to_vec();
        return out;
    }
    let offset;
    let scale;
    if s >= 1.0 {
        let (cw, ch) = (
            ((w as f32 / s).round() as u32).max(1),
            ((h as f32 / s).round() as u32).max(1),
        );
        let (left, top) = ((w - cw) / 2, (h - ch) / 2);
        let part = imageops::crop_imm(image, left, top, cw, ch).to_image();
        out.image = imageops::resize(&part, w, h, imageops::FilterType::Triangle);
        scale = w as f32 / cw as f32;
        offset = (left as f32, top as f32);
    } else {
        let (sw, sh) = (
            ((w as f32 * s).round() as u32).max(1),
            ((h as f32 * s).round() as u32).max(1),
        );
        let small = imageops::resize(image, sw, sh, imageops::FilterType::Triangle);
        out.image = RgbImage::from_pixel(w, h, median_colour(image));
        let (left, top) = ((w - sw) / 2, (h - sh) / 2);
        imageops::replace(&mut out.image, &small, i64::from(left), i64::from(top));
        scale = sw as f32 / w as f32;
        // (x * scale) + left  ==  (x - (-left / scale)) * scale
        offset = (-(left as f32) / scale, -(top as f32) / scale);
    }
    for b in truth {
        let (mapped, kept) = map_box(b, scale, offset, (w, h));
        if kept {
            out.truth.push(mapped);
        } else if mapped.area() > 0 {
            out.ignore.push(mapped);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field() -> RgbImage {
        RgbImage::from_fn(64, 48, |x, y| Rgb([(x * 4) as u8, (y * 5) as u8, 128]))
    }

    fn b(x0: u32, y0: u32, x1: u32, y1: u32) -> PixelBox {
        PixelBox { x0, y0, x1, y1 }
    }

    #[test]
    fn every_name_parses_and_others_do_not() {
        for name in ALL {
            Shift::parse(name).unwrap();
        }
        assert!(
            Shift::parse("hue+31")
                .unwrap_err()
                .to_string()
                .contains("hue+30")
        );
    }

    #[test]
    fn hue_rotation_keeps_greys_and_turns_colours() {
        let img = RgbImage::from_fn(2, 1, |x, _| {
            if x == 0 {
                Rgb([90, 90, 90])
            } else {
                Rgb([200, 60, 60])
            }
        });
        let out = apply(&img, &[], Shift::Hue(120.0), 0, 0).image;
        assert_eq!(*out.get_pixel(0, 0), Rgb([90, 90, 90]));
        // Red turned by 120° becomes green.
        assert_eq!(*out.get_pixel(1, 0), Rgb([60, 200, 60]));
        let back = apply(&out, &[], Shift::Hue(-120.0), 0, 0).image;
        assert_eq!(*back.get_pixel(1, 0), Rgb([200, 60, 60]));
    }

    #[test]
    fn casts_and_brightness_change_colours_not_boxes() {
        let truth = [b(10, 10, 20, 20)];
        let y = apply(&field(), &truth, Shift::Cast(Cast::Yellow), 0, 0);
        assert_eq!(y.truth, truth);
        assert!(y.image.get_pixel(30, 30)[2] < field().get_pixel(30, 30)[2]);
        let bright = apply(&field(), &truth, Shift::Brightness(1.3), 0, 0).image;
        assert_eq!(bright.get_pixel(10, 10)[2], 166);
        assert_eq!(bright.get_pixel(60, 0)[0], 255, "clipped like a camera");
    }

    #[test]
    fn scaling_up_enlarges_the_centre_and_moves_boxes() {
        let truth = [b(24, 18, 40, 30), b(0, 0, 8, 8)];
        let out = apply(&field(), &truth, Shift::Scale(2.0), 0, 0);
        assert_eq!(out.image.dimensions(), (64, 48));
        // The centre 32x24 (from 16,12) fills the frame: (24,18) -> (16,12).
        assert_eq!(out.truth, [b(16, 12, 48, 36)]);
        assert!(
            out.ignore.is_empty(),
            "the corner box left the frame entirely"
        );
        let cut = apply(&field(), &[b(10, 10, 20, 20)], Shift::Scale(2.0), 0, 0);
        assert!(cut.truth.is_empty());
        assert_eq!(cut.ignore, [b(0, 0, 8, 16)]);
    }

    #[test]
    fn scaling_down_centres_the_field_on_its_median() {
        let truth = [b(0, 0, 32, 24)];
        let out = apply(&field(), &truth, Shift::Scale(0.5), 0, 0);
        assert_eq!(out.truth, [b(16, 12, 32, 24)]);
        assert_eq!(*out.image.get_pixel(0, 0), median_colour(&field()));
    }

    #[test]
    fn mixed_is_seeded() {
        let truth = [b(20, 20, 40, 40)];
        let a = apply(&field(), &truth, Shift::Mixed, 7, 3);
        let again = apply(&field(), &truth, Shift::Mixed, 7, 3);
        assert_eq!(a.image, again.image);
        assert_eq!(a.truth, again.truth);
        let other = apply(&field(), &truth, Shift::Mixed, 8, 3);
        assert_ne!(a.image, other.image);
    }
}
