//! The per-request capture loop of the V4L2 source, over a small queue trait so that
//! the draining of stale frames and the handling of corrupt ones are tested without a
//! device (the real queue is the `v4l` mmap stream, in `v4l2.rs`).

use std::time::{Duration, Instant};

use super::config::PixelFormat;
use super::convert::{self, YuvRange};
use super::negotiate::{TimestampKind, is_fresh};

/// Frames in a row that may be corrupt before a request gives up with [`GrabError::Bad`].
pub const MAX_CORRUPT_IN_A_ROW: u32 = 3;

/// `V4L2_BUF_FLAG_ERROR`: the driver says the buffer's data is corrupt.
pub const BUF_FLAG_ERROR: u32 = 0x40;

/// What the driver says about one dequeued buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BufferMeta {
    /// Bytes of the buffer that hold the frame.
    pub bytes_used: u32,
    /// `V4L2_BUF_FLAG_*` bits.
    pub flags: u32,
    /// The driver's timestamp (`CLOCK_MONOTONIC` when the flags say so).
    pub timestamp: Duration,
}

/// A stream of filled capture buffers. Each call gives the next filled buffer and hands
/// the previous one back to the driver; it blocks until one is ready or the stream's own
/// timeout passes (an error).
pub trait BufferQueue {
    /// The next filled buffer.
    fn dequeue(&mut self) -> std::io::Result<(&[u8], BufferMeta)>;
}

/// What is needed to turn one buffer into RGB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    /// Pixel format of the buffers.
    pub format: PixelFormat,
    /// Frame width.
    pub width: u32,
    /// Frame height.
    pub height: u32,
    /// Bytes per line (0 = packed).
    pub stride: u32,
    /// Quantisation of YUYV data.
    pub yuv_range: YuvRange,
}

/// How long frames take and how many may be queued, for the freshness rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// One frame period.
    pub frame_period: Duration,
    /// Buffers queued with the driver.
    pub buffers: usize,
    /// Longest wait for a fresh, good frame.
    pub timeout: Duration,
}

/// Why a grab failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrabError {
    /// Only this request failed (corrupt frames); the camera is still fine.
    Bad(String),
    /// The camera failed, vanished or stalled; close it and reopen later.
    Lost(String),
}

/// A frame delivered by [`grab`] (its pixels are in the caller's RGB buffer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grabbed {
    /// The driver's monotonic timestamp, when usable.
    pub stamp: Option<Duration>,
    /// Stale frames thrown away first.
    pub skipped: usize,
}

/// Dequeues until a frame exposed after `requested` (on `CLOCK_MONOTONIC`) arrives and
/// converts it into `rgb`. Corrupt frames are dropped and counted in `bad_frames`; after
/// [`MAX_CORRUPT_IN_A_ROW`] of them the request fails with [`GrabError::Bad`]. Queue
/// errors and the timeout are [`GrabError::Lost`]. `origin` names the device in messages.
pub fn grab<Q: BufferQueue>(
    queue: &mut Q,
    geometry: &Geometry,
    timing: &Timing,
    requested: Duration,
    origin: &str,
    rgb: &mut Vec<u8>,
    bad_frames: &mut u64,
) -> Result<Grabbed, GrabError> {
    let deadline = Instant::now() + timing.timeout;
    let mut skipped = 0usize;
    let mut corrupt = 0u32;
    loop {
        if Instant::now() > deadline {
            return Err(GrabError::Lost(format!(
                "{origin}: no fresh frame within {} ms",
                timing.timeout.as_millis()
            )));
        }
        let (data, meta) = queue
            .dequeue()
            .map_err(|e| GrabError::Lost(format!("{origin}: {e}")))?;
        let kind = TimestampKind::from_flags(meta.flags);
        if !is_fresh(
            kind,
            meta.timestamp,
            requested,
            timing.frame_period,
            skipped,
            timing.buffers,
        ) {
            skipped += 1;
            continue;
        }
        let used = (meta.bytes_used as usize).min(data.len());
        let result = if meta.flags & BUF_FLAG_ERROR != 0 {
            Err("driver flagged the buffer as corrupt".to_string())
        } else {
            convert_frame(geometry, &data[..used], rgb)
        };
        match result {
            Ok(()) => {
                let stamp = (kind != TimestampKind::Unusable).then_some(meta.timestamp);
                return Ok(Grabbed { stamp, skipped });
            }
            Err(reason) => {
                *bad_frames += 1;
                corrupt += 1;
                log::debug!("{origin}: dropped a corrupt frame: {reason}");
                if corrupt >= MAX_CORRUPT_IN_A_ROW {
                    return Err(GrabError::Bad(format!(
                        "{corrupt} corrupt frames in a row, last: {reason}"
                    )));
                }
            }
        }
    }
}

/// Converts one buffer into `rgb` (width x height x 3).
pub fn convert_frame(geometry: &Geometry, data: &[u8], rgb: &mut Vec<u8>) -> Result<(), String> {
    let g = geometry;
    let (w, h, stride) = (g.width as usize, g.height as usize, g.stride as usize);
    let result = match g.format {
        PixelFormat::Mjpg => match convert::decode_mjpeg(data, rgb) {
            Ok(size) if size == (g.width, g.height) => Ok(()),
            Ok((dw, dh)) => {
                return Err(format!(
                    "MJPEG frame is {dw}x{dh}, expected {}x{}",
                    g.width, g.height
                ));
            }
            Err(e) => Err(e),
        },
        PixelFormat::Yuyv => convert::yuyv_to_rgb(data, w, h, stride, g.yuv_range, rgb),
        PixelFormat::Rgb3 => convert::rgb_to_rgb(data, w, h, stride, rgb),
        PixelFormat::Bgr3 => convert::bgr_to_rgb(data, w, h, stride, rgb),
        PixelFormat::Grey => convert::grey_to_rgb(data, w, h, stride, rgb),
    };
    result.map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    const MONOTONIC_EOF: u32 = 0x2000;
    const MONOTONIC_SOE: u32 = 0x2000 | 0x1_0000;

    /// A simulated driver queue: buffers come out in order; each carries a grey level so
    /// the test can tell which one was delivered.
    struct FakeQueue {
        frames: VecDeque<(Vec<u8>, BufferMeta)>,
        current: Vec<u8>,
        dequeued: usize,
    }

    impl FakeQueue {
        fn new(frames: Vec<(Vec<u8>, BufferMeta)>) -> Self {
            Self {
                frames: frames.into(),
                current: Vec::new(),
                dequeued: 0,
            }
        }
    }

    impl BufferQueue for FakeQueue {
        fn dequeue(&mut self) -> std::io::Result<(&[u8], BufferMeta)> {
            let (data, meta) = self
                .frames
                .pop_front()
                .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::TimedOut, "VIDIOC_DQBUF"))?;
            self.current = data;
            self.dequeued += 1;
            Ok((&self.current, meta))
        }
    }

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    fn grey(level: u8, flags: u32, at: Duration) -> (Vec<u8>, BufferMeta) {
        let data = vec![level; 4 * 2];
        let meta = BufferMeta {
            bytes_used: 8,
            flags,
            timestamp: at,
        };
        (data, meta)
    }

    fn geometry(format: PixelFormat) -> Geometry {
        Geometry {
            format,
            width: 4,
            height: 2,
            stride: 0,
            yuv_range: YuvRange::Limited,
        }
    }

    fn timing() -> Timing {
        Timing {
            frame_period: ms(66),
            buffers: 4,
            timeout: Duration::from_secs(5),
        }
    }

    #[test]
    fn stale_queued_frames_are_skipped() {
        // Four frames finished before the request at t=1000 ms, then fresh ones.
        let mut q = FakeQueue::new(vec![
            grey(1, MONOTONIC_SOE, ms(800)),
            grey(2, MONOTONIC_SOE, ms(866)),
            grey(3, MONOTONIC_SOE, ms(933)),
            grey(4, MONOTONIC_SOE, ms(999)),
            grey(5, MONOTONIC_SOE, ms(1010)),
            grey(6, MONOTONIC_SOE, ms(1076)),
        ]);
        let (mut rgb, mut bad) = (Vec::new(), 0);
        let got = grab(
            &mut q,
            &geometry(PixelFormat::Grey),
            &timing(),
            ms(1000),
            "fake",
            &mut rgb,
            &mut bad,
        )
        .unwrap();
        assert_eq!(
            got,
            Grabbed {
                stamp: Some(ms(1010)),
                skipped: 4
            }
        );
        assert_eq!(rgb, vec![5; 4 * 2 * 3]);
        assert_eq!(bad, 0);
    }

    #[test]
    fn end_of_frame_stamps_need_a_whole_period_after_the_request() {
        let mut q = FakeQueue::new(vec![
            grey(1, MONOTONIC_EOF, ms(1030)),
            grey(2, MONOTONIC_EOF, ms(1096)),
        ]);
        let (mut rgb, mut bad) = (Vec::new(), 0);
        let got = grab(
            &mut q,
            &geometry(PixelFormat::Grey),
            &timing(),
            ms(1000),
            "fake",
            &mut rgb,
            &mut bad,
        )
        .unwrap();
        assert_eq!(got.stamp, Some(ms(1096)));
        assert_eq!(rgb[0], 2);
    }

    #[test]
    fn unusable_timestamps_skip_every_buffer_that_may_be_stale() {
        let frames = (1..=6).map(|i| grey(i, 0x4000, ms(0))).collect();
        let mut q = FakeQueue::new(frames);
        let (mut rgb, mut bad) = (Vec::new(), 0);
        let got = grab(
            &mut q,
            &geometry(PixelFormat::Grey),
            &timing(),
            ms(1000),
            "fake",
            &mut rgb,
            &mut bad,
        )
        .unwrap();
        assert_eq!(
            got,
            Grabbed {
                stamp: None,
                skipped: 4
            }
        );
        assert_eq!(rgb[0], 5);
    }

    #[test]
    fn corrupt_frames_are_dropped_and_counted() {
        let geometry = Geometry {
            format: PixelFormat::Mjpg,
            width: 16,
            height: 16,
            stride: 0,
            yuv_range: YuvRange::Limited,
        };
        let mut jpeg = Vec::new();
        let img = image::RgbImage::from_pixel(16, 16, image::Rgb([10, 200, 30]));
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 95)
            .encode_image(&img)
            .unwrap();
        let meta = |at: u64, flags: u32, len: usize| BufferMeta {
            bytes_used: len as u32,
            flags: MONOTONIC_SOE | flags,
            timestamp: ms(at),
        };
        let mut q = FakeQueue::new(vec![
            (b"garbage".to_vec(), meta(1001, 0, 7)),
            (jpeg.clone(), meta(1002, BUF_FLAG_ERROR, jpeg.len())),
            (jpeg.clone(), meta(1003, 0, jpeg.len())),
        ]);
        let (mut rgb, mut bad) = (Vec::new(), 0);
        let got = grab(
            &mut q,
            &geometry,
            &timing(),
            ms(1000),
            "fake",
            &mut rgb,
            &mut bad,
        )
        .unwrap();
        assert_eq!(got.stamp, Some(ms(1003)));
        assert_eq!(bad, 2);
        assert!((i32::from(rgb[1]) - 200).abs() <= 4, "{:?}", &rgb[..3]);

        // Three corrupt frames in a row: this request fails, the camera is not "lost".
        let mut q = FakeQueue::new(
            (0..5)
                .map(|i| (b"bad".to_vec(), meta(1001 + i, 0, 3)))
                .collect(),
        );
        let err = grab(
            &mut q,
            &geometry,
            &timing(),
            ms(1000),
            "fake",
            &mut rgb,
            &mut bad,
        )
        .unwrap_err();
        assert!(matches!(err, GrabError::Bad(_)), "{err:?}");
        assert_eq!(bad, 5);
        assert_eq!(q.dequeued, 3);
    }

    #[test]
    fn mjpeg_of_the_wrong_size_is_corrupt() {
        let mut jpeg = Vec::new();
        let img = image::RgbImage::from_pixel(8, 8, image::Rgb([1, 2, 3]));
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90)
            .encode_image(&img)
            .unwrap();
        let g = Geometry {
            format: PixelFormat::Mjpg,
            width: 16,
            height: 16,
            stride: 0,
            yuv_range: YuvRange::Full,
        };
        let err = convert_frame(&g, &jpeg, &mut Vec::new()).unwrap_err();
        assert!(err.contains("8x8, expected 16x16"), "{err}");
    }

    #[test]
    fn queue_errors_and_stalls_mean_the_camera_is_lost() {
        let mut q = FakeQueue::new(vec![grey(1, MONOTONIC_SOE, ms(10))]);
        let (mut rgb, mut bad) = (Vec::new(), 0);
        let err = grab(
            &mut q,
            &geometry(PixelFormat::Grey),
            &timing(),
            ms(1000),
            "fake",
            &mut rgb,
            &mut bad,
        )
        .unwrap_err();
        match err {
            GrabError::Lost(reason) => assert!(reason.starts_with("fake: "), "{reason}"),
            other => panic!("expected Lost, got {other:?}"),
        }
        // A queue that keeps delivering only stale frames runs into the timeout.
        struct Stale(Vec<u8>);
        impl BufferQueue for Stale {
            fn dequeue(&mut self) -> std::io::Result<(&[u8], BufferMeta)> {
                std::thread::sleep(Duration::from_millis(5));
                Ok((
                    &self.0,
                    BufferMeta {
                        bytes_used: 8,
                        flags: MONOTONIC_SOE,
                        timestamp: Duration::ZERO,
                    },
                ))
            }
        }
        let quick = Timing {
            timeout: ms(50),
            ..timing()
        };
        let err = grab(
            &mut Stale(vec![0; 8]),
            &geometry(PixelFormat::Grey),
            &quick,
            ms(1000),
            "fake",
            &mut rgb,
            &mut bad,
        )
        .unwrap_err();
        assert!(
            matches!(err, GrabError::Lost(ref r) if r.contains("no fresh frame within 50 ms")),
            "{err:?}"
        );
    }
}
