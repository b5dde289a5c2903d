//! Reading picture files, refusing damaged and oversized ones instead of guessing or
//! exhausting memory.
//!
//! Every decode of a file or upload goes through here. Three rules:
//! - JPEG decoders fill what is missing of a truncated file with grey and report success; a
//!   cell classified from such a picture would be counted from pixels nobody saw. A JPEG
//!   file must therefore end with its end-of-image marker.
//! - A small file can declare an enormous picture (a 389 KB PNG of 20000x20000 pixels); the
//!   pixel count is read from the header and checked against a limit *before* any pixel
//!   buffer is allocated.
//! - The picture is decoded once, in its own pixel format, and converted to 8-bit RGB in
//!   the same buffer, so the peak is one buffer (at most 8 bytes a pixel, for 16-bit RGBA),
//!   not a decoded copy plus a converted one.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Cursor, Read, Seek, SeekFrom};
use std::path::Path;

use image::{ColorType, ImageDecoder, ImageReader, Limits, RgbImage};

/// The default limit on the pixels of a picture file: 16 megapixels.
///
/// Above every USB microscope camera's frame (a 4K frame is 8.3 MP) and a 12 MP phone
/// photo, yet decoding the worst case of this size (16-bit RGBA, 8 bytes a pixel) stays
/// near 130 MB, inside the 200 MB a Pi Zero 2 W (512 MB) can spare.
pub const DEFAULT_MAX_IMAGE_PIXELS: u64 = 16_000_000;

/// Largest bytes per pixel any accepted format decodes to before conversion (16-bit RGBA).
const MAX_DECODED_BYTES_PER_PIXEL: u64 = 8;

/// A JPEG file is held in memory whole while it is decoded; one larger than the raw RGB of
/// the largest allowed picture is not a photo.
const MAX_JPEG_BYTES_PER_PIXEL: u64 = 3;

/// How much of a JPEG file's end is searched for the end-of-image marker (past padding).
const JPEG_TAIL: u64 = 64 * 1024;

/// Why a picture could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ImageFileError {
    /// The file could not be read.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The data is not a picture the decoder understands, or is damaged.
    #[error("{0}")]
    Decode(#[from] image::ImageError),
    /// A JPEG without its end-of-image marker: cut off in transfer or writing.
    #[error("truncated JPEG: the end-of-image marker is missing; copy the file again")]
    TruncatedJpeg,
    /// The header declares more pixels than the limit allows.
    #[error(
        "the image is {width}x{height} ({pixels} pixels), over the limit of {max} pixels \
         (configuration key limits.max_image_pixels); crop or shrink it, or raise the limit"
    )]
    TooManyPixels {
        /// Declared width.
        width: u32,
        /// Declared height.
        height: u32,
        /// Their product.
        pixels: u64,
        /// The limit.
        max: u64,
    },
    /// A JPEG file larger than any JPEG of an allowed size could be.
    #[error(
        "the JPEG file is {size} bytes, more than the {max} bytes allowed for pictures of at \
         most {max_pixels} pixels (limits.max_image_pixels); save it again at a normal quality"
    )]
    FileTooLarge {
        /// The file's size.
        size: u64,
        /// The largest size accepted.
        max: u64,
        /// The pixel limit it derives from.
        max_pixels: u64,
    },
    /// A pixel format the accepted formats (JPEG, PNG, BMP) never produce.
    #[error("unsupported pixel format {0:?}; save the picture as 8-bit RGB")]
    Unsupported(ColorType),
}

/// Reads an image file (JPEG, PNG, BMP, recognised by content) as 8-bit RGB, within
/// [`DEFAULT_MAX_IMAGE_PIXELS`]; a truncated JPEG is an error.
pub fn read_rgb(path: &Path) -> Result<RgbImage, ImageFileError> {
    read_rgb_within(path, DEFAULT_MAX_IMAGE_PIXELS)
}

/// [`read_rgb`] with a limit of `max_pixels` (width x height). The file is streamed, not
/// read whole, except a JPEG, which the decoder needs in memory.
pub fn read_rgb_within(path: &Path, max_pixels: u64) -> Result<RgbImage, ImageFileError> {
    let mut file = File::open(path)?;
    let size = file.metadata()?.len();
    let mut head = [0u8; 2];
    let is_jpeg = file.read_exact(&mut head).is_ok() && head == [0xFF, 0xD8];
    if is_jpeg {
        let max = max_pixels.saturating_mul(MAX_JPEG_BYTES_PER_PIXEL);
        if size > max {
            return Err(ImageFileError::FileTooLarge {
                size,
                max,
                max_pixels,
            });
        }
        let tail_len = size.min(JPEG_TAIL);
        file.seek(SeekFrom::Start(size - tail_len))?;
        let mut tail = Vec::new();
        file.by_ref().take(tail_len).read_to_end(&mut tail)?;
        if !has_jpeg_end(&tail) {
            return Err(ImageFileError::TruncatedJpeg);
        }
    }
    file.seek(SeekFrom::Start(0))?;
    decode(BufReader::new(file), max_pixels)
}

/// Decodes image bytes (an upload) as 8-bit RGB within [`DEFAULT_MAX_IMAGE_PIXELS`]; a
/// truncated JPEG is an error.
pub fn decode_rgb(bytes: &[u8]) -> Result<RgbImage, ImageFileError> {
    decode_rgb_within(bytes, DEFAULT_MAX_IMAGE_PIXELS)
}

/// [`decode_rgb`] with a limit of `max_pixels` (width x height).
pub fn decode_rgb_within(bytes: &[u8], max_pixels: u64) -> Result<RgbImage, ImageFileError> {
    if bytes.starts_with(&[0xFF, 0xD8]) && !has_jpeg_end(bytes) {
        return Err(ImageFileError::TruncatedJpeg);
    }
    decode(Cursor::new(bytes), max_pixels)
}

/// Checks the header's size against the limit, then decodes once and converts in place.
fn decode<R: BufRead + Seek>(reader: R, max_pixels: u64) -> Result<RgbImage, ImageFileError> {
    let mut reader = ImageReader::new(reader).with_guessed_format()?;
    // Also bounds the decoders' own allocations (PNG text chunks, for one).
    let mut limits = Limits::default();
    limits.max_alloc = Some(max_pixels.saturating_mul(MAX_DECODED_BYTES_PER_PIXEL));
    reader.limits(limits);
    let decoder = reader.into_decoder()?;
    let (width, height) = decoder.dimensions();
    let pixels = u64::from(width) * u64::from(height);
    if pixels > max_pixels {
        return Err(ImageFileError::TooManyPixels {
            width,
            height,
            pixels,
            max: max_pixels,
        });
    }
    let color = decoder.color_type();
    if !matches!(
        color,
        ColorType::L8
            | ColorType::La8
            | ColorType::Rgb8
            | ColorType::Rgba8
            | ColorType::L16
            | ColorType::La16
            | ColorType::Rgb16
            | ColorType::Rgba16
    ) {
        return Err(ImageFileError::Unsupported(color));
    }
    let total =
        usize::try_from(decoder.total_bytes()).map_err(|_| ImageFileError::TooManyPixels {
            width,
            height,
            pixels,
            max: max_pixels,
        })?;
    let mut buf = vec![0u8; total];
    decoder.read_image(&mut buf)?;
    let rgb = to_rgb8_in_place(buf, color, pixels as usize);
    RgbImage::from_raw(width, height, rgb).ok_or_else(|| {
        image::ImageError::Decoding(image::error::DecodingError::new(
            image::error::ImageFormatHint::Unknown,
            "decoded data does not match the declared size",
        ))
        .into()
    })
}

/// Converts `n` pixels of `color` in `buf` to 8-bit RGB without a second buffer: formats of
/// 3 or more bytes a pixel are compacted front to back, smaller ones expanded back to front.
/// 16-bit samples (native endian) are rounded to 8 bits; alpha is dropped (as
/// `DynamicImage::to_rgb8` does).
pub fn to_rgb8_in_place(mut buf: Vec<u8>, color: ColorType, n: usize) -> Vec<u8> {
    let c16 = |s: &[u8], k: usize| {
        let v = u32::from(u16::from_ne_bytes([s[2 * k], s[2 * k + 1]]));
        ((v + 128) / 257) as u8
    };
    match color {
        ColorType::Rgb8 => {}
        ColorType::Rgba8 => compact(&mut buf, n, 4, |s| [s[0], s[1], s[2]]),
        ColorType::Rgb16 => compact(&mut buf, n, 6, |s| [c16(s, 0), c16(s, 1), c16(s, 2)]),
        ColorType::Rgba16 => compact(&mut buf, n, 8, |s| [c16(s, 0), c16(s, 1), c16(s, 2)]),
        ColorType::La16 => compact(&mut buf, n, 4, |s| [c16(s, 0); 3]),
        ColorType::L8 => expand(&mut buf, n, 1, |s| [s[0]; 3]),
        ColorType::La8 => expand(&mut buf, n, 2, |s| [s[0]; 3]),
        ColorType::L16 => expand(&mut buf, n, 2, |s| [c16(s, 0); 3]),
        // Refused before decoding; leaving the bytes makes `from_raw` fail, not panic.
        _ => {}
    }
    buf
}

/// Front to back: pixel `i` is written at `3i`, never past a source not yet read.
fn compact(buf: &mut Vec<u8>, n: usize, bpp: usize, f: impl Fn(&[u8]) -> [u8; 3]) {
    if buf.len() < n * bpp {
        return;
    }
    for i in 0..n {
        let px = f(&buf[i * bpp..(i + 1) * bpp]);
        buf[3 * i..3 * i + 3].copy_from_slice(&px);
    }
    buf.truncate(3 * n);
    buf.shrink_to_fit();
}

/// Back to front into a grown buffer: pixel `i` is written at `3i`, past every source of a
/// pixel not yet converted (those lie below `i * bpp <= 3i`).
fn expand(buf: &mut Vec<u8>, n: usize, bpp: usize, f: impl Fn(&[u8]) -> [u8; 3]) {
    if buf.len() < n * bpp {
        return;
    }
    buf.resize(3 * n, 0);
    for i in (0..n).rev() {
        let px = f(&buf[i * bpp..(i + 1) * bpp]);
        buf[3 * i..3 * i + 3].copy_from_slice(&px);
    }
}

/// True if the JPEG data ends with FF D9, allowing trailing padding some cameras add.
fn has_jpeg_end(bytes: &[u8]) -> bool {
    let end = bytes
        .iter()
        .rposition(|&b| b != 0x00 && b != b'\n' && b != b'\r')
        .map_or(0, |i| i + 1);
    end >= 4 && bytes[end - 2..end] == [0xFF, 0xD9]
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{DynamicImage, ImageEncoder, ImageFormat};

    fn jpeg() -> Vec<u8> {
        let img = RgbImage::from_pixel(16, 16, image::Rgb([200, 100, 50]));
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
        out.into_inner()
    }

    #[test]
    fn whole_jpegs_decode_and_truncated_ones_are_refused() {
        let data = jpeg();
        assert_eq!(decode_rgb(&data).unwrap().dimensions(), (16, 16));
        let mut padded = data.clone();
        padded.extend_from_slice(&[0, 0, 0]);
        assert!(decode_rgb(&padded).is_ok());
        for cut in [data.len() - 1, data.len() / 2, 3] {
            let err = decode_rgb(&data[..cut]).unwrap_err().to_string();
            assert!(err.contains("truncated") || cut < 4, "{err}");
        }
        assert!(decode_rgb(b"not an image").is_err());
        assert!(decode_rgb(&[]).is_err());
    }

    #[test]
    fn truncated_jpeg_files_are_refused_too() {
        let dir = tempfile::tempdir().unwrap();
        let data = jpeg();
        let whole = dir.path().join("whole.jpg");
        std::fs::write(&whole, &data).unwrap();
        assert_eq!(read_rgb(&whole).unwrap().dimensions(), (16, 16));
        let cut = dir.path().join("cut.jpg");
        std::fs::write(&cut, &data[..data.len() / 2]).unwrap();
        assert!(matches!(read_rgb(&cut), Err(ImageFileError::TruncatedJpeg)));
    }

    /// A PNG of every colour type, converted in place, equals the image crate's own
    /// conversion of the same picture.
    #[test]
    fn in_place_conversion_matches_the_image_crate() {
        let base = DynamicImage::ImageRgba16(image::ImageBuffer::from_fn(7, 5, |x, y| {
            image::Rgba([
                (x * 9000) as u16,
                (y * 13000 + 77) as u16,
                (x * y * 3001) as u16,
                (x * 5000) as u16,
            ])
        }));
        let variants = [
            DynamicImage::ImageLuma8(base.to_luma8()),
            DynamicImage::ImageLumaA8(base.to_luma_alpha8()),
            DynamicImage::ImageRgb8(base.to_rgb8()),
            DynamicImage::ImageRgba8(base.to_rgba8()),
            DynamicImage::ImageLuma16(base.to_luma16()),
            DynamicImage::ImageLumaA16(base.to_luma_alpha16()),
            DynamicImage::ImageRgb16(base.to_rgb16()),
            base.clone(),
        ];
        for img in variants {
            let mut png = Vec::new();
            image::codecs::png::PngEncoder::new(&mut png)
                .write_image(
                    img.as_bytes(),
                    img.width(),
                    img.height(),
                    img.color().into(),
                )
                .unwrap();
            let ours = decode_rgb(&png).unwrap();
            let theirs = image::load_from_memory(&png).unwrap().to_rgb8();
            assert_eq!(ours, theirs, "{:?}", img.color());
        }
    }

    #[test]
    fn the_pixel_limit_is_checked_before_decoding() {
        let img = RgbImage::from_pixel(100, 50, image::Rgb([1, 2, 3]));
        let mut png = Cursor::new(Vec::new());
        img.write_to(&mut png, ImageFormat::Png).unwrap();
        let png = png.into_inner();
        assert!(decode_rgb_within(&png, 5000).is_ok());
        let err = decode_rgb_within(&png, 4999).unwrap_err();
        assert!(
            matches!(err, ImageFileError::TooManyPixels { pixels: 5000, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("limits.max_image_pixels"), "{err}");
    }
}
