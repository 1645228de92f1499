use std::fmt::Write;

use anstyle::{AnsiColor, Style};

use crate::{Report, Severity};

#[derive(Clone, Copy, Debug, Default)]
pub struct TableOptions {
    /// ANSI colours; the CLI turns them on only for a terminal.
    pub color: bool,
    /// Also list every file with its format and verdict.
    pub list_files: bool,
}

fn severity_style(severity: Severity) -> Style {
    let color = match severity {
        Severity::Critical => AnsiColor::BrightRed,
        Severity::High => AnsiColor::Red,
        Severity::Medium => AnsiColor::Yellow,
        Severity::Low => AnsiColor::Cyan,
        Severity::Info => AnsiColor::BrightBlack,
    };
    Style::new().fg_color(Some(color.into())).bold()
}

/// A report for people: findings most severe first, each with where, what, evidence and
/// fix; then a one-line summary with the gate's outcome.
pub fn render_table(report: &Report, options: TableOptions) -> String {
    let paint = |style: Style, text: &str| {
        if options.color {
            format!("{style}{text}{style:#}")
        } else {
            text.to_owned()
        }
    };
    let dim = Style::new().dimmed();
    let bold = Style::new().bold();
    let mut out = String::new();

    if options.list_files {
        let width = report
            .files
            .iter()
            .map(|f| f.format.len())
            .max()
            .unwrap_or(0);
        for file in &report.files {
            let status = match file.status {
                crate::ScanStatus::Complete => "",
                crate::ScanStatus::Incomplete => " (incomplete)",
            };
            let _ = writeln!(
                out,
                "{:<4}  {:<width$}  {}{}",
                file.verdict,
                file.format,
                file.path,
                paint(dim, status)
            );
        }
        if !report.files.is_empty() {
            out.push('\n');
        }
    }

    let (active, waived): (Vec<_>, Vec<_>) = report.findings.iter().partition(|f| f.is_active());
    for finding in &active {
        let sev = finding.severity.as_str().to_uppercase();
        let _ = writeln!(
            out,
            "{}  {}  {}",
            paint(severity_style(finding.severity), &format!("{sev:<8}")),
            paint(bold, finding.rule.id),
            finding.location
        );
        let _ = writeln!(out, "          {}", finding.message);
        if let Some(evidence) = &finding.evidence {
            let _ = writeln!(out, "          {} {}", paint(dim, "evidence:"), evidence);
        }
        let _ = writeln!(
            out,
            "          {} {}",
            paint(dim, "fix:"),
            finding.remediation()
        );
        out.push('\n');
    }
    if !waived.is_empty() {
        let _ = writeln!(
            out,
            "{}",
            paint(dim, "Waived findings (reported, not failing):")
        );
        for finding in &waived {
            let reason = finding
                .waiver
                .as_ref()
                .map(|w| w.reason.as_str())
                .unwrap_or("");
            let _ = writeln!(
                out,
                "  {:<8}  {}  {}  ({reason})",
                finding.severity.as_str(),
                finding.rule.id,
                finding.location
            );
        }
        out.push('\n');
    }
    for notice in &report.notices {
        let _ = writeln!(
            out,
            "{} {notice}",
            paint(severity_style(Severity::Medium), "note:")
        );
    }

    let s = &report.summary;
    let counts: Vec<String> = Severity::ALL
        .iter()
        .rev()
        .filter_map(|sev| s.findings.get(sev).map(|n| format!("{n} {sev}")))
        .collect();
    let found = if counts.is_empty() {
        "no findings".to_owned()
    } else {
        counts.join(", ")
    };
    let incomplete = if s.incomplete_files > 0 {
        format!(" ({} not fully scanned)", s.incomplete_files)
    } else {
        String::new()
    };
    let waived_note = if s.waived > 0 {
        format!(", {} waived", s.waived)
    } else {
        String::new()
    };
    let outcome = if s.failed {
        paint(severity_style(Severity::Critical), "FAIL")
    } else {
        paint(
            Style::new().fg_color(Some(AnsiColor::Green.into())).bold(),
            "PASS",
        )
    };
    let files = if s.files == 1 { "file" } else { "files" };
    let excluded = if s.excluded > 0 {
        format!(" ({} excluded)", s.excluded)
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "{outcome}: {} {files} scanned{excluded}{incomplete}: {found}{waived_note} (fail-on: {})",
        s.files, report.fail_on
    );
    out
}
