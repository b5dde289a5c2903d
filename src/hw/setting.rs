//! The error of a hardware setting that parsed but is not allowed.

/// A configuration value outside what the hardware accepts.
///
/// The message names the key (as written in the TOML file), the value found and the
/// allowed values, e.g. `display.address = 0x50 is not allowed (allowed: 0x3C or 0x3D)`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key} = {found} is not allowed (allowed: {allowed})")]
pub struct InvalidSetting {
    /// Full key, e.g. `display.contrast`.
    pub key: String,
    /// The value as found in the file.
    pub found: String,
    /// The allowed values or range.
    pub allowed: String,
}

impl InvalidSetting {
    /// A new error for `key`.
    pub fn new(key: &str, found: impl std::fmt::Display, allowed: &str) -> Self {
        Self {
            key: key.to_string(),
            found: found.to_string(),
            allowed: allowed.to_string(),
        }
    }
}
