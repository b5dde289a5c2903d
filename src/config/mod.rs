//! Configuration: one TOML file, checked strictly.
//!
//! Unknown keys are errors (a typo must not silently fall back to a default), wrong types
//! and out-of-range values name the key and what is allowed. Relative paths are taken
//! relative to the configuration file's folder, so the daemon can start from anywhere.

mod locate;
mod paths;
mod sections;

use std::fs::OpenOptions;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

pub use locate::{MAX_ECHO_CHARS, cap_echo, line_of_key};
pub use paths::PathProblem;

pub use sections::{
    ButtonDriver, ButtonsSection, CameraSection, CameraSourceKind, CountingSection, LimitsSection,
    ModelSection, SimButtonsSection, StationSection, StorageSection, check_exposure, check_token,
};

use crate::hw::display::config::DisplayConfig;
use crate::invalid::Invalid;
use crate::vision::LocatorParams;

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
    /// A value is of the right type but not allowed, or names a file that is not there.
    #[error("{}{}: key `{key}`: {message}", path.display(), at_line(*line))]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Line of the key (0 when it is not written in the file).
        line: usize,
        /// Dotted path of the key.
        key: String,
        /// What is allowed, and what was given.
        message: String,
    },
    /// The configuration is not a regular file (a FIFO, a device, a folder).
    #[error(
        "{path} is {kind}, not a regular file: give the path of a configuration file such as /etc/hematovision/hematovision.toml"
    )]
    NotAFile {
        /// The path given.
        path: PathBuf,
        /// What it is instead.
        kind: &'static str,
    },
    /// The file holds nothing (often a copy that failed).
    #[error(
        "{path} is empty: copy the configuration reference (/etc/hematovision/hematovision.toml in the package, config/hematovision.toml in the source) and edit it"
    )]
    Empty {
        /// The file.
        path: PathBuf,
    },
}

/// `:LINE` when the line is known.
fn at_line(line: usize) -> String {
    if line == 0 {
        String::new()
    } else {
        format!(":{line}")
    }
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
    /// The review station's web pages.
    pub station: StationSection,
}

impl Config {
    /// Reads, parses and checks a configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        Config::check_file(path, false)
    }

    /// [`Config::load`], then, when `check_paths` is set, [`Config::check_paths`]: what
    /// `check-config` does (without paths when the file is for another machine).
    pub fn check_file(path: &Path, check_paths: bool) -> Result<Config, ConfigError> {
        let text = read_text(path)?;
        let mut config = Config::parse(&text, path)?;
        let base = path.parent().unwrap_or(Path::new("."));
        config.resolve_paths(base);
        if check_paths {
            config.check_paths().map_err(|p| ConfigError::Invalid {
                path: path.to_path_buf(),
                line: line_of_key(&text, p.key),
                key: p.key.to_string(),
                message: cap_echo(&p.message),
            })?;
        }
        Ok(config)
    }

    /// Parses and checks configuration text; `path` is only used in messages.
    /// Relative paths are left as they are.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let de = toml::Deserializer::parse(text).map_err(|e| ConfigError::Syntax {
            path: path.to_path_buf(),
            message: cap_echo(&e.to_string()),
        })?;
        let config: Config = serde_path_to_error::deserialize(de).map_err(|e| {
            let key = e.path().to_string();
            let line = match e.inner().span() {
                Some(span) => locate::line_of(text, span.start),
                None => line_of_key(text, &key),
            };
            ConfigError::Key {
                path: path.to_path_buf(),
                line,
                key: cap_echo(&key),
                message: cap_echo(e.inner().message()),
            }
        })?;
        config.validate().map_err(|inv| invalid(path, text, inv))?;
        Ok(config)
    }

    /// Checks every value against its allowed range. Each section checks its own values
    /// and names the table it sits in; the loader adds the line.
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
        self.station.validate()?;
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
        if let Some(calibration) = self.model.calibration.as_mut() {
            fix(calibration);
        }
        fix(&mut self.storage.data_dir);
        if let Some(dir) = self.display.png_dir.as_mut() {
            fix(dir);
        }
    }
}

/// A failed value check as an error pointing at the key's line.
fn invalid(path: &Path, text: &str, inv: Invalid) -> ConfigError {
    let key = inv.full_key();
    ConfigError::Invalid {
        path: path.to_path_buf(),
        line: line_of_key(text, &key),
        message: cap_echo(&inv.requirement()),
        key,
    }
}

/// The text of a configuration file, which must be a regular, non-empty UTF-8 file.
fn read_text(path: &Path) -> Result<String, ConfigError> {
    let read_error = |source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    };
    // O_NONBLOCK: opening a FIFO that has no writer would otherwise wait for ever. The kind
    // of file is then checked on the open file itself, so it cannot change in between.
    let mut file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(read_error)?;
    let kind = file.metadata().map_err(read_error)?.file_type();
    if !kind.is_file() {
        let kind = if kind.is_dir() {
            "a folder"
        } else if kind.is_fifo() {
            "a FIFO"
        } else if kind.is_socket() {
            "a socket"
        } else if kind.is_char_device() || kind.is_block_device() {
            "a device"
        } else {
            "a special file"
        };
        return Err(ConfigError::NotAFile {
            path: path.to_path_buf(),
            kind,
        });
    }
    let mut text = String::new();
    file.read_to_string(&mut text).map_err(read_error)?;
    if text.trim().is_empty() {
        return Err(ConfigError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(text)
}
