//! Per-frame cost of the camera conversions. A benchmark, not a test: run with
//! `cargo test --release --test convert_speed -- --ignored --nocapture`.

use std::time::Instant;

use hematovision::camera::convert::{YuvRange, bgr_to_rgb, decode_mjpeg, yuyv_to_rgb};

fn median_ms(mut f: impl FnMut(), runs: usize) -> f64 {
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[runs / 2]
}

#[test]
#[ignore = "benchmark; run in release with --ignored --nocapture"]
fn conversion_speed() {
    let mut rgb = Vec::new();
    for (w, h) in [(640usize, 480usize), (1280, 720), (1920, 1080)] {
        let yuyv: Vec<u8> = (0..w * h * 2).map(|i| (i * 7 % 251) as u8).collect();
        let bgr: Vec<u8> = (0..w * h * 3).map(|i| (i * 5 % 253) as u8).collect();
        let y = median_ms(
            || yuyv_to_rgb(&yuyv, w, h, 0, YuvRange::Limited, &mut rgb).unwrap(),
            31,
        );
        let b = median_ms(|| bgr_to_rgb(&bgr, w, h, 0, &mut rgb).unwrap(), 31);
        println!("{w}x{h}: YUYV->RGB {y:.2} ms, BGR3->RGB {b:.2} ms");
    }
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/bccd/JPEGImages/BloodImage_00000.jpg"
    );
    let jpeg = std::fs::read(path).unwrap();
    let m = median_ms(
        || {
            decode_mjpeg(&jpeg, &mut rgb).unwrap();
        },
        31,
    );
    println!("640x480 MJPEG decode {m:.2} ms");
}
