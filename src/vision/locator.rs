//! White-cell locator for Romanowsky-stained (Wright, Giemsa, Leishman) blood smears.
//!
//! In such smears the white cells' nuclei are dark purple-blue while red cells are pale
//! pink and the background is light. The locator:
//!
//! 1. shrinks the field by an integer factor to about [`LocatorParams::work_width`] pixels
//!    wide (box average), for speed and resolution independence; the adaptive locator, in a
//!    session whose red cells are small (a weaker objective), shrinks less, so they keep the
//!    working size its limits were tuned at;
//! 2. estimates the background / red-cell colour as the field's per-channel median and
//!    normalises against it, which cancels the camera's white balance and exposure (a
//!    nearly black background, such as a capped lens, gives no candidates);
//! 3. thresholds the nucleus-ness `B/B_bg - R/R_bg` (blue gained, red lost relative to the
//!    surroundings);
//! 4. closes then opens the mask (3x3) and labels its connected components;
//! 5. drops specks, groups nearby fragments (the separate lobes of a neutrophil), and
//!    filters the groups by size and shape (the adaptive locator, once the session has
//!    measured whole round red cells, also drops groups much smaller than one: giant
//!    platelets);
//! 6. grows each nucleus box by a margin to cover the whole cell (in a picture that is
//!    already a crop, the adaptive locator measures the cytoplasm instead).
//!
//! It is a pure function: no I/O, no clock, no global state.

use image::RgbImage;

use super::PixelBox;
use super::bulk;
use super::components::{components, group_nearby};
use super::cytoplasm::{Extent, cell_extent};
use super::morphology::Mask;
use super::own_threshold;
use super::params::LocatorParams;
use super::round_ruler::round_cell_diameter;
use super::ruler::red_cell_diameter;
use super::session::Norms;

/// One candidate white cell.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Candidate {
    /// The whole cell (nucleus plus cytoplasm margin), in input image pixels.
    pub cell: PixelBox,
    /// The grouped nucleus, in input image pixels.
    pub nucleus: PixelBox,
    /// Mean nucleus-ness of the nucleus pixels (unitless; higher = stronger stain contrast,
    /// always above the threshold used: [`LocatorParams::nucleus_threshold`], or for a
    /// tight crop the picture's own).
    pub score: f32,
    /// The nucleus touches the image border, so the cell is probably cut off (such cells
    /// are often left unannotated in datasets; the daemon may prefer a whole cell).
    pub at_border: bool,
}

/// The shrunken working copy: the three channels as floats, plus the shrink factor.
struct Working {
    width: usize,
    height: usize,
    factor: u32,
    red: Vec<f32>,
    green: Vec<f32>,
    blue: Vec<f32>,
}

/// The integer shrink factor that makes an image `width` pixels wide about `work_width`.
fn width_factor(width: u32, work_width: u32) -> u32 {
    ((width as f32 / work_width.max(1) as f32).round() as u32).max(1)
}

/// The shrink factor for a camera field in a session whose red cells measure `red_cell_px`
/// picture pixels: the width's factor, or a finer one where the red cells are small (a
/// weaker objective), so that they stay about `params.red_cell_diameter` working pixels, the
/// size the locator's limits were tuned at. Rescaling the limits down instead leaves the
/// ruler and the nuclei only a few working pixels across, too coarse to measure (at half
/// magnification the ruler read 4.7 working pixels for a true 4, and 17% of the sizes went
/// wrong with it). Never coarser than the width's factor: fields at a stronger objective are
/// searched as before, at [`LocatorParams::work_width`].
fn ruler_factor(width: u32, red_cell_px: f32, params: &LocatorParams) -> u32 {
    let by_width = width_factor(width, params.work_width);
    let by_ruler = (red_cell_px / params.red_cell_diameter).ceil();
    if !by_ruler.is_finite() {
        return by_width;
    }
    (by_ruler as u32).clamp(1, by_width)
}

/// Every `step`-th pixel of every `step`-th row of a channel `width` pixels wide.
fn every_nth(channel: &[f32], width: usize, step: usize) -> Vec<f32> {
    let step = step.max(1);
    let rows = channel.chunks_exact(width.max(1)).step_by(step);
    let mut out = Vec::with_capacity(rows.len() * width.div_ceil(step));
    for row in rows {
        out.extend(row.iter().step_by(step).copied());
    }
    out
}

/// Most source rows [`shrink`] adds up in 16 bits: 257 x 255 is the largest sum that fits.
const ROWS_PER_SUM: usize = (u16::MAX / 255) as usize;

/// Adds each block of `K` pixels of `row` (RGB, summed down the rows) into one of `sums`.
/// The common factors get their own copy, with the block's length known, which unrolls
/// (a third of the shrink's time at factor 2).
fn add_blocks<const K: usize>(sums: &mut [[u32; 3]], row: &[u16]) {
    for (sum, block) in sums.iter_mut().zip(row.chunks_exact(K * 3)) {
        for px in block.chunks_exact(3) {
            sum[0] += u32::from(px[0]);
            sum[1] += u32::from(px[1]);
            sum[2] += u32::from(px[2]);
        }
    }
}

/// [`add_blocks`] for any block length `k`.
fn add_blocks_of(k: usize, sums: &mut [[u32; 3]], row: &[u16]) {
    for (sum, block) in sums.iter_mut().zip(row.chunks_exact(k * 3)) {
        for px in block.chunks_exact(3) {
            sum[0] += u32::from(px[0]);
            sum[1] += u32::from(px[1]);
            sum[2] += u32::from(px[2]);
        }
    }
}

/// Box-averages `image` by an integer `factor`.
fn shrink(image: &RgbImage, factor: u32) -> Working {
    let (w, h) = image.dimensions();
    let factor = factor.max(1);
    let (ww, wh) = ((w / factor) as usize, (h / factor) as usize);
    let mut out = Working {
        width: ww,
        height: wh,
        factor,
        red: vec![0.0; ww * wh],
        green: vec![0.0; ww * wh],
        blue: vec![0.0; ww * wh],
    };
    let raw = image.as_raw();
    let k = factor as usize;
    let stride = w as usize * 3;
    let used = ww * k * 3;
    // Each output row sums its k source rows first, byte by byte along the row (which
    // vectorises; 16 bits hold the sum of `ROWS_PER_SUM` rows), then each block of k
    // pixels of that sum.
    let mut acc = vec![0u16; used];
    let mut sums = vec![[0u32; 3]; ww];
    let norm = 1.0 / (k * k) as f32;
    for wy in 0..wh {
        sums.iter_mut().for_each(|v| *v = [0; 3]);
        let rows = wy * k..(wy + 1) * k;
        for first in rows.clone().step_by(ROWS_PER_SUM) {
            acc.iter_mut().for_each(|v| *v = 0);
            for sy in first..(first + ROWS_PER_SUM).min(rows.end) {
                let row = &raw[sy * stride..sy * stride + used];
                for (a, &v) in acc.iter_mut().zip(row) {
                    *a += u16::from(v);
                }
            }
            match k {
                1 => add_blocks::<1>(&mut sums, &acc),
                2 => add_blocks::<2>(&mut sums, &acc),
                3 => add_blocks::<3>(&mut sums, &acc),
                4 => add_blocks::<4>(&mut sums, &acc),
                _ => add_blocks_of(k, &mut sums, &acc),
            }
        }
        let i = wy * ww;
        for (x, sum) in sums.iter().enumerate() {
            out.red[i + x] = sum[0] as f32 * norm;
            out.green[i + x] = sum[1] as f32 * norm;
            out.blue[i + x] = sum[2] as f32 * norm;
        }
    }
    out
}

/// What the locator saw in a picture.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Sighting {
    /// Candidate white cells, strongest stain contrast first.
    pub candidates: Vec<Candidate>,
    /// Typical red-cell diameter in picture pixels (the frame's ruler), when measured.
    pub red_cell_px: Option<f32>,
    /// Diameter of the whole, round red cells in picture pixels
    /// ([`super::round_ruler`]), when the adaptive locator found enough of them in a field.
    pub round_red_cell_px: Option<f32>,
    /// The red cells' saturation against the reference, when the adaptive locator measured
    /// it on this frame.
    pub saturation: Option<f32>,
    /// The red cells' hue in degrees (0 red, 120 green, 240 blue), when the adaptive
    /// locator measured it on this frame and trusted it.
    pub red_cell_hue: Option<f32>,
    /// The background colour (the bright bulk of the picture), RGB.
    pub background: [u8; 3],
}

impl Sighting {
    /// What this frame measured of the microscope, for [`super::SessionNorms::observe`].
    pub fn measured(&self) -> Norms {
        Norms {
            red_cell_px: self.red_cell_px,
            round_red_cell_px: self.round_red_cell_px,
            saturation: self.saturation,
            red_cell_hue: self.red_cell_hue,
        }
    }
}

/// Finds candidate white cells in a whole field, strongest stain contrast first.
///
/// `params` should have passed [`LocatorParams::validate`]; out-of-range values are not
/// rejected here but may give useless results. An empty or tiny image gives no candidates.
pub fn locate(image: &RgbImage, params: &LocatorParams) -> Vec<Candidate> {
    locate_detailed(image, params).candidates
}

/// [`locate`], with the frame's measurements (red-cell ruler, background colour).
pub fn locate_detailed(image: &RgbImage, params: &LocatorParams) -> Sighting {
    locate_with(image, params, Kind::Field, Norms::default())
}

/// [`locate_detailed`] in a session: the adaptive locator scales sizes by the session's
/// ruler and the stain by its saturation ([`super::session`]) where `norms` has them,
/// instead of by the frame's own noisier measurements (still reported in the sighting).
pub fn locate_in_session(image: &RgbImage, params: &LocatorParams, norms: Norms) -> Sighting {
    locate_with(image, params, Kind::Field, norms)
}

/// The adaptive locator for a picture that is already a crop (an upload, a dataset image):
/// as for a field, except that each cell's box is its measured cytoplasm rather than the
/// nucleus grown by [`LocatorParams::cell_margin`].
pub fn locate_crop(image: &RgbImage, params: &LocatorParams) -> Sighting {
    let params = LocatorParams {
        adaptive: true,
        ..params.clone()
    };
    locate_with(image, &params, Kind::Crop, Norms::default())
}

/// The adaptive locator for a picture that is already a tight crop, where the cell fills
/// most of it: the "red cells" of the bulk are then mostly the cell's own cytoplasm, so
/// their saturation is not the stain's (it is taken as the reference's), and a nucleus is
/// what stands out of the picture's own nucleus-ness values (their Otsu split, at least
/// [`MIN_CROP_THRESHOLD`]) rather than a fixed distance out of a field's bulk, and is dark
/// ([`MIN_CROP_NUCLEUS_DARKNESS`]).
pub fn locate_tight_crop(image: &RgbImage, params: &LocatorParams) -> Sighting {
    let params = LocatorParams {
        adaptive: true,
        ..params.clone()
    };
    locate_with(image, &params, Kind::TightCrop, Norms::default())
}

/// Lowest nucleus-ness threshold [`locate_tight_crop`] takes from a picture's own values, so
/// a flat picture still gives nothing.
pub const MIN_CROP_THRESHOLD: f32 = 0.1;
/// Darkness a nucleus pixel of a tight crop has at least: against a yellow background a
/// pink red cell also leans towards the nuclear stain, but nuclei are the darkest things
/// on a slide (0.5–0.7 on the Jiangxi crops, red cells about 0.2).
pub const MIN_CROP_NUCLEUS_DARKNESS: f32 = 0.3;

/// Adaptive locator: red-cell regions of fewer pixels than this, at the width's resolution
/// ([`LocatorParams::work_width`]), are not measured by the round-cell ruler (a red cell at
/// a quarter of BCCD's magnification still covers about 30).
pub const MIN_RED_CELL_AREA: usize = 16;

/// Adaptive locator: a fragment with less than this share of a neighbour's area joins it
/// only when their boxes touch. A lobe of a five-lobed neutrophil has a quarter of the
/// other four's area; a platelet beside a nucleus has a few hundredths, and the adaptive
/// feature, which also weighs the green the nuclear stain absorbs, draws platelets large
/// enough to pass `min_fragment_area` (grouped into the nucleus, they stretched its box past
/// the cell's on 3 of 372 BCCD cells).
pub const MIN_LOBE_SHARE: f32 = 0.2;

/// What is searched, which decides where the nucleus-ness threshold comes from and how a
/// cell's box is found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A camera field: [`LocatorParams::nucleus_threshold`]; the box is the nucleus grown by
    /// [`LocatorParams::cell_margin`]. In a field, red cells crowd the white cell and its
    /// pale cytoplasm fades into them; measuring it undershot the annotated boxes (BCCD
    /// recall 90.9% measured against 97.0% with the margin, same nuclei).
    Field,
    /// A loose crop: the same threshold; the adaptive locator measures the cytoplasm
    /// (against the expert masks it frames the cell better than a fixed margin).
    Crop,
    /// A tight crop: the picture's own values set the threshold; cytoplasm measured.
    TightCrop,
}

fn locate_with(image: &RgbImage, params: &LocatorParams, kind: Kind, norms: Norms) -> Sighting {
    let (img_w, img_h) = image.dimensions();
    let factor = match norms.red_cell_px {
        Some(px) if params.adaptive && kind == Kind::Field => ruler_factor(img_w, px, params),
        _ => width_factor(img_w, params.work_width),
    };
    let work = shrink(image, factor);
    let mut seen = Sighting {
        candidates: Vec::new(),
        red_cell_px: None,
        round_red_cell_px: None,
        saturation: None,
        red_cell_hue: None,
        background: [0; 3],
    };
    if work.width == 0 || work.height == 0 {
        return seen;
    }
    let mut bulk = if params.adaptive {
        // The bulk's statistics need no more pixels than the width's factor gives: a
        // finer working copy (a weaker objective) is sampled back to about that many, so
        // it does not pay four times for the same medians.
        let step = (width_factor(img_w, params.work_width) / factor).max(1) as usize;
        if step > 1 {
            let pick = |chan: &[f32]| every_nth(chan, work.width, step);
            bulk::measure(&pick(&work.red), &pick(&work.green), &pick(&work.blue))
        } else {
            bulk::measure(&work.red, &work.green, &work.blue)
        }
    } else {
        bulk::fixed(&work.red, &work.green, &work.blue)
    };
    let trusted = params.adaptive && bulk.saturation_measured;
    seen.saturation = trusted.then_some(bulk.saturation);
    seen.red_cell_hue = trusted.then_some(bulk.red_cell_hue);
    if kind == Kind::TightCrop {
        bulk.saturation = 1.0;
    } else if params.adaptive {
        if let Some(s) = norms.saturation {
            bulk.saturation = s.clamp(bulk::SATURATION_RANGE.0, bulk::SATURATION_RANGE.1);
        }
        if let Some(h) = norms.red_cell_hue {
            bulk.turn_to(h);
        }
    }
    log::trace!("locator bulk: {bulk:?}");
    seen.background = bulk.background.map(|v| v.round().clamp(0.0, 255.0) as u8);
    let brightest = bulk.background.iter().copied().fold(0.0, f32::max);
    if brightest < f32::from(params.min_background) {
        return seen;
    }

    let n = work.width * work.height;
    let (red, green, blue) = (&work.red[..n], &work.green[..n], &work.blue[..n]);
    let weights = bulk.weights();
    let strength: Vec<f32> = red
        .iter()
        .zip(green)
        .zip(blue)
        .map(|((&r, &g), &b)| weights.nucleus_ness(r, g, b))
        .collect();
    let threshold = match kind {
        Kind::Field | Kind::Crop => params.nucleus_threshold,
        Kind::TightCrop => match own_threshold::otsu(&strength) {
            Some(t) => t.max(MIN_CROP_THRESHOLD),
            None => return seen,
        },
    };
    let mut nuclei = Mask::new(work.width, work.height);
    let mut foreground = Mask::new(work.width, work.height);
    let mut red_cells = Mask::new(work.width, work.height);
    let min_nucleus_darkness = match kind {
        Kind::Field | Kind::Crop => f32::NEG_INFINITY,
        Kind::TightCrop => MIN_CROP_NUCLEUS_DARKNESS,
    };
    let measure_cytoplasm = params.adaptive && kind != Kind::Field;
    let darkness = |i: usize| weights.darkness(red[i], green[i], blue[i]);
    let nuclei_px = &mut nuclei.as_mut_slice()[..n];
    for (i, (px, &s)) in nuclei_px.iter_mut().zip(&strength).enumerate() {
        *px = u8::from(s > threshold && darkness(i) >= min_nucleus_darkness);
    }
    if params.adaptive {
        let red_cell_px = &mut red_cells.as_mut_slice()[..n];
        let dark = |i: usize| darkness(i) > bulk.foreground_darkness;
        for (i, (px, &s)) in red_cell_px.iter_mut().zip(&strength).enumerate() {
            *px = u8::from(dark(i) && s < 0.5 * threshold);
        }
        if measure_cytoplasm {
            let foreground_px = &mut foreground.as_mut_slice()[..n];
            for (i, (px, &s)) in foreground_px.iter_mut().zip(&strength).enumerate() {
                *px = u8::from(dark(i) || s > threshold);
            }
        }
    }
    let mut scratch = Vec::new();
    nuclei.close(&mut scratch);
    nuclei.open(&mut scratch);
    red_cells.close(&mut scratch);
    if measure_cytoplasm {
        foreground.close(&mut scratch);
    }

    // Sizes follow the frame's ruler: the red cells' diameter against the one the
    // defaults were tuned with.
    let ruler = if params.adaptive {
        red_cell_diameter(&red_cells)
    } else {
        None
    };
    seen.red_cell_px = ruler.map(|d| d * work.factor as f32);
    let ruler = match norms.red_cell_px {
        Some(px) if params.adaptive => Some(px / work.factor as f32),
        _ => ruler,
    };
    let q = ruler.map_or(1.0, |d| (d / params.red_cell_diameter).clamp(0.4, 2.5));
    let min_fragment = (params.min_fragment_area as f32 * q * q).round() as usize;
    let mut min_nucleus = (params.min_nucleus_area as f32 * q * q).round() as usize;
    if params.adaptive && kind == Kind::Field {
        // Red cells under this many pixels at the width's resolution are specks, however
        // fine the working copy is (a finer copy sees more of them, which would pull the
        // ruler down).
        let finer = width_factor(img_w, params.work_width) as f32 / work.factor as f32;
        let min_area = (MIN_RED_CELL_AREA as f32 * finer * finer).round() as usize;
        seen.round_red_cell_px =
            round_cell_diameter(&red_cells, &nuclei, min_area).map(|d| d * work.factor as f32);
        // Only the session's value sets the floor: one frame's reading scatters too much
        // for a limit this close to the smallest nuclei.
        if let Some(px) = norms.round_red_cell_px {
            let d = px / work.factor as f32;
            let red_cell_area = std::f32::consts::FRAC_PI_4 * d * d;
            let floor = (params.min_nucleus_red_cells * red_cell_area).round() as usize;
            min_nucleus = min_nucleus.max(floor);
        }
    }
    let merge_gap = (params.merge_gap as f32 * q).round() as usize;

    let fragments: Vec<_> = components(&nuclei, &strength, &mut Vec::new())
        .into_iter()
        .filter(|c| c.area >= min_fragment.max(1))
        .collect();
    // Platelets and stain specks beside a nucleus are kept out of it; the fixed locator's
    // weaker feature leaves them under `min_fragment` and keeps its former grouping.
    let min_share = if params.adaptive { MIN_LOBE_SHARE } else { 0.0 };
    let groups = group_nearby(fragments, merge_gap, min_share);

    let max_area = params.max_nucleus_fraction * n as f32;
    let k = work.factor as f32;
    let mut out: Vec<Candidate> = groups
        .into_iter()
        .filter(|g| g.area >= min_nucleus.max(1) && g.area as f32 <= max_area)
        .filter(|g| {
            let (long, short) = (g.width().max(g.height()), g.width().min(g.height()));
            long as f32 <= params.max_aspect * short as f32
        })
        .map(|g| {
            let to_px = |v: f32, hi: u32| (v * k).round().clamp(0.0, hi as f32) as u32;
            let nucleus = PixelBox {
                x0: to_px(g.x0 as f32, img_w),
                y0: to_px(g.y0 as f32, img_h),
                x1: to_px(g.x1 as f32, img_w),
                y1: to_px(g.y1 as f32, img_h),
            };
            let long = g.width().max(g.height()) as f32;
            let core = Extent {
                x0: g.x0 as f32,
                y0: g.y0 as f32,
                x1: g.x1 as f32,
                y1: g.y1 as f32,
            };
            let e = if measure_cytoplasm {
                cell_extent(&foreground, core, params.max_cytoplasm * long)
            } else {
                let grow = params.cell_margin * long;
                Extent {
                    x0: core.x0 - grow,
                    y0: core.y0 - grow,
                    x1: core.x1 + grow,
                    y1: core.y1 + grow,
                }
            };
            let cell = PixelBox {
                x0: to_px(e.x0, img_w).min(nucleus.x0),
                y0: to_px(e.y0, img_h).min(nucleus.y0),
                x1: to_px(e.x1, img_w).max(nucleus.x1),
                y1: to_px(e.y1, img_h).max(nucleus.y1),
            };
            let at_border = g.x0 == 0 || g.y0 == 0 || g.x1 >= work.width || g.y1 >= work.height;
            Candidate {
                cell,
                nucleus,
                score: g.weight / g.area as f32,
                at_border,
            }
        })
        .collect();
    if params.adaptive {
        drop_nested(&mut out);
    }
    out.sort_by(|a, b| b.score.total_cmp(&a.score));
    seen.candidates = out;
    seen
}

/// Drops every candidate whose nucleus lies inside the cell of a candidate with a larger
/// nucleus: a white cell has one nucleus, and what stands out inside its box is its own
/// granules or a lobe that [`MIN_LOBE_SHARE`] kept apart, not a second cell (a cluster of a
/// neutrophil's granules outscored its nucleus and was chosen as the cell).
fn drop_nested(candidates: &mut Vec<Candidate>) {
    candidates.sort_by_key(|c| std::cmp::Reverse(c.nucleus.area()));
    // Kept candidates are moved to the front, in order; no second list per frame.
    let mut kept = 0;
    for i in 0..candidates.len() {
        let nucleus = candidates[i].nucleus;
        if !candidates[..kept].iter().any(|k| k.cell.holds(&nucleus)) {
            candidates.swap(kept, i);
            kept += 1;
        }
    }
    candidates.truncate(kept);
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;

    /// A synthetic field: pale background, pink "red cells", and purple discs as nuclei.
    fn field(white_balance: [f32; 3], nuclei: &[(i32, i32, i32)]) -> RgbImage {
        let mut img = RgbImage::from_fn(640, 480, |x, y| {
            let rbc = ((x / 90) + (y / 90)) % 2 == 0
                && ((x % 90) as i32 - 45).pow(2) + ((y % 90) as i32 - 45).pow(2) < 35 * 35;
            if rbc {
                Rgb([215, 150, 160])
            } else {
                Rgb([225, 215, 220])
            }
        });
        for &(cx, cy, r) in nuclei {
            for y in (cy - r).max(0)..(cy + r).min(480) {
                for x in (cx - r).max(0)..(cx + r).min(640) {
                    if (x - cx).pow(2) + (y - cy).pow(2) < r * r {
                        img.put_pixel(x as u32, y as u32, Rgb([120, 90, 200]));
                    }
                }
            }
        }
        for p in img.pixels_mut() {
            for c in 0..3 {
                p[c] = (p[c] as f32 * white_balance[c]).clamp(0.0, 255.0) as u8;
            }
        }
        img
    }

    fn contains(b: &PixelBox, x: u32, y: u32) -> bool {
        (b.x0..b.x1).contains(&x) && (b.y0..b.y1).contains(&y)
    }

    #[test]
    fn finds_one_nucleus_and_grows_it_to_a_cell() {
        let c = locate(&field([1.0; 3], &[(300, 200, 50)]), &fixed());
        assert_eq!(c.len(), 1, "{c:?}");
        assert!(contains(&c[0].nucleus, 300, 200));
        assert!(c[0].cell.width() > c[0].nucleus.width());
        assert!(
            (90..=140).contains(&c[0].nucleus.width()),
            "{:?}",
            c[0].nucleus
        );
        assert!(c[0].score > fixed().nucleus_threshold);
    }

    #[test]
    fn robust_to_white_balance() {
        for wb in [[1.1, 1.0, 0.75], [0.7, 0.9, 1.15], [0.6, 0.6, 0.6]] {
            let c = locate(&field(wb, &[(300, 200, 50)]), &fixed());
            assert_eq!(c.len(), 1, "white balance {wb:?}: {c:?}");
        }
    }

    #[test]
    fn lobes_are_grouped_into_one_cell_and_far_cells_stay_apart() {
        // Three lobes 30 px apart (one neutrophil) and a lymphocyte far away.
        let img = field(
            [1.0; 3],
            &[
                (200, 200, 22),
                (255, 190, 22),
                (228, 245, 22),
                (520, 380, 45),
            ],
        );
        let c = locate(&img, &fixed());
        assert_eq!(c.len(), 2, "{c:?}");
        let neutrophil = c.iter().find(|c| contains(&c.nucleus, 228, 200)).unwrap();
        assert!(contains(&neutrophil.nucleus, 200, 200) && contains(&neutrophil.nucleus, 255, 190));
    }

    #[test]
    fn empty_field_and_specks_give_nothing() {
        let p = fixed();
        assert!(locate(&field([1.0; 3], &[]), &p).is_empty());
        assert!(locate(&field([1.0; 3], &[(100, 100, 6), (400, 300, 8)]), &p).is_empty());
        assert!(locate(&RgbImage::new(0, 0), &p).is_empty());
        assert!(locate(&RgbImage::new(3, 2), &p).is_empty());
    }

    #[test]
    fn dark_noisy_field_gives_nothing() {
        // A capped lens: near-black with sensor noise, where ratios to the background
        // would otherwise blow small blue speckles up into "nuclei".
        let img = RgbImage::from_fn(640, 480, |x, y| {
            let n = ((x * 31 + y * 17) % 7) as u8;
            let blob = (100..200).contains(&x) && (100..200).contains(&y);
            Rgb([2 + n, 2 + n, if blob { 12 } else { 3 + n }])
        });
        assert!(locate(&img, &fixed()).is_empty());
        let p = LocatorParams {
            min_background: 0,
            ..Default::default()
        };
        assert!(
            !locate(&img, &p).is_empty(),
            "the guard, not luck, rejects it"
        );
    }

    #[test]
    fn cell_box_is_clipped_at_the_border() {
        let c = locate(&field([1.0; 3], &[(20, 460, 50)]), &fixed());
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].cell.x0, 0);
        assert_eq!(c[0].cell.y1, 480);
        assert!(c[0].at_border);
        let inside = locate(&field([1.0; 3], &[(300, 200, 50)]), &fixed());
        assert!(!inside[0].at_border);
    }

    /// A `width` x `height` picture of one round cell in its middle: `colours` are the
    /// nucleus (radius `nucleus_r`), the cytoplasm (radius `cell_r`, 0 for none) and the
    /// background.
    fn concentric(
        size: (u32, u32),
        nucleus_r: i32,
        cell_r: i32,
        colours: [[u8; 3]; 3],
    ) -> RgbImage {
        let (cx, cy) = (size.0 as i32 / 2, size.1 as i32 / 2);
        RgbImage::from_fn(size.0, size.1, |x, y| {
            let d2 = (x as i32 - cx).pow(2) + (y as i32 - cy).pow(2);
            Rgb(if d2 < nucleus_r * nucleus_r {
                colours[0]
            } else if d2 < cell_r * cell_r {
                colours[1]
            } else {
                colours[2]
            })
        })
    }

    /// A pale field with one cell: a nucleus of radius `nucleus_r` in a cytoplasm of
    /// radius `cell_r` (0 for none), centred at (320, 240), and no red cells.
    fn lone_cell(nucleus_r: i32, cell_r: i32) -> RgbImage {
        let colours = [[120, 90, 200], [190, 170, 195], [225, 215, 220]];
        concentric((640, 480), nucleus_r, cell_r, colours)
    }

    /// A session that has measured only its red cells, `px` picture pixels across.
    fn ruler(px: f32) -> Norms {
        Norms {
            red_cell_px: Some(px),
            ..Norms::default()
        }
    }

    /// The fixed locator tuned on BCCD fields (`adaptive = false`).
    fn fixed() -> LocatorParams {
        LocatorParams {
            adaptive: false,
            ..Default::default()
        }
    }

    fn adaptive() -> LocatorParams {
        LocatorParams {
            adaptive: true,
            ..Default::default()
        }
    }

    #[test]
    fn in_a_field_the_box_is_the_margin_and_in_a_crop_the_measured_cytoplasm() {
        let p = adaptive();
        let img = lone_cell(40, 76);
        let field = locate_detailed(&img, &p).candidates;
        let crop = locate_crop(&img, &p).candidates;
        assert_eq!((field.len(), crop.len()), (1, 1), "{field:?} {crop:?}");
        let n = field[0].nucleus.width() as f32;
        let grown = n * (1.0 + 2.0 * p.cell_margin);
        assert!(
            (field[0].cell.width() as f32 - grown).abs() <= 8.0,
            "field box {:?}, nucleus {n}",
            field[0].cell
        );
        assert!(
            (crop[0].cell.width() as i32 - 152).abs() <= 12,
            "crop box {:?} should reach the cytoplasm (152 px)",
            crop[0].cell
        );
    }

    #[test]
    fn a_session_ruler_finds_small_cells_the_frame_alone_cannot_size() {
        // Half the magnification: a nucleus of radius 20 is under the reference's smallest
        // nucleus, and the frame has no red cells to measure.
        let p = adaptive();
        let img = lone_cell(20, 0);
        assert!(locate_detailed(&img, &p).candidates.is_empty());
        let half = ruler(16.0);
        let c = locate_in_session(&img, &p, half).candidates;
        assert_eq!(c.len(), 1, "{c:?}");
        assert!(contains(&c[0].nucleus, 320, 240));
        // The fixed locator ignores the session.
        assert!(
            locate_in_session(&img, &fixed(), half)
                .candidates
                .is_empty()
        );
    }

    #[test]
    fn small_red_cells_make_the_working_copy_finer_never_coarser() {
        let p = adaptive();
        assert_eq!(
            ruler_factor(640, 32.0, &p),
            4,
            "the tuned size: as by width"
        );
        assert_eq!(
            ruler_factor(640, 48.0, &p),
            4,
            "never coarser than by width"
        );
        assert_eq!(ruler_factor(640, 16.0, &p), 2);
        assert_eq!(ruler_factor(640, 18.7, &p), 3);
        assert_eq!(ruler_factor(640, 3.0, &p), 1);
        assert_eq!(ruler_factor(640, f32::NAN, &p), 4);
        assert_eq!(
            ruler_factor(1920, 96.0, &p),
            12,
            "another camera, same objective"
        );
    }

    #[test]
    fn a_blob_much_smaller_than_the_session_s_red_cells_is_no_nucleus() {
        // Whole round red cells 100 px across (25 working pixels, a disc of 491). A nucleus
        // of radius 50 covers about one red cell; a giant platelet of radius 28 covers 0.31
        // of one, though it is larger than `min_nucleus_area`.
        let p = adaptive();
        let mut img = lone_cell(0, 0);
        for (cx, cy, r) in [(180i32, 240i32, 50i32), (460, 240, 28)] {
            for y in cy - r..cy + r {
                for x in cx - r..cx + r {
                    if (x - cx).pow(2) + (y - cy).pow(2) < r * r {
                        img.put_pixel(x as u32, y as u32, Rgb([120, 90, 200]));
                    }
                }
            }
        }
        let measured = Norms {
            round_red_cell_px: Some(100.0),
            ..Norms::default()
        };
        let found = locate_in_session(&img, &p, measured).candidates;
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(contains(&found[0].nucleus, 180, 240));
        // The floor is what drops it: with it off, or before the session has measured
        // round red cells, or on the fixed locator, both are found.
        let off = LocatorParams {
            min_nucleus_red_cells: 0.0,
            ..adaptive()
        };
        assert_eq!(locate_in_session(&img, &off, measured).candidates.len(), 2);
        assert_eq!(locate_detailed(&img, &p).candidates.len(), 2);
        let fixed = fixed();
        assert_eq!(
            locate_in_session(&img, &fixed, measured).candidates.len(),
            2
        );
    }

    #[test]
    fn a_quarter_magnification_nucleus_is_found_at_a_finer_resolution() {
        // Red cells 8 px across: a nucleus of radius 8 is 4 working pixels wide at the
        // width's factor, which the opening and the size limit remove; at the ruler's
        // factor (1) it has its tuned size.
        let p = adaptive();
        let img = lone_cell(8, 0);
        let coarse = ruler(32.0);
        assert!(locate_in_session(&img, &p, coarse).candidates.is_empty());
        let quarter = ruler(8.0);
        let c = locate_in_session(&img, &p, quarter).candidates;
        assert_eq!(c.len(), 1, "{c:?}");
        assert!(contains(&c[0].nucleus, 320, 240));
        assert!(
            (14..=20).contains(&c[0].nucleus.width()),
            "{:?}",
            c[0].nucleus
        );
    }

    #[test]
    fn a_session_saturation_lifts_a_washed_out_stain() {
        let p = adaptive();
        // A faint nucleus: nucleus-ness about 0.15, under the 0.25 threshold.
        let faint = [[190, 170, 220], [0; 3], [225, 215, 220]];
        let img = concentric((640, 480), 50, 0, faint);
        assert!(locate_detailed(&img, &p).candidates.is_empty());
        let washed = Norms {
            saturation: Some(0.5),
            ..Norms::default()
        };
        assert_eq!(locate_in_session(&img, &p, washed).candidates.len(), 1);
    }

    #[test]
    fn a_session_hue_turns_the_nuclear_stain_with_the_red_cells() {
        // A stain whose red cells sit 60° from the default hue, towards orange (no red
        // cells in this frame to measure it), with a nucleus along that stain's nuclear
        // direction: nucleus-ness 0.42 along it, half that along the default direction and
        // less along the fixed locator's, under the 0.25 threshold.
        let p = adaptive();
        let hue = bulk::DEFAULT_RED_CELL_HUE + 60.0;
        let dir = bulk::hue_vector(hue + bulk::NUCLEUS_TURN_DEG);
        let bg = [225.0f32, 215.0, 220.0];
        let rgb = |i: usize| (bg[i] * (0.7 + 0.3 * dir[i])).round() as u8;
        let nucleus = [rgb(0), rgb(1), rgb(2)];
        let img = concentric((640, 480), 50, 0, [nucleus, [0; 3], bg.map(|v| v as u8)]);
        assert!(locate_detailed(&img, &p).candidates.is_empty());
        let stained = Norms {
            red_cell_hue: Some(hue),
            ..Norms::default()
        };
        let c = locate_in_session(&img, &p, stained).candidates;
        assert_eq!(c.len(), 1, "{c:?}");
        assert!(contains(&c[0].nucleus, 320, 240));
        assert!(
            locate_in_session(&img, &fixed(), stained)
                .candidates
                .is_empty(),
            "the fixed locator ignores the session"
        );
    }

    #[test]
    fn a_platelet_beside_a_nucleus_stays_out_of_its_box() {
        // A nucleus of radius 40 and a platelet of radius 10 whose edge is 16 px from it:
        // near enough to group (4 working pixels), a sixteenth of the nucleus's area.
        let mut img = lone_cell(40, 0);
        for y in 230..=250u32 {
            for x in 376..=396u32 {
                if (x as i32 - 386).pow(2) + (y as i32 - 240).pow(2) <= 100 {
                    img.put_pixel(x, y, Rgb([120, 90, 200]));
                }
            }
        }
        let adaptive = locate(&img, &adaptive());
        assert_eq!(adaptive.len(), 1, "{adaptive:?}");
        assert!(adaptive[0].nucleus.x1 <= 364, "{:?}", adaptive[0].nucleus);
        let fixed = locate(&img, &fixed());
        assert_eq!(fixed.len(), 1, "{fixed:?}");
        assert!(
            fixed[0].nucleus.x1 >= 390,
            "the fixed locator groups by the gap alone: {:?}",
            fixed[0].nucleus
        );
    }

    #[test]
    fn a_nucleus_inside_a_larger_cell_is_that_cell_s_own() {
        let b = |x0, y0, x1, y1| PixelBox { x0, y0, x1, y1 };
        let cand = |cell, nucleus, score| Candidate {
            cell,
            nucleus,
            score,
            at_border: false,
        };
        let cell = cand(b(0, 0, 100, 100), b(20, 20, 80, 80), 0.4);
        // A cluster of granules inside the cell, stained more strongly than the nucleus.
        let granules = cand(b(82, 40, 98, 56), b(85, 43, 95, 53), 0.6);
        let neighbour = cand(b(90, 90, 200, 200), b(110, 110, 180, 180), 0.5);
        let mut kept = vec![granules, cell.clone(), neighbour.clone()];
        drop_nested(&mut kept);
        assert_eq!(kept, [neighbour, cell], "largest nucleus first");
    }

    /// A Jiangxi-like tight crop: yellow background, a cell of radius `cell_r` filling most
    /// of a 120x120 picture, pink-brown cytoplasm and a magenta nucleus of radius 22.
    fn tight_crop(cell_r: i32) -> RgbImage {
        let colours = [[132, 22, 79], [175, 94, 89], [250, 235, 139]];
        concentric((120, 120), 22, cell_r, colours)
    }

    #[test]
    fn a_tight_crop_is_found_from_its_own_values() {
        let p = adaptive();
        let img = tight_crop(44);
        assert!(
            locate_detailed(&img, &p).candidates.is_empty(),
            "the field rules see no nucleus here, which is why tight crops need their own"
        );
        let c = locate_tight_crop(&img, &p).candidates;
        assert_eq!(c.len(), 1, "{c:?}");
        let truth = PixelBox {
            x0: 16,
            y0: 16,
            x1: 104,
            y1: 104,
        };
        assert!(c[0].cell.iou(&truth) >= 0.8, "{:?}", c[0].cell);
        assert!(contains(&c[0].nucleus, 60, 60) && c[0].nucleus.width() <= 50);
    }

    #[test]
    fn a_tight_crop_without_a_nucleus_gives_nothing() {
        let p = fixed();
        let flat = RgbImage::from_pixel(120, 120, Rgb([250, 235, 139]));
        assert!(locate_tight_crop(&flat, &p).candidates.is_empty());
        // Red cells only: they differ from the background, but not towards the nuclear stain.
        let red_cells = RgbImage::from_fn(120, 120, |x, y| {
            let d2 = (x as i32 % 40 - 20).pow(2) + (y as i32 % 40 - 20).pow(2);
            if d2 < 16 * 16 {
                Rgb([235, 160, 120])
            } else {
                Rgb([250, 235, 139])
            }
        });
        let c = locate_tight_crop(&red_cells, &p).candidates;
        assert!(c.is_empty(), "{c:?}");
    }

    proptest::proptest! {
        #[test]
        fn any_image_gives_boxes_inside_it(
            w in 0u32..90,
            h in 0u32..70,
            seed in proptest::collection::vec(0u8..=255, 1..64),
            work_width in 40u32..200,
        ) {
            let img = RgbImage::from_fn(w, h, |x, y| {
                let i = (x as usize * 7 + y as usize * 13) % seed.len();
                Rgb([seed[i], seed[(i + 1) % seed.len()], seed[(i + 2) % seed.len()]])
            });
            let params = LocatorParams { work_width, min_fragment_area: 1, min_nucleus_area: 1, ..Default::default() };
            for c in locate(&img, &params) {
                proptest::prop_assert!(c.cell.x0 <= c.nucleus.x0 && c.nucleus.x1 <= c.cell.x1);
                proptest::prop_assert!(c.cell.x1 <= w && c.cell.y1 <= h);
                proptest::prop_assert!(c.nucleus.width() > 0 && c.nucleus.height() > 0);
                proptest::prop_assert!(c.score.is_finite());
            }
        }
    }
}
