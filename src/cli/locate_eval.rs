//! `hematovision locate-eval`: the white-cell locator scored on annotated fields, on
//! seeded synthetic shifts of them, or on single-cell crops (centred cell, mask IoU).

use std::path::Path;
use std::process::ExitCode;

use hematovision::config::Config;
use hematovision::eval::crop::evaluate_crops;
use hematovision::eval::locate::evaluate_dir_shifted;
use hematovision::eval::shifts::{self, Shift};
use hematovision::vision::LocatorParams;

/// What to score, besides the folder.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Take the locator settings from this configuration file.
    pub config: Option<std::path::PathBuf>,
    /// Synthetic shifts of the fields: names, or `all`.
    pub shift: Option<String>,
    /// Seed of the `mixed` shift.
    pub seed: u64,
    /// Expert masks of crops, `MASKS/<file name>`.
    pub masks: Option<std::path::PathBuf>,
    /// One JSON object per report.
    pub json: bool,
    /// Each field its own session (no session ruler or stain strength).
    pub per_frame: bool,
}

/// Scores the locator (settings from the configuration when one is given) and prints the
/// figures, or one JSON object per line. `dir` in the BCCD layout (`JPEGImages/`) is
/// scored as fields, anything else as `CLASS/*` crops.
pub fn run(dir: &Path, opts: &Options) -> anyhow::Result<ExitCode> {
    let params = match &opts.config {
        Some(path) => Config::load(path)?.locator,
        None => LocatorParams::default(),
    };
    if !dir.join("JPEGImages").is_dir() {
        anyhow::ensure!(
            opts.shift.is_none(),
            "--shift needs whole fields (a folder with JPEGImages/ and Annotations/)"
        );
        let report = evaluate_crops(dir, opts.masks.as_deref(), &params)?;
        if opts.json {
            println!("{}", serde_json::to_string(&report)?);
        } else {
            println!("{report}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let Some(names) = &opts.shift else {
        let report = evaluate_dir_shifted(dir, &params, None, opts.per_frame)?;
        if opts.json {
            println!("{}", serde_json::to_string(&report)?);
        } else {
            println!("{report}");
        }
        return Ok(ExitCode::SUCCESS);
    };
    let names: Vec<&str> = if names == "all" {
        shifts::ALL.to_vec()
    } else {
        names.split(',').map(str::trim).collect()
    };
    let parsed = names
        .iter()
        .map(|n| Shift::parse(n).map(|s| (*n, s)))
        .collect::<Result<Vec<_>, _>>()?;
    for (name, shift) in parsed {
        let report = evaluate_dir_shifted(dir, &params, Some((shift, opts.seed)), opts.per_frame)?;
        if opts.json {
            let mut value = serde_json::to_value(&report)?;
            if let Some(map) = value.as_object_mut() {
                map.insert("shift".into(), name.into());
                map.insert("seed".into(), opts.seed.into());
            }
            println!("{value}");
        } else {
            println!(
                "{name:<10} recall {:>5.1}% ({}/{}), {:.3} false positives per field, {:.2} ms median",
                report.recall * 100.0,
                report.wbc_found,
                report.wbc_total,
                report.fp_per_field,
                report.ms_median
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
