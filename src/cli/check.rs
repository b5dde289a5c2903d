//! `hematovision check-config FILE`.

use std::path::Path;
use std::process::ExitCode;

use hematovision::config::Config;

/// Checks a file, printing OK or the problem.
pub fn run(file: &Path) -> anyhow::Result<ExitCode> {
    match Config::load(file) {
        Ok(_) => {
            println!("{}: OK", file.display());
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("{e}");
            Ok(ExitCode::FAILURE)
        }
    }
}
