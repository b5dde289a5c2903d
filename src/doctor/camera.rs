//! The camera check: a Video4Linux2 capture device and the pixel formats it offers, read
//! with `VIDIOC_QUERYCAP` and `VIDIOC_ENUM_FMT` (no streaming; [`crate::camera::ioctl`]),
//! or the replay folder.

use std::fs::{self, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use super::Check;
use crate::camera::ioctl::{CAP_STREAMING, Capability, capture_formats, query_capability};

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
        CameraSourceKind::Replay | CameraSourceKind::Scan => {
            let kind = if config.source == CameraSourceKind::Scan {
                "scan"
            } else {
                "replay"
            };
            match crate::camera::replay::ReplaySource::open(&config.replay_dir, false) {
                Ok(source) => Check::ok(
                    "camera",
                    format!(
                        "{kind}: {} images in {}",
                        source.files().len(),
                        config.replay_dir.display()
                    ),
                ),
                Err(e) => Check::fail(
                    "camera",
                    format!("{kind}: {e}"),
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
    use crate::camera::ioctl::CAP_VIDEO_CAPTURE;
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
