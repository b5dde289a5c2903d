//! The Video4Linux2 queries that need no streaming: what a device node is
//! (`VIDIOC_QUERYCAP`) and which capture pixel formats it offers (`VIDIOC_ENUM_FMT`).
//!
//! Plain `libc` ioctls on an open file, so they work without the `v4l2` feature (which
//! needs libclang to build): `hematovision doctor` uses them on any build.

// Raw ioctls: the kernel reads and writes C structs through pointers to locals.
#![allow(unsafe_code)]

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fourcc_text() {
        assert_eq!(fourcc(u32::from_le_bytes(*b"MJPG")), "MJPG");
        assert_eq!(fourcc(u32::from_le_bytes(*b"Y10 ")), "Y10");
        assert_eq!(fourcc(0x0100_0000), "????");
    }
}
