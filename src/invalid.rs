//! The one vocabulary of a setting that parsed but is not allowed.
//!
//! Every configuration section (camera, display, buttons, locator, live, and the daemon's
//! own) checks its values with [`check_range`] or [`Invalid::new`] and names the key
//! inside its own table; the configuration loader only says where that table sits in the
//! file ([`Invalid::in_section`]) and adds the line. This module imports nothing from the
//! crate, so every room can use it without pointing upwards.

use std::cmp::Ordering;
use std::fmt;

/// What a refused setting may be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Allowed {
    /// Any value from `min` to `max`, both included.
    Range {
        /// Smallest allowed value, as it is written.
        min: String,
        /// Largest allowed value, as it is written.
        max: String,
    },
    /// The allowed values in words, e.g. `0x3C or 0x3D`.
    Only(String),
}

impl fmt::Display for Allowed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Allowed::Range { min, max } => write!(f, "{min}..={max}"),
            Allowed::Only(text) => f.write_str(text),
        }
    }
}

/// A setting that parsed but is not allowed: where it is, what was found, what is allowed.
///
/// Displays as `display.rotation = 90 is not allowed (allowed: 0 or 180)`, or for a range
/// `camera.buffers = 1 is out of range: allowed 2..=8`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// Dotted name of the table the key is in (`display`, `camera.v4l2`); empty at the top.
    pub section: String,
    /// The key inside `section`, e.g. `rotation`.
    pub key: String,
    /// The value as found, e.g. `90` or `""`.
    pub found: String,
    /// What would have been accepted.
    pub allowed: Allowed,
}

impl Invalid {
    /// `key` (inside no section yet) was `found`, and only `allowed` is accepted.
    pub fn new(
        key: impl Into<String>,
        found: impl fmt::Display,
        allowed: impl Into<String>,
    ) -> Self {
        Invalid {
            section: String::new(),
            key: key.into(),
            found: found.to_string(),
            allowed: Allowed::Only(allowed.into()),
        }
    }

    /// The same error, its key placed in the table `section` (dotted, e.g. `camera.v4l2`).
    pub fn in_section(mut self, section: &str) -> Self {
        self.section = section.to_string();
        self
    }

    /// The key's full dotted name as written in the file, e.g. `display.rotation`.
    pub fn full_key(&self) -> String {
        if self.section.is_empty() {
            self.key.clone()
        } else {
            format!("{}.{}", self.section, self.key)
        }
    }

    /// What the key must be, and what it was: `must be between 1 and 10000, got 0`.
    pub fn requirement(&self) -> String {
        match &self.allowed {
            Allowed::Range { min, max } => {
                format!("must be between {min} and {max}, got {}", self.found)
            }
            Allowed::Only(text) => format!("must be {text}, got {}", self.found),
        }
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let key = self.full_key();
        match &self.allowed {
            Allowed::Range { .. } => write!(
                f,
                "{key} = {} is out of range: allowed {}",
                self.found, self.allowed
            ),
            Allowed::Only(text) => {
                write!(f, "{key} = {} is not allowed (allowed: {text})", self.found)
            }
        }
    }
}

impl std::error::Error for Invalid {}

/// Checks that `min <= value <= max`, naming `key` otherwise. NaN is refused.
///
/// The bounds are shown with `{:?}` so that float bounds keep their point (`2.0`), the
/// value as written (`5`).
pub fn check_range<T>(key: &str, value: T, min: T, max: T) -> Result<(), Invalid>
where
    T: PartialOrd + fmt::Display + fmt::Debug,
{
    // partial_cmp is None for NaN, which therefore fails both tests.
    let above_min = matches!(
        value.partial_cmp(&min),
        Some(Ordering::Greater | Ordering::Equal)
    );
    let below_max = matches!(
        value.partial_cmp(&max),
        Some(Ordering::Less | Ordering::Equal)
    );
    if above_min && below_max {
        return Ok(());
    }
    Err(Invalid {
        section: String::new(),
        key: key.to_string(),
        found: value.to_string(),
        allowed: Allowed::Range {
            min: format!("{min:?}"),
            max: format!("{max:?}"),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_refuse_nan_and_keep_the_bounds_as_written() {
        assert!(check_range("k", 0.5f32, 0.0, 1.0).is_ok());
        assert!(check_range("k", 1.0f32, 0.0, 1.0).is_ok());
        assert!(check_range("k", f32::NAN, 0.0, 1.0).is_err());
        let e = check_range("threshold", 5.0f32, 0.02, 2.0)
            .unwrap_err()
            .in_section("locator");
        assert_eq!(e.full_key(), "locator.threshold");
        assert_eq!(
            e.to_string(),
            "locator.threshold = 5 is out of range: allowed 0.02..=2.0"
        );
        assert_eq!(e.requirement(), "must be between 0.02 and 2.0, got 5");
    }

    #[test]
    fn listed_values_read_as_a_sentence() {
        let e = Invalid::new("rotation", 90, "0 or 180").in_section("display");
        assert_eq!(
            e.to_string(),
            "display.rotation = 90 is not allowed (allowed: 0 or 180)"
        );
        assert_eq!(e.requirement(), "must be 0 or 180, got 90");
        assert_eq!(Invalid::new("top", 1, "2").full_key(), "top");
    }
}
