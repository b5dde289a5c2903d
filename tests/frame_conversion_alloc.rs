//! Steady-state frame conversion allocates nothing (issue 5): once the caller's RGB buffer has
//! reached the frame size, converting YUYV, BGR, RGB and GREY buffers makes no allocation at
//! all, and decoding an MJPEG frame makes no frame-sized one (zune-jpeg keeps small per-decode
//! scratch rows of its own, which it does not let a caller reuse).
//!
//! A counting global allocator watches the whole test binary, so this file holds one test only.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use hematovision::camera::PixelFormat;
use hematovision::camera::capture_loop::{Geometry, convert_frame};
use hematovision::camera::convert::YuvRange;

const W: u32 = 640;
const H: u32 = 480;
const FRAME_BYTES: usize = (W * H * 3) as usize;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);
static FRAME_SIZED: AtomicUsize = AtomicUsize::new(0);

/// The system allocator, counting every allocation and the frame-sized ones.
struct CountingAllocator;

// SAFETY: every call is forwarded unchanged to the system allocator.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

fn count(size: usize) {
    ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
    if size >= FRAME_BYTES {
        FRAME_SIZED.fetch_add(1, Ordering::SeqCst);
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

fn geometry(format: PixelFormat) -> Geometry {
    Geometry {
        format,
        width: W,
        height: H,
        stride: 0,
        yuv_range: YuvRange::Limited,
    }
}

/// Converts `data` five times into a warmed buffer; returns (allocations, frame-sized ones).
fn steady_state(format: PixelFormat, data: &[u8]) -> (usize, usize) {
    let g = geometry(format);
    let mut rgb = Vec::new();
    convert_frame(&g, data, &mut rgb).expect("warm-up conversion");
    assert_eq!(rgb.len(), FRAME_BYTES, "{format:?}");
    let (all, big) = (
        ALLOCATIONS.load(Ordering::SeqCst),
        FRAME_SIZED.load(Ordering::SeqCst),
    );
    for _ in 0..5 {
        convert_frame(&g, data, &mut rgb).expect("conversion");
    }
    (
        ALLOCATIONS.load(Ordering::SeqCst) - all,
        FRAME_SIZED.load(Ordering::SeqCst) - big,
    )
}

#[test]
fn converting_into_a_warm_buffer_does_not_allocate_frames() {
    let pixels = (W * H) as usize;
    let pattern = |n: usize| (0..n).map(|i| (i * 7 % 251) as u8).collect::<Vec<u8>>();
    for (format, data) in [
        (PixelFormat::Yuyv, pattern(pixels * 2)),
        (PixelFormat::Bgr3, pattern(pixels * 3)),
        (PixelFormat::Rgb3, pattern(pixels * 3)),
        (PixelFormat::Grey, pattern(pixels)),
    ] {
        assert_eq!(steady_state(format, &data), (0, 0), "{format:?}");
    }

    let field = image::RgbImage::from_fn(W, H, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8])
    });
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 85)
        .encode_image(&field)
        .expect("encode a test JPEG");
    let (_, frame_sized) = steady_state(PixelFormat::Mjpg, &jpeg);
    assert_eq!(
        frame_sized, 0,
        "MJPEG decoding allocated a frame-sized buffer"
    );
}
