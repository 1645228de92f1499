//! The `rampart` command line: parses arguments, loads the configuration, runs an engine
//! and renders its report. It holds no analysis logic of its own.

mod attest_cmd;
mod audit_cmd;
mod cli;
mod completions_cmd;
mod coverage_cmd;
mod data_cmd;
mod db_cmd;
mod drift_cmd;
mod hash_cmd;
mod image_cmd;
mod init_cmd;
mod integrity_args;
mod log_cmd;
mod output;
mod push_cmd;
mod redteam_cmd;
mod registry_cmd;
mod rules_cmd;
mod scan_cmd;
mod serve_cmd;
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
        cli::Command::Drift(args) => drift_cmd::run(args),
        cli::Command::Data(args) => data_cmd::run(args),
        cli::Command::Serve(args) => serve_cmd::run(args),
        cli::Command::Registry(args) => registry_cmd::run(args),
        cli::Command::Push(args) => push_cmd::push(args),
        cli::Command::Pull(args) => push_cmd::pull(args),
        cli::Command::Approve(args) => push_cmd::approve(args),
        cli::Command::Promote(args) => push_cmd::promote(args),
        cli::Command::Rollback(args) => push_cmd::rollback(args),
        cli::Command::Yank(args) => push_cmd::yank(args),
        cli::Command::Namespace(args) => push_cmd::namespace(args),
        cli::Command::Redteam(args) => redteam_cmd::run(args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}
