//! Replayed frames: a directory of images played back as if a camera delivered them.
//!
//! Used by the demo configuration and by tests. Files are played in file-name order; an
//! unreadable file yields [`CameraError::BadFrame`] once and the next call moves on to the
//! following file, so one bad picture never stalls the daemon.

use std::path::{Path, PathBuf};
use std::time::Instant;

use super::{CameraError, Frame, FrameSource};

/// File extensions (lower case) that the replay source picks up.
const IMAGE_EXTENSIONS: &[&str] = &["jpg", "jpeg", "png", "bmp"];

/// A [`FrameSource`] that plays back the images of a directory in file-name order.
#[derive(Debug)]
pub struct ReplaySource {
    files: Vec<PathBuf>,
    next: usize,
    looping: bool,
    sequence: u64,
    opened: Instant,
    max_pixels: u64,
}

impl ReplaySource {
    /// Opens `dir` and lists its image files (`.jpg`, `.jpeg`, `.png`, `.bmp`, any case),
    /// sorted by file name. With `looping`, playback starts again at the first file after
    /// the last one; without it, [`CameraError::Exhausted`] follows the last file.
    ///
    /// Fails with [`CameraError::Unavailable`] if the directory cannot be read or holds
    /// no image files.
    pub fn open(dir: &Path, looping: bool) -> Result<Self, CameraError> {
        let files = image_files(dir)?;
        log::info!(
            "replaying {} images from {}{}",
            files.len(),
            dir.display(),
            if looping { " (looping)" } else { "" }
        );
        Ok(Self {
            files,
            next: 0,
            looping,
            sequence: 0,
            opened: Instant::now(),
            max_pixels: crate::imagefile::DEFAULT_MAX_IMAGE_PIXELS,
        })
    }

    /// Refuses pictures of more than `max_pixels` pixels (`limits.max_image_pixels`) as bad
    /// frames instead of decoding them.
    pub fn with_max_pixels(mut self, max_pixels: u64) -> Self {
        self.max_pixels = max_pixels;
        self
    }

    /// The files this source plays, in playback order.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }
}

/// The image files (`.jpg`, `.jpeg`, `.png`, `.bmp`, any case) of `dir`, sorted by file
/// name; [`CameraError::Unavailable`] when the folder cannot be read or holds none.
pub(super) fn image_files(dir: &Path) -> Result<Vec<PathBuf>, CameraError> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        CameraError::Unavailable(format!(
            "cannot read replay directory {}: {e} (check the camera path in the config)",
            dir.display()
        ))
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.is_file() && has_image_extension(path))
        .collect();
    files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    if files.is_empty() {
        return Err(CameraError::Unavailable(format!(
            "replay directory {} holds no .jpg/.jpeg/.png/.bmp images",
            dir.display()
        )));
    }
    Ok(files)
}

fn has_image_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

impl FrameSource for ReplaySource {
    fn latest_frame(&mut self) -> Result<Frame, CameraError> {
        if self.next >= self.files.len() {
            if !self.looping {
                return Err(CameraError::Exhausted);
            }
            self.next = 0;
        }
        let path = &self.files[self.next];
        self.next += 1;
        let origin = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        let image = crate::imagefile::read_rgb_within(path, self.max_pixels).map_err(|e| {
            log::warn!("skipping unreadable replay image {}: {e}", path.display());
            CameraError::BadFrame {
                origin: origin.clone(),
                reason: e.to_string(),
            }
        })?;
        let frame = Frame {
            image,
            sequence: self.sequence,
            timestamp: self.opened.elapsed(),
            origin,
        };
        self.sequence += 1;
        Ok(frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURES: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/bccd/JPEGImages"
    );

    fn write_png(dir: &Path, name: &str, value: u8) {
        let img = image::RgbImage::from_pixel(4, 3, image::Rgb([value, value, value]));
        img.save(dir.join(name)).unwrap();
    }

    #[test]
    fn plays_fixtures_in_name_order_then_exhausts() {
        let mut src = ReplaySource::open(Path::new(FIXTURES), false).unwrap();
        assert_eq!(src.files().len(), 12);
        let first = src.latest_frame().unwrap();
        assert_eq!(first.origin, "BloodImage_00000.jpg");
        assert_eq!(first.sequence, 0);
        assert_eq!(first.image.dimensions(), (640, 480));
        let mut last_ts = first.timestamp;
        for i in 1..12 {
            let f = src.latest_frame().unwrap();
            assert_eq!(f.sequence, i);
            assert!(f.timestamp >= last_ts);
            last_ts = f.timestamp;
        }
        assert!(matches!(src.latest_frame(), Err(CameraError::Exhausted)));
    }

    #[test]
    fn loops_back_to_first_file() {
        let dir = tempfile::tempdir().unwrap();
        write_png(dir.path(), "b.png", 20);
        write_png(dir.path(), "a.png", 10);
        let mut src = ReplaySource::open(dir.path(), true).unwrap();
        let values: Vec<(String, u8)> = (0..5)
            .map(|_| {
                let f = src.latest_frame().unwrap();
                (f.origin, f.image.get_pixel(0, 0)[0])
            })
            .collect();
        let names: Vec<&str> = values.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["a.png", "b.png", "a.png", "b.png", "a.png"]);
        assert_eq!(values[1].1, 20);
    }

    #[test]
    fn bad_file_is_reported_then_skipped() {
        let dir = tempfile::tempdir().unwrap();
        write_png(dir.path(), "1.png", 1);
        std::fs::write(dir.path().join("2.jpg"), b"\xff\xd8\xff not really a jpeg").unwrap();
        write_png(dir.path(), "3.png", 3);
        std::fs::write(dir.path().join("notes.txt"), b"ignored").unwrap();
        let mut src = ReplaySource::open(dir.path(), false).unwrap();
        assert_eq!(src.files().len(), 3);
        assert_eq!(src.latest_frame().unwrap().origin, "1.png");
        match src.latest_frame() {
            Err(CameraError::BadFrame { origin, .. }) => assert_eq!(origin, "2.jpg"),
            other => panic!("expected BadFrame, got {other:?}"),
        }
        let third = src.latest_frame().unwrap();
        assert_eq!(third.origin, "3.png");
        assert_eq!(
            third.sequence, 1,
            "bad frames do not consume a sequence number"
        );
        assert!(matches!(src.latest_frame(), Err(CameraError::Exhausted)));
    }

    #[test]
    fn empty_or_missing_directory_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("readme.txt"), b"no images").unwrap();
        let err = ReplaySource::open(dir.path(), true).unwrap_err();
        assert!(matches!(err, CameraError::Unavailable(_)));
        assert!(err.to_string().contains("no .jpg"), "{err}");
        let missing = dir.path().join("nope");
        let err = ReplaySource::open(&missing, false).unwrap_err();
        assert!(
            err.to_string().contains("cannot read replay directory"),
            "{err}"
        );
    }
}
