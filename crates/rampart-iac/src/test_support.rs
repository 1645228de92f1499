//! Helpers shared by the unit tests: run the scanners on in-memory inputs and render
//! findings compactly.

use std::path::{Path, PathBuf};

use rampart_core::{Finding, Location};

/// Scans in-memory Terraform files as one root module in `dir` (module sources are
/// resolved against it).
pub fn scan_tf_in(dir: &Path, files: &[(&str, &str)]) -> Vec<Finding> {
    let files: Vec<(Location, Vec<u8>)> = files
        .iter()
        .map(|(name, text)| {
            (
                Location::file(format!("{}/{name}", dir.display())),
                text.as_bytes().to_vec(),
            )
        })
        .collect();
    let mut out = Vec::new();
    crate::scan_terraform_dir(dir, &files, &mut out);
    out
}

pub fn scan_tf(text: &str) -> Vec<Finding> {
    scan_tf_in(Path::new("mem"), &[("main.tf", text)])
}

pub fn scan_json(text: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    crate::scan_iam_policy(text.as_bytes(), &Location::file("policy.json"), &mut out);
    out
}

/// `rule@line` for each finding, sorted.
pub fn ids(findings: &[Finding]) -> Vec<String> {
    let mut ids: Vec<String> = findings
        .iter()
        .map(|f| format!("{}@{}", f.rule.id, f.location.line.unwrap_or(0)))
        .collect();
    ids.sort();
    ids
}

/// Only the rule ids, sorted and deduplicated.
pub fn rules(findings: &[Finding]) -> Vec<&'static str> {
    let mut rules: Vec<&'static str> = findings.iter().map(|f| f.rule.id).collect();
    rules.sort_unstable();
    rules.dedup();
    rules
}

pub fn dump(findings: &[Finding]) -> String {
    findings
        .iter()
        .map(|f| {
            format!(
                "{} [{}] {}: {}\n",
                f.rule.id, f.severity, f.location, f.message
            )
        })
        .collect()
}

pub fn seed(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/seed-examples")
        .join(name)
}
