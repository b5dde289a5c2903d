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
    if !config.exists() {
        // The usual case is a first `report` after the demo, where the installed file is
        // absent: say what to type rather than the operating system's "os error 2".
        anyhow::bail!(
            "no configuration file at {}{}; pass --config FILE (after the demo: \
             --config config/demo.toml) or --data-dir DIR",
            config.display(),
            if config == Path::new(DEFAULT_CONFIG) {
                " (where the installed daemon keeps it)"
            } else {
                ""
            }
        );
    }
    let config = Config::load(config).with_context(
        || "the data directory comes from the configuration; pass --data-dir DIR or --config FILE",
    )?;
    Ok(config.storage.data_dir)
}

/// Where the Debian package installs the model.
const INSTALLED_MODEL: &str = "/usr/share/hematovision/models/hematovision-wbc4.tflite";

/// The shipped model: the installed one, else the one in this source checkout.
pub fn default_model() -> PathBuf {
    let installed = PathBuf::from(INSTALLED_MODEL);
    if installed.exists() {
        return installed;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("models/hematovision-wbc4.tflite")
}

/// The camera fields bundled with the source (replayed by the demo and the benchmark).
pub fn bundled_fields() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bccd/JPEGImages")
}
