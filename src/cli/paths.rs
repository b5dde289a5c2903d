//! Where things are by default.

use std::path::{Path, PathBuf};

use anyhow::Context;
use hematovision::config::Config;

/// The production configuration file.
pub const DEFAULT_CONFIG: &str = "/etc/hematovision/hematovision.toml";

/// The data directory: the override, else the configuration's.
pub fn data_dir(config: &Path, override_dir: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(dir) = override_dir {
        return Ok(dir);
    }
    let config = Config::load(config).with_context(
        || "the data directory comes from the configuration; pass --data-dir DIR or --config FILE",
    )?;
    Ok(config.storage.data_dir)
}
