//! Hardware-in-the-loop: the daemon's V4L2 frame source against the kernel's `vivid`
//! virtual camera (YUYV 640x480, a 75% colour-bar pattern with a changing text overlay
//! at the top). Ignored by default; `cross/hil.sh` runs it in the arm64 VM with
//! `HV_HIL_VIDEO=/dev/video0`. Needs the `v4l2` feature.
#![cfg(feature = "v4l2")]

mod hil_support;

use hematovision::camera::config::{CameraConfig, PixelFormat};
use hematovision::camera::v4l2::V4l2Source;
use hematovision::camera::{CameraError, Frame, FrameSource};
use hil_support::device;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Allocations of at least a 640x480 RGB frame's size, made by anything in this test binary.
static FRAME_SIZED_ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);
const FRAME_BYTES: usize = 640 * 480 * 3;

/// The system allocator, counting frame-sized allocations.
struct CountingAllocator;

// SAFETY: every call is forwarded unchanged to the system allocator.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() >= FRAME_BYTES {
            FRAME_SIZED_ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        }
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size >= FRAME_BYTES {
            FRAME_SIZED_ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// The daemon's V4L2 source on vivid, with the default camera settings.
fn open_vivid() -> V4l2Source {
    V4l2Source::new(CameraConfig {
        device: device("HV_HIL_VIDEO"),
        ..CameraConfig::default()
    })
}

fn rgb_at(image: &image::RgbImage, x: u32, y: u32) -> [u8; 3] {
    image.get_pixel(x, y).0
}

#[test]
#[ignore = "needs the HIL VM (cross/hil.sh)"]
fn vivid_frames_arrive_decoded_at_the_negotiated_size_in_sequence() {
    let mut camera = open_vivid();
    let mut previous: Option<(u64, std::time::Duration)> = None;
    for _ in 0..6 {
        let frame = camera.latest_frame().expect("a frame from vivid");
        assert_eq!(frame.image.dimensions(), (640, 480));
        if let Some((sequence, timestamp)) = previous {
            assert!(frame.sequence > sequence, "sequence must grow");
            assert!(frame.timestamp > timestamp, "timestamps must grow");
        }
        previous = Some((frame.sequence, frame.timestamp));
        // Eight vertical bars: white, yellow, cyan, green, magenta, red, blue, black (75%).
        // Sampled below the text overlay, in the middle of each bar; loose bounds so that
        // the check is about a correct YUYV decode, not exact values.
        let y = 400;
        let bar = |i: u32| rgb_at(&frame.image, i * 80 + 40, y);
        let high = |v: u8| v > 140;
        let low = |v: u8| v < 60;
        let [r, g, b] = bar(0);
        assert!(high(r) && high(g) && high(b), "white bar {:?}", bar(0));
        let [r, g, b] = bar(1);
        assert!(high(r) && high(g) && low(b), "yellow bar {:?}", bar(1));
        let [r, g, b] = bar(2);
        assert!(low(r) && high(g) && high(b), "cyan bar {:?}", bar(2));
        let [r, g, b] = bar(5);
        assert!(high(r) && low(g) && low(b), "red bar {:?}", bar(5));
        let [r, g, b] = bar(6);
        assert!(low(r) && low(g) && high(b), "blue bar {:?}", bar(6));
        let [r, g, b] = bar(7);
        assert!(low(r) && low(g) && low(b), "black bar {:?}", bar(7));
    }
    let (format, width, height) = camera.current_format().expect("open camera");
    // vivid offers no MJPEG, so the preference list falls through to YUYV.
    assert_eq!((format, width, height), (PixelFormat::Yuyv, 640, 480));
    assert_eq!(camera.bad_frames(), 0);
}

#[test]
#[ignore = "needs the HIL VM (cross/hil.sh)"]
fn streaming_into_one_frame_reuses_two_buffers() {
    let mut camera = open_vivid();
    let mut frame = Frame::default();
    // Warm-up: the source's buffer and the frame's buffer each reach the frame size once.
    for _ in 0..2 {
        camera
            .latest_frame_into(&mut frame)
            .expect("a frame from vivid");
    }
    let before = FRAME_SIZED_ALLOCATIONS.load(Ordering::SeqCst);
    let mut last_sequence = frame.sequence;
    for _ in 0..10 {
        camera
            .latest_frame_into(&mut frame)
            .expect("a frame from vivid");
        assert_eq!(frame.image.dimensions(), (640, 480));
        assert!(frame.sequence > last_sequence, "sequence must grow");
        last_sequence = frame.sequence;
        assert!(frame.origin.contains("video"), "{}", frame.origin);
    }
    let during = FRAME_SIZED_ALLOCATIONS.load(Ordering::SeqCst) - before;
    assert_eq!(
        during, 0,
        "frame-sized allocations while streaming 10 frames"
    );
    // Still a correct decode after the swaps: the white bar on the left, black on the right.
    assert!(frame.image.get_pixel(40, 400).0.iter().all(|&v| v > 140));
    assert!(frame.image.get_pixel(600, 400).0.iter().all(|&v| v < 60));
}

#[test]
#[ignore = "needs the HIL VM (cross/hil.sh)"]
fn a_missing_device_is_reported_as_unavailable() {
    // Only to have the VM's environment checked like the other tests.
    let _ = device("HV_HIL_VIDEO");
    let config = CameraConfig {
        device: "/dev/video9".into(),
        retry_min_ms: 50,
        ..CameraConfig::default()
    };
    let mut camera = V4l2Source::new(config);
    match camera.latest_frame() {
        Err(CameraError::Unavailable(_)) => {}
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert!(!camera.is_open());
}
