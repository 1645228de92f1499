//! Writing a rendered report where the user asked, without ever leaving a half-written
//! file behind.

use std::io::{IsTerminal, Write};

use anyhow::Context;
use rampart_core::Report;
use rampart_core::render::{TableOptions, render_json, render_sarif, render_table};

use crate::cli::{OutputArgs, ReportFormat};

/// Renders `report` in the requested format to `--output` or standard output; with
/// `--output`, a one-line summary still goes to standard error (unless `--quiet`).
pub fn emit(report: &Report, args: &OutputArgs, list_files: bool) -> anyhow::Result<()> {
    let to_terminal = args.output.is_none() && std::io::stdout().is_terminal();
    let color = to_terminal && std::env::var_os("NO_COLOR").is_none();
    let text = match args.format {
        ReportFormat::Table => render_table(report, TableOptions { color, list_files }),
        ReportFormat::Json => render_json(report),
        ReportFormat::Sarif => render_sarif(report),
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
