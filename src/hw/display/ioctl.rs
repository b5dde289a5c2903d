//! The one ioctl the display needs beyond `i2cdev`: what the I2C adapter can do
//! (`I2C_FUNCS`), which decides between raw I2C and SMBus block writes.

// A raw ioctl: the kernel writes an unsigned long through a pointer to a local.
#![allow(unsafe_code)]

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

/// `ioctl` request returning the adapter's functionality bits.
pub const I2C_FUNCS: u64 = 0x0705;

/// The functionality bits (`I2C_FUNC_*`) of the adapter behind an open `/dev/i2c-*`.
pub fn functionality(file: &File) -> io::Result<u64> {
    let mut funcs: libc::c_ulong = 0;
    // SAFETY: I2C_FUNCS writes one unsigned long through the pointer, which points to a
    // live local of that type; the descriptor stays open for the call.
    let rc = unsafe { libc::ioctl(file.as_raw_fd(), I2C_FUNCS as _, &mut funcs) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    // c_ulong is u64 on the 64-bit targets, u32 on 32-bit ARM.
    #[allow(clippy::useless_conversion)]
    Ok(u64::from(funcs))
}
