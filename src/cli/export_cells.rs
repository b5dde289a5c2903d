//! `hematovision export-cells`: the crops of reviewed cells as `OUT/CLASS/*.jpg`, the input
//! of recalibration.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use hematovision::station::export::export_reviewed;

/// Exports the reviewed cells of `slides` (every slide when empty) and prints what was
/// written and skipped.
pub fn run(data_dir: &Path, out: &Path, slides: &[String]) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        data_dir.join("journal").is_dir(),
        "{} holds no journal/ folder: pass the data directory the daemon counted in",
        data_dir.display()
    );
    let summary = export_reviewed(data_dir, slides, out)
        .map_err(|e| anyhow::anyhow!("export failed: {}", e.message))?;
    println!("{summary}");
    if summary.total() == 0 {
        eprintln!(
            "nothing exported: only cells a reviewer confirmed or corrected in the station are exported"
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The default output folder, in the working directory.
pub fn default_out() -> PathBuf {
    PathBuf::from("reviewed-cells")
}
