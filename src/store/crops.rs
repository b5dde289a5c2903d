//! The picture of every counted cell: `crops/<slide>/<seq>.jpg` in the data directory,
//! written durably before the journal line that names it.

use std::path::{Path, PathBuf};

use image::RgbImage;

use crate::count::validate_session_id;

use super::durable::write_file_durably;
use super::error::StoreError;

/// Encodes `crop` as JPEG and saves it durably (fsync'd, then renamed into place) as cell
/// `seq` of `slide`, so a counted cell never points at an empty picture; returns its path.
pub fn write_crop(
    data_dir: &Path,
    slide: &str,
    seq: u64,
    crop: &RgbImage,
) -> Result<PathBuf, StoreError> {
    validate_session_id(slide)?;
    let path = crop_path(data_dir, slide, seq);
    let mut jpeg = std::io::Cursor::new(Vec::new());
    crop.write_to(&mut jpeg, image::ImageFormat::Jpeg)
        .map_err(|e| StoreError::io("encode", &path, std::io::Error::other(e)))?;
    write_file_durably(&path, jpeg.get_ref())?;
    Ok(path)
}

/// Where cell `seq` of `slide` keeps its picture.
pub fn crop_path(data_dir: &Path, slide: &str, seq: u64) -> PathBuf {
    data_dir
        .join("crops")
        .join(slide)
        .join(format!("{seq:05}.jpg"))
}
