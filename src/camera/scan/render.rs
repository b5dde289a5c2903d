//! Rendering what the camera sees at one moment of a scan.

use image::RgbImage;

/// Where the camera looks and how it moves, in slide pixels.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Pose {
    /// Slide x of the frame's left edge.
    pub x: f64,
    /// Slide y of the frame's top edge.
    pub y: f64,
    /// Velocity of the frame over the slide, pixels per frame (x).
    pub vx: f64,
    /// Velocity of the frame over the slide, pixels per frame (y).
    pub vy: f64,
}

/// Optical and camera effects of one frame.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Effects {
    /// Exposure time as a fraction of the frame time: motion blur is this fraction of the
    /// frame's movement.
    pub exposure: f64,
    /// Defocus, as the radius of a box blur in pixels (0 = sharp).
    pub defocus: u32,
    /// Brightness gain (1 = nominal; flicker varies it).
    pub gain: f64,
    /// JPEG quality the camera compresses with (100 = no compression round trip).
    pub jpeg_quality: u8,
}

/// Renders frames of a fixed size; keeps its buffers between frames.
pub struct Renderer {
    width: u32,
    height: u32,
    accum: Vec<f32>,
    scratch: Vec<f32>,
}

impl Renderer {
    /// A renderer of `width x height` frames.
    pub fn new(width: u32, height: u32) -> Self {
        let n = (width * height * 3) as usize;
        Renderer {
            width,
            height,
            accum: vec![0.0; n],
            scratch: vec![0.0; n],
        }
    }

    /// The frame the camera sees at `pose` on `slide` with `effects`. A pose partly off
    /// the slide repeats the slide's edge pixels.
    pub fn render(&mut self, slide: &RgbImage, pose: &Pose, effects: &Effects) -> RgbImage {
        let (w, h) = (self.width as usize, self.height as usize);
        let travel_px = pose.vx.hypot(pose.vy) * effects.exposure;
        let whole_px = pose.x.fract() == 0.0 && pose.y.fract() == 0.0;
        let inside = pose.x >= 0.0
            && pose.y >= 0.0
            && pose.x + w as f64 <= f64::from(slide.width())
            && pose.y + h as f64 <= f64::from(slide.height());
        if travel_px < 1.0
            && whole_px
            && inside
            && effects.gain == 1.0
            && effects.defocus == 0
            && effects.jpeg_quality >= 100
        {
            // A sharp, still, whole-pixel view is an exact crop (and much faster).
            let view = image::imageops::crop_imm(
                slide,
                pose.x as u32,
                pose.y as u32,
                self.width,
                self.height,
            );
            return view.to_image();
        }
        self.accum.iter_mut().for_each(|v| *v = 0.0);
        let travel = (pose.vx.hypot(pose.vy) * effects.exposure).max(0.0);
        let samples = (travel.ceil() as usize).clamp(1, 24);
        for s in 0..samples {
            let f = if samples == 1 {
                0.0
            } else {
                s as f64 / (samples - 1) as f64 - 0.5
            };
            let ox = pose.x + pose.vx * effects.exposure * f;
            let oy = pose.y + pose.vy * effects.exposure * f;
            self.add_bilinear(slide, ox, oy);
        }
        let norm = effects.gain as f32 / samples as f32;
        self.accum.iter_mut().for_each(|v| *v *= norm);
        if effects.defocus > 0 {
            box_blur(
                &mut self.accum,
                &mut self.scratch,
                w,
                h,
                effects.defocus as usize,
            );
        }
        let raw: Vec<u8> = self
            .accum
            .iter()
            .map(|v| v.round().clamp(0.0, 255.0) as u8)
            .collect();
        let frame = RgbImage::from_raw(self.width, self.height, raw)
            .unwrap_or_else(|| RgbImage::new(self.width, self.height));
        if effects.jpeg_quality < 100 {
            jpeg_round_trip(&frame, effects.jpeg_quality).unwrap_or(frame)
        } else {
            frame
        }
    }

    fn add_bilinear(&mut self, slide: &RgbImage, ox: f64, oy: f64) {
        let (sw, sh) = (slide.width() as i64, slide.height() as i64);
        if sw < 2 || sh < 2 {
            return;
        }
        let (bx, by) = (ox.floor(), oy.floor());
        let (fx, fy) = ((ox - bx) as f32, (oy - by) as f32);
        let (bx, by) = (bx as i64, by as i64);
        let raw = slide.as_raw();
        let stride = sw as usize * 3;
        let weights = [
            (1.0 - fx) * (1.0 - fy),
            fx * (1.0 - fy),
            (1.0 - fx) * fy,
            fx * fy,
        ];
        let w = self.width as usize;
        let inside =
            bx >= 0 && by >= 0 && bx + w as i64 + 1 < sw && by + self.height as i64 + 1 < sh;
        if inside {
            // Whole rows at once: contiguous slices the compiler can vectorise.
            let (bx, by) = (bx as usize, by as usize);
            for y in 0..self.height as usize {
                let r0 = &raw[(by + y) * stride + bx * 3..(by + y) * stride + (bx + w + 1) * 3];
                let r1 =
                    &raw[(by + y + 1) * stride + bx * 3..(by + y + 1) * stride + (bx + w + 1) * 3];
                let out = &mut self.accum[y * w * 3..(y + 1) * w * 3];
                for (i, o) in out.iter_mut().enumerate() {
                    *o += f32::from(r0[i]) * weights[0]
                        + f32::from(r0[i + 3]) * weights[1]
                        + f32::from(r1[i]) * weights[2]
                        + f32::from(r1[i + 3]) * weights[3];
                }
            }
            return;
        }
        for y in 0..self.height as usize {
            let y0 = (by + y as i64).clamp(0, sh - 1) as usize;
            let y1 = (by + y as i64 + 1).clamp(0, sh - 1) as usize;
            let out = &mut self.accum[y * w * 3..(y + 1) * w * 3];
            for x in 0..w {
                let x0 = (bx + x as i64).clamp(0, sw - 1) as usize;
                let x1 = (bx + x as i64 + 1).clamp(0, sw - 1) as usize;
                for c in 0..3 {
                    let p = |xx: usize, yy: usize| f32::from(raw[yy * stride + xx * 3 + c]);
                    out[x * 3 + c] += p(x0, y0) * weights[0]
                        + p(x1, y0) * weights[1]
                        + p(x0, y1) * weights[2]
                        + p(x1, y1) * weights[3];
                }
            }
        }
    }
}

/// Separable box blur of radius `r` over an interleaved RGB float buffer.
fn box_blur(buf: &mut [f32], tmp: &mut [f32], w: usize, h: usize, r: usize) {
    let n = (2 * r + 1) as f32;
    for y in 0..h {
        for x in 0..w {
            for c in 0..3 {
                let mut s = 0.0;
                for k in 0..=2 * r {
                    let xx = (x + k).saturating_sub(r).min(w - 1);
                    s += buf[(y * w + xx) * 3 + c];
                }
                tmp[(y * w + x) * 3 + c] = s / n;
            }
        }
    }
    for y in 0..h {
        for x in 0..w {
            for c in 0..3 {
                let mut s = 0.0;
                for k in 0..=2 * r {
                    let yy = (y + k).saturating_sub(r).min(h - 1);
                    s += tmp[(yy * w + x) * 3 + c];
                }
                buf[(y * w + x) * 3 + c] = s / n;
            }
        }
    }
}

/// Compresses and decompresses a frame as a camera's MJPEG stream would.
pub fn jpeg_round_trip(frame: &RgbImage, quality: u8) -> Result<RgbImage, image::ImageError> {
    let mut bytes = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, quality.clamp(1, 100))
        .encode_image(frame)?;
    Ok(image::load_from_memory_with_format(&bytes, image::ImageFormat::Jpeg)?.to_rgb8())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slide() -> RgbImage {
        RgbImage::from_fn(200, 150, |x, y| image::Rgb([x as u8, y as u8, 100]))
    }

    fn plain(gain: f64) -> Effects {
        Effects {
            exposure: 0.0,
            defocus: 0,
            gain,
            jpeg_quality: 100,
        }
    }

    #[test]
    fn a_still_pose_is_an_exact_crop_and_a_half_pixel_pose_interpolates() {
        let s = slide();
        let mut r = Renderer::new(64, 48);
        let still = Pose {
            x: 10.0,
            y: 20.0,
            vx: 0.0,
            vy: 0.0,
        };
        let f = r.render(&s, &still, &plain(1.0));
        assert_eq!(f.get_pixel(0, 0).0, [10, 20, 100]);
        assert_eq!(f.get_pixel(63, 47).0, [73, 67, 100]);
        let half = Pose { x: 10.5, ..still };
        let f = r.render(&s, &half, &plain(1.0));
        assert_eq!(f.get_pixel(0, 0).0[0], 11, "10.5 rounds to even-up 11");
        let bright = r.render(&s, &still, &plain(1.5));
        assert_eq!(bright.get_pixel(0, 0).0, [15, 30, 150]);
    }

    #[test]
    fn motion_blur_defocus_and_jpeg_change_the_picture_but_not_its_size() {
        let s = slide();
        let mut r = Renderer::new(64, 48);
        let moving = Pose {
            x: 50.0,
            y: 20.0,
            vx: 20.0,
            vy: 0.0,
        };
        let sharp = r.render(&s, &Pose { vx: 0.0, ..moving }, &plain(1.0));
        let blurred = r.render(
            &s,
            &moving,
            &Effects {
                exposure: 0.5,
                defocus: 2,
                gain: 1.0,
                jpeg_quality: 50,
            },
        );
        assert_eq!(blurred.dimensions(), (64, 48));
        // On a linear ramp, blur keeps the mean of the window: pixel values stay close.
        let a = i32::from(sharp.get_pixel(30, 20)[0]);
        let b = i32::from(blurred.get_pixel(30, 20)[0]);
        assert!((a - b).abs() <= 3, "{a} vs {b}");
        let off = r.render(
            &s,
            &Pose {
                x: -30.0,
                y: -30.0,
                vx: 0.0,
                vy: 0.0,
            },
            &plain(1.0),
        );
        assert_eq!(
            off.get_pixel(0, 0).0,
            [0, 0, 100],
            "edge pixels are repeated"
        );
    }
}
