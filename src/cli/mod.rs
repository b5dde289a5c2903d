//! Command-line interface: argument definitions and dispatch.

mod check;
mod classify;
mod devices;
mod doctor;
pub mod logging;
mod paths;
mod report;
mod run;
pub mod version;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// A white-blood-cell differential counter for a microscope camera.
#[derive(Debug, Parser)]
#[command(name = "hematovision", version, about, long_about = None)]
pub struct Cli {
    /// More log output (-v debug, -vv trace); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon: count cells on button presses until told to quit.
    Run {
        /// Configuration file.
        #[arg(long, default_value = paths::DEFAULT_CONFIG)]
        config: PathBuf,
        /// Data directory, overriding the configuration.
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Simulated presses: delays between them, e.g. `500ms,1s,undo:1s,new:2s`
        /// (overrides buttons.sim.presses).
        #[arg(long)]
        presses: Option<String>,
        /// Exit cleanly once the last scripted press has been handled.
        #[arg(long)]
        exit_when_done: bool,
    },
    /// Classify image files once: class, confidence and every probability.
    Classify {
        /// Images (JPEG, PNG, BMP).
        #[arg(required = true)]
        images: Vec<PathBuf>,
        /// A .tflite classifier with labels.txt beside it.
        #[arg(long, default_value_os_t = paths::default_model())]
        model: PathBuf,
        /// libLiteRt.so to use instead of searching for it.
        #[arg(long)]
        runtime_library: Option<PathBuf>,
        /// Inference threads (0 = every core).
        #[arg(long, default_value_t = 0)]
        threads: u32,
        /// The images are whole camera fields: find the white cell first.
        #[arg(long)]
        locate: bool,
        /// One JSON object per line (file, label, confidence, probabilities).
        #[arg(long)]
        json: bool,
    },
    /// Check a configuration file; exits non-zero with the problem.
    CheckConfig {
        /// The file to check.
        file: PathBuf,
    },
    /// Check the installation: configuration, model and runtime, camera, buttons, display,
    /// storage, clock and groups; one line each (OK, WARN or FAIL with the fix).
    /// Exits non-zero on any FAIL.
    Doctor {
        /// Configuration file.
        #[arg(long, default_value = paths::DEFAULT_CONFIG)]
        config: PathBuf,
    },
    /// Print the differential count of the current or a past slide.
    Report {
        /// Configuration file (for the data directory).
        #[arg(long, default_value = paths::DEFAULT_CONFIG)]
        config: PathBuf,
        /// Data directory, overriding the configuration.
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// The slide to report (default: the newest).
        #[arg(long)]
        session: Option<String>,
        /// List every slide instead.
        #[arg(long)]
        list: bool,
        /// One JSON object (or one per line with --list).
        #[arg(long)]
        json: bool,
    },
}

/// Runs the chosen subcommand.
pub fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Run {
            config,
            data_dir,
            presses,
            exit_when_done,
        } => run::run(
            &config,
            run::RunOptions {
                data_dir,
                presses,
                exit_when_done,
            },
        ),
        Command::Classify {
            images,
            model,
            runtime_library,
            threads,
            locate,
            json,
        } => classify::run(
            &images,
            &classify::ClassifyOptions {
                model,
                library: runtime_library,
                threads,
                locate,
                json,
            },
        ),
        Command::CheckConfig { file } => check::run(&file),
        Command::Doctor { config } => doctor::run(&config),
        Command::Report {
            config,
            data_dir,
            session,
            list,
            json,
        } => report::run(&config, data_dir, session.as_deref(), list, json),
    }
}
