//! Settings of the V4L2 camera (`[camera.v4l2]` or wherever the daemon's config puts them).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::convert::YuvRange;
use crate::invalid::{Invalid, check_range};

/// A pixel format the capture code can turn into RGB, by its V4L2 four-character code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PixelFormat {
    /// Motion JPEG: one JPEG per frame; the usual choice for large frames over USB 2.
    #[serde(rename = "MJPG")]
    Mjpg,
    /// Packed YUV 4:2:2 (Y0 U Y1 V).
    #[serde(rename = "YUYV")]
    Yuyv,
    /// Packed 8-bit RGB.
    #[serde(rename = "RGB3")]
    Rgb3,
    /// Packed 8-bit BGR.
    #[serde(rename = "BGR3")]
    Bgr3,
    /// 8-bit greyscale.
    #[serde(rename = "GREY")]
    Grey,
}

impl PixelFormat {
    /// Every supported format, in the default order of preference.
    pub const ALL: [PixelFormat; 5] = [
        PixelFormat::Mjpg,
        PixelFormat::Yuyv,
        PixelFormat::Rgb3,
        PixelFormat::Bgr3,
        PixelFormat::Grey,
    ];

    /// The V4L2 four-character code.
    pub fn fourcc(self) -> [u8; 4] {
        match self {
            PixelFormat::Mjpg => *b"MJPG",
            PixelFormat::Yuyv => *b"YUYV",
            PixelFormat::Rgb3 => *b"RGB3",
            PixelFormat::Bgr3 => *b"BGR3",
            PixelFormat::Grey => *b"GREY",
        }
    }

    /// The format with this four-character code, if supported.
    pub fn from_fourcc(code: [u8; 4]) -> Option<PixelFormat> {
        PixelFormat::ALL.into_iter().find(|f| f.fourcc() == code)
    }
}

impl std::fmt::Display for PixelFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.fourcc()))
    }
}

/// Settings of the V4L2 frame source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CameraConfig {
    /// Device node (default `/dev/video0`); used when neither `card` nor `bus_info` is set.
    pub device: PathBuf,
    /// Pick the capture device whose card name (as `v4l2-ctl --info` shows it) contains this
    /// text, e.g. `"USB Microscope"` (default empty: not used).
    pub card: String,
    /// Pick the capture device with exactly this bus info, e.g. `"usb-0000:01:00.0-1.2"`,
    /// which names the USB port and so survives reboots (default empty: not used).
    pub bus_info: String,
    /// Pixel formats in order of preference (default `["MJPG", "YUYV", "RGB3", "BGR3",
    /// "GREY"]`; at least one, no repeats).
    pub formats: Vec<PixelFormat>,
    /// Frame width in pixels (default 640; allowed 16..=8192).
    pub width: u32,
    /// Frame height in pixels (default 480; allowed 16..=8192).
    pub height: u32,
    /// Frames per second asked of the camera (default 15; allowed 1..=120).
    pub fps: u32,
    /// mmap buffers queued with the driver (default 4; allowed 2..=8). One buffer makes
    /// some cameras drop to a fraction of their frame rate.
    pub buffers: u32,
    /// Quantisation of YUYV frames (default `"limited"`, as UVC cameras send; or `"full"`).
    /// Used only when the driver does not report it.
    pub yuv_range: YuvRange,
    /// Manual exposure in the driver's units (UVC: 100 µs); absent = auto exposure
    /// (allowed 1..=1000000).
    pub exposure: Option<i64>,
    /// Manual white balance in kelvin; absent = auto white balance (allowed 1000..=15000).
    pub white_balance: Option<i64>,
    /// Manual focus in the driver's units; absent = leave focus as it is (allowed
    /// 0..=100000).
    pub focus: Option<i64>,
    /// Longest wait for a fresh frame after a request, in milliseconds (default 2000;
    /// allowed 100..=60000).
    pub frame_timeout_ms: u32,
    /// First delay before reopening a lost camera, in milliseconds (default 500; allowed
    /// 50..=60000); it doubles after each failed attempt up to `retry_max_ms`.
    pub retry_min_ms: u32,
    /// Longest delay between reopening attempts, in milliseconds (default 10000; allowed
    /// `retry_min_ms`..=600000).
    pub retry_max_ms: u32,
}

impl Default for CameraConfig {
    fn default() -> Self {
        Self {
            device: PathBuf::from("/dev/video0"),
            card: String::new(),
            bus_info: String::new(),
            formats: PixelFormat::ALL.to_vec(),
            width: 640,
            height: 480,
            fps: 15,
            buffers: 4,
            yuv_range: YuvRange::Limited,
            exposure: None,
            white_balance: None,
            focus: None,
            frame_timeout_ms: 2000,
            retry_min_ms: 500,
            retry_max_ms: 10_000,
        }
    }
}

impl CameraConfig {
    /// Checks every value; the error names the first bad key (inside a `camera` section,
    /// which the daemon's configuration places at `camera.v4l2`) and what is allowed.
    pub fn validate(&self) -> Result<(), Invalid> {
        self.check().map_err(|e| e.in_section("camera"))
    }

    /// [`CameraConfig::validate`] before the section is named.
    fn check(&self) -> Result<(), Invalid> {
        if self.card.is_empty() && self.bus_info.is_empty() && self.device.as_os_str().is_empty() {
            return Err(Invalid::new(
                "device",
                "\"\"",
                "a device path such as \"/dev/video0\" (or set card / bus_info)",
            ));
        }
        if self.formats.is_empty() {
            return Err(Invalid::new(
                "formats",
                "[]",
                "one or more of \"MJPG\", \"YUYV\", \"RGB3\", \"BGR3\", \"GREY\"",
            ));
        }
        for (i, f) in self.formats.iter().enumerate() {
            if self.formats[..i].contains(f) {
                return Err(Invalid::new(
                    "formats",
                    format!("{f} twice"),
                    "each format at most once",
                ));
            }
        }
        check_range("width", self.width, 16, 8192)?;
        check_range("height", self.height, 16, 8192)?;
        check_range("fps", self.fps, 1, 120)?;
        check_range("buffers", self.buffers, 2, 8)?;
        if let Some(v) = self.exposure {
            check_range("exposure", v, 1, 1_000_000)?;
        }
        if let Some(v) = self.white_balance {
            check_range("white_balance", v, 1000, 15_000)?;
        }
        if let Some(v) = self.focus {
            check_range("focus", v, 0, 100_000)?;
        }
        check_range("frame_timeout_ms", self.frame_timeout_ms, 100, 60_000)?;
        check_range("retry_min_ms", self.retry_min_ms, 50, 60_000)?;
        // The lower bound is retry_min_ms's value: the delays only ever grow.
        check_range(
            "retry_max_ms",
            self.retry_max_ms,
            self.retry_min_ms,
            600_000,
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_prefer_mjpeg() {
        let c = CameraConfig::default();
        c.validate().unwrap();
        assert_eq!(c.formats[0], PixelFormat::Mjpg);
        assert_eq!(c.buffers, 4);
    }

    #[test]
    fn parses_toml_with_formats_and_controls() {
        let c: CameraConfig = toml::from_str(
            r#"
            card = "USB Microscope"
            formats = ["YUYV", "MJPG"]
            width = 1280
            height = 720
            exposure = 300
            yuv_range = "full"
            "#,
        )
        .unwrap();
        c.validate().unwrap();
        assert_eq!(c.formats, [PixelFormat::Yuyv, PixelFormat::Mjpg]);
        assert_eq!(c.exposure, Some(300));
        assert_eq!(c.yuv_range, YuvRange::Full);
        assert_eq!(c.fps, 15);
    }

    #[test]
    fn unknown_keys_and_formats_are_rejected() {
        let err = toml::from_str::<CameraConfig>("widht = 640").unwrap_err();
        assert!(err.to_string().contains("widht"), "{err}");
        let err = toml::from_str::<CameraConfig>("formats = [\"H264\"]").unwrap_err();
        assert!(err.to_string().contains("H264"), "{err}");
    }

    #[test]
    fn out_of_range_values_name_the_key() {
        let bad = |c: CameraConfig| c.validate().unwrap_err();
        let e = bad(CameraConfig {
            buffers: 1,
            ..Default::default()
        });
        assert_eq!(
            e.to_string(),
            "camera.buffers = 1 is out of range: allowed 2..=8"
        );
        assert_eq!(
            bad(CameraConfig {
                formats: vec![],
                ..Default::default()
            })
            .key,
            "formats"
        );
        let twice = vec![PixelFormat::Yuyv, PixelFormat::Yuyv];
        assert_eq!(
            bad(CameraConfig {
                formats: twice,
                ..Default::default()
            })
            .key,
            "formats"
        );
        assert_eq!(
            bad(CameraConfig {
                white_balance: Some(50),
                ..Default::default()
            })
            .key,
            "white_balance"
        );
        let e = bad(CameraConfig {
            retry_min_ms: 5000,
            retry_max_ms: 1000,
            ..Default::default()
        });
        assert_eq!(e.key, "retry_max_ms");
        assert_eq!(
            bad(CameraConfig {
                device: PathBuf::new(),
                ..Default::default()
            })
            .key,
            "device"
        );
    }

    #[test]
    fn fourcc_round_trip() {
        for f in PixelFormat::ALL {
            assert_eq!(PixelFormat::from_fourcc(f.fourcc()), Some(f));
        }
        assert_eq!(PixelFormat::from_fourcc(*b"H264"), None);
        assert_eq!(PixelFormat::Mjpg.to_string(), "MJPG");
    }
}
