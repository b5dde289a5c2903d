//! Reliability figures for untrusted input: image bombs, arbitrary image bytes, the peak
//! memory of the largest allowed picture, and corrupted copies of the shipped model.
//!
//! Each figure-producing test prints one line
//! `RELIABILITY | <what> | <tried> | <failures> | <detail>` and asserts its failure count is
//! 0; `cargo test --release --test reliability_inputs -- --nocapture` shows them. Loads of
//! whole files run in a child process (`hematovision classify`), so that an abort or the
//! memory of a decode is observed, not suffered.

use std::cell::Cell;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use hematovision::imagefile::{DEFAULT_MAX_IMAGE_PIXELS, decode_rgb_within};
use image::{ImageFormat, RgbImage};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config as ProptestConfig, TestRunner};

/// The target: no picture file may take more than this much memory.
const MAX_PEAK_RSS_MB: u64 = 200;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

// ----------------------------------------------------------------------------- crafting

/// Writes `value`'s low `len` bits least significant first, as deflate packs its fields.
struct Bits {
    out: Vec<u8>,
    acc: u64,
    used: u32,
}

impl Bits {
    fn put(&mut self, value: u32, len: u32) {
        self.acc |= u64::from(value) << self.used;
        self.used += len;
        while self.used >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.used -= 8;
        }
    }

    /// A Huffman code, which deflate stores most significant bit first.
    fn code(&mut self, code: u32, len: u32) {
        self.put(code.reverse_bits() >> (32 - len), len);
    }
}

/// A zlib stream of `n` zero bytes: one fixed-Huffman block of a literal 0 followed by
/// copies of length 258 at distance 1 (13 bits per 258 bytes).
fn zlib_zeros(n: u64) -> Vec<u8> {
    let mut bits = Bits {
        out: vec![0x78, 0x01],
        acc: 0,
        used: 0,
    };
    bits.put(1, 1); // last block
    bits.put(1, 2); // fixed Huffman codes
    const LITERAL_0: u32 = 0x30;
    if n > 0 {
        bits.code(LITERAL_0, 8);
        let mut left = n - 1;
        while left >= 258 {
            bits.code(0xC5, 8); // length code 285: 258 bytes
            bits.code(0, 5); // distance code 0: distance 1
            left -= 258;
        }
        for _ in 0..left {
            bits.code(LITERAL_0, 8);
        }
    }
    bits.code(0, 7); // end of block
    if bits.used > 0 {
        bits.out.push(bits.acc as u8);
    }
    // Adler-32 of zeros: a stays 1, b adds 1 per byte.
    let adler = ((n % 65521) << 16) | 1;
    bits.out.extend_from_slice(&(adler as u32).to_be_bytes());
    bits.out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn chunk(png: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    png.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = png.len();
    png.extend_from_slice(kind);
    png.extend_from_slice(data);
    let crc = crc32(&png[start..]);
    png.extend_from_slice(&crc.to_be_bytes());
}

/// A valid, all-black PNG of `width`x`height`, colour type `color` (0 grey, 2 RGB, 6 RGBA)
/// and `depth` bits per sample, a few hundred KB whatever its size: the shape of an image
/// bomb.
fn black_png(width: u32, height: u32, color: u8, depth: u8) -> Vec<u8> {
    let channels = match color {
        0 => 1,
        2 => 3,
        6 => 4,
        _ => panic!("colour type {color}"),
    };
    let row = 1 + u64::from(width) * channels * u64::from(depth / 8);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[depth, color, 0, 0, 0]);
    chunk(&mut png, b"IHDR", &ihdr);
    chunk(&mut png, b"IDAT", &zlib_zeros(row * u64::from(height)));
    chunk(&mut png, b"IEND", &[]);
    png
}

fn encode(image: &image::DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, format).unwrap();
    out.into_inner()
}

fn small_picture() -> RgbImage {
    RgbImage::from_fn(24, 16, |x, y| {
        image::Rgb([(x * 10) as u8, (y * 15) as u8, ((x + y) * 5) as u8])
    })
}

/// A real JPEG whose frame header is rewritten to declare `width`x`height`.
fn jpeg_declaring(width: u16, height: u16) -> Vec<u8> {
    let mut jpeg = encode(
        &image::DynamicImage::ImageRgb8(small_picture()),
        ImageFormat::Jpeg,
    );
    let sof = jpeg
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .expect("baseline frame header");
    jpeg[sof + 5..sof + 7].copy_from_slice(&height.to_be_bytes());
    jpeg[sof + 7..sof + 9].copy_from_slice(&width.to_be_bytes());
    jpeg
}

/// A BMP header declaring a `width`x`height` 24-bit picture, with no pixels after it.
fn bmp_declaring(width: i32, height: i32) -> Vec<u8> {
    let mut bmp = encode(
        &image::DynamicImage::ImageRgb8(small_picture()),
        ImageFormat::Bmp,
    );
    bmp[18..22].copy_from_slice(&width.to_le_bytes());
    bmp[22..26].copy_from_slice(&height.to_le_bytes());
    bmp.truncate(54);
    bmp
}

// ----------------------------------------------------------------------------- measuring

/// Runs `hematovision args...` and returns its output and peak resident memory in kB:
/// `/usr/bin/time -v` when installed, else the child's `VmHWM` polled from /proc until it
/// exits (a high-water mark, so any read after the peak sees it).
fn run_measured(args: &[&std::ffi::OsStr]) -> (Output, u64) {
    let bin = env!("CARGO_BIN_EXE_hematovision");
    if Path::new("/usr/bin/time").exists() {
        let out = Command::new("/usr/bin/time")
            .arg("-v")
            .arg(bin)
            .args(args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let kb = stderr
            .lines()
            .find_map(|l| l.trim().strip_prefix("Maximum resident set size (kbytes):"))
            .and_then(|v| v.trim().parse().ok())
            .expect("time -v prints the maximum resident set size");
        return (out, kb);
    }
    let child = Command::new(bin)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = format!("/proc/{}/status", child.id());
    let waiter = std::thread::spawn(move || child.wait_with_output().unwrap());
    let mut peak = 0;
    while !waiter.is_finished() {
        if let Ok(text) = std::fs::read_to_string(&status) {
            peak = peak.max(vm_kb(&text, "VmHWM:").unwrap_or(0));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    (waiter.join().unwrap(), peak)
}

fn vm_kb(status: &str, key: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn classify(file: &Path, extra: &[&str]) -> (Output, u64) {
    let model = root().join("models/hematovision-wbc4.tflite");
    let mut args: Vec<&std::ffi::OsStr> = vec!["classify".as_ref(), "--model".as_ref()];
    args.push(model.as_os_str());
    args.extend(extra.iter().map(|s| std::ffi::OsStr::new(*s)));
    args.push(file.as_os_str());
    run_measured(&args)
}

fn mb(kb: u64) -> u64 {
    kb.div_ceil(1024)
}

// ----------------------------------------------------------------------------- tests

/// Issue 18, defect 3: a 20000x20000 greyscale PNG took 1.58 GB to decode. Bombs of every
/// accepted format are refused from their header, in bounded memory.
#[test]
fn image_bombs_are_refused_from_their_header_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let bombs = [
        ("png-grey-20000x20000.png", black_png(20000, 20000, 0, 8)),
        ("jpeg-60000x60000.jpg", jpeg_declaring(60000, 60000)),
        ("bmp-20000x20000.bmp", bmp_declaring(20000, 20000)),
    ];
    let mut over = 0;
    let mut accepted = 0;
    let mut details = Vec::new();
    for (name, bytes) in &bombs {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let (out, kb) = classify(&path, &["--threads", "1"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        if mb(kb) > MAX_PEAK_RSS_MB {
            over += 1;
        }
        if out.status.code() != Some(1) || !stderr.contains("over the limit") {
            accepted += 1;
            eprintln!("{name}: {:?}\n{stderr}", out.status);
        }
        details.push(format!("{name} ({} KB) {} MB", bytes.len() / 1024, mb(kb)));
    }
    println!(
        "RELIABILITY | image bombs (header over the pixel limit) | {} | over {MAX_PEAK_RSS_MB} MB: {over}, not refused: {accepted} | {}",
        bombs.len(),
        details.join(", ")
    );
    assert_eq!((over, accepted), (0, 0));
}

/// The largest picture the default limit allows, in the costliest pixel format (16-bit
/// RGBA, 8 bytes a pixel), is classified within the memory target.
#[test]
fn peak_rss_of_the_largest_allowed_image() {
    let side = (DEFAULT_MAX_IMAGE_PIXELS as f64).sqrt() as u32;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("largest.png");
    std::fs::write(&path, black_png(side, side, 6, 16)).unwrap();
    let (out, kb) = classify(&path, &["--threads", "1"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let over = usize::from(mb(kb) > MAX_PEAK_RSS_MB);
    println!(
        "RELIABILITY | peak RSS, largest allowed image | 1 | over {MAX_PEAK_RSS_MB} MB: {over} | {} MB for a {side}x{side} 16-bit RGBA PNG (limit {DEFAULT_MAX_IMAGE_PIXELS} pixels), classified by the shipped model",
        mb(kb)
    );
    assert_eq!(over, 0, "{} MB", mb(kb));
}

/// Seeds for mutation: small valid files of each accepted format and pixel type.
fn seeds() -> Vec<Vec<u8>> {
    let rgb = image::DynamicImage::ImageRgb8(small_picture());
    vec![
        encode(&rgb, ImageFormat::Png),
        encode(&rgb, ImageFormat::Jpeg),
        encode(&rgb, ImageFormat::Bmp),
        encode(
            &image::DynamicImage::ImageRgba16(rgb.to_rgba16()),
            ImageFormat::Png,
        ),
        encode(
            &image::DynamicImage::ImageLuma8(rgb.to_luma8()),
            ImageFormat::Png,
        ),
        encode(
            &image::DynamicImage::ImageLuma8(rgb.to_luma8()),
            ImageFormat::Jpeg,
        ),
        black_png(64, 64, 0, 8),
    ]
}

/// Arbitrary bytes, and valid files with arbitrary bytes changed or cut off, never panic or
/// abort, and nothing over the pixel limit is ever decoded.
#[test]
fn image_decoding_fuzz_never_panics_and_stays_within_the_limit() {
    const LIMIT: u64 = 1_000_000;
    const CASES: u32 = 3000;
    let seeds = seeds();
    let arbitrary = prop::collection::vec(any::<u8>(), 0..4096).boxed();
    let mutated = (
        0..seeds.len(),
        prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..16),
        prop::option::of(any::<prop::sample::Index>()),
    )
        .prop_map(move |(k, edits, cut)| {
            let mut bytes = seeds[k].clone();
            for (at, v) in edits {
                let i = at.index(bytes.len());
                bytes[i] = v;
            }
            if let Some(cut) = cut {
                bytes.truncate(cut.index(bytes.len() + 1));
            }
            bytes
        })
        .boxed();
    // The runner takes an `Fn`: counters are cells.
    let tried = Cell::new(0u32);
    let panics = Cell::new(0u32);
    let over_limit = Cell::new(0u32);
    let decoded = Cell::new(0u32);
    for strategy in [arbitrary, mutated] {
        let mut runner = TestRunner::new(ProptestConfig {
            cases: CASES,
            failure_persistence: None,
            ..ProptestConfig::default()
        });
        let result = runner.run(&strategy, |bytes| {
            tried.set(tried.get() + 1);
            match std::panic::catch_unwind(|| decode_rgb_within(&bytes, LIMIT)) {
                Err(_) => {
                    panics.set(panics.get() + 1);
                    Err(TestCaseError::fail("decoding panicked"))
                }
                Ok(Ok(img)) => {
                    decoded.set(decoded.get() + 1);
                    if u64::from(img.width()) * u64::from(img.height()) > LIMIT {
                        over_limit.set(over_limit.get() + 1);
                        return Err(TestCaseError::fail("decoded over the limit"));
                    }
                    Ok(())
                }
                Ok(Err(_)) => Ok(()),
            }
        });
        if let Err(e) = result {
            eprintln!("fuzz failure: {e}");
        }
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let hwm = vm_kb(&status, "VmHWM:").unwrap_or(0);
    let over_memory = u32::from(mb(hwm) > MAX_PEAK_RSS_MB);
    let (tried, panics, over_limit, decoded) =
        (tried.get(), panics.get(), over_limit.get(), decoded.get());
    println!(
        "RELIABILITY | image fuzz (arbitrary bytes, mutated PNG/JPEG/BMP) | {tried} | panics {panics}, over the pixel limit {over_limit}, over {MAX_PEAK_RSS_MB} MB {over_memory} | {decoded} decoded, the rest refused with an error; limit {LIMIT} pixels; test process peak {} MB",
        mb(hwm)
    );
    assert_eq!((panics, over_limit, over_memory), (0, 0, 0));
}

/// Cell pictures for the corrupted-model runs: the first of each class of PBC validation.
fn cells() -> Vec<PathBuf> {
    let val = root().join("../shared/datasets/pbc-wbc4/val");
    ["EOSINOPHIL", "LYMPHOCYTE", "MONOCYTE", "NEUTROPHIL"]
        .iter()
        .map(|class| {
            let mut files: Vec<PathBuf> = std::fs::read_dir(val.join(class))
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            files.sort();
            files.remove(0)
        })
        .collect()
}

/// The labels `classify --json` printed, one per file.
fn labels(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|v| v["label"].as_str().unwrap_or("").to_string())
        .collect()
}

/// Issue 18, defect 4, as a figure: 200 copies of the shipped model with 1–16 random bytes
/// changed never abort the process and never give an answer.
#[test]
fn corrupted_shipped_models_never_abort_nor_answer() {
    const MODELS: usize = 200;
    let dir = tempfile::tempdir().unwrap();
    for f in ["labels.txt", "metadata.json"] {
        std::fs::copy(root().join("models").join(f), dir.path().join(f)).unwrap();
    }
    let good = std::fs::read(root().join("models/hematovision-wbc4.tflite")).unwrap();
    let model = dir.path().join("hematovision-wbc4.tflite");
    let cells = cells();
    let run = || {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_hematovision"));
        cmd.args(["classify", "--json", "--threads", "1", "--model"])
            .arg(&model)
            .args(&cells);
        cmd.output().unwrap()
    };
    std::fs::write(&model, &good).unwrap();
    let reference = labels(&run());
    assert_eq!(reference.len(), cells.len());

    let mut runner = TestRunner::deterministic();
    let edits = prop::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..=16);
    let (mut refused, mut wrong, mut aborts, mut same) = (0, 0, 0, 0);
    for _ in 0..MODELS {
        let mut bytes = good.clone();
        for (at, flip) in edits.new_tree(&mut runner).unwrap().current() {
            // XOR with a non-zero value: every chosen byte really changes.
            let i = at.index(bytes.len());
            bytes[i] ^= flip;
        }
        std::fs::write(&model, &bytes).unwrap();
        let out = run();
        let stderr = String::from_utf8_lossy(&out.stderr);
        match out.status.code() {
            Some(1) if stderr.contains("model file damaged") => refused += 1,
            Some(0) if labels(&out) == reference => same += 1,
            Some(0) => wrong += 1,
            Some(1) => {
                // Refused, but not for damage: still no answer, say why.
                eprintln!("refused otherwise: {stderr}");
                refused += 1;
            }
            _ => {
                eprintln!("{:?}: {stderr}", out.status);
                aborts += 1;
            }
        }
    }
    println!(
        "RELIABILITY | corrupted models (1–16 random bytes of the shipped int8 model) | {MODELS} | wrong answers {wrong}, aborts {aborts} | refused as damaged (sha256) {refused}, loaded with unchanged answers {same}; each load in a child `hematovision classify`"
    );
    assert_eq!((wrong, aborts), (0, 0));
}
