//! `hematovision doctor`: one line per thing that must work on an installed appliance —
//! configuration, model and runtime, camera, buttons, display, storage, clock, groups —
//! each `OK`, `WARN` or `FAIL`, with the fix when it is not `OK`.
//!
//! Every check is a plain function over explicit inputs (paths, parsed files, times), so
//! the tests run them against temporary folders and fake device paths; the command line
//! only gathers the real inputs and prints the lines.

mod calibration;
pub mod camera;
pub mod devices;
mod gate;
pub mod inference;
pub mod system;

use std::fmt;

/// Outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// Works.
    Ok,
    /// Works, but something should be looked at.
    Warn,
    /// Does not work: the daemon will not run or count as it should.
    Fail,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Ok => "OK",
            Status::Warn => "WARN",
            Status::Fail => "FAIL",
        })
    }
}

/// One line of the doctor's report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// What was checked (`config`, `model`, `camera`, ...).
    pub name: &'static str,
    /// The outcome.
    pub status: Status,
    /// What was found.
    pub detail: String,
    /// How to fix it (for `WARN` and `FAIL`).
    pub fix: Option<String>,
}

impl Check {
    /// A passed check.
    pub fn ok(name: &'static str, detail: impl Into<String>) -> Self {
        Check {
            name,
            status: Status::Ok,
            detail: detail.into(),
            fix: None,
        }
    }

    /// A check that passed with a reservation, and what to do about it.
    pub fn warn(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Check {
            name,
            status: Status::Warn,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }

    /// A failed check, and what to do about it.
    pub fn fail(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Check {
            name,
            status: Status::Fail,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }
}

impl fmt::Display for Check {
    /// `FAIL camera     no /dev/video* device; fix: plug in the USB camera`, on one line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let one_line = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        write!(
            f,
            "{:<4} {:<10} {}",
            self.status.to_string(),
            self.name,
            one_line(&self.detail)
        )?;
        if let Some(fix) = &self.fix {
            write!(f, "; fix: {}", one_line(fix))?;
        }
        Ok(())
    }
}

/// The worst status among `checks` (`Ok` when empty).
pub fn worst(checks: &[Check]) -> Status {
    checks.iter().map(|c| c.status).max().unwrap_or(Status::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_single_and_carry_the_fix() {
        let c = Check::fail("camera", "no device\nfound", "plug it in");
        let line = c.to_string();
        assert_eq!(line, "FAIL camera     no device found; fix: plug it in");
        assert!(!line.contains('\n'));
        assert_eq!(
            Check::ok("config", "valid").to_string(),
            "OK   config     valid"
        );
    }

    #[test]
    fn worst_status_wins() {
        assert_eq!(worst(&[]), Status::Ok);
        let ok = Check::ok("a", "");
        let warn = Check::warn("b", "", "");
        let fail = Check::fail("c", "", "");
        assert_eq!(worst(&[ok.clone(), warn.clone()]), Status::Warn);
        assert_eq!(worst(&[fail, ok, warn]), Status::Fail);
    }
}
