//! Frame sources: where the daemon's pictures come from (a V4L2 camera, a folder replayed,
//! or a simulated slide scan).

pub mod capture_loop;
pub mod config;
pub mod convert;
pub mod ioctl;
pub mod negotiate;
pub mod open_error;
pub mod replay;
pub mod scan;
#[cfg(feature = "v4l2")]
pub mod v4l2;

pub use config::{CameraConfig, PixelFormat};
pub use open_error::CameraOpenError;
pub use replay::ReplaySource;
pub use scan::ScanSource;
#[cfg(feature = "v4l2")]
pub use v4l2::V4l2Source;

use std::time::Duration;

use image::RgbImage;

/// One picture from a frame source.
///
/// `Frame::default()` is an empty 0x0 picture: a buffer to pass to
/// [`FrameSource::latest_frame_into`], which fills it.
#[derive(Debug, Clone, Default)]
pub struct Frame {
    /// The picture, converted to 8-bit RGB.
    pub image: RgbImage,
    /// Frame sequence number, counting from 0 when the source was opened.
    pub sequence: u64,
    /// When the frame was captured, on the source's monotonic clock.
    pub timestamp: Duration,
    /// A short human-readable reference to where the frame came from
    /// (a file name for replayed frames, the device path for a camera).
    pub origin: String,
}

/// Errors of a frame source.
#[derive(Debug, thiserror::Error)]
pub enum CameraError {
    /// The device or directory is not there (unplugged, wrong path).
    #[error("camera not available: {0}")]
    Unavailable(String),
    /// One frame could not be decoded; the next may be fine.
    #[error("bad frame from {origin}: {reason}")]
    BadFrame {
        /// Where the frame came from.
        origin: String,
        /// Why it could not be used.
        reason: String,
    },
    /// The source has no more frames (a replay without looping).
    #[error("no more frames")]
    Exhausted,
}

/// Anything that can deliver the most recent picture of the slide.
pub trait FrameSource {
    /// Returns a frame captured no earlier than this call (stale queued frames are skipped).
    fn latest_frame(&mut self) -> Result<Frame, CameraError>;

    /// Like [`FrameSource::latest_frame`], but writes into `frame`, reusing its buffers.
    ///
    /// A streaming caller (live mode) keeps one `Frame` and calls this for every frame, so a
    /// source that converts into memory it owns (the V4L2 camera) needs no allocation per frame
    /// in steady state. On error `frame` is left as it was. The default implementation simply
    /// replaces `frame` with [`FrameSource::latest_frame`]'s result.
    fn latest_frame_into(&mut self, frame: &mut Frame) -> Result<(), CameraError> {
        *frame = self.latest_frame()?;
        Ok(())
    }
}
