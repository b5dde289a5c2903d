//! `hematovision live-eval`: live mode scored on simulated slide scans.

use std::path::Path;
use std::process::ExitCode;

use hematovision::config::Config;
use hematovision::eval::{LiveEvalOptions, live_eval, print_reports};
use hematovision::model::Classifier;

use super::ModelArgs;

/// Runs one or every scenario and prints the figures (or one JSON object per scenario),
/// with the locator and live-mode settings of `config` when one is given.
pub fn run(
    scenario: Option<&str>,
    model: &ModelArgs,
    no_classify: bool,
    json: bool,
    config: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let mut options = LiveEvalOptions::default();
    if let Some(path) = config {
        let config = Config::load(path)?;
        options.locator = config.locator;
        options.live = config.live;
    }
    let mut classifier = if no_classify {
        None
    } else {
        let classifier = model.open()?;
        options.cell_fraction = classifier.bundle().cell_fraction();
        Some(classifier)
    };
    let reports = live_eval(
        scenario,
        &options,
        classifier.as_mut().map(|c| c as &mut dyn Classifier),
    )?;
    if json {
        for report in &reports {
            println!("{}", serde_json::to_string(report)?);
        }
    } else {
        print_reports(&reports, &mut std::io::stdout())?;
    }
    Ok(ExitCode::SUCCESS)
}
