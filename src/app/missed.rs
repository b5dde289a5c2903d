//! Keeping the frames in which no white cell was found, for review: a locator that misses
//! cells on a new microscope can only be fixed from the frames it missed.

use std::fs;
use std::path::{Path, PathBuf};

use image::RgbImage;

use crate::store::StoreError;

/// The folder of kept frames inside the data directory.
pub const MISSED_DIR: &str = "missed";

/// Where and how many missed frames are kept.
#[derive(Debug, Clone)]
pub struct MissedFrames {
    dir: PathBuf,
    limit: usize,
}

impl MissedFrames {
    /// Frames kept in `data_dir/missed/`, at most `limit` of them (the oldest go first, so
    /// the folder can never fill the disk and always holds the latest misses).
    pub fn new(data_dir: &Path, limit: usize) -> Self {
        MissedFrames {
            dir: data_dir.join(MISSED_DIR),
            limit: limit.max(1),
        }
    }

    /// Writes `frame` durably as `missed/<wall ms>.jpg` after removing the oldest kept
    /// frames beyond the limit; returns the file written.
    pub fn keep(&self, frame: &RgbImage, wall_ms: u64) -> Result<PathBuf, MissedError> {
        self.make_room()?;
        // Zero-padded, so names sort in time order and the oldest is the first.
        let path = self.dir.join(format!("{wall_ms:015}.jpg"));
        let mut jpeg = std::io::Cursor::new(Vec::new());
        frame.write_to(&mut jpeg, image::ImageFormat::Jpeg)?;
        crate::store::write_file_durably(&path, jpeg.get_ref())?;
        Ok(path)
    }

    /// Removes the oldest kept frames until one more fits under the limit.
    fn make_room(&self) -> Result<(), MissedError> {
        let mut kept = match self.kept() {
            Ok(kept) => kept,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(MissedError::io("list", &self.dir, e)),
        };
        if kept.len() < self.limit {
            return Ok(());
        }
        kept.sort();
        let excess = kept.len() + 1 - self.limit;
        for old in kept.iter().take(excess) {
            fs::remove_file(old).map_err(|e| MissedError::io("remove", old, e))?;
        }
        Ok(())
    }

    /// The frames kept so far (only this module's own `*.jpg` files are counted, so
    /// nothing else a technician puts in the folder is ever removed).
    fn kept(&self) -> std::io::Result<Vec<PathBuf>> {
        let mut kept = Vec::new();
        for entry in fs::read_dir(&self.dir)? {
            let entry = entry?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let is_ours = name
                .strip_suffix(".jpg")
                .is_some_and(|stem| !stem.is_empty() && stem.bytes().all(|b| b.is_ascii_digit()));
            if is_ours && entry.file_type()?.is_file() {
                kept.push(entry.path());
            }
        }
        Ok(kept)
    }
}

impl super::App {
    /// Keeps the frames in which no white cell is found (`storage.keep_missed_frames`).
    pub fn keep_missed_frames(&mut self, missed: MissedFrames) {
        log::info!(
            "frames without a white cell are kept in {} (at most {})",
            missed.dir.display(),
            missed.limit
        );
        self.missed = Some(missed);
    }

    /// Keeps a frame in which no white cell was found, when asked to; a failure is logged
    /// and never stops counting.
    pub(super) fn keep_missed_frame(&self, frame: &crate::camera::Frame) {
        let Some(missed) = &self.missed else { return };
        match missed.keep(&frame.image, crate::time::wall_ms_now()) {
            Ok(path) => log::info!(
                "{}: frame kept for review in {}",
                frame.origin,
                path.display()
            ),
            Err(e) => log::warn!("{}: frame not kept for review: {e}", frame.origin),
        }
    }
}

/// Why a missed frame was not kept.
#[derive(Debug, thiserror::Error)]
pub enum MissedError {
    /// The frame could not be encoded.
    #[error("encoding the frame: {0}")]
    Encode(#[from] image::ImageError),
    /// The frame could not be written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The folder could not be listed, or an old frame removed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
}

impl MissedError {
    fn io(action: &'static str, path: &Path, source: std::io::Error) -> Self {
        MissedError::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn keeps_at_most_the_limit_dropping_the_oldest() {
        let data = tempfile::tempdir().unwrap();
        let missed = MissedFrames::new(data.path(), 2);
        let frame = RgbImage::new(4, 4);
        for ms in [30, 10, 20, 40] {
            missed.keep(&frame, ms).unwrap();
        }
        assert_eq!(
            names(&data.path().join(MISSED_DIR)),
            ["000000000000030.jpg", "000000000000040.jpg"]
        );
    }

    #[test]
    fn leaves_other_files_alone() {
        let data = tempfile::tempdir().unwrap();
        let dir = data.path().join(MISSED_DIR);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("notes.txt"), b"x").unwrap();
        let missed = MissedFrames::new(data.path(), 1);
        missed.keep(&RgbImage::new(4, 4), 1).unwrap();
        missed.keep(&RgbImage::new(4, 4), 2).unwrap();
        assert_eq!(names(&dir), ["000000000000002.jpg", "notes.txt"]);
    }
}
