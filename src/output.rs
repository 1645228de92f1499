//! Writing a rendered report where the user asked, without ever leaving a half-written
//! file behind.

use std::io::{IsTerminal, Write};
use std::sync::OnceLock;

use anyhow::Context;
use rampart_core::Report;
use rampart_core::render::{
    DependencyFile, ScanWindow, TableOptions, render_gitlab_dependency_scanning,
    render_gitlab_sast, render_html, render_json, render_sarif, render_table,
};

use crate::cli::{OutputArgs, ReportFormat};

/// When this process started: GitLab reports carry the scan's start and end times.
static RUN_STARTED: OnceLock<jiff::Timestamp> = OnceLock::new();

pub fn record_run_start() {
    RUN_STARTED.get_or_init(jiff::Timestamp::now);
}

/// Renders `report` in the requested format to `--output` or standard output; with
/// `--output`, a one-line summary still goes to standard error (unless `--quiet`).
pub fn emit(report: &Report, args: &OutputArgs, list_files: bool) -> anyhow::Result<()> {
    emit_with_dependencies(report, args, list_files, None)
}

/// [`emit`] for reports about dependencies: `dependency_files` (every package of every
/// file read) is what the GitLab dependency-scanning format needs beyond the findings.
pub fn emit_with_dependencies(
    report: &Report,
    args: &OutputArgs,
    list_files: bool,
    dependency_files: Option<&[DependencyFile]>,
) -> anyhow::Result<()> {
    let to_terminal = args.output.is_none() && std::io::stdout().is_terminal();
    let color = to_terminal && std::env::var_os("NO_COLOR").is_none();
    let text = match args.format {
        ReportFormat::Table => render_table(report, TableOptions { color, list_files }),
        ReportFormat::Json => render_json(report),
        ReportFormat::Sarif => render_sarif(report),
        ReportFormat::Html => render_html(report),
        ReportFormat::GitlabSast => render_gitlab_sast(report, scan_window()),
        ReportFormat::GitlabDependencyScanning => match dependency_files {
            Some(files) => render_gitlab_dependency_scanning(report, scan_window(), files),
            None => anyhow::bail!(
                "`--format gitlab-dependency-scanning` is for `rampart audit`, which knows the \
                 packages; use `--format gitlab-sast` for `rampart {}`",
                report.command
            ),
        },
    };
    match &args.output {
        Some(path) => {
            rampart_core::write_atomically(path, text.as_bytes())
                .with_context(|| format!("cannot write the report to `{}`", path.display()))?;
            if !args.quiet {
                let summary = render_table(
                    &Report {
                        findings: Vec::new(),
                        notices: Vec::new(),
                        ..report.clone()
                    },
                    TableOptions {
                        color: std::io::stderr().is_terminal(),
                        list_files: false,
                    },
                );
                eprint!("{summary}");
                eprintln!("report written to {}", path.display());
            }
        }
        None => print_stdout(&text)?,
    }
    Ok(())
}

fn scan_window() -> ScanWindow {
    let finished = jiff::Timestamp::now();
    let started = RUN_STARTED.get().copied().unwrap_or(finished);
    ScanWindow { started, finished }
}

/// Writes `text` to standard output. A closed pipe (`rampart … | head`) is not an error
/// worth a message.
pub fn print_stdout(text: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        return Err(e).context("cannot write to standard output");
    }
    Ok(())
}
