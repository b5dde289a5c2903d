//! `hematovision`: the daemon and its tools.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    cli::logging::init(args.verbose);
    match cli::dispatch(args) {
        Ok(code) => code,
        Err(e) => {
            log::error!("{e:#}");
            eprintln!("hematovision: {e:#}");
            ExitCode::FAILURE
        }
    }
}
