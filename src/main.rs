//! `hematovision`: the daemon and its tools.

// Raw calls belong in the library's named files, never in the binary.
#![deny(unsafe_code)]

mod cli;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

fn main() -> ExitCode {
    let matches = cli::Cli::command()
        .version(cli::version::short())
        .long_version(cli::version::long())
        .get_matches();
    let args = match cli::Cli::from_arg_matches(&matches) {
        Ok(args) => args,
        Err(e) => e.exit(),
    };
    cli::logging::init(args.verbose);
    match cli::dispatch(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("hematovision: {}", cli::describe(&e));
            ExitCode::FAILURE
        }
    }
}
