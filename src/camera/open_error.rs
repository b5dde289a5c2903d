//! Why a V4L2 camera could not be opened and set streaming. Each message names the
//! device and what to check; the kernel's error (the `v4l` crate reports `io::Error`s)
//! is the source.
//!
//! Imports only `std`, so it builds without the `v4l2` feature and its messages are
//! tested everywhere.

use std::io;
use std::path::PathBuf;

/// A camera that could not be opened, negotiated or started.
#[derive(Debug, thiserror::Error)]
pub enum CameraOpenError {
    /// No capture device matches `camera.card` / `camera.bus_info`.
    #[error(
        "no capture device with card containing \"{card}\" and bus info \"{bus_info}\" \
         (found: {found}); set camera.card and camera.bus_info from `v4l2-ctl --list-devices`"
    )]
    NoMatch {
        /// The configured card name fragment.
        card: String,
        /// The configured bus info fragment.
        bus_info: String,
        /// The capture devices found, or "none".
        found: String,
    },
    /// The device node could not be opened.
    #[error(
        "cannot open {}: {source} (is the camera plugged in, and is the user in group `video`?)",
        .path.display()
    )]
    Open {
        /// The device node.
        path: PathBuf,
        /// What the kernel said.
        #[source]
        source: io::Error,
    },
    /// The device did not list its pixel formats (not a capture device?).
    #[error(
        "{}: cannot list pixel formats: {source}; check that camera.device is a capture \
         device (`v4l2-ctl --list-devices`)",
        .path.display()
    )]
    ListFormats {
        /// The device node.
        path: PathBuf,
        /// What the kernel said.
        #[source]
        source: io::Error,
    },
    /// None of the device's formats can be converted.
    #[error(
        "{} offers no format this program can convert: {offered}; use a UVC camera that \
         offers MJPG or YUYV",
        .path.display()
    )]
    NoUsableFormat {
        /// The device node.
        path: PathBuf,
        /// The formats it offers.
        offered: String,
    },
    /// The driver refused the chosen format.
    #[error(
        "{}: setting the format failed: {source} (is another program using the camera?)",
        .path.display()
    )]
    SetFormat {
        /// The device node.
        path: PathBuf,
        /// What the kernel said.
        #[source]
        source: io::Error,
    },
    /// The driver answered with a format this program cannot convert.
    #[error(
        "{}: driver switched to unsupported format {fourcc}; list camera.formats the \
         camera offers (`v4l2-ctl --list-formats-ext`)",
        .path.display()
    )]
    UnsupportedFormat {
        /// The device node.
        path: PathBuf,
        /// The format the driver chose.
        fourcc: String,
    },
    /// The capture buffers could not be mapped.
    #[error(
        "{}: cannot map {buffers} capture buffers: {source}; lower camera.buffers",
        .path.display()
    )]
    MapBuffers {
        /// The device node.
        path: PathBuf,
        /// How many were asked for (`camera.buffers`).
        buffers: u32,
        /// What the kernel said.
        #[source]
        source: io::Error,
    },
    /// The first frame did not arrive.
    #[error(
        "{}: streaming did not start: {source}; check the USB cable and power, or raise \
         camera.frame_timeout_ms",
        .path.display()
    )]
    StreamStart {
        /// The device node.
        path: PathBuf,
        /// What the kernel said.
        #[source]
        source: io::Error,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_device_and_keep_the_source() {
        let e = CameraOpenError::Open {
            path: "/dev/video7".into(),
            source: io::ErrorKind::PermissionDenied.into(),
        };
        let text = e.to_string();
        assert!(
            text.contains("/dev/video7") && text.contains("group `video`"),
            "{text}"
        );
        assert!(std::error::Error::source(&e).is_some());
    }
}
