//! Hardware-in-the-loop: the daemon's V4L2 frame source against the kernel's `vivid`
//! virtual camera (YUYV 640x480, a 75% colour-bar pattern with a changing text overlay
//! at the top). Ignored by default; `cross/hil.sh` runs it in the arm64 VM with
//! `HV_HIL_VIDEO=/dev/video0`. Needs the `v4l2` feature.
#![cfg(feature = "v4l2")]

mod hil_support;

use hematovision::camera::config::{CameraConfig, PixelFormat};
use hematovision::camera::v4l2::V4l2Source;
use hematovision::camera::{CameraError, FrameSource};
use hil_support::device;

fn rgb_at(image: &image::RgbImage, x: u32, y: u32) -> [u8; 3] {
    image.get_pixel(x, y).0
}

#[test]
#[ignore = "needs the HIL VM (cross/hil.sh)"]
fn vivid_frames_arrive_decoded_at_the_negotiated_size_in_sequence() {
    let config = CameraConfig {
        device: device("HV_HIL_VIDEO"),
        ..CameraConfig::default()
    };
    let mut camera = V4l2Source::new(config);
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
