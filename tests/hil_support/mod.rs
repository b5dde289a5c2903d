//! Shared by the hardware-in-the-loop tests (`tests/hil_*.rs`).
//!
//! Those tests are `#[ignore]`d: they need the virtual devices of the arm64 VM that
//! `cross/hil.sh` boots, whose init passes the device paths in `HV_HIL_*` variables.
//! Run with `--ignored` anywhere else and they fail, naming the missing variable.

#![allow(dead_code)]

use std::path::PathBuf;

/// The value of a `HV_HIL_*` variable set by the guest's init.
pub fn env(name: &str) -> String {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => v,
        _ => panic!("{name} is not set: run the HIL tests through cross/hil.sh"),
    }
}

/// A device path from a `HV_HIL_*` variable.
pub fn device(name: &str) -> PathBuf {
    PathBuf::from(env(name))
}
