//! Global motion between consecutive camera frames: phase correlation for the coarse
//! shift, refined on the grey pictures themselves.
//!
//! Each frame is shrunk by an integer factor to a grey image scaled to unit mean (so
//! exposure changes cancel), its mean removed, a Hann window applied (so the frame border
//! does not correlate with itself) and zero-padded to power-of-two sides; its 2-D spectrum
//! is kept for the next frame. The normalised cross-power spectrum of two frames,
//! transformed back, is (ideally) a single peak at the displacement between them; its
//! height (0..=1) is the confidence.
//!
//! That peak is only coarse on a fast pan. Motion blur is a box filter along the pan, whose
//! transfer function changes sign band after band; when the pan speeds up or slows down
//! the two frames' blurs differ, the cross-power spectrum's phase flips sign in the bands
//! where they disagree, and phase correlation follows those flips; the Hann window, fixed
//! to the frame while the content slides under it, also pulls the peak towards zero. On
//! the simulator's fast blurred scans this under-read pans by 10-20 %. So the coarse shift
//! is refined without window or spectrum: a walk to the nearest minimum of the mean
//! squared difference between the two grey pictures over their overlap, and a quadratic
//! surface through the 3x3 values around it for the sub-pixel position. Both blurs are
//! symmetric about their frame's pose, so that minimum sits at the true shift.
//!
//! After the first frame of a given size the estimator allocates nothing per frame.

use image::RgbImage;

use super::fft::{Complex, Fft2};

/// Displacement of the picture content from the previous frame to this one, in input
/// pixels: a feature at `(x, y)` in the previous frame is at `(x + dx, y + dy)` now.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Motion {
    /// Horizontal displacement (pixels, positive = content moved right).
    pub dx: f32,
    /// Vertical displacement (pixels, positive = content moved down).
    pub dy: f32,
    /// Height of the correlation peak, 0..=1: about 1 for a clean shift of a textured
    /// picture, near 0 when the frames do not match (blur, a different field, no texture).
    pub confidence: f32,
}

impl Motion {
    /// Length of the displacement in pixels.
    pub fn magnitude(&self) -> f32 {
        self.dx.hypot(self.dy)
    }
}

/// Working buffers for one frame size.
struct Plan {
    frame: (u32, u32),
    /// Shrunken size.
    small: (usize, usize),
    /// Padded (power-of-two) size.
    padded: (usize, usize),
    fft: Fft2,
    window_x: Vec<f32>,
    window_y: Vec<f32>,
    grey: Vec<f32>,
    grey_previous: Vec<f32>,
    current: Vec<Complex>,
    previous: Vec<Complex>,
    has_previous: bool,
}

/// Phase-correlation motion estimator; feed it every frame in order.
pub struct MotionEstimator {
    scale: u32,
    whitening: f32,
    refine: bool,
    plan: Option<Plan>,
}

/// Smallest and largest shrink factor accepted by [`MotionEstimator::new`].
pub const SCALE_RANGE: (u32, u32) = (1, 16);

fn hann(n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| {
            if n <= 1 {
                1.0
            } else {
                0.5 - 0.5 * (2.0 * std::f32::consts::PI * i as f32 / (n - 1) as f32).cos()
            }
        })
        .collect()
}

impl MotionEstimator {
    /// An estimator that shrinks frames by `scale` (clamped to [`SCALE_RANGE`]); 4 suits
    /// 640x480 frames (a 160x120 working picture, motion up to ±256 px per frame).
    pub fn new(scale: u32) -> Self {
        MotionEstimator {
            scale: scale.clamp(SCALE_RANGE.0, SCALE_RANGE.1),
            whitening: 1.0,
            refine: true,
            plan: None,
        }
    }

    /// The same estimator with or without the refinement of the coarse shift (on by
    /// default; off gives plain phase correlation, for comparison).
    pub fn with_refinement(mut self, refine: bool) -> Self {
        self.refine = refine;
        self
    }

    /// The same estimator with another whitening exponent `beta` (clamped to 0..=1): the
    /// cross-power spectrum is divided by its magnitude to this power. 1 (the default) is
    /// pure phase correlation; lower values weigh the strong low frequencies more, which
    /// resists blur better but biases the coarse peak towards zero (the refinement removes
    /// either error; see `live_eval --motion`).
    pub fn with_whitening(mut self, beta: f32) -> Self {
        self.whitening = beta.clamp(0.0, 1.0);
        self
    }

    /// Forgets the previous frame: the next one starts afresh.
    pub fn reset(&mut self) {
        if let Some(plan) = self.plan.as_mut() {
            plan.has_previous = false;
        }
    }

    fn plan_for(&mut self, w: u32, h: u32) -> Option<&mut Plan> {
        let stale = self.plan.as_ref().is_none_or(|p| p.frame != (w, h));
        if stale {
            let small = ((w / self.scale) as usize, (h / self.scale) as usize);
            if small.0 < 8 || small.1 < 8 {
                self.plan = None;
                return None;
            }
            let padded = (small.0.next_power_of_two(), small.1.next_power_of_two());
            let fft = Fft2::new(padded.0, padded.1).ok()?;
            let n = padded.0 * padded.1;
            self.plan = Some(Plan {
                frame: (w, h),
                small,
                padded,
                fft,
                window_x: hann(small.0),
                window_y: hann(small.1),
                grey: vec![0.0; small.0 * small.1],
                grey_previous: vec![0.0; small.0 * small.1],
                current: vec![Complex::default(); n],
                previous: vec![Complex::default(); n],
                has_previous: false,
            });
        }
        self.plan.as_mut()
    }

    /// Takes the next frame; returns its motion relative to the previous frame, or `None`
    /// for the first frame (or the first after a size change, or a frame too small to use).
    pub fn push(&mut self, frame: &RgbImage) -> Option<Motion> {
        let (w, h) = frame.dimensions();
        let scale = self.scale as usize;
        let beta = self.whitening;
        let refine = self.refine;
        let plan = self.plan_for(w, h)?;
        shrink_grey(frame, scale, plan);
        let (sw, sh) = plan.small;
        let pw = plan.padded.0;
        // Unit mean: exposure changes cancel in the refinement's differences.
        let total = plan.grey.iter().sum::<f32>();
        let gain = if total > 0.0 {
            plan.grey.len() as f32 / total
        } else {
            1.0
        };
        plan.grey.iter_mut().for_each(|v| *v *= gain);
        plan.current
            .iter_mut()
            .for_each(|c| *c = Complex::default());
        for y in 0..sh {
            let wy = plan.window_y[y];
            for x in 0..sw {
                let v = (plan.grey[y * sw + x] - 1.0) * wy * plan.window_x[x];
                plan.current[y * pw + x] = Complex::new(v, 0.0);
            }
        }
        plan.fft.run(&mut plan.current, false);
        let result = if plan.has_previous {
            let coarse = correlate(plan, beta);
            let (dx, dy) = if refine {
                refine_shift(plan, (coarse.dx, coarse.dy)).unwrap_or((coarse.dx, coarse.dy))
            } else {
                (coarse.dx, coarse.dy)
            };
            let s = scale as f32;
            Some(Motion {
                dx: dx * s,
                dy: dy * s,
                confidence: coarse.confidence,
            })
        } else {
            None
        };
        std::mem::swap(&mut plan.current, &mut plan.previous);
        std::mem::swap(&mut plan.grey, &mut plan.grey_previous);
        plan.has_previous = true;
        result
    }
}

/// Box-shrinks the frame into `plan.grey` as `R + 2G + B` (unnormalised).
fn shrink_grey(frame: &RgbImage, scale: usize, plan: &mut Plan) {
    let (sw, sh) = plan.small;
    let stride = frame.width() as usize * 3;
    let raw = frame.as_raw();
    plan.grey.iter_mut().for_each(|v| *v = 0.0);
    for y in 0..sh * scale {
        let row = &raw[y * stride..y * stride + sw * scale * 3];
        let out = &mut plan.grey[(y / scale) * sw..(y / scale + 1) * sw];
        for (o, block) in out.iter_mut().zip(row.chunks_exact(scale * 3)) {
            let mut s = 0u32;
            for px in block.chunks_exact(3) {
                s += u32::from(px[0]) + 2 * u32::from(px[1]) + u32::from(px[2]);
            }
            *o += s as f32;
        }
    }
}

/// Phase-correlates `plan.current` against `plan.previous` (both spectra). The
/// cross-power spectrum is built in `previous`, which is no longer needed (the caller then
/// swaps `current` in as the new previous). The cross-power spectrum is divided by its
/// magnitude to the power `beta` (1 = pure phase correlation). Returns the shift in
/// working pixels and the peak height over its largest possible value as the confidence.
fn correlate(plan: &mut Plan, beta: f32) -> Motion {
    let (pw, ph) = plan.padded;
    let mut total = 0.0f64;
    for (p, c) in plan.previous.iter_mut().zip(plan.current.iter()) {
        // cross = C · conj(P) / |C · conj(P)|^beta
        let re = c.re * p.re + c.im * p.im;
        let im = c.im * p.re - c.re * p.im;
        let mag = (re * re + im * im).sqrt();
        *p = if mag > 1e-12 {
            // Pure phase correlation (the default) needs no power per bin per frame.
            let d = if beta == 1.0 { mag } else { mag.powf(beta) };
            total += f64::from(mag / d);
            Complex::new(re / d, im / d)
        } else {
            Complex::default()
        };
    }
    plan.fft.run(&mut plan.previous, true);
    let n = total.max(1e-30) as f32;
    let surface = &plan.previous;
    let (mut best, mut best_i) = (f32::MIN, 0usize);
    for (i, c) in surface.iter().enumerate() {
        if c.re > best {
            best = c.re;
            best_i = i;
        }
    }
    let (bx, by) = (best_i % pw, best_i / pw);
    let at = |x: usize, y: usize| surface[(y % ph) * pw + (x % pw)].re;
    let sub = |l: f32, c: f32, r: f32| {
        let d = l - 2.0 * c + r;
        if d.abs() < 1e-12 {
            0.0
        } else {
            (0.5 * (l - r) / d).clamp(-0.5, 0.5)
        }
    };
    let fx = sub(at(bx + pw - 1, by), best, at(bx + 1, by));
    let fy = sub(at(bx, by + ph - 1), best, at(bx, by + 1));
    let signed = |i: usize, len: usize| {
        if i > len / 2 {
            i as f32 - len as f32
        } else {
            i as f32
        }
    };
    Motion {
        dx: signed(bx, pw) + fx,
        dy: signed(by, ph) + fy,
        confidence: (best / n).clamp(0.0, 1.0),
    }
}

/// Largest number of one-pixel steps the refinement walks from the coarse estimate.
const REFINE_STEPS: i32 = 8;

const NEIGHBOURS: [(i32, i32); 8] = [
    (-1, -1),
    (0, -1),
    (1, -1),
    (-1, 0),
    (1, 0),
    (-1, 1),
    (0, 1),
    (1, 1),
];

/// Mean squared difference between the current and the previous grey picture when the
/// content moved by `(ox, oy)` working pixels, over their overlap; `None` when the
/// overlap is under a quarter of the picture.
fn mean_sq_diff(plan: &Plan, ox: i32, oy: i32) -> Option<f32> {
    let (sw, sh) = (plan.small.0 as i32, plan.small.1 as i32);
    let (x0, x1) = (ox.max(0), (sw + ox).min(sw));
    let (y0, y1) = (oy.max(0), (sh + oy).min(sh));
    let (w, h) = (x1 - x0, y1 - y0);
    if w <= 0 || h <= 0 || 4 * w * h < sw * sh {
        return None;
    }
    let mut sum = 0.0f32;
    for y in y0..y1 {
        let cur = &plan.grey[(y * sw + x0) as usize..(y * sw + x1) as usize];
        let p = ((y - oy) * sw + x0 - ox) as usize;
        let prev = &plan.grey_previous[p..p + w as usize];
        sum += cur
            .iter()
            .zip(prev)
            .map(|(a, b)| (a - b) * (a - b))
            .sum::<f32>();
    }
    Some(sum / (w * h) as f32)
}

/// Refines a coarse shift (working pixels) on the unwindowed grey pictures: walks to the
/// local minimum of their mean squared difference and fits a quadratic surface to the 3x3
/// values around it. The window and the whitening of the correlation bias fast blurred
/// shifts; this does not. `None` when the walk does not settle near the coarse estimate.
fn refine_shift(plan: &Plan, coarse: (f32, f32)) -> Option<(f32, f32)> {
    let (mut cx, mut cy) = (coarse.0.round() as i32, coarse.1.round() as i32);
    let mut centre = mean_sq_diff(plan, cx, cy)?;
    for _ in 0..REFINE_STEPS {
        let mut around = [None; 8];
        let mut next = None;
        let mut best = centre;
        // Eight neighbours: a diagonal blur makes a diagonal valley.
        for (slot, (x, y)) in around.iter_mut().zip(NEIGHBOURS) {
            *slot = mean_sq_diff(plan, cx + x, cy + y);
            if let Some(v) = *slot
                && v < best
            {
                best = v;
                next = Some((cx + x, cy + y));
            }
        }
        match next {
            Some(p) => {
                (cx, cy) = p;
                centre = best;
            }
            None => {
                let (fx, fy) = quadratic_minimum(centre, &around);
                return Some((cx as f32 + fx, cy as f32 + fy));
            }
        }
    }
    None
}

/// Sub-pixel position (each within ±0.5) of the minimum of the quadratic surface fitted by
/// least squares to a 3x3 neighbourhood: `centre` and the eight values in [`NEIGHBOURS`]
/// order. `(0, 0)` when a value is missing or the surface has no minimum.
fn quadratic_minimum(centre: f32, around: &[Option<f32>; 8]) -> (f32, f32) {
    // f ≈ a + b·x + c·y + d·x² + e·x·y + g·y²; on the 3x3 grid the bases 1, x, y, xy,
    // x² - 2/3 and y² - 2/3 are orthogonal, so each coefficient is a projection.
    let (mut b, mut c, mut d, mut e, mut g) = (0.0f32, 0.0, 0.0, 0.0, 0.0);
    let mut add = |x: f32, y: f32, f: f32| {
        b += x * f / 6.0;
        c += y * f / 6.0;
        e += x * y * f / 4.0;
        d += (x * x - 2.0 / 3.0) * f / 2.0;
        g += (y * y - 2.0 / 3.0) * f / 2.0;
    };
    add(0.0, 0.0, centre);
    for (v, (x, y)) in around.iter().zip(NEIGHBOURS) {
        match v {
            Some(f) => add(x as f32, y as f32, *f),
            None => return (0.0, 0.0),
        }
    }
    // Gradient zero: [2d e; e 2g]·(x, y) = -(b, c); a minimum needs a positive definite
    // matrix.
    let det = 4.0 * d * g - e * e;
    if d <= 0.0 || det <= 1e-12 {
        return (0.0, 0.0);
    }
    let x = (-b * 2.0 * g + c * e) / det;
    let y = (-c * 2.0 * d + b * e) / det;
    (x.clamp(-0.5, 0.5), y.clamp(-0.5, 0.5))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field() -> RgbImage {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bccd/JPEGImages");
        image::open(dir.join("BloodImage_00000.jpg"))
            .unwrap()
            .to_rgb8()
    }

    /// A 640x480 window of a 2x upscaled mosaic of two fields at a fractional offset.
    fn view(src: &RgbImage, ox: f32, oy: f32) -> RgbImage {
        RgbImage::from_fn(480, 360, |x, y| {
            let sx = (x as f32 + ox).clamp(0.0, src.width() as f32 - 2.0);
            let sy = (y as f32 + oy).clamp(0.0, src.height() as f32 - 2.0);
            let (x0, y0) = (sx.floor() as u32, sy.floor() as u32);
            let (fx, fy) = (sx - x0 as f32, sy - y0 as f32);
            let mut out = [0u8; 3];
            for (c, o) in out.iter_mut().enumerate() {
                let p = |x, y| f32::from(src.get_pixel(x, y)[c]);
                let v = p(x0, y0) * (1.0 - fx) * (1.0 - fy)
                    + p(x0 + 1, y0) * fx * (1.0 - fy)
                    + p(x0, y0 + 1) * (1.0 - fx) * fy
                    + p(x0 + 1, y0 + 1) * fx * fy;
                *o = v.round() as u8;
            }
            image::Rgb(out)
        })
    }

    #[test]
    fn first_frame_has_no_motion_and_a_still_frame_has_zero() {
        let f = field();
        let mut m = MotionEstimator::new(4);
        assert!(m.push(&f).is_none());
        let still = m.push(&f).unwrap();
        assert!(still.magnitude() < 0.2, "{still:?}");
        assert!(still.confidence > 0.9, "{still:?}");
    }

    #[test]
    fn recovers_integer_and_fractional_shifts() {
        let f = field();
        for (dx, dy) in [(12.0f32, -7.0f32), (-30.5, 3.25), (0.0, 41.0), (2.6, 1.4)] {
            let mut m = MotionEstimator::new(4);
            m.push(&view(&f, 60.0, 50.0));
            // The camera moved by (-dx, -dy): the content moved by (dx, dy).
            let got = m.push(&view(&f, 60.0 - dx, 50.0 - dy)).unwrap();
            assert!(
                (got.dx - dx).abs() < 1.0 && (got.dy - dy).abs() < 1.0,
                "wanted ({dx}, {dy}), got {got:?}"
            );
            assert!(got.confidence > 0.2, "{got:?}");
        }
    }

    /// What a camera at `(ox, oy)` moving by `(vx, vy)` per frame sees with the shutter
    /// open for `exposure` of the frame: the mean of views along the movement (a linear
    /// motion blur centred on the pose, as the simulator renders it).
    fn blurred_view(src: &RgbImage, at: (f32, f32), v: (f32, f32), exposure: f32) -> RgbImage {
        let n = 12;
        let views: Vec<RgbImage> = (0..n)
            .map(|k| {
                let f = k as f32 / (n - 1) as f32 - 0.5;
                view(src, at.0 + v.0 * exposure * f, at.1 + v.1 * exposure * f)
            })
            .collect();
        RgbImage::from_fn(480, 360, |x, y| {
            let mut sum = [0u32; 3];
            for v in &views {
                for (s, c) in sum.iter_mut().zip(v.get_pixel(x, y).0) {
                    *s += u32::from(c);
                }
            }
            image::Rgb(sum.map(|s| (s as f32 / n as f32).round() as u8))
        })
    }

    #[test]
    fn recovers_fast_shifts_with_motion_blur_while_the_pan_speeds_up() {
        let f = field();
        // The camera speeds up: 50 then ~100 px per frame, shutter open 60 % of the frame,
        // so the two frames carry different blurs (30 and ~60 px long). Phase correlation
        // alone under-read such shifts by 10-20 %.
        // Start poses keep every blurred view inside the 640x480 field (no clamped edges).
        let cases = [
            ((-100.0f32, 0.0f32), (20.0f32, 40.0f32)),
            ((-96.0, -8.0), (20.0, 10.0)),
            ((0.0, -70.0), (60.0, 12.0)),
            ((70.0, -70.0), (140.0, 12.0)),
        ];
        for ((dx, dy), at) in cases {
            let slow = (-dx / 2.0, -dy / 2.0);
            let mut m = MotionEstimator::new(4);
            m.push(&blurred_view(&f, at, slow, 0.6));
            let got = m
                .push(&blurred_view(&f, (at.0 - dx, at.1 - dy), (-dx, -dy), 0.6))
                .unwrap();
            assert!(
                (got.dx - dx).abs() < 2.0 && (got.dy - dy).abs() < 2.0,
                "wanted ({dx}, {dy}), got {got:?}"
            );
        }
    }

    #[test]
    fn exposure_change_does_not_move_and_unrelated_frames_have_low_confidence() {
        let f = field();
        let mut m = MotionEstimator::new(4);
        m.push(&f);
        let mut dim = f.clone();
        dim.pixels_mut()
            .for_each(|p| p.0 = p.0.map(|v| (f32::from(v) * 0.8) as u8));
        let got = m.push(&dim).unwrap();
        assert!(got.magnitude() < 0.5, "{got:?}");
        let noise = RgbImage::from_fn(640, 480, |x, y| {
            let v = ((x * 7919 + y * 104729) ^ (x * y)) % 251;
            image::Rgb([v as u8, (v * 3 % 251) as u8, (v * 7 % 251) as u8])
        });
        let got = m.push(&noise).unwrap();
        assert!(got.confidence < 0.2, "{got:?}");
    }

    #[test]
    fn size_change_restarts_and_tiny_frames_are_refused() {
        let mut m = MotionEstimator::new(4);
        m.push(&field());
        assert!(m.push(&RgbImage::new(320, 240)).is_none());
        assert!(m.push(&RgbImage::new(320, 240)).is_some());
        assert!(m.push(&RgbImage::new(16, 16)).is_none());
        m.reset();
        assert!(m.push(&RgbImage::new(0, 0)).is_none());
    }
}
