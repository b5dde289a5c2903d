//! A USB microscope camera through Video4Linux2 (the `v4l` crate, mmap streaming).
//!
//! - The device is found by path, or by card name / bus info (stable across reboots).
//! - The pixel format is negotiated from the configured preference list; when the
//!   configured size or formats are not offered, the source falls back to what the camera
//!   has and logs the camera's formats ([`super::negotiate::choose_format`]).
//! - The stream runs continuously with several queued buffers (one buffer makes some
//!   cameras drop to a fraction of their frame rate), so auto exposure stays settled.
//! - [`FrameSource::latest_frame`] returns a frame exposed after the call started: frames
//!   that were already queued are dequeued and skipped, judged by their monotonic
//!   timestamps, or by count when the driver's timestamps are unusable.
//! - Frames are decoded or converted into one reused buffer
//!   ([`super::convert`]); the returned [`Frame`] owns a copy of it.
//! - A corrupt frame (bad JPEG, driver error flag) is dropped, counted
//!   ([`V4l2Source::bad_frames`]) and the next fresh frame is tried.
//! - Errors or unplugging: the loss is logged once, calls return
//!   [`CameraError::Unavailable`], and later calls reopen the camera with exponential
//!   backoff; a "camera is back" line is logged when it returns.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use image::RgbImage;
use v4l::buffer::Type;
use v4l::control::{Control, Value};
use v4l::framesize::FrameSizeEnum;
use v4l::io::mmap::Stream;
use v4l::io::traits::{CaptureStream, Stream as _};
use v4l::video::Capture;
use v4l::video::capture::Parameters;
use v4l::{Device, Format, FourCC};

use super::capture_loop::{BufferMeta, BufferQueue, Geometry, GrabError, Timing, grab};
use super::config::{CameraConfig, PixelFormat};
use super::convert::YuvRange;
use super::negotiate::{
    Backoff, ControlRange, DeviceInfo, FormatChoice, OfferedFormat, SizeRange, choose_format,
    describe_offered, plan_controls, select_device,
};
use super::open_error::CameraOpenError;
use super::{CameraError, Frame, FrameSource};
use crate::sys::monotonic_now;

/// `ENODEV`: the device went away.
const ENODEV: i32 = 19;

/// An open, streaming camera.
struct Open {
    // Declared first so it is dropped (stream off, buffers unmapped) before the device.
    stream: MmapQueue,
    _device: Device,
    path: PathBuf,
    /// `path` as text, made once: every frame names its origin.
    origin: String,
    geometry: Geometry,
    timing: Timing,
}

/// The `v4l` mmap stream as a [`BufferQueue`].
struct MmapQueue(Stream<'static>);

impl BufferQueue for MmapQueue {
    fn dequeue(&mut self) -> std::io::Result<(&[u8], BufferMeta)> {
        let (data, meta) = CaptureStream::next(&mut self.0)?;
        let timestamp = Duration::from_secs(u64::try_from(meta.timestamp.sec).unwrap_or(0))
            + Duration::from_micros(u64::try_from(meta.timestamp.usec).unwrap_or(0));
        let meta = BufferMeta {
            bytes_used: meta.bytesused,
            flags: meta.flags.bits(),
            timestamp,
        };
        Ok((data, meta))
    }
}

/// The V4L2 [`FrameSource`].
pub struct V4l2Source {
    config: CameraConfig,
    open: Option<Open>,
    backoff: Backoff,
    started: Instant,
    clock_at_start: Duration,
    sequence: u64,
    bad_frames: u64,
    loss_logged: bool,
    rgb: Vec<u8>,
}

impl std::fmt::Debug for V4l2Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("V4l2Source")
            .field("device", &self.open.as_ref().map(|o| o.path.clone()))
            .field("sequence", &self.sequence)
            .field("bad_frames", &self.bad_frames)
            .finish()
    }
}

impl V4l2Source {
    /// Opens the camera described by `config` (which should have passed
    /// [`CameraConfig::validate`]). A camera that is not there yet is not an error: the
    /// failure is logged and [`FrameSource::latest_frame`] keeps trying to open it.
    pub fn new(config: CameraConfig) -> Self {
        let backoff = Backoff::new(
            Duration::from_millis(config.retry_min_ms.into()),
            Duration::from_millis(config.retry_max_ms.into()),
        );
        let mut source = Self {
            config,
            open: None,
            backoff,
            started: Instant::now(),
            clock_at_start: monotonic_now(),
            sequence: 0,
            bad_frames: 0,
            loss_logged: false,
            rgb: Vec::new(),
        };
        if let Err(e) = source.ensure_open() {
            log::debug!("camera not open yet: {e}");
        }
        source
    }

    /// Whether the camera is open and streaming now.
    pub fn is_open(&self) -> bool {
        self.open.is_some()
    }

    /// Corrupt frames dropped since the source was created.
    pub fn bad_frames(&self) -> u64 {
        self.bad_frames
    }

    /// The negotiated format and size, while open.
    pub fn current_format(&self) -> Option<(PixelFormat, u32, u32)> {
        self.open
            .as_ref()
            .map(|o| (o.geometry.format, o.geometry.width, o.geometry.height))
    }

    fn ensure_open(&mut self) -> Result<(), CameraError> {
        if self.open.is_some() {
            return Ok(());
        }
        let now = self.started.elapsed();
        if !self.backoff.ready(now) {
            let wait = self.backoff.next_try().saturating_sub(now);
            return Err(CameraError::Unavailable(format!(
                "camera lost; next reopening attempt in {:.1} s",
                wait.as_secs_f32()
            )));
        }
        match open_camera(&self.config) {
            Ok(open) => {
                if self.loss_logged || self.backoff.failures() > 0 {
                    log::info!("camera {} is back", open.path.display());
                }
                self.backoff.succeeded();
                self.loss_logged = false;
                self.open = Some(open);
                Ok(())
            }
            Err(e) => {
                let wait = self.backoff.failed(now);
                let reason = e.to_string();
                self.log_loss(&reason, wait);
                Err(CameraError::Unavailable(reason))
            }
        }
    }

    fn log_loss(&mut self, reason: &str, wait: Duration) {
        if self.loss_logged {
            log::debug!(
                "camera still unavailable: {reason}; retrying in {:.1} s",
                wait.as_secs_f32()
            );
        } else {
            log::warn!(
                "camera unavailable: {reason}; retrying with backoff (first in {:.1} s)",
                wait.as_secs_f32()
            );
            self.loss_logged = true;
        }
    }
}

impl FrameSource for V4l2Source {
    fn latest_frame(&mut self) -> Result<Frame, CameraError> {
        let mut frame = Frame::default();
        self.latest_frame_into(&mut frame)?;
        Ok(frame)
    }

    /// Converts the freshest buffer into the source's own RGB buffer, then swaps that buffer
    /// with `frame`'s picture: the two buffers take turns, so a caller that passes the same
    /// `frame` every time causes no allocation once both have reached the frame size.
    fn latest_frame_into(&mut self, frame: &mut Frame) -> Result<(), CameraError> {
        self.ensure_open()?;
        let Some(open) = self.open.as_mut() else {
            return Err(CameraError::Unavailable("camera not open".into()));
        };
        let requested = monotonic_now();
        let result = grab(
            &mut open.stream,
            &open.geometry,
            &open.timing,
            requested,
            &open.origin,
            &mut self.rgb,
            &mut self.bad_frames,
        );
        match result {
            Ok(grabbed) => {
                let (width, height) = (open.geometry.width, open.geometry.height);
                if self.rgb.len() != width as usize * height as usize * 3 {
                    return Err(CameraError::BadFrame {
                        origin: open.origin.clone(),
                        reason: "frame size mismatch".into(),
                    });
                }
                let previous = std::mem::take(&mut frame.image).into_raw();
                let filled = std::mem::replace(&mut self.rgb, previous);
                frame.image = RgbImage::from_raw(width, height, filled).ok_or_else(|| {
                    CameraError::BadFrame {
                        origin: open.origin.clone(),
                        reason: "frame size mismatch".into(),
                    }
                })?;
                frame.timestamp = grabbed
                    .stamp
                    .unwrap_or_else(monotonic_now)
                    .saturating_sub(self.clock_at_start);
                frame.sequence = self.sequence;
                frame.origin.clear();
                frame.origin.push_str(&open.origin);
                self.sequence += 1;
                Ok(())
            }
            Err(GrabError::Bad(reason)) => Err(CameraError::BadFrame {
                origin: open.origin.clone(),
                reason,
            }),
            Err(GrabError::Lost(reason)) => {
                if let Some(open) = self.open.take() {
                    close(open);
                }
                let wait = self.backoff.failed(self.started.elapsed());
                self.log_loss(&reason, wait);
                Err(CameraError::Unavailable(reason))
            }
        }
    }
}

impl Drop for V4l2Source {
    fn drop(&mut self) {
        if let Some(open) = self.open.take() {
            close(open);
        }
    }
}

/// Stops the stream and releases the device. The `v4l` crate panics in its destructors if
/// stopping fails for any reason other than `ENODEV`; such a failure is logged and the
/// panic contained here, so a misbehaving camera cannot take the daemon down.
fn close(mut open: Open) {
    let path = open.path.clone();
    if let Err(e) = open.stream.0.stop()
        && e.raw_os_error() != Some(ENODEV)
    {
        log::warn!("camera {}: stopping the stream failed: {e}", path.display());
    }
    if catch_unwind(AssertUnwindSafe(move || drop(open))).is_err() {
        log::warn!(
            "camera {}: releasing the buffers failed; the device may stay busy",
            path.display()
        );
    }
}

/// Lists capture-capable nodes under /dev with their card and bus info.
fn list_devices() -> Vec<DeviceInfo> {
    let Ok(entries) = std::fs::read_dir("/dev") else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let is_video = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("video"));
        if !is_video {
            continue;
        }
        // The v4l crate panics on card names that are not UTF-8; contain that.
        let caps = catch_unwind(|| Device::with_path(&path).and_then(|d| d.query_caps()));
        match caps {
            Ok(Ok(caps)) => found.push(DeviceInfo {
                path: path.clone(),
                card: caps.card,
                bus_info: caps.bus,
                can_capture: caps
                    .capabilities
                    .contains(v4l::capability::Flags::VIDEO_CAPTURE)
                    && caps
                        .capabilities
                        .contains(v4l::capability::Flags::STREAMING),
            }),
            Ok(Err(e)) => log::debug!("{}: {e}", path.display()),
            Err(_) => log::debug!("{}: unreadable capabilities", path.display()),
        }
    }
    found
}

fn offered_formats(device: &Device) -> std::io::Result<Vec<OfferedFormat>> {
    let formats = device.enum_formats()?;
    Ok(formats
        .into_iter()
        .map(|f| {
            let sizes = device
                .enum_framesizes(f.fourcc)
                .unwrap_or_default()
                .into_iter()
                .map(|s| match s.size {
                    FrameSizeEnum::Discrete(d) => SizeRange::Discrete {
                        width: d.width,
                        height: d.height,
                    },
                    FrameSizeEnum::Stepwise(s) => SizeRange::Stepwise {
                        min_width: s.min_width,
                        max_width: s.max_width,
                        step_width: s.step_width,
                        min_height: s.min_height,
                        max_height: s.max_height,
                        step_height: s.step_height,
                    },
                })
                .collect();
            OfferedFormat {
                fourcc: f.fourcc.repr,
                description: f.description,
                sizes,
            }
        })
        .collect())
}

fn apply_controls(device: &Device, config: &CameraConfig, path: &Path) {
    if config.exposure.is_none() && config.white_balance.is_none() && config.focus.is_none() {
        return;
    }
    let supported: Vec<ControlRange> = match device.query_controls() {
        Ok(list) => list
            .into_iter()
            .map(|c| ControlRange {
                id: c.id,
                min: c.minimum,
                max: c.maximum,
                step: c.step,
            })
            .collect(),
        Err(e) => {
            log::warn!(
                "camera {}: cannot list controls ({e}); exposure/white balance/focus not set",
                path.display()
            );
            return;
        }
    };
    let (writes, notes) = plan_controls(config, &supported);
    for note in notes {
        log::warn!("camera {}: {note}", path.display());
    }
    for w in writes {
        match device.set_control(Control {
            id: w.id,
            value: Value::Integer(w.value),
        }) {
            Ok(()) => log::info!("camera {}: {} = {}", path.display(), w.name, w.value),
            Err(e) => log::warn!(
                "camera {}: setting {} = {} failed: {e}",
                path.display(),
                w.name,
                w.value
            ),
        }
    }
}

fn open_camera(config: &CameraConfig) -> Result<Open, CameraOpenError> {
    let path = if config.card.is_empty() && config.bus_info.is_empty() {
        config.device.clone()
    } else {
        let found = list_devices();
        select_device(config, &found).ok_or_else(|| {
            let seen: Vec<String> = found
                .iter()
                .map(|d| format!("{} \"{}\" {}", d.path.display(), d.card, d.bus_info))
                .collect();
            CameraOpenError::NoMatch {
                card: config.card.clone(),
                bus_info: config.bus_info.clone(),
                found: if seen.is_empty() {
                    "none".to_string()
                } else {
                    seen.join(", ")
                },
            }
        })?
    };
    let shown = path.display().to_string();
    let device = Device::with_path(&path).map_err(|source| CameraOpenError::Open {
        path: path.clone(),
        source,
    })?;

    let offered = offered_formats(&device).map_err(|source| CameraOpenError::ListFormats {
        path: path.clone(),
        source,
    })?;
    let want = (config.width, config.height);
    let choice: FormatChoice = choose_format(&offered, &config.formats, want).ok_or_else(|| {
        CameraOpenError::NoUsableFormat {
            path: path.clone(),
            offered: describe_offered(&offered),
        }
    })?;
    if !choice.exact {
        log::warn!(
            "camera {shown}: {}x{} in {:?} not offered; using {} {}x{}. The camera offers: {}",
            want.0,
            want.1,
            config
                .formats
                .iter()
                .map(|f| f.to_string())
                .collect::<Vec<_>>(),
            choice.format,
            choice.width,
            choice.height,
            describe_offered(&offered)
        );
    }
    let asked = Format::new(
        choice.width,
        choice.height,
        FourCC::new(&choice.format.fourcc()),
    );
    let got = device
        .set_format(&asked)
        .map_err(|source| CameraOpenError::SetFormat {
            path: path.clone(),
            source,
        })?;
    let format = PixelFormat::from_fourcc(got.fourcc.repr).ok_or_else(|| {
        CameraOpenError::UnsupportedFormat {
            path: path.clone(),
            fourcc: got.fourcc.to_string(),
        }
    })?;
    if (got.width, got.height) != (choice.width, choice.height) || format != choice.format {
        log::warn!(
            "camera {shown}: asked for {} {}x{}, driver gave {} {}x{}",
            choice.format,
            choice.width,
            choice.height,
            format,
            got.width,
            got.height
        );
    }
    let yuv_range = match got.quantization {
        v4l::format::Quantization::FullRange => YuvRange::Full,
        v4l::format::Quantization::LimitedRange => YuvRange::Limited,
        v4l::format::Quantization::Default => config.yuv_range,
    };

    let frame_period = match device.set_params(&Parameters::with_fps(config.fps)) {
        Ok(p) if p.interval.denominator > 0 && p.interval.numerator > 0 => Duration::from_secs_f64(
            f64::from(p.interval.numerator) / f64::from(p.interval.denominator),
        ),
        Ok(_) => Duration::from_secs_f64(1.0 / f64::from(config.fps.max(1))),
        Err(e) => {
            log::warn!("camera {shown}: cannot set {} fps: {e}", config.fps);
            Duration::from_secs_f64(1.0 / f64::from(config.fps.max(1)))
        }
    };

    apply_controls(&device, config, &path);

    let mut stream =
        Stream::with_buffers(&device, Type::VideoCapture, config.buffers).map_err(|source| {
            CameraOpenError::MapBuffers {
                path: path.clone(),
                buffers: config.buffers,
                source,
            }
        })?;
    stream.set_timeout(Duration::from_millis(config.frame_timeout_ms.into()));
    // The first dequeue queues every buffer and starts streaming; it also proves the
    // camera delivers frames at all.
    stream
        .next()
        .map_err(|source| CameraOpenError::StreamStart {
            path: path.clone(),
            source,
        })?;
    log::info!(
        "camera {shown}: {format} {}x{} at {:.1} fps, {} buffers",
        got.width,
        got.height,
        1.0 / frame_period.as_secs_f64().max(1e-6),
        config.buffers
    );
    Ok(Open {
        stream: MmapQueue(stream),
        _device: device,
        origin: path.display().to_string(),
        path,
        geometry: Geometry {
            format,
            width: got.width,
            height: got.height,
            stride: got.stride,
            yuv_range,
        },
        timing: Timing {
            frame_period,
            buffers: config.buffers as usize,
            timeout: Duration::from_millis(config.frame_timeout_ms.into()),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_can_move_to_a_capture_thread() {
        fn is_send<T: Send>() {}
        is_send::<V4l2Source>();
    }

    #[test]
    fn missing_device_is_unavailable_and_retried_with_backoff() {
        let config = CameraConfig {
            device: "/dev/hematovision-no-such-camera".into(),
            retry_min_ms: 60_000,
            retry_max_ms: 60_000,
            ..Default::default()
        };
        let mut source = V4l2Source::new(config);
        assert!(!source.is_open());
        // The failed open in new() scheduled the next attempt a minute away.
        match source.latest_frame() {
            Err(CameraError::Unavailable(reason)) => {
                assert!(reason.contains("next reopening attempt"), "{reason}")
            }
            other => panic!("expected Unavailable, got {other:?}"),
        }
    }

    #[test]
    fn unknown_card_names_what_was_found() {
        let config = CameraConfig {
            card: "no such microscope".into(),
            ..Default::default()
        };
        let err = open_camera(&config).err().unwrap().to_string();
        assert!(
            err.contains("no capture device with card containing"),
            "{err}"
        );
    }
}
