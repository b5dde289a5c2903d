//! `hematovision check-config FILE [--skip-paths]`.

use std::path::Path;
use std::process::ExitCode;

use hematovision::config::Config;

/// Checks a file (and, with `check_paths`, the files it names), printing OK or the problem.
pub fn run(file: &Path, check_paths: bool) -> anyhow::Result<ExitCode> {
    match Config::check_file(file, check_paths) {
        Ok(_) => {
            let scope = if check_paths {
                ""
            } else {
                " (paths not checked)"
            };
            println!("{}: OK{scope}", file.display());
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("{e}");
            Ok(ExitCode::FAILURE)
        }
    }
}
