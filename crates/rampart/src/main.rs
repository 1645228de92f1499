//! The `rampart` command line: parses arguments, loads the configuration, runs an engine
//! and renders its report. It holds no analysis logic of its own.

mod cli;
mod output;
mod rules_cmd;
mod scan_cmd;

use std::process::ExitCode;

use clap::Parser;

/// Exit code for usage errors, unreadable inputs and bad configuration (1 is reserved for
/// "findings at or above the threshold").
const EXIT_USAGE: u8 = 2;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let result = match cli.command {
        cli::Command::Scan(args) => scan_cmd::run(args),
        cli::Command::Rules(args) => rules_cmd::run(args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}
