//! Command-line interface: argument definitions and dispatch.

mod check;
pub mod logging;
mod paths;
mod report;

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
    /// Check a configuration file; exits non-zero with the problem.
    CheckConfig {
        /// The file to check.
        file: PathBuf,
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
        Command::CheckConfig { file } => check::run(&file),
        Command::Report {
            config,
            data_dir,
            session,
            list,
            json,
        } => report::run(&config, data_dir, session.as_deref(), list, json),
    }
}
