//! The plain system calls the crate makes outside its device drivers: the monotonic clock,
//! free disk space and the effective user. Each sits behind a safe function here, so the
//! modules above them hold no raw calls.
//!
//! Device-specific calls live beside their device: the V4L2 queries in `camera/ioctl.rs`,
//! the I2C adapter query in `hw/display/ioctl.rs`.

// libc calls that write through pointers to locals.
#![allow(unsafe_code)]

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::Duration;

/// Time on `CLOCK_MONOTONIC`: the clock the kernel stamps GPIO edges and V4L2 buffers with,
/// so it can be compared with their timestamps (`std::time::Instant` cannot). Zero if the
/// clock cannot be read.
pub fn monotonic_now() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec into `ts`, a valid and exclusively
    // borrowed local; CLOCK_MONOTONIC always exists on Linux.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    if rc != 0 {
        return Duration::ZERO;
    }
    Duration::new(
        u64::try_from(ts.tv_sec).unwrap_or(0),
        u32::try_from(ts.tv_nsec).unwrap_or(0),
    )
}

/// Free (for an unprivileged user) and total bytes of the file system holding `path`, or
/// its nearest existing ancestor, so a data directory that is not created yet is still
/// measured.
pub fn disk_space(path: &Path) -> io::Result<(u64, u64)> {
    let existing = path
        .ancestors()
        .find(|p| p.exists())
        .unwrap_or(Path::new("/"));
    let c_path = CString::new(existing.as_os_str().as_bytes())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    // SAFETY: all-zero bytes are a valid value of this plain C struct.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: statvfs only writes the struct we pass, a local of the right type; the path
    // is a valid NUL-terminated string that outlives the call.
    let rc = unsafe { libc::statvfs(c_path.as_ptr(), &mut st) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    let frsize = st.f_frsize as u64;
    Ok((st.f_bavail as u64 * frsize, st.f_blocks as u64 * frsize))
}

/// True when the process runs with root's effective user id (which ignores file
/// permission bits).
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monotonic_clock_advances() {
        let a = monotonic_now();
        std::thread::sleep(Duration::from_millis(2));
        assert!(monotonic_now() > a);
        assert!(a > Duration::ZERO);
    }

    #[test]
    fn free_space_is_measured_at_the_nearest_existing_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let (free, total) = disk_space(&tmp.path().join("not/yet/created")).unwrap();
        assert!(total > 0 && free <= total, "{free} / {total}");
    }
}
