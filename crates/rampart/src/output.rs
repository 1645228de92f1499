//! Writing a rendered report where the user asked, without ever leaving a half-written
//! file behind.

use std::io::{IsTerminal, Write};
use std::path::Path;

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
            write_atomically(path, text.as_bytes())?;
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
        None => {
            let mut stdout = std::io::stdout().lock();
            // A closed pipe (`rampart scan … | head`) is not an error worth a message.
            if let Err(e) = stdout
                .write_all(text.as_bytes())
                .and_then(|()| stdout.flush())
                && e.kind() != std::io::ErrorKind::BrokenPipe
            {
                return Err(e).context("cannot write the report to standard output");
            }
        }
    }
    Ok(())
}

/// Writes to a temporary file beside `path` and renames it into place.
fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let file_name = path
        .file_name()
        .with_context(|| format!("--output `{}` is not a file path", path.display()))?;
    let tmp = dir.join(format!(
        ".{}.rampart-tmp-{}",
        file_name.to_string_lossy(),
        std::process::id()
    ));
    let result = std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.with_context(|| format!("cannot write the report to `{}`", path.display()))
}
