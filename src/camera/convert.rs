//! Camera pixel formats to packed 8-bit RGB, into buffers the caller keeps and reuses.
//!
//! Every function writes `width * height * 3` bytes into `dst`, resizing it only when its
//! length differs, so a capture loop that keeps one `Vec<u8>` per stream does not allocate
//! in steady state. `stride` is the source's bytes per line (V4L2 `bytesperline`, which
//! may include padding); 0 means tightly packed.
//!
//! YUYV uses the BT.601 matrix, which USB (UVC) cameras use for standard-definition and
//! most webcam formats. [`YuvRange::Limited`] ("studio swing", Y 16..=235, Cb/Cr 16..=240)
//! is what nearly all UVC cameras send and the default; [`YuvRange::Full`] (Y, Cb, Cr
//! 0..=255, as in JPEG/JFIF) is for cameras that report full-range quantisation.

use zune_core::bytestream::ZCursor;
use zune_core::colorspace::ColorSpace;
use zune_core::options::DecoderOptions;
use zune_jpeg::JpegDecoder;

/// Largest MJPEG frame side accepted, so a corrupt header cannot demand a huge buffer.
pub const MAX_JPEG_SIDE: usize = 8192;

/// Quantisation range of YUV samples (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum YuvRange {
    /// BT.601 limited range: Y 16..=235, Cb/Cr 16..=240 (UVC default).
    #[default]
    Limited,
    /// BT.601 full range: Y, Cb, Cr 0..=255.
    Full,
}

/// A frame that could not be converted or decoded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConvertError {
    /// The source buffer is shorter than its stated geometry needs.
    #[error("frame buffer too short: {got} bytes, {needed} needed for the stated size")]
    ShortBuffer {
        /// Bytes the geometry needs.
        needed: usize,
        /// Bytes delivered.
        got: usize,
    },
    /// The stated stride is shorter than one row of pixels.
    #[error("stride {stride} is shorter than a row of {row} bytes")]
    BadStride {
        /// The stated bytes per line.
        stride: usize,
        /// Bytes one row of pixels needs.
        row: usize,
    },
    /// The JPEG data is corrupt, truncated or unsupported.
    #[error("corrupt MJPEG frame: {0}")]
    Jpeg(String),
}

/// Fixed-point (16 fractional bits) BT.601 coefficients: luma gain, then Cr→R, Cb→G, Cr→G,
/// Cb→B, and the luma offset.
struct Coefficients {
    y: i32,
    rv: i32,
    gu: i32,
    gv: i32,
    bu: i32,
    y_offset: i32,
}

const LIMITED: Coefficients = Coefficients {
    y: 76_309,   // 255/219 = 1.164383
    rv: 104_597, // 1.596027
    gu: 25_675,  // 0.391762
    gv: 53_279,  // 0.812968
    bu: 132_201, // 2.017232
    y_offset: 16,
};

const FULL: Coefficients = Coefficients {
    y: 65_536,   // 1.0
    rv: 91_881,  // 1.402
    gu: 22_554,  // 0.344136
    gv: 46_802,  // 0.714136
    bu: 116_130, // 1.772
    y_offset: 0,
};

/// Checks geometry and returns the effective stride.
fn checked_stride(
    src: &[u8],
    height: usize,
    stride: usize,
    row: usize,
) -> Result<usize, ConvertError> {
    let stride = if stride == 0 { row } else { stride };
    if stride < row {
        return Err(ConvertError::BadStride { stride, row });
    }
    let needed = if height == 0 {
        0
    } else {
        stride * (height - 1) + row
    };
    if src.len() < needed {
        return Err(ConvertError::ShortBuffer {
            needed,
            got: src.len(),
        });
    }
    Ok(stride)
}

fn prepare(dst: &mut Vec<u8>, width: usize, height: usize) {
    let len = width * height * 3;
    if dst.len() != len {
        dst.resize(len, 0);
    }
}

#[inline]
fn clamp_shift(v: i32) -> u8 {
    ((v + (1 << 15)) >> 16).clamp(0, 255) as u8
}

/// Converts packed YUYV 4:2:2 (`Y0 U Y1 V` per pair of pixels) to RGB. An odd width uses
/// the last pair's first pixel only.
pub fn yuyv_to_rgb(
    src: &[u8],
    width: usize,
    height: usize,
    stride: usize,
    range: YuvRange,
    dst: &mut Vec<u8>,
) -> Result<(), ConvertError> {
    let row = width.div_ceil(2) * 4;
    let stride = checked_stride(src, height, stride, row)?;
    prepare(dst, width, height);
    let k = match range {
        YuvRange::Limited => &LIMITED,
        YuvRange::Full => &FULL,
    };
    let pixel = |luma: u8, r_off: i32, g_off: i32, b_off: i32, out: &mut [u8]| {
        let l = k.y * (i32::from(luma) - k.y_offset);
        out[0] = clamp_shift(l + r_off);
        out[1] = clamp_shift(l + g_off);
        out[2] = clamp_shift(l + b_off);
    };
    let chroma = |quad: &[u8]| {
        let u = i32::from(quad[1]) - 128;
        let v = i32::from(quad[3]) - 128;
        (k.rv * v, -k.gu * u - k.gv * v, k.bu * u)
    };
    let pairs = width / 2;
    for y in 0..height {
        let line = &src[y * stride..y * stride + row];
        let out = &mut dst[y * width * 3..(y + 1) * width * 3];
        let (out_pairs, out_tail) = out.split_at_mut(pairs * 6);
        for (quad, o) in line.chunks_exact(4).zip(out_pairs.chunks_exact_mut(6)) {
            let (r, g, b) = chroma(quad);
            let (first, second) = o.split_at_mut(3);
            pixel(quad[0], r, g, b, first);
            pixel(quad[2], r, g, b, second);
        }
        if width % 2 == 1 {
            let quad = &line[pairs * 4..pairs * 4 + 4];
            let (r, g, b) = chroma(quad);
            pixel(quad[0], r, g, b, out_tail);
        }
    }
    Ok(())
}

/// Converts packed BGR (V4L2 `BGR3`) to RGB.
pub fn bgr_to_rgb(
    src: &[u8],
    width: usize,
    height: usize,
    stride: usize,
    dst: &mut Vec<u8>,
) -> Result<(), ConvertError> {
    let row = width * 3;
    let stride = checked_stride(src, height, stride, row)?;
    prepare(dst, width, height);
    for y in 0..height {
        let line = &src[y * stride..y * stride + row];
        let out = &mut dst[y * row..(y + 1) * row];
        for (o, i) in out.chunks_exact_mut(3).zip(line.chunks_exact(3)) {
            o[0] = i[2];
            o[1] = i[1];
            o[2] = i[0];
        }
    }
    Ok(())
}

/// Copies packed RGB (V4L2 `RGB3`), dropping any row padding.
pub fn rgb_to_rgb(
    src: &[u8],
    width: usize,
    height: usize,
    stride: usize,
    dst: &mut Vec<u8>,
) -> Result<(), ConvertError> {
    let row = width * 3;
    let stride = checked_stride(src, height, stride, row)?;
    prepare(dst, width, height);
    for y in 0..height {
        dst[y * row..(y + 1) * row].copy_from_slice(&src[y * stride..y * stride + row]);
    }
    Ok(())
}

/// Expands 8-bit greyscale (V4L2 `GREY`) to RGB.
pub fn grey_to_rgb(
    src: &[u8],
    width: usize,
    height: usize,
    stride: usize,
    dst: &mut Vec<u8>,
) -> Result<(), ConvertError> {
    let stride = checked_stride(src, height, stride, width)?;
    prepare(dst, width, height);
    for y in 0..height {
        let line = &src[y * stride..y * stride + width];
        let out = &mut dst[y * width * 3..(y + 1) * width * 3];
        for (o, &g) in out.chunks_exact_mut(3).zip(line) {
            o.fill(g);
        }
    }
    Ok(())
}

/// Decodes one MJPEG (JPEG) frame to RGB into `dst` and returns its `(width, height)`.
///
/// Corrupt, truncated or oversized (> [`MAX_JPEG_SIDE`]) data is an error, never a panic.
/// UVC frames that omit their Huffman tables are decoded with the standard tables when
/// they carry the `AVI1` marker. The decoder keeps small working buffers of its own per
/// call; the output buffer is reused.
pub fn decode_mjpeg(src: &[u8], dst: &mut Vec<u8>) -> Result<(u32, u32), ConvertError> {
    let options = DecoderOptions::default()
        .jpeg_set_out_colorspace(ColorSpace::RGB)
        .set_max_width(MAX_JPEG_SIDE)
        .set_max_height(MAX_JPEG_SIDE)
        .set_strict_mode(false);
    let mut decoder = JpegDecoder::new_with_options(ZCursor::new(src), options);
    decoder
        .decode_headers()
        .map_err(|e| ConvertError::Jpeg(e.to_string()))?;
    let (width, height) = decoder
        .dimensions()
        .ok_or_else(|| ConvertError::Jpeg("no frame header".into()))?;
    let needed = decoder
        .output_buffer_size()
        .ok_or_else(|| ConvertError::Jpeg("image size overflows".into()))?;
    if needed != width * height * 3 {
        return Err(ConvertError::Jpeg(format!(
            "unexpected output size {needed} for {width}x{height}"
        )));
    }
    if dst.len() != needed {
        dst.resize(needed, 0);
    }
    decoder
        .decode_into(dst)
        .map_err(|e| ConvertError::Jpeg(e.to_string()))?;
    Ok((width as u32, height as u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuyv_limited_range_known_pixels() {
        // Pixels worked out by hand from the BT.601 limited-range equations:
        // black (Y16), white (Y235), red (Y81 U90 V240 -> 254,0,0), and
        // Y100 U150 V60 -> R = 1.164*84 + 1.596*(-68) < 0, G = 97.81 - 8.62 + 55.28 = 144.47,
        // B = 97.81 + 2.017*22 = 142.19.
        let src = [16, 128, 235, 128, 81, 90, 81, 240, 100, 150, 100, 60];
        let mut dst = Vec::new();
        yuyv_to_rgb(&src, 6, 1, 0, YuvRange::Limited, &mut dst).unwrap();
        assert_eq!(
            dst,
            [
                0, 0, 0, 255, 255, 255, 254, 0, 0, 254, 0, 0, 0, 144, 142, 0, 144, 142
            ]
        );
    }

    #[test]
    fn yuyv_full_range_known_pixels() {
        // Grey Y128 stays 128; full-range red Y76 U85 V255: R = 76 + 1.402*127 = 254.05,
        // G = 76 + 14.80 - 90.70 = 0.10, B = 76 - 76.20 < 0; its pair partner Y255 with the
        // same chroma: R clips, G = 255 + 14.80 - 90.70 = 179.1, B = 255 - 76.20 = 178.8.
        let src = [128, 128, 0, 128, 76, 85, 255, 255];
        let mut dst = Vec::new();
        yuyv_to_rgb(&src, 4, 1, 0, YuvRange::Full, &mut dst).unwrap();
        assert_eq!(dst, [128, 128, 128, 0, 0, 0, 254, 0, 0, 255, 179, 179]);
    }

    #[test]
    fn yuyv_honours_stride_and_odd_width() {
        // Two rows of one pair each, padded to 6 bytes per line; width 1 uses Y0 only.
        let src = [235, 128, 16, 128, 9, 9, 16, 128, 235, 128];
        let mut dst = Vec::new();
        yuyv_to_rgb(&src, 1, 2, 6, YuvRange::Limited, &mut dst).unwrap();
        assert_eq!(dst, [255, 255, 255, 0, 0, 0]);
    }

    #[test]
    fn short_buffers_and_bad_strides_are_errors() {
        let mut dst = Vec::new();
        let err = yuyv_to_rgb(&[0; 7], 4, 1, 0, YuvRange::Limited, &mut dst).unwrap_err();
        assert_eq!(err, ConvertError::ShortBuffer { needed: 8, got: 7 });
        let err = bgr_to_rgb(&[0; 100], 4, 2, 6, &mut dst).unwrap_err();
        assert_eq!(err, ConvertError::BadStride { stride: 6, row: 12 });
        assert!(grey_to_rgb(&[0; 5], 3, 2, 0, &mut dst).is_err());
    }

    #[test]
    fn bgr_rgb_and_grey_known_pixels() {
        let mut dst = Vec::new();
        bgr_to_rgb(
            &[1, 2, 3, 4, 5, 6, 99, 7, 8, 9, 10, 11, 12, 99],
            2,
            2,
            7,
            &mut dst,
        )
        .unwrap();
        assert_eq!(dst, [3, 2, 1, 6, 5, 4, 9, 8, 7, 12, 11, 10]);
        rgb_to_rgb(&[1, 2, 3, 0, 4, 5, 6], 1, 2, 4, &mut dst).unwrap();
        assert_eq!(dst, [1, 2, 3, 4, 5, 6]);
        grey_to_rgb(&[7, 200], 2, 1, 0, &mut dst).unwrap();
        assert_eq!(dst, [7, 7, 7, 200, 200, 200]);
    }

    #[test]
    fn output_buffer_is_reused() {
        let mut dst = Vec::with_capacity(64 * 48 * 3);
        let ptr = dst.as_ptr();
        let src = vec![128u8; 64 * 48 * 2];
        for _ in 0..3 {
            yuyv_to_rgb(&src, 64, 48, 0, YuvRange::Limited, &mut dst).unwrap();
            assert_eq!(dst.as_ptr(), ptr);
        }
    }

    fn encode_jpeg(img: &image::RgbImage) -> Vec<u8> {
        let mut bytes = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 95)
            .encode_image(img)
            .unwrap();
        bytes
    }

    #[test]
    fn mjpeg_decodes_close_to_the_source() {
        let img = image::RgbImage::from_fn(64, 32, |x, _| {
            if x < 32 {
                image::Rgb([200, 40, 40])
            } else {
                image::Rgb([30, 60, 210])
            }
        });
        let mut dst = Vec::new();
        assert_eq!(
            decode_mjpeg(&encode_jpeg(&img), &mut dst).unwrap(),
            (64, 32)
        );
        assert_eq!(dst.len(), 64 * 32 * 3);
        for (x, expected) in [(8usize, [200, 40, 40]), (56, [30, 60, 210])] {
            let px = &dst[(16 * 64 + x) * 3..(16 * 64 + x) * 3 + 3];
            for c in 0..3 {
                assert!(
                    (i32::from(px[c]) - expected[c]).abs() <= 6,
                    "pixel {x}: {px:?} vs {expected:?}"
                );
            }
        }
    }

    #[test]
    fn mjpeg_grey_frame_expands_to_rgb() {
        let grey = image::GrayImage::from_pixel(16, 16, image::Luma([90]));
        let mut bytes = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 95)
            .encode_image(&grey)
            .unwrap();
        let mut dst = Vec::new();
        assert_eq!(decode_mjpeg(&bytes, &mut dst).unwrap(), (16, 16));
        assert!(
            dst.iter().all(|&v| (88..=92).contains(&v)),
            "{:?}",
            &dst[..6]
        );
    }

    #[test]
    fn fixture_field_decodes() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/bccd/JPEGImages/BloodImage_00000.jpg"
        );
        let mut dst = Vec::new();
        assert_eq!(
            decode_mjpeg(&std::fs::read(path).unwrap(), &mut dst).unwrap(),
            (640, 480)
        );
    }

    #[test]
    fn corrupt_and_truncated_mjpeg_are_errors() {
        let mut dst = Vec::new();
        assert!(matches!(
            decode_mjpeg(&[], &mut dst),
            Err(ConvertError::Jpeg(_))
        ));
        assert!(decode_mjpeg(b"definitely not a jpeg", &mut dst).is_err());
        let img =
            image::RgbImage::from_fn(48, 48, |x, y| image::Rgb([x as u8 * 5, y as u8 * 5, 90]));
        let bytes = encode_jpeg(&img);
        // Cut inside the headers: an error. (A cut in the entropy-coded data may decode a
        // partly grey picture, as browsers do; it must not panic either way.)
        assert!(decode_mjpeg(&bytes[..bytes.len().min(100)], &mut dst).is_err());
        for cut in (0..bytes.len()).step_by(7) {
            let _ = decode_mjpeg(&bytes[..cut], &mut dst);
        }
    }

    proptest::proptest! {
        #[test]
        fn mjpeg_with_flipped_bytes_never_panics(flips in proptest::collection::vec((0usize..2000, 0u8..=255), 1..8)) {
            let img = image::RgbImage::from_fn(40, 24, |x, y| image::Rgb([x as u8 * 6, y as u8 * 9, 128]));
            let mut bytes = encode_jpeg(&img);
            for (pos, val) in flips {
                let i = pos % bytes.len();
                bytes[i] = val;
            }
            let mut dst = Vec::new();
            let _ = decode_mjpeg(&bytes, &mut dst);
        }
    }
}
