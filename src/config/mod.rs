//! Configuration: one TOML file, checked strictly.
//!
//! Unknown keys are errors (a typo must not silently fall back to a default), wrong types
//! and out-of-range values name the key and what is allowed. Relative paths are taken
//! relative to the configuration file's folder, so the daemon can start from anywhere.

mod sections;

use std::cmp::Ordering;
use std::fs;
use std::path::{Path, PathBuf};

pub use sections::{
    ButtonDriver, ButtonsSection, CameraSection, CameraSourceKind, CountingSection, LimitsSection,
    ModelSection, SimButtonsSection, StorageSection,
};

use crate::hw::display::config::DisplayConfig;
use crate::hw::setting::InvalidSetting;
use crate::vision::{LocatorParams, ParamError};

use serde::Deserialize;

/// Why a configuration file was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read configuration {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The file is not valid TOML.
    #[error("{path}: not valid TOML: {message}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The parser's message, with line and column.
        message: String,
    },
    /// A key is unknown, missing, or of the wrong type.
    #[error("{path}:{line}: key `{key}`: {message}")]
    Key {
        /// The file.
        path: PathBuf,
        /// Line of the offending key (0 when unknown).
        line: usize,
        /// Dotted path of the key, e.g. `counting.target`.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// A value is of the right type but not allowed.
    #[error("{path}: key `{key}`: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Dotted path of the key.
        key: String,
        /// What is allowed, and what was given.
        message: String,
    },
}

/// A value check that failed: the key and what is allowed.
#[derive(Debug, Clone, PartialEq)]
pub struct Invalid {
    /// Dotted path of the key.
    pub key: String,
    /// What is allowed, and what was given.
    pub message: String,
}

impl Invalid {
    /// A failed check of `key`.
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Invalid {
            key: key.into(),
            message: message.into(),
        }
    }
}

impl From<InvalidSetting> for Invalid {
    fn from(e: InvalidSetting) -> Self {
        Invalid::new(e.key, format!("must be {}, got {}", e.allowed, e.found))
    }
}

impl From<ParamError> for Invalid {
    fn from(e: ParamError) -> Self {
        Invalid::new(
            format!("locator.{}", e.key),
            format!("must be {}, got {}", e.allowed, e.value),
        )
    }
}

/// Checks that `value` lies in `range`, naming the key otherwise.
pub fn check_range<T: PartialOrd + std::fmt::Display>(
    key: &str,
    value: T,
    min: T,
    max: T,
) -> Result<(), Invalid> {
    // partial_cmp is None for NaN, which is therefore refused too.
    let above_min = matches!(
        value.partial_cmp(&min),
        Some(Ordering::Greater | Ordering::Equal)
    );
    let below_max = matches!(
        value.partial_cmp(&max),
        Some(Ordering::Less | Ordering::Equal)
    );
    if !(above_min && below_max) {
        return Err(Invalid::new(
            key,
            format!("must be between {min} and {max}, got {value}"),
        ));
    }
    Ok(())
}

/// The whole configuration of the daemon.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where frames come from.
    pub camera: CameraSection,
    /// The classifier model and its runtime.
    pub model: ModelSection,
    /// Differential count settings.
    pub counting: CountingSection,
    /// Where the journal and crops are kept.
    pub storage: StorageSection,
    /// The technician's buttons.
    pub buttons: ButtonsSection,
    /// The display.
    pub display: DisplayConfig,
    /// The white-cell locator.
    pub locator: LocatorParams,
    /// Live counting while the technician scans the slide.
    pub live: crate::live::LiveConfig,
    /// Bounds on untrusted input (picture sizes).
    pub limits: LimitsSection,
}

impl Config {
    /// Reads, parses and checks a configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut config = Config::parse(&text, path)?;
        let base = path.parent().unwrap_or(Path::new("."));
        config.resolve_paths(base);
        Ok(config)
    }

    /// Parses and checks configuration text; `path` is only used in messages.
    /// Relative paths are left as they are.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let de = toml::Deserializer::parse(text).map_err(|e| ConfigError::Syntax {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let config: Config = serde_path_to_error::deserialize(de).map_err(|e| {
            let line = e.inner().span().map_or(0, |span| line_of(text, span.start));
            ConfigError::Key {
                path: path.to_path_buf(),
                line,
                key: e.path().to_string(),
                message: e.inner().message().to_string(),
            }
        })?;
        config.validate().map_err(|inv| ConfigError::Invalid {
            path: path.to_path_buf(),
            key: inv.key,
            message: inv.message,
        })?;
        Ok(config)
    }

    /// Checks every value against its allowed range.
    pub fn validate(&self) -> Result<(), Invalid> {
        self.camera.validate()?;
        self.model.validate()?;
        self.counting.validate()?;
        self.storage.validate()?;
        self.buttons.validate()?;
        self.display.validate()?;
        self.locator.validate()?;
        self.live.validate()?;
        self.limits.validate()?;
        Ok(())
    }

    /// Makes relative paths relative to `base` (the configuration file's folder).
    pub fn resolve_paths(&mut self, base: &Path) {
        let fix = |p: &mut PathBuf| {
            if p.is_relative() && !p.as_os_str().is_empty() {
                *p = base.join(&*p);
            }
        };
        fix(&mut self.camera.replay_dir);
        fix(&mut self.model.path);
        if let Some(lib) = self.model.runtime_library.as_mut() {
            fix(lib);
        }
        fix(&mut self.storage.data_dir);
        if let Some(dir) = self.display.png_dir.as_mut() {
            fix(dir);
        }
    }
}

/// 1-based line number of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()
        .iter()
        .take(offset)
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}
