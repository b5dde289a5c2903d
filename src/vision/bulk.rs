//! The bulk of a frame (background and red cells) and the direction a nucleus stands out of
//! it, measured on each frame so that white balance, stain batch and exposure need no
//! retuning.
//!
//! Colours are taken relative to the background (`v = I / I_bg - 1` per channel), which
//! cancels casts and exposure. That vector splits into *darkness* (minus its mean over the
//! channels) and *chroma* (the rest, a 2-D hue plane). Red cells are the most common thing
//! darker than the background; their mean chroma gives the frame's red-cell hue. In
//! Romanowsky stains the nucleus lies a fixed turn away from it (about 75° towards blue;
//! [`NUCLEUS_TURN_DEG`]), so the nuclear-stain direction is measured, not assumed, and
//! follows a hue-shifted stain. Chroma is divided by the red cells' own saturation, so a
//! washed-out camera keeps its contrast.

/// Turn from the red-cell hue to the nuclear-stain hue, degrees (negative: towards blue).
/// At the assumed hue ([`DEFAULT_RED_CELL_HUE`]) the feature is `B/B_bg - G/G_bg` (blue
/// gained, green lost); at the BCCD fields' measured median (314°) it lies between that and
/// the fixed locator's `B/B_bg - R/R_bg`.
pub const NUCLEUS_TURN_DEG: f32 = -75.0;
/// Red-cell hue assumed when the frame shows too few red cells to measure it, degrees, and
/// the centre of the hues trusted ([`MAX_HUE_SHIFT`]). The BCCD fields measure 291–353°
/// (5th–95th percentile, median 314°); every figure in docs/BENCHMARKS.md was measured
/// with 345°.
pub const DEFAULT_RED_CELL_HUE: f32 = 345.0;
/// Measured red-cell hues further than this from the default are not trusted, degrees.
pub const MAX_HUE_SHIFT: f32 = 50.0;
/// Red-cell chroma of the BCCD fields (the reference saturation).
pub const REFERENCE_CHROMA: f32 = 0.085;
/// Range the saturation correction is clamped to.
pub const SATURATION_RANGE: (f32, f32) = (0.4, 2.0);
/// Fraction of the brightest pixels taken as background.
const BACKGROUND_SHARE: f32 = 0.2;
/// Darkness above which a pixel is not background, at least.
pub const MIN_FOREGROUND_DARKNESS: f32 = 0.06;

/// What a frame's bulk measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bulk {
    /// Background colour, RGB 0–255 (each at least 1).
    pub background: [f32; 3],
    /// Red-cell hue used, degrees.
    pub red_cell_hue: f32,
    /// Red cells' chroma divided by [`REFERENCE_CHROMA`] (clamped to 0.4..=2.0).
    pub saturation: f32,
    /// Whether `saturation` was measured on this frame (enough red cells, hue trusted)
    /// rather than assumed (1.0).
    pub saturation_measured: bool,
    /// Unit vector of the nuclear stain in RGB-relative space (sums to 0).
    pub nucleus_dir: [f32; 3],
    /// Darkness above which a pixel belongs to something on the background.
    pub foreground_darkness: f32,
}

/// Unit chroma vector of hue `deg` (0 red, 120 green, 240 blue) in RGB space.
pub(crate) fn hue_vector(deg: f32) -> [f32; 3] {
    let (s, c) = deg.to_radians().sin_cos();
    let e1 = [2.0 / 6f32.sqrt(), -1.0 / 6f32.sqrt(), -1.0 / 6f32.sqrt()];
    let e2 = [0.0, 1.0 / 2f32.sqrt(), -1.0 / 2f32.sqrt()];
    [0, 1, 2].map(|i| c * e1[i] + s * e2[i])
}

/// Hue in degrees (0..360) and length of the chroma of `v`.
fn hue_of(v: [f32; 3]) -> (f32, f32) {
    let m = (v[0] + v[1] + v[2]) / 3.0;
    let c = v.map(|x| x - m);
    let a = (2.0 * c[0] - c[1] - c[2]) / 6f32.sqrt();
    let b = (c[1] - c[2]) / 2f32.sqrt();
    (b.atan2(a).to_degrees().rem_euclid(360.0), a.hypot(b))
}

/// Angle between two hues, degrees (0..=180), whichever way round is shorter.
pub(crate) fn angle_between(a: f32, b: f32) -> f32 {
    let d = (a - b).rem_euclid(360.0);
    d.min(360.0 - d)
}

/// Measures the bulk of a frame given its channels (same length, 0–255 values).
pub fn measure(red: &[f32], green: &[f32], blue: &[f32]) -> Bulk {
    let n = red.len();
    let bright: Vec<f32> = (0..n).map(|i| red[i] + green[i] + blue[i]).collect();
    let cut = percentile(&bright, 1.0 - BACKGROUND_SHARE, 766.0);
    // The three channels' medians over the bright pixels, from one pass.
    let mut hists = [[0usize; 256]; 3];
    let mut bright_count = 0usize;
    for i in (0..n).filter(|&i| bright[i] >= cut) {
        for (hist, v) in hists.iter_mut().zip([red[i], green[i], blue[i]]) {
            hist[(v.max(0.0) as usize).min(255)] += 1;
        }
        bright_count += 1;
    }
    let bg = hists.map(|hist| hist_percentile(&hist, bright_count, 0.5).max(1.0));
    // Multiplying by reciprocals: the loops below run over every pixel of the frame.
    let inv = bg.map(|v| 1.0 / v);
    let dark: Vec<f32> = (0..n)
        .map(|i| 1.0 - (red[i] * inv[0] + green[i] * inv[1] + blue[i] * inv[2]) * (1.0 / 3.0))
        .collect();
    // Noise of the background: how far its own pixels stray.
    let mut spread = Vec::with_capacity(n);
    spread.extend((0..n).filter(|&i| bright[i] >= cut).map(|i| dark[i].abs()));
    let noise = percentile_f(&mut spread, 0.9);
    let foreground_darkness = (3.0 * noise).max(MIN_FOREGROUND_DARKNESS);
    // Red cells: darker than the background, not among the darkest tenth (nuclei).
    let mut dark_fg = Vec::with_capacity(n);
    dark_fg.extend(dark.iter().copied().filter(|&d| d > foreground_darkness));
    let very_dark = percentile_f(&mut dark_fg, 0.9);
    let mut sum = [0.0f32; 3];
    let mut count = 0usize;
    for i in 0..n {
        if dark[i] > foreground_darkness && dark[i] < very_dark {
            sum[0] += red[i] * inv[0] - 1.0;
            sum[1] += green[i] * inv[1] - 1.0;
            sum[2] += blue[i] * inv[2] - 1.0;
            count += 1;
        }
    }
    let (mut hue, mut saturation, mut saturation_measured) = (DEFAULT_RED_CELL_HUE, 1.0, false);
    if count * 50 >= n {
        let (h, chroma) = hue_of(sum.map(|s| s / count as f32));
        log::trace!("red cells: hue {h:.1}, chroma {chroma:.3}");
        if angle_between(h, DEFAULT_RED_CELL_HUE) <= MAX_HUE_SHIFT {
            hue = h;
            saturation = (chroma / REFERENCE_CHROMA).clamp(SATURATION_RANGE.0, SATURATION_RANGE.1);
            saturation_measured = true;
        }
    }
    Bulk {
        background: bg,
        red_cell_hue: hue,
        saturation,
        saturation_measured,
        nucleus_dir: hue_vector(hue + NUCLEUS_TURN_DEG),
        foreground_darkness,
    }
}

/// The fixed locator's bulk: the per-channel median as background, the nuclear stain
/// assumed at the BCCD fields' direction, no saturation correction; the feature is then
/// exactly `B/B_bg - R/R_bg`.
pub fn fixed(red: &[f32], _green: &[f32], blue: &[f32]) -> Bulk {
    let r = percentile(red, 0.5, 256.0).max(1.0);
    let b = percentile(blue, 0.5, 256.0).max(1.0);
    let s = std::f32::consts::FRAC_1_SQRT_2;
    Bulk {
        background: [r, r, b],
        red_cell_hue: DEFAULT_RED_CELL_HUE,
        saturation: 1.0,
        saturation_measured: false,
        nucleus_dir: [-s, 0.0, s],
        foreground_darkness: MIN_FOREGROUND_DARKNESS,
    }
}

impl Bulk {
    /// Takes `hue` (degrees) as the red cells' hue, e.g. a session's median, and turns the
    /// nuclear-stain direction with it.
    pub fn turn_to(&mut self, hue: f32) {
        self.red_cell_hue = hue;
        self.nucleus_dir = hue_vector(hue + NUCLEUS_TURN_DEG);
    }

    /// Nucleus-ness of a pixel: its chroma along the nuclear stain, in units of the red
    /// cells' saturation, scaled like `B/B_bg - R/R_bg` (about 0 on background and red
    /// cells, 0.3–0.6 on nuclei).
    pub fn nucleus_ness(&self, r: f32, g: f32, b: f32) -> f32 {
        self.weights().nucleus_ness(r, g, b)
    }

    /// Darkness of a pixel against the background (0 on it, up to 1 for black).
    pub fn darkness(&self, r: f32, g: f32, b: f32) -> f32 {
        self.weights().darkness(r, g, b)
    }

    /// The per-channel weights that give [`Bulk::nucleus_ness`] and [`Bulk::darkness`] by
    /// multiplications alone, for loops over every pixel of a frame.
    pub fn weights(&self) -> Weights {
        let bg = self.background;
        let d = self.nucleus_dir;
        let k = std::f32::consts::SQRT_2 / self.saturation;
        Weights {
            nucleus: [0, 1, 2].map(|c| k * d[c] / bg[c]),
            lightness: [0, 1, 2].map(|c| 1.0 / (3.0 * bg[c])),
        }
    }
}

/// A frame's pixel features as weighted sums of the channels ([`Bulk::weights`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Weights {
    /// Nucleus-ness is the weighted sum of R, G and B with these.
    pub nucleus: [f32; 3],
    /// Darkness is 1 minus the weighted sum of R, G and B with these.
    pub lightness: [f32; 3],
}

impl Weights {
    /// [`Bulk::nucleus_ness`] of a pixel.
    #[inline]
    pub fn nucleus_ness(&self, r: f32, g: f32, b: f32) -> f32 {
        r * self.nucleus[0] + g * self.nucleus[1] + b * self.nucleus[2]
    }

    /// [`Bulk::darkness`] of a pixel.
    #[inline]
    pub fn darkness(&self, r: f32, g: f32, b: f32) -> f32 {
        1.0 - (r * self.lightness[0] + g * self.lightness[1] + b * self.lightness[2])
    }
}

/// The `p` quantile of values in `0..range` through a histogram of unit bins.
fn percentile(values: &[f32], p: f32, range: f32) -> f32 {
    let bins = (range as usize).max(1);
    let mut hist = vec![0usize; bins];
    for &v in values {
        hist[(v.max(0.0) as usize).min(bins - 1)] += 1;
    }
    hist_percentile(&hist, values.len(), p)
}

/// [`percentile`] of `count` values already counted into whole-level bins (0 when none).
fn hist_percentile(hist: &[usize], count: usize, p: f32) -> f32 {
    if count == 0 {
        return 0.0;
    }
    let want = ((count as f32 * p) as usize).min(count - 1);
    let mut seen = 0;
    for (level, &k) in hist.iter().enumerate() {
        seen += k;
        if seen > want {
            return level as f32;
        }
    }
    hist.len().saturating_sub(1) as f32
}

/// The `p` quantile of arbitrary values (reorders them); 0 for none.
fn percentile_f(values: &mut [f32], p: f32) -> f32 {
    if values.is_empty() {
        return 0.0;
    }
    let k = ((values.len() as f32 * p) as usize).min(values.len() - 1);
    let (_, v, _) = values.select_nth_unstable_by(k, f32::total_cmp);
    *v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hue_vectors_and_hues_agree() {
        for h in [0.0f32, 90.0, 200.0, 345.0] {
            let (back, len) = hue_of(hue_vector(h));
            assert!(angle_between(back, h) < 1e-3, "{h} -> {back}");
            assert!((len - 1.0).abs() < 1e-4);
        }
        let (blue, _) = hue_of([-1.0, -1.0, 1.0]);
        assert!(angle_between(blue, 240.0) < 1e-3);
    }

    /// Background, pink red cells and a purple nucleus, as channel lists.
    fn frame(gain: [f32; 3]) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
        let mut px = vec![[225.0, 215.0, 220.0]; 600];
        px.extend(vec![[215.0, 150.0, 160.0]; 350]);
        px.extend(vec![[120.0, 90.0, 200.0]; 50]);
        let ch = |c: usize| px.iter().map(|p| p[c] * gain[c]).collect::<Vec<f32>>();
        (ch(0), ch(1), ch(2))
    }

    #[test]
    fn nucleus_stands_out_and_red_cells_do_not_whatever_the_cast() {
        for gain in [[1.0, 1.0, 1.0], [1.0, 0.95, 0.7], [0.8, 0.9, 1.1]] {
            let (r, g, b) = frame(gain);
            let bulk = measure(&r, &g, &b);
            let at = |i: usize| bulk.nucleus_ness(r[i], g[i], b[i]);
            assert!(at(999) > 0.2, "{gain:?}: nucleus {}", at(999));
            assert!(at(700).abs() < 0.15, "{gain:?}: red cell {}", at(700));
            assert!(at(0).abs() < 0.05, "{gain:?}: background {}", at(0));
            assert!(bulk.darkness(r[0], g[0], b[0]).abs() < 0.02);
        }
    }
}
