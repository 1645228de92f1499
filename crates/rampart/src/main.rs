//! The `rampart` command line: parses arguments, loads the configuration, runs an engine
//! and renders its report. It holds no analysis logic of its own.

mod attest_cmd;
mod audit_cmd;
mod cli;
mod completions_cmd;
mod coverage_cmd;
mod db_cmd;
mod hash_cmd;
mod init_cmd;
mod integrity_args;
mod log_cmd;
mod output;
mod rules_cmd;
mod scan_cmd;
mod sign_cmd;
mod verify_cmd;

use std::process::ExitCode;

use clap::Parser;

/// Exit code for usage errors, unreadable inputs and bad configuration (1 is reserved for
/// "findings at or above the threshold").
const EXIT_USAGE: u8 = 2;

fn main() -> ExitCode {
    output::record_run_start();
    let cli = cli::Cli::parse();
    let result = match cli.command {
        cli::Command::Scan(args) => scan_cmd::run(args),
        cli::Command::Rules(args) => rules_cmd::run(args),
        cli::Command::Hash(args) => hash_cmd::run(args),
        cli::Command::Sign(args) => sign_cmd::run(args),
        cli::Command::Verify(args) => verify_cmd::run(args),
        cli::Command::Log(args) => log_cmd::run(args),
        cli::Command::Attest(args) => attest_cmd::run(args),
        cli::Command::Db(args) => db_cmd::run(args),
        cli::Command::Sbom(args) => audit_cmd::sbom(args),
        cli::Command::Audit(args) => audit_cmd::audit(args),
        cli::Command::Coverage(args) => coverage_cmd::run(args),
        cli::Command::Completions(args) => completions_cmd::completions(args),
        cli::Command::Manpage(args) => completions_cmd::manpage(args),
        cli::Command::Init(args) => init_cmd::run(args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}
