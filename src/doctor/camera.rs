//! The camera check: a Video4Linux2 capture device and the pixel formats it offers, read
//! with `VIDIOC_QUERYCAP` and `VIDIOC_ENUM_FMT` (no streaming), or the replay folder.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use super::Check;

/// `_IOR('V', 0, struct v4l2_capability)` (104 bytes).
const VIDIOC_QUERYCAP: u64 = 0x8068_5600;
/// `_IOWR('V', 2, struct v4l2_fmtdesc)` (64 bytes).
const VIDIOC_ENUM_FMT: u64 = 0xC040_5602;
/// `V4L2_CAP_VIDEO_CAPTURE`.
pub const CAP_VIDEO_CAPTURE: u32 = 0x0000_0001;
/// `V4L2_CAP_STREAMING`.
pub const CAP_STREAMING: u32 = 0x0400_0000;
/// `V4L2_CAP_DEVICE_CAPS`: `device_caps` is valid.
const CAP_DEVICE_CAPS: u32 = 0x8000_0000;
/// `V4L2_BUF_TYPE_VIDEO_CAPTURE`.
const BUF_TYPE_VIDEO_CAPTURE: u32 = 1;

/// `struct v4l2_capability`.
#[repr(C)]
struct RawCapability {
    driver: [u8; 16],
    card: [u8; 32],
    bus_info: [u8; 32],
    version: u32,
    capabilities: u32,
    device_caps: u32,
    reserved: [u32; 3],
}

/// `struct v4l2_fmtdesc`.
#[repr(C)]
struct RawFmtDesc {
    index: u32,
    kind: u32,
    flags: u32,
    description: [u8; 32],
    pixelformat: u32,
    mbus_code: u32,
    reserved: [u32; 3],
}

const _: () = assert!(std::mem::size_of::<RawCapability>() == 104);
const _: () = assert!(std::mem::size_of::<RawFmtDesc>() == 64);

/// What `VIDIOC_QUERYCAP` says about a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capability {
    /// Kernel driver (`uvcvideo`, `vivid`).
    pub driver: String,
    /// The device's name.
    pub card: String,
    /// Where it is attached (`usb-0000:01:00.0-1.3`).
    pub bus_info: String,
    /// Capabilities of this device node.
    pub device_caps: u32,
}

impl Capability {
    /// True when the node captures video (a UVC camera also has a metadata-only node).
    pub fn captures_video(&self) -> bool {
        self.device_caps & CAP_VIDEO_CAPTURE != 0
    }
}

fn c_string(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).trim().to_string()
}

/// A FourCC code as text (`MJPG`, `YUYV`).
pub fn fourcc(code: u32) -> String {
    code.to_le_bytes()
        .iter()
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                b as char
            } else {
                '?'
            }
        })
        .collect::<String>()
        .trim_end()
        .to_string()
}

/// `VIDIOC_QUERYCAP` on an open device.
pub fn query_capability(file: &File) -> io::Result<Capability> {
    // SAFETY: all-zero bytes are a valid value of this plain C struct.
    let mut raw: RawCapability = unsafe { std::mem::zeroed() };
    // SAFETY: VIDIOC_QUERYCAP writes one v4l2_capability (size checked above) into the
    // pointed-to local; the descriptor stays open for the call.
    let rc = unsafe { libc::ioctl(file.as_raw_fd(), VIDIOC_QUERYCAP as _, &mut raw) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    let device_caps = if raw.capabilities & CAP_DEVICE_CAPS != 0 {
        raw.device_caps
    } else {
        raw.capabilities
    };
    Ok(Capability {
        driver: c_string(&raw.driver),
        card: c_string(&raw.card),
        bus_info: c_string(&raw.bus_info),
        device_caps,
    })
}

/// The capture pixel formats of an open device, as FourCC text, in the driver's order.
pub fn capture_formats(file: &File) -> io::Result<Vec<String>> {
    let mut formats = Vec::new();
    for index in 0..64 {
        // SAFETY: all-zero bytes are a valid value of this plain C struct.
        let mut desc: RawFmtDesc = unsafe { std::mem::zeroed() };
        desc.index = index;
        desc.kind = BUF_TYPE_VIDEO_CAPTURE;
        // SAFETY: VIDIOC_ENUM_FMT reads and writes one v4l2_fmtdesc (size checked above)
        // in the pointed-to local; the descriptor stays open for the call.
        let rc = unsafe { libc::ioctl(file.as_raw_fd(), VIDIOC_ENUM_FMT as _, &mut desc) };
        if rc < 0 {
            let e = io::Error::last_os_error();
            // EINVAL past the last format ends the list.
            if e.raw_os_error() == Some(libc::EINVAL) {
                break;
            }
            return Err(e);
        }
        formats.push(fourcc(desc.pixelformat));
    }
    Ok(formats)
}

/// What probing one device node found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// The device node.
    pub path: PathBuf,
    /// Capabilities and capture formats, or why they could not be read.
    pub result: Result<(Capability, Vec<String>), String>,
}

/// Opens `path` and reads its capabilities and formats.
pub fn probe(path: &Path) -> Probe {
    let result = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| {
            if e.kind() == io::ErrorKind::PermissionDenied {
                format!("{e}: add the user to group `video` (sudo usermod -aG video USER)")
            } else {
                e.to_string()
            }
        })
        .and_then(|file| {
            let caps = query_capability(&file)
                .map_err(|e| format!("not a V4L2 device (VIDIOC_QUERYCAP: {e})"))?;
            let formats = if caps.captures_video() {
                capture_formats(&file).map_err(|e| format!("VIDIOC_ENUM_FMT: {e}"))?
            } else {
                Vec::new()
            };
            Ok((caps, formats))
        });
    Probe {
        path: path.to_path_buf(),
        result,
    }
}

/// The `video*` nodes in `dev`, sorted by number.
pub fn video_devices(dev: &Path) -> Vec<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = fs::read_dir(dev)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    let n = name.strip_prefix("video")?.parse().ok()?;
                    Some((n, e.path()))
                })
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found.into_iter().map(|(_, p)| p).collect()
}

const NO_CAMERA_FIX: &str = "plug the USB camera in (lsusb should list it; dmesg shows \
    uvcvideo messages) and check `ls -l /dev/video*`";

/// Judges the probed nodes: the first video-capture node is the camera; MJPEG is preferred.
pub fn assess(probes: &[Probe]) -> Check {
    const NAME: &str = "camera";
    if probes.is_empty() {
        return Check::fail(NAME, "no /dev/video* device", NO_CAMERA_FIX);
    }
    let capture = probes
        .iter()
        .find(|p| matches!(&p.result, Ok((caps, _)) if caps.captures_video()));
    let Some(Probe {
        path,
        result: Ok((caps, formats)),
    }) = capture
    else {
        let problems: Vec<String> = probes
            .iter()
            .map(|p| match &p.result {
                Ok(_) => format!("{}: no video capture", p.path.display()),
                Err(e) => format!("{}: {e}", p.path.display()),
            })
            .collect();
        return Check::fail(NAME, problems.join("; "), NO_CAMERA_FIX);
    };
    let detail = format!(
        "{} \"{}\" ({}, {}), formats {}",
        path.display(),
        caps.card,
        caps.driver,
        caps.bus_info,
        if formats.is_empty() {
            "none".to_string()
        } else {
            formats.join(" ")
        }
    );
    if formats.is_empty() {
        return Check::fail(
            NAME,
            detail,
            "the device offers no capture format; try another camera or USB port",
        );
    }
    if caps.device_caps & CAP_STREAMING == 0 {
        return Check::warn(
            NAME,
            detail,
            "the device cannot stream (no V4L2_CAP_STREAMING); use a UVC USB camera",
        );
    }
    if !formats.iter().any(|f| f == "MJPG") {
        return Check::warn(
            NAME,
            detail,
            "no MJPEG: uncompressed YUYV over USB 2 limits resolution and frame rate; an MJPEG \
             UVC camera is recommended (docs/INSTALL.md)",
        );
    }
    Check::ok(NAME, detail)
}

/// The camera check for the configured source: the replay folder's images, or the V4L2
/// devices under `dev`.
pub fn check(config: &crate::config::CameraSection, dev: &Path) -> Check {
    use crate::config::CameraSourceKind;
    match config.source {
        CameraSourceKind::Replay => {
            match crate::camera::replay::ReplaySource::open(&config.replay_dir, false) {
                Ok(source) => Check::ok(
                    "camera",
                    format!(
                        "replay: {} images in {}",
                        source.files().len(),
                        config.replay_dir.display()
                    ),
                ),
                Err(e) => Check::fail(
                    "camera",
                    format!("replay: {e}"),
                    "point camera.replay_dir at a folder of JPEG/PNG images",
                ),
            }
        }
        CameraSourceKind::V4l2 => {
            let v4l2 = &config.v4l2;
            // A camera chosen by card name or bus info may be any node; one chosen by path
            // must be that node.
            let candidates = if v4l2.card.is_empty() && v4l2.bus_info.is_empty() {
                vec![v4l2.device.clone()]
            } else {
                video_devices(dev)
            };
            let probes: Vec<Probe> = candidates.iter().map(|p| probe(p)).collect();
            assess(&probes)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::Status;

    fn cam(caps: u32, formats: &[&str]) -> Probe {
        Probe {
            path: PathBuf::from("/dev/video0"),
            result: Ok((
                Capability {
                    driver: "uvcvideo".into(),
                    card: "USB Camera".into(),
                    bus_info: "usb-1".into(),
                    device_caps: caps,
                },
                formats.iter().map(|s| s.to_string()).collect(),
            )),
        }
    }

    #[test]
    fn fourcc_text() {
        assert_eq!(fourcc(u32::from_le_bytes(*b"MJPG")), "MJPG");
        assert_eq!(fourcc(u32::from_le_bytes(*b"Y10 ")), "Y10");
        assert_eq!(fourcc(0x0100_0000), "????");
    }

    #[test]
    fn device_listing_is_numeric_and_ignores_others() {
        let tmp = tempfile::tempdir().unwrap();
        for name in ["video10", "video2", "video0", "videos", "media0"] {
            fs::write(tmp.path().join(name), b"").unwrap();
        }
        let names: Vec<String> = video_devices(tmp.path())
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["video0", "video2", "video10"]);
        assert!(video_devices(&tmp.path().join("absent")).is_empty());
    }

    #[test]
    fn no_device_and_non_v4l2_files_fail() {
        assert_eq!(assess(&[]).status, Status::Fail);
        let tmp = tempfile::tempdir().unwrap();
        let fake = tmp.path().join("video0");
        fs::write(&fake, b"not a camera").unwrap();
        let p = probe(&fake);
        let err = p.result.clone().unwrap_err();
        assert!(err.contains("not a V4L2 device"), "{err}");
        let c = assess(&[p, probe(&tmp.path().join("video1"))]);
        assert_eq!(c.status, Status::Fail, "{c}");
        assert!(c.detail.contains("video1"), "{c}");
    }

    #[test]
    fn mjpeg_preferred_and_metadata_nodes_skipped() {
        let full = CAP_VIDEO_CAPTURE | CAP_STREAMING;
        let metadata_node = cam(CAP_STREAMING | 0x0080_0000, &[]);
        let c = assess(&[metadata_node.clone(), cam(full, &["YUYV", "MJPG"])]);
        assert_eq!(c.status, Status::Ok, "{c}");
        assert!(c.detail.contains("YUYV MJPG"), "{c}");
        assert_eq!(assess(&[cam(full, &["YUYV"])]).status, Status::Warn);
        assert_eq!(assess(&[cam(full, &[])]).status, Status::Fail);
        assert_eq!(
            assess(&[cam(CAP_VIDEO_CAPTURE, &["MJPG"])]).status,
            Status::Warn
        );
        assert_eq!(assess(&[metadata_node]).status, Status::Fail);
    }

    #[test]
    fn replay_source_is_checked_by_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let mut section = crate::config::CameraSection {
            replay_dir: tmp.path().join("none"),
            ..Default::default()
        };
        assert_eq!(check(&section, tmp.path()).status, Status::Fail);
        section.replay_dir =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bccd/JPEGImages");
        let c = check(&section, tmp.path());
        assert_eq!(c.status, Status::Ok, "{c}");
        assert!(c.detail.contains("12 images"), "{c}");
        section.source = crate::config::CameraSourceKind::V4l2;
        assert_eq!(check(&section, tmp.path()).status, Status::Fail);
    }
}
