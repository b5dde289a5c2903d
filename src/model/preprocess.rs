//! Turning an RGB picture into a model's input tensor, exactly as TensorFlow does it in
//! training: optional central square crop, `tf.image.resize(x, (H, W), method="bilinear",
//! antialias=False)` on float pixels (half-pixel centres, edges clamped), then
//! `(x - mean) / std`. Pure computation; the resampling plan is cached per input size so a
//! steady stream of same-sized frames allocates nothing.

use image::RgbImage;
use serde::{Deserialize, Serialize};

/// How the picture is cropped before resizing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Crop {
    /// The whole picture is resized (aspect ratio not kept).
    None,
    /// The largest centred square is cut out first (offset `floor((L - S) / 2)` on the long
    /// side `L`, with `S` the short side).
    CenterSquare,
}

/// Channel order of the model's input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ColorOrder {
    /// Red, green, blue (what Keras and TFLite image models expect).
    #[serde(rename = "RGB")]
    Rgb,
    /// Blue, green, red.
    #[serde(rename = "BGR")]
    Bgr,
}

/// Everything that determines the input tensor made of a picture.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Preprocessing {
    /// Input width in pixels.
    pub width: u32,
    /// Input height in pixels.
    pub height: u32,
    /// Crop before resizing.
    pub crop: Crop,
    /// Channel order.
    pub color_order: ColorOrder,
    /// Subtracted from each pixel value (0–255).
    pub mean: f32,
    /// Divides the result (non-zero).
    pub std: f32,
}

impl Preprocessing {
    /// MobileNetV2's convention for a `width` x `height` input: RGB, no crop, scaled to
    /// [-1, 1] (mean = std = 127.5).
    pub fn mobilenet(width: u32, height: u32) -> Self {
        Self {
            width,
            height,
            crop: Crop::None,
            color_order: ColorOrder::Rgb,
            mean: 127.5,
            std: 127.5,
        }
    }

    /// Number of floats of the resulting tensor (height x width x 3).
    pub fn tensor_len(&self) -> usize {
        self.width as usize * self.height as usize * 3
    }
}

/// Why a picture could not be preprocessed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PreprocessError {
    /// The picture has no pixels.
    #[error("the image is empty ({width}x{height})")]
    EmptyImage {
        /// Its width.
        width: u32,
        /// Its height.
        height: u32,
    },
    /// The output slice does not have the tensor's length.
    #[error("the input tensor holds {expected} values, the buffer {given}")]
    OutputSize {
        /// Values needed.
        expected: usize,
        /// Values given.
        given: usize,
    },
    /// The target size is zero.
    #[error("the model input size {width}x{height} is empty")]
    EmptyTarget {
        /// Target width.
        width: u32,
        /// Target height.
        height: u32,
    },
}

/// One output coordinate's two source coordinates and the weight of the second.
#[derive(Debug, Clone, Copy)]
struct Tap {
    lower: usize,
    upper: usize,
    lerp: f32,
}

/// TensorFlow's half-pixel-centre interpolation weights (`compute_interpolation_weights`
/// with `HalfPixelScaler`), computed in f32 like the TF kernel.
fn taps(in_size: usize, out_size: usize, into: &mut Vec<Tap>) {
    into.clear();
    let scale = in_size as f32 / out_size as f32;
    for i in 0..out_size {
        let centre = (i as f32 + 0.5) * scale - 0.5;
        let floor = centre.floor();
        let lower = if floor < 0.0 { 0 } else { floor as usize };
        let ceil = centre.ceil();
        let upper = if ceil < 0.0 {
            0
        } else {
            (ceil as usize).min(in_size - 1)
        };
        into.push(Tap {
            lower: lower.min(in_size - 1),
            upper,
            lerp: centre - floor,
        });
    }
}

/// Applies a [`Preprocessing`] to pictures, reusing its resampling plan between pictures of
/// the same size.
#[derive(Debug, Clone)]
pub struct Preprocessor {
    spec: Preprocessing,
    planned_for: Option<(u32, u32)>,
    xs: Vec<Tap>,
    ys: Vec<Tap>,
}

impl Preprocessor {
    /// A preprocessor for `spec`.
    pub fn new(spec: Preprocessing) -> Self {
        Self {
            spec,
            planned_for: None,
            xs: Vec::with_capacity(spec.width as usize),
            ys: Vec::with_capacity(spec.height as usize),
        }
    }

    /// The preprocessing applied.
    pub fn spec(&self) -> &Preprocessing {
        &self.spec
    }

    /// Writes the tensor for `image` (NHWC, row-major, channels last) into `out`, which must
    /// hold exactly [`Preprocessing::tensor_len`] values.
    pub fn run(&mut self, image: &RgbImage, out: &mut [f32]) -> Result<(), PreprocessError> {
        let spec = self.spec;
        if spec.width == 0 || spec.height == 0 {
            return Err(PreprocessError::EmptyTarget {
                width: spec.width,
                height: spec.height,
            });
        }
        let (w, h) = image.dimensions();
        if w == 0 || h == 0 {
            return Err(PreprocessError::EmptyImage {
                width: w,
                height: h,
            });
        }
        if out.len() != spec.tensor_len() {
            return Err(PreprocessError::OutputSize {
                expected: spec.tensor_len(),
                given: out.len(),
            });
        }
        let (x0, y0, cw, ch) = match spec.crop {
            Crop::None => (0, 0, w, h),
            Crop::CenterSquare => {
                let s = w.min(h);
                ((w - s) / 2, (h - s) / 2, s, s)
            }
        };
        if self.planned_for != Some((cw, ch)) {
            taps(cw as usize, spec.width as usize, &mut self.xs);
            taps(ch as usize, spec.height as usize, &mut self.ys);
            self.planned_for = Some((cw, ch));
        }
        let raw = image.as_raw();
        let stride = w as usize * 3;
        let (x0, y0) = (x0 as usize, y0 as usize);
        let order = match spec.color_order {
            ColorOrder::Rgb => [0, 1, 2],
            ColorOrder::Bgr => [2, 1, 0],
        };
        let mut k = 0;
        for ty in &self.ys {
            let top_row = (y0 + ty.lower) * stride;
            let bottom_row = (y0 + ty.upper) * stride;
            for tx in &self.xs {
                let left = (x0 + tx.lower) * 3;
                let right = (x0 + tx.upper) * 3;
                for &c in &order {
                    let tl = f32::from(raw[top_row + left + c]);
                    let tr = f32::from(raw[top_row + right + c]);
                    let bl = f32::from(raw[bottom_row + left + c]);
                    let br = f32::from(raw[bottom_row + right + c]);
                    let top = tl + (tr - tl) * tx.lerp;
                    let bottom = bl + (br - bl) * tx.lerp;
                    let value = top + (bottom - top) * ty.lerp;
                    out[k] = (value - spec.mean) / spec.std;
                    k += 1;
                }
            }
        }
        Ok(())
    }
}

/// Reads an image file (JPEG, PNG or BMP, recognised by content) as 8-bit RGB, within the
/// default pixel limit ([`crate::imagefile::DEFAULT_MAX_IMAGE_PIXELS`]).
pub fn read_rgb(path: &std::path::Path) -> Result<RgbImage, crate::imagefile::ImageFileError> {
    crate::imagefile::read_rgb(path)
}

/// Quantises floats to `i8` with `q = round(x / scale) + zero_point`, clamped (TFLite's rule).
pub fn quantise_i8(values: &[f32], scale: f32, zero_point: i64, out: &mut [i8]) {
    for (o, &v) in out.iter_mut().zip(values) {
        *o = quantise(v, scale, zero_point, -128, 127) as i8;
    }
}

/// Quantises floats to `u8` with `q = round(x / scale) + zero_point`, clamped.
pub fn quantise_u8(values: &[f32], scale: f32, zero_point: i64, out: &mut [u8]) {
    for (o, &v) in out.iter_mut().zip(values) {
        *o = quantise(v, scale, zero_point, 0, 255) as u8;
    }
}

fn quantise(v: f32, scale: f32, zero_point: i64, lo: i64, hi: i64) -> i64 {
    let q = (v / scale).round();
    // NaN maps to the zero point; infinities saturate.
    let q = if q.is_nan() {
        0
    } else {
        q.clamp(-1e9, 1e9) as i64
    };
    (q + zero_point).clamp(lo, hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| image::Rgb([(x * 10) as u8, (y * 20) as u8, 7]))
    }

    #[test]
    fn same_size_is_identity_then_normalised() {
        let img = image(4, 3);
        let spec = Preprocessing::mobilenet(4, 3);
        let mut out = vec![0.0; spec.tensor_len()];
        Preprocessor::new(spec).run(&img, &mut out).unwrap();
        for (i, p) in img.pixels().enumerate() {
            for c in 0..3 {
                assert_eq!(out[i * 3 + c], (f32::from(p[c]) - 127.5) / 127.5);
            }
        }
    }

    #[test]
    fn centre_square_crop_takes_the_middle() {
        // 5 wide, 2 high: the square is columns 1..3 (offset floor(3/2) = 1).
        let img = image(5, 2);
        let mut spec = Preprocessing::mobilenet(2, 2);
        spec.crop = Crop::CenterSquare;
        spec.mean = 0.0;
        spec.std = 1.0;
        let mut out = vec![0.0; spec.tensor_len()];
        Preprocessor::new(spec).run(&img, &mut out).unwrap();
        assert_eq!(out[0], 10.0);
        assert_eq!(out[3], 20.0);
    }

    #[test]
    fn bgr_swaps_channels() {
        let img = image(1, 1);
        let mut spec = Preprocessing::mobilenet(1, 1);
        spec.color_order = ColorOrder::Bgr;
        spec.mean = 0.0;
        spec.std = 1.0;
        let mut out = vec![0.0; 3];
        Preprocessor::new(spec).run(&img, &mut out).unwrap();
        assert_eq!(out, vec![7.0, 0.0, 0.0]);
    }

    #[test]
    fn bad_sizes_are_errors() {
        let spec = Preprocessing::mobilenet(2, 2);
        let mut p = Preprocessor::new(spec);
        let mut out = vec![0.0; 12];
        assert!(matches!(
            p.run(&RgbImage::new(0, 5), &mut out),
            Err(PreprocessError::EmptyImage { .. })
        ));
        assert!(matches!(
            p.run(&image(3, 3), &mut [0.0; 5]),
            Err(PreprocessError::OutputSize {
                expected: 12,
                given: 5
            })
        ));
        let mut p = Preprocessor::new(Preprocessing::mobilenet(0, 2));
        assert!(matches!(
            p.run(&image(3, 3), &mut []),
            Err(PreprocessError::EmptyTarget { .. })
        ));
    }

    #[test]
    fn quantisation_rounds_and_clamps() {
        let mut i8s = [0i8; 5];
        quantise_i8(&[-1.0, 0.0, 0.5, 1.0, f32::NAN], 1.0 / 128.0, 0, &mut i8s);
        assert_eq!(i8s, [-128, 0, 64, 127, 0]);
        let mut u8s = [0u8; 4];
        quantise_u8(
            &[-1.0, 0.0, 0.99, f32::INFINITY],
            1.0 / 128.0,
            128,
            &mut u8s,
        );
        assert_eq!(u8s, [0, 128, 255, 255]);
        // Half-way cases round away from zero, like std::round in TFLite.
        quantise_i8(&[0.5, -0.5, 1.5], 1.0, 0, &mut i8s[..3]);
        assert_eq!(&i8s[..3], &[1, -1, 2]);
    }

    proptest::proptest! {
        #[test]
        fn any_image_any_target_stays_in_range(
            w in 1u32..40, h in 1u32..40, tw in 1u32..40, th in 1u32..40, square: bool, seed: u8
        ) {
            let img = RgbImage::from_fn(w, h, |x, y| {
                image::Rgb([(x as u8).wrapping_mul(seed), (y as u8).wrapping_add(seed), seed])
            });
            let mut spec = Preprocessing::mobilenet(tw, th);
            if square { spec.crop = Crop::CenterSquare; }
            let mut out = vec![0.0; spec.tensor_len()];
            Preprocessor::new(spec).run(&img, &mut out).unwrap();
            proptest::prop_assert!(out.iter().all(|v| (-1.0..=1.0).contains(v)));
        }
    }
}
