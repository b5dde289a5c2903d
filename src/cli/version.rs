//! What `hematovision --version` prints: version, git commit, model, calibration and
//! runtime.

use std::path::Path;

use hematovision::config::Config;
use hematovision::model::metadata::METADATA_FILE;
use hematovision::model::{ActiveCalibration, ModelBundle};

use super::paths;

/// Git commit the binary was built from ("unknown" outside a git checkout).
pub const GIT_COMMIT: &str = env!("HEMATOVISION_GIT_COMMIT");
/// The LiteRT release this build is pinned to (cross/fetch-litert.sh).
pub const LITERT_VERSION: &str = env!("HEMATOVISION_LITERT_VERSION");

/// `-V`: the version and the commit.
pub fn short() -> String {
    format!("{} ({GIT_COMMIT})", env!("CARGO_PKG_VERSION"))
}

/// `--version`: version, commit, the default model's name and version, the calibration
/// the installed configuration names, and the runtime.
pub fn long() -> String {
    let model = paths::default_model();
    format!(
        "{}\ncommit:  {GIT_COMMIT}\nmodel:   {}\ncalibration: {}\nruntime: LiteRT {LITERT_VERSION} \
         (libLiteRt.so from the ai-edge-litert {LITERT_VERSION} wheel)\ncamera:  {}",
        env!("CARGO_PKG_VERSION"),
        describe_model(&model),
        describe_calibration(Path::new(paths::DEFAULT_CONFIG)),
        if cfg!(feature = "v4l2") {
            "V4L2 and replay"
        } else {
            "replay only (built without the v4l2 feature)"
        }
    )
}

/// "hematovision-wbc4 1.0 (/usr/share/.../hematovision-wbc4.tflite)", or why it is unknown.
pub fn describe_model(model: &Path) -> String {
    let meta_path = model.with_file_name(METADATA_FILE);
    let text = match std::fs::read_to_string(&meta_path) {
        Ok(text) => text,
        Err(e) => return format!("unknown ({}: {e})", meta_path.display()),
    };
    let meta: serde_json::Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) => return format!("unknown ({}: {e})", meta_path.display()),
    };
    let field = |key: &str| match meta.get(key) {
        Some(serde_json::Value::String(s)) => Some(s.clone()),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let name = field("name").unwrap_or_else(|| {
        model
            .file_stem()
            .map_or_else(String::new, |s| s.to_string_lossy().into_owned())
    });
    let version = field("version").unwrap_or_else(|| "(no version)".into());
    format!("{name} {version} ({})", model.display())
}

/// The calibration the configuration at `config` makes the daemon answer with: `none`, its
/// identity and figures, or why the daemon would refuse it (and count with the shipped
/// head).
pub fn describe_calibration(config: &Path) -> String {
    let config = match Config::load(config) {
        Ok(config) => config,
        Err(_) if !config.exists() => {
            return format!("none ({} not found)", config.display());
        }
        Err(e) => return format!("unknown ({e})"),
    };
    let Some(path) = &config.model.calibration else {
        return "none (the model's shipped head)".into();
    };
    let loaded = ModelBundle::load(&config.model.path)
        .map_err(|e| e.to_string())
        .and_then(|bundle| ActiveCalibration::load(path, &bundle).map_err(|e| e.to_string()));
    match loaded {
        Ok(active) => active.to_string(),
        Err(e) => format!("REFUSED, the daemon counts with the shipped head: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_description_from_metadata() {
        let tmp = tempfile::tempdir().unwrap();
        let model = tmp.path().join("m.tflite");
        assert!(describe_model(&model).starts_with("unknown ("));
        std::fs::write(
            tmp.path().join(METADATA_FILE),
            r#"{"name": "wbc4", "version": 3}"#,
        )
        .unwrap();
        assert!(describe_model(&model).starts_with("wbc4 3 ("));
        std::fs::write(tmp.path().join(METADATA_FILE), "{}").unwrap();
        assert!(describe_model(&model).starts_with("m (no version) ("));
        std::fs::write(tmp.path().join(METADATA_FILE), "{").unwrap();
        assert!(describe_model(&model).starts_with("unknown ("));
    }

    #[test]
    fn long_version_has_every_part() {
        let v = long();
        assert!(v.starts_with(env!("CARGO_PKG_VERSION")), "{v}");
        for part in ["commit: ", "model: ", "calibration: ", "runtime: LiteRT "] {
            assert!(v.contains(part), "{v}");
        }
        assert!(!GIT_COMMIT.is_empty());
    }
}
