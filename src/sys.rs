//! The plain system calls the crate makes outside its device drivers: the monotonic clock,
//! free disk space, the effective user, a thread's scheduling priority and the terminal's
//! key mode. Each sits behind a safe function here, so the modules above them hold no raw
//! calls.
//!
//! Device-specific calls live beside their device: the V4L2 queries in `camera/ioctl.rs`,
//! the I2C adapter query in `hw/display/ioctl.rs`.

// libc calls that write through pointers to locals.
#![allow(unsafe_code)]

use std::ffi::CString;
use std::io;
use std::os::fd::RawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::OnceLock;
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

/// The terminal mode before [`single_keys`] changed it, kept where a signal handler and
/// the panic hook can reach it without locking.
static SAVED_TERMINAL: OnceLock<(RawFd, libc::termios)> = OnceLock::new();

/// While alive, the terminal on `fd` is in single-key mode; dropping it restores the mode
/// the terminal had.
pub struct TerminalGuard {
    fd: RawFd,
    saved: libc::termios,
}

impl std::fmt::Debug for TerminalGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TerminalGuard")
            .field("fd", &self.fd)
            .finish()
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        set_terminal(self.fd, &self.saved);
    }
}

/// Writes a terminal mode; returns whether it was taken. Only `tcsetattr`, which is
/// async-signal-safe, so a signal handler may call it.
fn set_terminal(fd: RawFd, mode: &libc::termios) -> bool {
    // SAFETY: tcsetattr reads the termios we pass, a valid reference; a bad fd is an error.
    unsafe { libc::tcsetattr(fd, libc::TCSANOW, mode) == 0 }
}

/// The terminal mode of `fd` (an error when `fd` is no terminal).
fn get_terminal(fd: RawFd) -> io::Result<libc::termios> {
    // SAFETY: all-zero bytes are a valid value of this plain C struct.
    let mut mode: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: tcgetattr only writes the struct we pass, a local of the right type.
    if unsafe { libc::tcgetattr(fd, &mut mode) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(mode)
}

/// Puts the terminal on `fd` in single-key mode: each key is read as it is pressed, with
/// no Enter and no echo, while Ctrl-C still raises SIGINT. The mode it had comes back when
/// the guard drops, and also on the first SIGTERM or SIGINT (the daemon's handlers still
/// stop it cleanly; a second signal ends it before any drop) and on a panic (for the first
/// terminal put in this mode: the daemon has one). Meant for the daemon, which handles both
/// signals: registering the restore replaces their default action. Fails when `fd` is no
/// terminal.
pub fn single_keys(fd: RawFd) -> io::Result<TerminalGuard> {
    let saved = get_terminal(fd)?;
    let mut raw = saved;
    raw.c_lflag &= !(libc::ICANON | libc::ECHO);
    raw.c_cc[libc::VMIN] = 1;
    raw.c_cc[libc::VTIME] = 0;
    if SAVED_TERMINAL.set((fd, saved)).is_ok() {
        let restore = || {
            if let Some((fd, mode)) = SAVED_TERMINAL.get() {
                set_terminal(*fd, mode);
            }
        };
        for signal in [libc::SIGTERM, libc::SIGINT] {
            // SAFETY: the action only reads a set OnceLock and calls tcsetattr, both
            // async-signal-safe; it allocates and locks nothing.
            unsafe { signal_hook::low_level::register(signal, restore) }?;
        }
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
    }
    if !set_terminal(fd, &raw) {
        return Err(io::Error::last_os_error());
    }
    Ok(TerminalGuard { fd, saved })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pseudo-terminal: (controller, terminal) file descriptors.
    fn pty() -> (RawFd, RawFd) {
        let (mut controller, mut terminal) = (0, 0);
        // SAFETY: openpty writes two fds into the locals; null name, termios and winsize
        // are allowed.
        let rc = unsafe {
            libc::openpty(
                &mut controller,
                &mut terminal,
                std::ptr::null_mut(),
                std::ptr::null(),
                std::ptr::null(),
            )
        };
        assert_eq!(rc, 0, "{}", io::Error::last_os_error());
        (controller, terminal)
    }

    fn line_mode(fd: RawFd) -> bool {
        get_terminal(fd).unwrap().c_lflag & libc::ICANON != 0
    }

    #[test]
    fn single_key_mode_is_undone_by_the_guard_and_by_a_stop_signal() {
        let (_controller, terminal) = pty();
        assert!(line_mode(terminal));
        let guard = single_keys(terminal).unwrap();
        assert!(!line_mode(terminal), "keys without Enter");
        assert_eq!(get_terminal(terminal).unwrap().c_lflag & libc::ECHO, 0);
        drop(guard);
        assert!(line_mode(terminal), "restored when the guard drops");
        let _guard = single_keys(terminal).unwrap();
        assert!(!line_mode(terminal));
        // SAFETY: raise sends SIGTERM to this process, whose action is now the restore.
        assert_eq!(unsafe { libc::raise(libc::SIGTERM) }, 0);
        assert!(line_mode(terminal), "restored by SIGTERM before any drop");
        assert!(single_keys(-1).is_err(), "no terminal there");
    }

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
