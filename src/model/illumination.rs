//! Background (illumination) normalisation: the picture's own background colour is estimated
//! and every channel is scaled so that it becomes a fixed neutral reference, so that the
//! yellow, grey-blue or pink casts of different microscopes are taken out before the network
//! sees the cell.
//!
//! [`normalise`] is the shared definition: `models/training/illumination.py` is its Python
//! twin and `models/training/illumination_vectors.json` holds test vectors both check. It is
//! integer arithmetic so the two languages cannot round differently. It is applied only when
//! the model's `metadata.json` has an `illumination` object (models before 2.0 do not).

use image::RgbImage;
use serde::{Deserialize, Serialize};

/// The `illumination` object of `metadata.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Illumination {
    /// The method; only `background_gain` exists.
    pub method: IlluminationMethod,
    /// Thousandths of the pixels (the brightest by R+G+B) taken as background.
    pub top_permille: u32,
    /// The colour the background is mapped to.
    pub reference: [u8; 3],
    /// Floor of each background channel (keeps the gain bounded on dark pictures).
    pub min_background: u8,
}

/// How the illumination is normalised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IlluminationMethod {
    /// Per-channel gain that maps the estimated background to the reference.
    BackgroundGain,
}

impl Illumination {
    /// Checks the values serde cannot.
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=1000).contains(&self.top_permille) {
            return Err(format!(
                "illumination.top_permille must be in 1..=1000, got {}",
                self.top_permille
            ));
        }
        if self.min_background == 0 {
            return Err("illumination.min_background must be at least 1".into());
        }
        Ok(())
    }
}

/// The background colour of `image`: the per-channel mean (rounded half up, floored at
/// `min_background`) of every pixel whose R+G+B is at or above the sum that the brightest
/// `top_permille` thousandths of the pixels reach. `None` for an empty picture.
pub fn background(image: &RgbImage, top_permille: u32, min_background: u8) -> Option<[u8; 3]> {
    let n = u64::from(image.width()) * u64::from(image.height());
    if n == 0 {
        return None;
    }
    let mut hist = [0u64; 766];
    for p in image.pixels() {
        hist[usize::from(p[0]) + usize::from(p[1]) + usize::from(p[2])] += 1;
    }
    let want = ((n * u64::from(top_permille)).div_ceil(1000)).max(1);
    let mut seen = 0u64;
    let mut threshold = 0usize;
    for s in (0..hist.len()).rev() {
        seen += hist[s];
        if seen >= want {
            threshold = s;
            break;
        }
    }
    let (mut sums, mut count) = ([0u64; 3], 0u64);
    for p in image.pixels() {
        if usize::from(p[0]) + usize::from(p[1]) + usize::from(p[2]) >= threshold {
            for (s, &v) in sums.iter_mut().zip(p.0.iter()) {
                *s += u64::from(v);
            }
            count += 1;
        }
    }
    let mut bg = [0u8; 3];
    for (b, s) in bg.iter_mut().zip(sums) {
        let mean = (2 * s + count) / (2 * count);
        *b = mean.clamp(u64::from(min_background), 255) as u8;
    }
    Some(bg)
}

/// Scales each channel of `image` in place so that `background` becomes `reference`
/// (`min(255, round_half_up(x * reference / background))`; a zero background channel is
/// taken as 1).
pub fn apply_gain(image: &mut RgbImage, background: [u8; 3], reference: [u8; 3]) {
    let mut lut = [[0u8; 256]; 3];
    for c in 0..3 {
        let b = u64::from(background[c].max(1));
        let r = u64::from(reference[c]);
        for (x, out) in lut[c].iter_mut().enumerate() {
            *out = ((2 * x as u64 * r + b) / (2 * b)).min(255) as u8;
        }
    }
    for p in image.pixels_mut() {
        for c in 0..3 {
            p[c] = lut[c][usize::from(p[c])];
        }
    }
}

/// The normalised copy of `image` (see the module documentation); an empty picture is
/// returned unchanged.
pub fn normalise(image: &RgbImage, spec: &Illumination) -> RgbImage {
    let mut out = image.clone();
    if let Some(bg) = background(image, spec.top_permille, spec.min_background) {
        apply_gain(&mut out, bg, spec.reference);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Vectors {
        cases: Vec<Case>,
    }

    #[derive(Deserialize)]
    struct Case {
        note: String,
        width: u32,
        height: u32,
        top_permille: u32,
        reference: [u8; 3],
        min_background: u8,
        pixels: Vec<u8>,
        expect: Expect,
    }

    #[derive(Deserialize)]
    struct Expect {
        background: [u8; 3],
        pixels: Vec<u8>,
    }

    #[test]
    fn shared_vectors_give_the_same_pixels_as_python() {
        let text = include_str!("../../models/training/illumination_vectors.json");
        let vectors: Vectors = serde_json::from_str(text).unwrap();
        assert!(vectors.cases.len() >= 8);
        for c in vectors.cases {
            let image = RgbImage::from_raw(c.width, c.height, c.pixels).unwrap();
            let spec = Illumination {
                method: IlluminationMethod::BackgroundGain,
                top_permille: c.top_permille,
                reference: c.reference,
                min_background: c.min_background,
            };
            let bg = background(&image, c.top_permille, c.min_background).unwrap();
            assert_eq!(bg, c.expect.background, "{}", c.note);
            assert_eq!(
                normalise(&image, &spec).into_raw(),
                c.expect.pixels,
                "{}",
                c.note
            );
        }
    }

    #[test]
    fn empty_picture_is_left_alone_and_bad_specs_are_refused() {
        let spec = Illumination {
            method: IlluminationMethod::BackgroundGain,
            top_permille: 100,
            reference: [240; 3],
            min_background: 32,
        };
        assert_eq!(background(&RgbImage::new(0, 3), 100, 32), None);
        assert_eq!(normalise(&RgbImage::new(0, 3), &spec).dimensions(), (0, 3));
        assert!(spec.validate().is_ok());
        let zero = Illumination {
            top_permille: 0,
            ..spec.clone()
        };
        assert!(zero.validate().unwrap_err().contains("top_permille"));
        let dark = Illumination {
            min_background: 0,
            ..spec
        };
        assert!(dark.validate().unwrap_err().contains("min_background"));
    }
}
