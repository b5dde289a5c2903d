//! `hematovision locate-eval`: the white-cell locator scored on annotated fields.

use std::path::Path;
use std::process::ExitCode;

use hematovision::config::Config;
use hematovision::eval::evaluate_dir;
use hematovision::vision::LocatorParams;

/// Scores the locator (settings from the configuration when one is given) and prints the
/// figures, or one JSON object.
pub fn run(dir: &Path, config: Option<&Path>, json: bool) -> anyhow::Result<ExitCode> {
    let params = match config {
        Some(path) => Config::load(path)?.locator,
        None => LocatorParams::default(),
    };
    let report = evaluate_dir(dir, &params)?;
    if json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!("{report}");
    }
    Ok(ExitCode::SUCCESS)
}
