//! The simulated scan as a frame source.

use std::path::Path;
use std::time::{Duration, Instant};

use image::RgbImage;

use super::{Effects, FRAME_SIZE, Pose, Renderer, Scenario, stitch};
use crate::camera::replay::image_files;
use crate::camera::{CameraError, Frame, FrameSource};

/// A [`FrameSource`] that scans a virtual smear stitched from the pictures of a folder,
/// along a [`Scenario`]'s path: what a camera on a microscope delivers while the technician
/// moves the stage, for live mode without hardware.
///
/// Paced (the default), it behaves like a camera: the frame returned is the one due at the
/// scenario's frame rate since the source was opened, frames the caller was too slow for
/// are skipped, and a caller faster than the camera waits for the next frame. Unpaced
/// ([`ScanSource::unpaced`], for tests) every frame is returned in turn at once, with the
/// timestamp it would have had.
pub struct ScanSource {
    slide: RgbImage,
    frames: Vec<(Pose, Effects)>,
    fps: f64,
    renderer: Renderer,
    next: usize,
    looping: bool,
    paced: bool,
    /// Start of the current pass over the path (paced).
    pass_start: Instant,
    /// Capture time of the current pass's first frame, from the first pass's.
    pass_offset: Duration,
    sequence: u64,
}

impl std::fmt::Debug for ScanSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScanSource")
            .field("slide", &self.slide.dimensions())
            .field("frames", &self.frames.len())
            .field("next", &self.next)
            .field("paced", &self.paced)
            .finish()
    }
}

impl ScanSource {
    /// Stitches the pictures of `dir` (file-name order, as [`crate::camera::ReplaySource`]
    /// plays them) into a slide of at most the scenario's `fields` (columns x rows; fewer
    /// pictures make a smaller, roughly square one: 12 make 4x3) and plans the scenario's path over it. With
    /// `looping` the scan starts again after its last frame; without it
    /// [`CameraError::Exhausted`] follows.
    pub fn open(
        dir: &Path,
        scenario: &Scenario,
        looping: bool,
        max_pixels: u64,
    ) -> Result<Self, CameraError> {
        let files = image_files(dir)?;
        let n = files.len() as u32;
        // As square as the pictures allow (12 make 4x3), within the scenario's size.
        let rows = (f64::from(n).sqrt().floor() as u32).clamp(1, scenario.fields.1.max(1));
        let cols = (n / rows).clamp(1, scenario.fields.0.max(1));
        let tiles = &files[..(cols * rows) as usize];
        let slide = stitch(tiles, cols, max_pixels)
            .map_err(|e| CameraError::Unavailable(format!("scan: {e}")))?;
        let frames = scenario.path(slide.dimensions());
        log::info!(
            "camera: scanning a slide of {cols}x{rows} pictures from {} ({}x{} px), \
             {} frames ({:.0} s) of the {} scan{}",
            dir.display(),
            slide.width(),
            slide.height(),
            frames.len(),
            frames.len() as f64 / scenario.fps,
            scenario.name,
            if looping { ", looping" } else { "" }
        );
        Ok(ScanSource {
            slide,
            frames,
            fps: scenario.fps,
            renderer: Renderer::new(FRAME_SIZE.0, FRAME_SIZE.1),
            next: 0,
            looping,
            paced: true,
            pass_start: Instant::now(),
            pass_offset: Duration::ZERO,
            sequence: 0,
        })
    }

    /// Every frame in turn, as fast as they are asked for (tests, and scoring).
    pub fn unpaced(mut self) -> Self {
        self.paced = false;
        self
    }

    /// Frames in one pass over the slide.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// Whether the scan has no frame.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// The stitched slide.
    pub fn slide(&self) -> &RgbImage {
        &self.slide
    }

    /// Where the camera is at every frame of a pass, and the effects of each.
    pub fn path(&self) -> &[(Pose, Effects)] {
        &self.frames
    }

    /// Capture time of frame `index` of the current pass.
    fn time_of(&self, index: usize) -> Duration {
        self.pass_offset + Duration::from_secs_f64(index as f64 / self.fps)
    }

    /// The index of the frame to return now, waiting for it when the caller is early.
    fn due_index(&self) -> usize {
        if !self.paced {
            return self.next;
        }
        let due = (self.pass_start.elapsed().as_secs_f64() * self.fps).floor() as usize;
        if due >= self.next {
            return due;
        }
        // Faster than the camera: wait for the next frame, as a camera makes one wait.
        let at = Duration::from_secs_f64(self.next as f64 / self.fps);
        std::thread::sleep(at.saturating_sub(self.pass_start.elapsed()));
        self.next
    }
}

impl FrameSource for ScanSource {
    fn latest_frame(&mut self) -> Result<Frame, CameraError> {
        let mut index = self.due_index();
        if index >= self.frames.len() {
            if !self.looping || self.frames.is_empty() {
                return Err(CameraError::Exhausted);
            }
            self.pass_offset = self.time_of(self.frames.len());
            self.pass_start = Instant::now();
            index = 0;
        }
        let (pose, effects) = self.frames[index];
        let image = self.renderer.render(&self.slide, &pose, &effects);
        let frame = Frame {
            image,
            sequence: self.sequence,
            timestamp: self.time_of(index),
            origin: format!("scan frame {index}"),
        };
        self.next = index + 1;
        self.sequence += 1;
        Ok(frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixtures() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bccd/JPEGImages")
    }

    /// A short, cheap scan: two pictures, quick pans, short pauses, no tremor or JPEG.
    fn small() -> Scenario {
        Scenario {
            fields: (2, 1),
            speed: (3000.0, 3000.0),
            pause: (0.1, 0.1),
            tremor: 0.0,
            exposure: 0.0,
            jpeg_quality: 100,
            ..Scenario::by_name("steady-pans").unwrap()
        }
    }

    #[test]
    fn unpaced_it_streams_every_frame_of_the_path_with_its_time_then_ends() {
        let mut src = ScanSource::open(&fixtures(), &small(), false, u64::MAX)
            .unwrap()
            .unpaced();
        assert_eq!(src.slide().dimensions(), (1280, 480));
        let n = src.len();
        assert!(n > 5, "{n} frames");
        let first = src.latest_frame().unwrap();
        assert_eq!(first.image.dimensions(), FRAME_SIZE);
        assert_eq!(first.timestamp, Duration::ZERO);
        let second = src.latest_frame().unwrap();
        assert_eq!(second.sequence, 1);
        assert_eq!(second.timestamp, Duration::from_secs_f64(1.0 / 30.0));
        for _ in 2..n {
            src.latest_frame().unwrap();
        }
        assert!(matches!(src.latest_frame(), Err(CameraError::Exhausted)));
    }

    #[test]
    fn looping_starts_the_path_again_with_time_going_on() {
        let mut src = ScanSource::open(&fixtures(), &small(), true, u64::MAX)
            .unwrap()
            .unpaced();
        let n = src.len();
        let frames: Vec<Frame> = (0..n + 1).map(|_| src.latest_frame().unwrap()).collect();
        assert_eq!(frames[n].origin, "scan frame 0");
        assert!(frames[n].timestamp > frames[n - 1].timestamp);
        assert_eq!(frames[n].image, frames[0].image);
    }

    #[test]
    fn a_folder_without_pictures_is_unavailable() {
        let dir = tempfile::tempdir().unwrap();
        let e = ScanSource::open(dir.path(), &small(), false, u64::MAX).unwrap_err();
        assert!(matches!(e, CameraError::Unavailable(_)), "{e}");
    }
}
