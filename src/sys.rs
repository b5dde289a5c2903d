//! The plain system calls the crate makes outside its device drivers: the monotonic clock,
//! free disk space, the effective user and a thread's scheduling priority. Each sits behind a safe function here, so the
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

/// Lowers the calling thread's priority: its nice value goes up by `increment` (at most to
/// 19), so the other threads of the process get the CPU first when it is short. On Linux
/// each thread has its own nice value (`PRIO_PROCESS` with id 0 is the calling thread), and
/// raising one's own needs no privilege.
pub fn lower_thread_priority(increment: i32) -> io::Result<()> {
    // SAFETY: __errno_location returns this thread's errno slot, valid for the thread's
    // life; it is cleared because getpriority may legitimately return -1.
    unsafe { *libc::__errno_location() = 0 };
    // SAFETY: getpriority has no pointer arguments; PRIO_PROCESS with id 0 is this thread.
    let current = unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) };
    if current == -1 {
        let e = io::Error::last_os_error();
        if e.raw_os_error().unwrap_or(0) != 0 {
            return Err(e);
        }
    }
    let wanted = current.saturating_add(increment.max(0)).min(19);
    // SAFETY: setpriority has no pointer arguments; it changes only this thread's nice value.
    let rc = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, wanted) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
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

    #[test]
    fn a_thread_lowers_its_own_priority_only() {
        // SAFETY: as in lower_thread_priority.
        let before = unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) };
        let lowered = std::thread::spawn(|| {
            lower_thread_priority(3).unwrap();
            // SAFETY: as in lower_thread_priority.
            unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) }
        })
        .join()
        .unwrap();
        assert_eq!(lowered, (before + 3).min(19));
        // SAFETY: as in lower_thread_priority.
        assert_eq!(unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) }, before);
    }
}
