use std::collections::BTreeMap;

use serde::Serialize;

use crate::{Finding, Severity};

/// The version of the JSON report. Fields are only ever added; a removal or change of
/// meaning bumps the major number.
pub const SCHEMA_VERSION: &str = "1.0";

/// Whether every byte that matters in a file was analysed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ScanStatus {
    Complete,
    /// Part of the file could not be analysed; a `scan/*` finding says why.
    Incomplete,
}

/// The verdict on one input file: every file the walker found gets one.
#[derive(Clone, Debug, Serialize)]
pub struct FileVerdict {
    pub path: String,
    /// The format detected from the content, e.g. `pickle`, `pytorch-zip`, `safetensors`,
    /// `data` (no model format and none expected).
    pub format: String,
    pub size: u64,
    pub status: ScanStatus,
    /// Active (unwaived) findings in this file.
    pub findings: usize,
    pub max_severity: Option<Severity>,
    /// `fail` when an active finding is at or above the report's `fail_on`.
    pub verdict: &'static str,
}

impl FileVerdict {
    pub fn new(path: impl Into<String>, format: impl Into<String>, size: u64) -> Self {
        FileVerdict {
            path: path.into(),
            format: format.into(),
            size,
            status: ScanStatus::Complete,
            findings: 0,
            max_severity: None,
            verdict: "pass",
        }
    }
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Summary {
    /// Files looked at (excluded ones not counted).
    pub files: usize,
    /// Files and directories the user excluded from the scan.
    pub excluded: usize,
    pub incomplete_files: usize,
    pub failed_files: usize,
    /// Active findings by severity.
    pub findings: BTreeMap<Severity, usize>,
    pub waived: usize,
    /// True when the gate fails (exit code 1).
    pub failed: bool,
}

/// The `format` of a file the user excluded from the scan.
pub const EXCLUDED_FORMAT: &str = "excluded";

#[derive(Clone, Debug, Serialize)]
pub struct Tool {
    pub name: &'static str,
    pub version: &'static str,
}

/// Everything one command found, ready to render.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub schema_version: &'static str,
    pub tool: Tool,
    pub command: String,
    pub fail_on: Severity,
    pub summary: Summary,
    pub files: Vec<FileVerdict>,
    pub findings: Vec<Finding>,
    /// Messages about the run itself, e.g. an expired waiver that no longer applies.
    pub notices: Vec<String>,
}

impl Report {
    /// Builds the report and computes each file's verdict from the (policy-applied)
    /// findings. Findings are sorted most severe first, then by location.
    pub fn new(
        command: impl Into<String>,
        tool_version: &'static str,
        fail_on: Severity,
        mut files: Vec<FileVerdict>,
        mut findings: Vec<Finding>,
        notices: Vec<String>,
    ) -> Self {
        findings.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then_with(|| a.location.path.cmp(&b.location.path))
                .then_with(|| a.location.members.cmp(&b.location.members))
                .then_with(|| a.location.line.cmp(&b.location.line))
                .then_with(|| a.location.offset.cmp(&b.location.offset))
                .then_with(|| a.rule.id.cmp(b.rule.id))
        });
        files.sort_by(|a, b| a.path.cmp(&b.path));

        let excluded = files
            .iter()
            .filter(|file| file.format == EXCLUDED_FORMAT)
            .count();
        let mut summary = Summary {
            files: files.len() - excluded,
            excluded,
            ..Summary::default()
        };
        let index: BTreeMap<&str, usize> = files
            .iter()
            .enumerate()
            .map(|(i, f)| (f.path.as_str(), i))
            .collect();
        let mut per_file: Vec<(usize, Option<Severity>, bool)> =
            vec![(0, None, false); files.len()];
        for finding in &findings {
            // A finding counts against the innermost listed file that holds it: a member of
            // an image layer is listed itself, a member of a zip is not (the zip is).
            let location = &finding.location;
            let mut slot = (0..=location.members.len())
                .rev()
                .find_map(|depth| {
                    let mut path = location.path.clone();
                    for member in location.members.iter().take(depth) {
                        path.push_str("!/");
                        path.push_str(member);
                    }
                    index.get(path.as_str()).copied()
                })
                .map(|i| &mut per_file[i]);
            if finding.marks_incomplete()
                && let Some(slot) = slot.as_deref_mut()
            {
                slot.2 = true;
            }
            if !finding.is_active() {
                summary.waived += 1;
                continue;
            }
            *summary.findings.entry(finding.severity).or_default() += 1;
            if finding.severity >= fail_on {
                summary.failed = true;
            }
            if let Some(slot) = slot {
                slot.0 += 1;
                slot.1 = slot.1.max(Some(finding.severity));
            }
        }
        for (file, (count, max, incomplete)) in files.iter_mut().zip(per_file) {
            file.findings = count;
            file.max_severity = max;
            if incomplete {
                file.status = ScanStatus::Incomplete;
                summary.incomplete_files += 1;
            }
            if max.is_some_and(|m| m >= fail_on) {
                file.verdict = "fail";
                summary.failed_files += 1;
            }
        }
        Report {
            schema_version: SCHEMA_VERSION,
            tool: Tool {
                name: "rampart",
                version: tool_version,
            },
            command: command.into(),
            fail_on,
            summary,
            files,
            findings,
            notices,
        }
    }

    /// The process exit code for CI gates: 1 when the gate fails, 0 otherwise.
    pub fn exit_code(&self) -> i32 {
        i32::from(self.summary.failed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Location;
    use crate::rules::{LIMIT_EXCEEDED, MALFORMED};

    #[test]
    fn findings_count_against_the_innermost_listed_file() {
        let image = Location::file("image.tar");
        let layer = image.member("layer 1 (sha256:0123456789ab)");
        let model = layer.member("app/model.zip");
        let files = vec![
            FileVerdict::new("image.tar", "oci-image", 0),
            FileVerdict::new(model.container_path(), "zip", 10),
            FileVerdict::new("other.bin", "data", 1),
        ];
        let findings = vec![
            Finding::new(&MALFORMED, model.member("data.pkl"), "inside the zip")
                .with_severity(Severity::High),
            Finding::new(&LIMIT_EXCEEDED, model.clone(), "the zip itself"),
            Finding::new(&MALFORMED, layer, "the layer").with_severity(Severity::Low),
        ];
        let report = Report::new("scan", "0", Severity::High, files, findings, Vec::new());
        let by_path = |path: &str| {
            report
                .files
                .iter()
                .find(|f| f.path == path)
                .map(|f| (f.findings, f.verdict, f.status == ScanStatus::Incomplete))
        };
        assert_eq!(by_path(&model.container_path()), Some((2, "fail", true)));
        assert_eq!(by_path("image.tar"), Some((1, "pass", true)));
        assert_eq!(by_path("other.bin"), Some((0, "pass", false)));
    }
}
