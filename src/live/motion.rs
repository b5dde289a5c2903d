//! Global motion between consecutive camera frames, by phase correlation.
//!
//! Each frame is shrunk by an integer factor to a grey image, its mean removed, a Hann
//! window applied (so the frame border does not correlate with itself) and zero-padded to
//! power-of-two sides; its 2-D spectrum is kept for the next frame. The normalised
//! cross-power spectrum of two frames, transformed back, is (ideally) a single peak at the
//! displacement between them; its height (0..=1) is the confidence, and a parabola through
//! the peak and its neighbours gives the sub-pixel position. Exposure changes scale the
//! spectrum and cancel out in the normalisation.
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
    current: Vec<Complex>,
    previous: Vec<Complex>,
    has_previous: bool,
}

/// Phase-correlation motion estimator; feed it every frame in order.
pub struct MotionEstimator {
    scale: u32,
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
            plan: None,
        }
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
        let plan = self.plan_for(w, h)?;
        shrink_grey(frame, scale, plan);
        let (sw, sh) = plan.small;
        let (pw, ph) = plan.padded;
        let mean = plan.grey.iter().sum::<f32>() / plan.grey.len() as f32;
        plan.current
            .iter_mut()
            .for_each(|c| *c = Complex::default());
        for y in 0..sh {
            let wy = plan.window_y[y];
            for x in 0..sw {
                let v = (plan.grey[y * sw + x] - mean) * wy * plan.window_x[x];
                plan.current[y * pw + x] = Complex::new(v, 0.0);
            }
        }
        plan.fft.run(&mut plan.current, false);
        let result = if plan.has_previous {
            Some(correlate(plan, scale as f32))
        } else {
            None
        };
        std::mem::swap(&mut plan.current, &mut plan.previous);
        plan.has_previous = true;
        let _ = ph;
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

/// Phase-correlates `plan.current` against `plan.previous` (both spectra); consumes
/// `current`'s contents as scratch except that the caller swaps it in as the new previous,
/// so the spectrum is saved first into `previous`' role by working on a copy-free path:
/// the cross-power spectrum is built in `previous`, which is no longer needed.
fn correlate(plan: &mut Plan, scale: f32) -> Motion {
    let (pw, ph) = plan.padded;
    for (p, c) in plan.previous.iter_mut().zip(plan.current.iter()) {
        // cross = C · conj(P) / |C · conj(P)|
        let re = c.re * p.re + c.im * p.im;
        let im = c.im * p.re - c.re * p.im;
        let mag = (re * re + im * im).sqrt();
        *p = if mag > 1e-12 {
            Complex::new(re / mag, im / mag)
        } else {
            Complex::default()
        };
    }
    plan.fft.run(&mut plan.previous, true);
    let n = (pw * ph) as f32;
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
        dx: (signed(bx, pw) + fx) * scale,
        dy: (signed(by, ph) + fy) * scale,
        confidence: (best / n).clamp(0.0, 1.0),
    }
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
