//! The decisions of the V4L2 source that need no device: which device node, which pixel
//! format and size, which controls to set, whether a frame is fresh, and when to retry.
//! Kept apart from the ioctl code so they are tested on any machine.

use std::path::PathBuf;
use std::time::Duration;

use super::config::{CameraConfig, PixelFormat};

/// Frame sizes a camera offers for one pixel format (`VIDIOC_ENUM_FRAMESIZES`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SizeRange {
    /// One fixed size.
    Discrete {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
    },
    /// Any size on a grid (also used for "continuous", with steps of 1).
    Stepwise {
        /// Smallest width.
        min_width: u32,
        /// Largest width.
        max_width: u32,
        /// Width increment (0 is taken as 1).
        step_width: u32,
        /// Smallest height.
        min_height: u32,
        /// Largest height.
        max_height: u32,
        /// Height increment (0 is taken as 1).
        step_height: u32,
    },
}

/// Snaps `want` onto `min..=max` in steps of `step` (0 counts as 1).
fn snap(want: u32, min: u32, max: u32, step: u32) -> u32 {
    let step = step.max(1);
    let clamped = want.clamp(min, max.max(min));
    let steps = (clamped - min + step / 2) / step;
    (min + steps * step).min(max.max(min))
}

impl SizeRange {
    /// The size in this range nearest `want` (exactly `want` when it is offered).
    pub fn nearest(&self, want: (u32, u32)) -> (u32, u32) {
        match *self {
            SizeRange::Discrete { width, height } => (width, height),
            SizeRange::Stepwise {
                min_width,
                max_width,
                step_width,
                min_height,
                max_height,
                step_height,
            } => (
                snap(want.0, min_width, max_width, step_width),
                snap(want.1, min_height, max_height, step_height),
            ),
        }
    }
}

/// One pixel format a camera offers (`VIDIOC_ENUM_FMT`) with its sizes; an empty size list
/// means the driver does not enumerate sizes and takes whatever it is asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferedFormat {
    /// The four-character code, e.g. `*b"YUYV"`.
    pub fourcc: [u8; 4],
    /// The driver's description, e.g. "YUYV 4:2:2".
    pub description: String,
    /// The sizes offered.
    pub sizes: Vec<SizeRange>,
}

/// The outcome of format negotiation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FormatChoice {
    /// The pixel format to ask for.
    pub format: PixelFormat,
    /// Width to ask for.
    pub width: u32,
    /// Height to ask for.
    pub height: u32,
    /// True when this is the configured size in a configured format; false when the source
    /// fell back (and logs the camera's formats).
    pub exact: bool,
}

fn size_cost(got: (u32, u32), want: (u32, u32)) -> (u64, std::cmp::Reverse<u64>) {
    let area = |s: (u32, u32)| u64::from(s.0) * u64::from(s.1);
    (area(got).abs_diff(area(want)), std::cmp::Reverse(area(got)))
}

fn best_size(offer: &OfferedFormat, want: (u32, u32)) -> (u32, u32) {
    offer
        .sizes
        .iter()
        .map(|s| s.nearest(want))
        .min_by_key(|&s| size_cost(s, want))
        .unwrap_or(want)
}

/// Picks a pixel format and size.
///
/// 1. The first format of `preferred` that the camera offers at exactly `want`.
/// 2. Otherwise the first offered format of `preferred`, at its size nearest `want` (by
///    area; ties go to the larger).
/// 3. Otherwise any offered format this crate can convert, in [`PixelFormat::ALL`] order.
///
/// `None` when the camera offers nothing convertible.
pub fn choose_format(
    offered: &[OfferedFormat],
    preferred: &[PixelFormat],
    want: (u32, u32),
) -> Option<FormatChoice> {
    let offer_of = |f: PixelFormat| offered.iter().find(|o| o.fourcc == f.fourcc());
    for &format in preferred {
        if let Some(offer) = offer_of(format)
            && best_size(offer, want) == want
        {
            return Some(FormatChoice {
                format,
                width: want.0,
                height: want.1,
                exact: true,
            });
        }
    }
    let fallback = preferred.iter().chain(PixelFormat::ALL.iter());
    for &format in fallback {
        if let Some(offer) = offer_of(format) {
            let (width, height) = best_size(offer, want);
            return Some(FormatChoice {
                format,
                width,
                height,
                exact: false,
            });
        }
    }
    None
}

/// One line listing what a camera offers, for the fallback log message, e.g.
/// `MJPG (Motion-JPEG) 1280x720 640x480; YUYV (YUYV 4:2:2) 640x480`.
pub fn describe_offered(offered: &[OfferedFormat]) -> String {
    if offered.is_empty() {
        return "no formats".into();
    }
    let one = |o: &OfferedFormat| {
        let sizes: Vec<String> = o
            .sizes
            .iter()
            .map(|s| match *s {
                SizeRange::Discrete { width, height } => format!("{width}x{height}"),
                SizeRange::Stepwise {
                    min_width,
                    max_width,
                    min_height,
                    max_height,
                    ..
                } => {
                    format!("{min_width}x{min_height}..{max_width}x{max_height}")
                }
            })
            .collect();
        let sizes = if sizes.is_empty() {
            "any size".to_string()
        } else {
            sizes.join(" ")
        };
        format!(
            "{} ({}) {sizes}",
            String::from_utf8_lossy(&o.fourcc),
            o.description
        )
    };
    offered.iter().map(one).collect::<Vec<_>>().join("; ")
}

/// What `VIDIOC_QUERYCAP` says about one device node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    /// The node, e.g. `/dev/video0`.
    pub path: PathBuf,
    /// The card name.
    pub card: String,
    /// The bus info.
    pub bus_info: String,
    /// Whether the node captures video (UVC cameras also expose a metadata-only node).
    pub can_capture: bool,
}

/// Picks the device by `card` (case-insensitive substring) and/or `bus_info` (exact) from
/// `found`; with neither set, the configured `device` path. Only capture nodes qualify
/// when matching; the lowest path wins among several.
pub fn select_device(config: &CameraConfig, found: &[DeviceInfo]) -> Option<PathBuf> {
    if config.card.is_empty() && config.bus_info.is_empty() {
        return Some(config.device.clone());
    }
    let card = config.card.to_lowercase();
    found
        .iter()
        .filter(|d| d.can_capture)
        .filter(|d| card.is_empty() || d.card.to_lowercase().contains(&card))
        .filter(|d| config.bus_info.is_empty() || d.bus_info == config.bus_info)
        .map(|d| d.path.clone())
        .min()
}

/// V4L2 control ids used (from `linux/v4l2-controls.h`).
pub mod cid {
    /// `V4L2_CID_AUTO_WHITE_BALANCE` (boolean).
    pub const AUTO_WHITE_BALANCE: u32 = 0x0098_090c;
    /// `V4L2_CID_WHITE_BALANCE_TEMPERATURE` (kelvin).
    pub const WHITE_BALANCE_TEMPERATURE: u32 = 0x0098_091a;
    /// `V4L2_CID_EXPOSURE_AUTO` (menu; 1 = manual).
    pub const EXPOSURE_AUTO: u32 = 0x009a_0901;
    /// `V4L2_CID_EXPOSURE_ABSOLUTE` (100 µs units).
    pub const EXPOSURE_ABSOLUTE: u32 = 0x009a_0902;
    /// `V4L2_CID_FOCUS_ABSOLUTE`.
    pub const FOCUS_ABSOLUTE: u32 = 0x009a_090a;
    /// `V4L2_CID_FOCUS_AUTO` (boolean).
    pub const FOCUS_AUTO: u32 = 0x009a_090c;
    /// `V4L2_EXPOSURE_MANUAL`, the manual value of [`EXPOSURE_AUTO`].
    pub const EXPOSURE_MANUAL: i64 = 1;
}

/// The range of one control the camera has (`VIDIOC_QUERYCTRL`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ControlRange {
    /// Control id.
    pub id: u32,
    /// Smallest value.
    pub min: i64,
    /// Largest value.
    pub max: i64,
    /// Increment (0 is taken as 1).
    pub step: u64,
}

/// One control write, in the order they must be applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ControlSetting {
    /// Control id.
    pub id: u32,
    /// Value to write.
    pub value: i64,
    /// Human name for logs.
    pub name: &'static str,
}

fn fit(range: &ControlRange, v: i64) -> i64 {
    let step = i64::try_from(range.step.max(1)).unwrap_or(1);
    let clamped = v.clamp(range.min, range.max.max(range.min));
    let snapped = range.min + (clamped - range.min) / step * step;
    snapped.min(range.max.max(range.min))
}

/// Turns the configured exposure / white balance / focus into control writes the camera
/// supports (auto modes switched off first, values clamped to the camera's range), plus
/// notes on anything unsupported or adjusted, for the log. Absent settings are left alone.
pub fn plan_controls(
    config: &CameraConfig,
    supported: &[ControlRange],
) -> (Vec<ControlSetting>, Vec<String>) {
    let find = |id: u32| supported.iter().find(|c| c.id == id);
    let mut writes = Vec::new();
    let mut notes = Vec::new();
    let mut manual = |key: &'static str,
                      wanted: Option<i64>,
                      auto: (u32, i64, &'static str),
                      value: (u32, &'static str)| {
        let Some(v) = wanted else { return };
        let Some(range) = find(value.0) else {
            notes.push(format!(
                "camera has no {} control; camera.{key} ignored",
                value.1
            ));
            return;
        };
        if find(auto.0).is_some() {
            writes.push(ControlSetting {
                id: auto.0,
                value: auto.1,
                name: auto.2,
            });
        }
        let fitted = fit(range, v);
        if fitted != v {
            notes.push(format!(
                "camera.{key} = {v} adjusted to {fitted} (camera allows {}..={} step {})",
                range.min,
                range.max,
                range.step.max(1)
            ));
        }
        writes.push(ControlSetting {
            id: value.0,
            value: fitted,
            name: value.1,
        });
    };
    manual(
        "exposure",
        config.exposure,
        (cid::EXPOSURE_AUTO, cid::EXPOSURE_MANUAL, "exposure_auto"),
        (cid::EXPOSURE_ABSOLUTE, "exposure_absolute"),
    );
    manual(
        "white_balance",
        config.white_balance,
        (cid::AUTO_WHITE_BALANCE, 0, "white_balance_automatic"),
        (cid::WHITE_BALANCE_TEMPERATURE, "white_balance_temperature"),
    );
    manual(
        "focus",
        config.focus,
        (cid::FOCUS_AUTO, 0, "focus_automatic"),
        (cid::FOCUS_ABSOLUTE, "focus_absolute"),
    );
    (writes, notes)
}

/// How a driver stamps its buffers (from the `V4L2_BUF_FLAG_TIMESTAMP_*` and
/// `V4L2_BUF_FLAG_TSTAMP_SRC_*` flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampKind {
    /// `CLOCK_MONOTONIC`, taken at the start of exposure.
    MonotonicStartOfExposure,
    /// `CLOCK_MONOTONIC`, taken at the end of the frame (the usual case).
    MonotonicEndOfFrame,
    /// Unknown or copied timestamps: freshness is decided by counting frames instead.
    Unusable,
}

impl TimestampKind {
    /// Decodes the buffer flags.
    pub fn from_flags(flags: u32) -> Self {
        const TIMESTAMP_MASK: u32 = 0x0000_e000;
        const TIMESTAMP_MONOTONIC: u32 = 0x0000_2000;
        const TSTAMP_SRC_MASK: u32 = 0x0007_0000;
        const TSTAMP_SRC_SOE: u32 = 0x0001_0000;
        if flags & TIMESTAMP_MASK != TIMESTAMP_MONOTONIC {
            TimestampKind::Unusable
        } else if flags & TSTAMP_SRC_MASK == TSTAMP_SRC_SOE {
            TimestampKind::MonotonicStartOfExposure
        } else {
            TimestampKind::MonotonicEndOfFrame
        }
    }
}

/// Whether a dequeued frame was exposed after a request made at `requested` (both on
/// `CLOCK_MONOTONIC`). End-of-frame stamps must be a whole frame period past the request,
/// so that the exposure, not only the readout, came after it. `skipped` is how many
/// frames this request has already thrown away; with unusable timestamps every buffer
/// that may have been queued before the request (`buffers`) is skipped first.
pub fn is_fresh(
    kind: TimestampKind,
    stamp: Duration,
    requested: Duration,
    frame_period: Duration,
    skipped: usize,
    buffers: usize,
) -> bool {
    match kind {
        TimestampKind::MonotonicStartOfExposure => stamp >= requested,
        TimestampKind::MonotonicEndOfFrame => stamp >= requested + frame_period,
        TimestampKind::Unusable => skipped >= buffers,
    }
}

/// Reopening schedule for a lost camera: the delay starts at `min`, doubles after each
/// failure up to `max`, and resets on success. Time is passed in, so it is testable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    delay: Duration,
    next_try: Duration,
    failures: u32,
}

impl Backoff {
    /// A schedule that allows an attempt at once.
    pub fn new(min: Duration, max: Duration) -> Self {
        Self {
            min,
            max: max.max(min),
            delay: min,
            next_try: Duration::ZERO,
            failures: 0,
        }
    }

    /// Whether an attempt is due at `now`.
    pub fn ready(&self, now: Duration) -> bool {
        now >= self.next_try
    }

    /// Records a failed attempt at `now`; returns the wait before the next one.
    pub fn failed(&mut self, now: Duration) -> Duration {
        let wait = self.delay;
        self.next_try = now + wait;
        self.delay = (self.delay * 2).min(self.max);
        self.failures += 1;
        wait
    }

    /// Records a success: the next failure waits `min` again.
    pub fn succeeded(&mut self) {
        self.delay = self.min;
        self.failures = 0;
    }

    /// Consecutive failures so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// When the next attempt is due.
    pub fn next_try(&self) -> Duration {
        self.next_try
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer(code: &[u8; 4], sizes: Vec<SizeRange>) -> OfferedFormat {
        OfferedFormat {
            fourcc: *code,
            description: String::from_utf8_lossy(code).into(),
            sizes,
        }
    }

    fn d(width: u32, height: u32) -> SizeRange {
        SizeRange::Discrete { width, height }
    }

    #[test]
    fn exact_size_in_preferred_order_wins() {
        let offered = [
            offer(b"YUYV", vec![d(640, 480), d(1280, 720)]),
            offer(b"MJPG", vec![d(1280, 720)]),
        ];
        let prefs = PixelFormat::ALL;
        let c = choose_format(&offered, &prefs, (1280, 720)).unwrap();
        assert_eq!(
            (c.format, c.width, c.height, c.exact),
            (PixelFormat::Mjpg, 1280, 720, true)
        );
        // MJPG lacks 640x480, YUYV has it: the exact match beats format preference.
        let c = choose_format(&offered, &prefs, (640, 480)).unwrap();
        assert_eq!((c.format, c.exact), (PixelFormat::Yuyv, true));
    }

    #[test]
    fn falls_back_to_nearest_size_then_to_any_convertible_format() {
        let offered = [
            offer(b"H264", vec![d(640, 480)]),
            offer(b"YUYV", vec![d(320, 240), d(800, 600)]),
        ];
        let c = choose_format(&offered, &[PixelFormat::Yuyv], (640, 480)).unwrap();
        assert_eq!(
            (c.format, c.width, c.height, c.exact),
            (PixelFormat::Yuyv, 800, 600, false)
        );
        // The user listed only MJPG; the camera has YUYV: use it rather than nothing.
        let c = choose_format(&offered, &[PixelFormat::Mjpg], (640, 480)).unwrap();
        assert_eq!(c.format, PixelFormat::Yuyv);
        assert!(!c.exact);
        assert_eq!(
            choose_format(
                &[offer(b"H264", vec![d(640, 480)])],
                &PixelFormat::ALL,
                (640, 480)
            ),
            None
        );
    }

    #[test]
    fn stepwise_and_unenumerated_sizes() {
        let step = SizeRange::Stepwise {
            min_width: 48,
            max_width: 1920,
            step_width: 16,
            min_height: 32,
            max_height: 1080,
            step_height: 0,
        };
        assert_eq!(step.nearest((640, 480)), (640, 480));
        assert_eq!(step.nearest((650, 4000)), (656, 1080));
        assert_eq!(step.nearest((10, 10)), (48, 32));
        let c = choose_format(&[offer(b"GREY", vec![])], &PixelFormat::ALL, (1024, 768)).unwrap();
        assert_eq!(
            (c.format, c.width, c.height, c.exact),
            (PixelFormat::Grey, 1024, 768, true)
        );
    }

    #[test]
    fn describes_offers_for_the_log() {
        let offered = [
            offer(b"MJPG", vec![d(1280, 720), d(640, 480)]),
            offer(b"GREY", vec![]),
        ];
        assert_eq!(
            describe_offered(&offered),
            "MJPG (MJPG) 1280x720 640x480; GREY (GREY) any size"
        );
        assert_eq!(describe_offered(&[]), "no formats");
    }

    fn dev(path: &str, card: &str, bus: &str, can_capture: bool) -> DeviceInfo {
        DeviceInfo {
            path: path.into(),
            card: card.into(),
            bus_info: bus.into(),
            can_capture,
        }
    }

    #[test]
    fn device_by_path_card_or_bus() {
        let found = [
            dev(
                "/dev/video3",
                "USB Microscope: USB Microscope",
                "usb-0000:00:14.0-2",
                false,
            ),
            dev(
                "/dev/video2",
                "USB Microscope: USB Microscope",
                "usb-0000:00:14.0-2",
                true,
            ),
            dev(
                "/dev/video0",
                "Integrated Webcam",
                "usb-0000:00:14.0-5",
                true,
            ),
        ];
        let by_path = CameraConfig::default();
        assert_eq!(select_device(&by_path, &found), Some("/dev/video0".into()));
        let by_card = CameraConfig {
            card: "usb microscope".into(),
            ..Default::default()
        };
        assert_eq!(select_device(&by_card, &found), Some("/dev/video2".into()));
        let by_bus = CameraConfig {
            bus_info: "usb-0000:00:14.0-5".into(),
            ..Default::default()
        };
        assert_eq!(select_device(&by_bus, &found), Some("/dev/video0".into()));
        let both = CameraConfig {
            card: "Webcam".into(),
            bus_info: "usb-0000:00:14.0-2".into(),
            ..Default::default()
        };
        assert_eq!(select_device(&both, &found), None);
    }

    #[test]
    fn controls_switch_auto_off_and_clamp() {
        let supported = [
            ControlRange {
                id: cid::EXPOSURE_AUTO,
                min: 0,
                max: 3,
                step: 1,
            },
            ControlRange {
                id: cid::EXPOSURE_ABSOLUTE,
                min: 3,
                max: 2047,
                step: 1,
            },
            ControlRange {
                id: cid::WHITE_BALANCE_TEMPERATURE,
                min: 2800,
                max: 6500,
                step: 10,
            },
        ];
        let config = CameraConfig {
            exposure: Some(5000),
            white_balance: Some(4005),
            focus: Some(10),
            ..Default::default()
        };
        let (writes, notes) = plan_controls(&config, &supported);
        let pairs: Vec<(u32, i64)> = writes.iter().map(|w| (w.id, w.value)).collect();
        assert_eq!(
            pairs,
            [
                (cid::EXPOSURE_AUTO, 1),
                (cid::EXPOSURE_ABSOLUTE, 2047),
                (cid::WHITE_BALANCE_TEMPERATURE, 4000)
            ]
        );
        assert_eq!(notes.len(), 3, "{notes:?}");
        assert!(notes[0].contains("exposure = 5000 adjusted to 2047"));
        assert!(notes[2].contains("no focus_absolute control"));
        let (writes, notes) = plan_controls(&CameraConfig::default(), &supported);
        assert!(
            writes.is_empty() && notes.is_empty(),
            "absent settings are left alone"
        );
    }

    #[test]
    fn timestamp_kind_from_buffer_flags() {
        assert_eq!(
            TimestampKind::from_flags(0x2000),
            TimestampKind::MonotonicEndOfFrame
        );
        assert_eq!(
            TimestampKind::from_flags(0x2000 | 0x10000 | 0x1),
            TimestampKind::MonotonicStartOfExposure
        );
        assert_eq!(TimestampKind::from_flags(0x4000), TimestampKind::Unusable);
        assert_eq!(TimestampKind::from_flags(0), TimestampKind::Unusable);
    }

    #[test]
    fn freshness_rules() {
        let ms = Duration::from_millis;
        let period = ms(66);
        use TimestampKind::*;
        assert!(!is_fresh(
            MonotonicStartOfExposure,
            ms(999),
            ms(1000),
            period,
            0,
            4
        ));
        assert!(is_fresh(
            MonotonicStartOfExposure,
            ms(1000),
            ms(1000),
            period,
            0,
            4
        ));
        // End-of-frame stamps: readout finished after the request but exposure began before.
        assert!(!is_fresh(
            MonotonicEndOfFrame,
            ms(1030),
            ms(1000),
            period,
            0,
            4
        ));
        assert!(is_fresh(
            MonotonicEndOfFrame,
            ms(1066),
            ms(1000),
            period,
            0,
            4
        ));
        assert!(!is_fresh(Unusable, ms(5000), ms(1000), period, 3, 4));
        assert!(is_fresh(Unusable, ms(0), ms(1000), period, 4, 4));
    }

    #[test]
    fn backoff_doubles_caps_and_resets() {
        let s = Duration::from_secs;
        let mut b = Backoff::new(Duration::from_millis(500), s(4));
        assert!(b.ready(s(0)));
        let waits: Vec<Duration> = (0..5).map(|i| b.failed(s(100 + i))).collect();
        assert_eq!(
            waits.iter().map(|w| w.as_millis()).collect::<Vec<_>>(),
            [500, 1000, 2000, 4000, 4000]
        );
        assert_eq!(b.failures(), 5);
        assert!(!b.ready(s(105)));
        assert!(b.ready(s(108)));
        b.succeeded();
        assert_eq!(b.failed(s(200)), Duration::from_millis(500));
    }
}
