//! Reading picture files, refusing damaged ones instead of guessing their pixels.
//!
//! JPEG decoders fill what is missing of a truncated file with grey and report success;
//! a cell classified from such a picture would be counted from pixels nobody saw. A JPEG
//! file must therefore end with its end-of-image marker.

use std::io;
use std::path::Path;

use image::RgbImage;

/// Reads an image file (JPEG, PNG, BMP) as 8-bit RGB; a truncated JPEG is an error.
pub fn read_rgb(path: &Path) -> Result<RgbImage, image::ImageError> {
    let bytes = std::fs::read(path)?;
    decode_rgb(&bytes)
}

/// Decodes image bytes as 8-bit RGB; a truncated JPEG is an error.
pub fn decode_rgb(bytes: &[u8]) -> Result<RgbImage, image::ImageError> {
    if bytes.starts_with(&[0xFF, 0xD8]) && !has_jpeg_end(bytes) {
        return Err(image::ImageError::IoError(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "truncated JPEG: the end-of-image marker is missing",
        )));
    }
    Ok(image::load_from_memory(bytes)?.to_rgb8())
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
}
