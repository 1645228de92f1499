//! Every file under tests/fixtures/benign must scan clean and every file under
//! tests/fixtures/malicious must raise a high or critical pickle finding. The files come
//! from tests/fixtures/generate.py; adding one there adds a case here.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use std::path::{Path, PathBuf};

use rampart_core::{Finding, Limits, Location, Severity};
use rampart_pickle::{PickleConfig, PickleScanner, StreamInfo, StreamKind};

fn fixtures(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(kind);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 10, "too few fixtures in {}", dir.display());
    files
}

fn scan(path: &Path) -> (StreamInfo, Vec<Finding>) {
    let data = std::fs::read(path).unwrap();
    let scanner = PickleScanner::new(&PickleConfig::default()).unwrap();
    let mut findings = Vec::new();
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let info = scanner.scan(
        &data,
        &Location::file(name),
        &Limits::default(),
        &mut findings,
    );
    (info, findings)
}

#[test]
fn benign_fixtures_scan_clean() {
    let mut failures = Vec::new();
    for path in fixtures("benign") {
        let (info, findings) = scan(&path);
        let len = std::fs::metadata(&path).unwrap().len() as usize;
        let torch_legacy = info.kind == StreamKind::TorchLegacy;
        if !findings.is_empty() || (info.end != len && !torch_legacy) {
            failures.push(format!(
                "{} (end {} of {len}, {:?}):\n{}",
                path.display(),
                info.end,
                info.kind,
                common::dump(&findings)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "benign fixtures with findings:\n{}",
        failures.join("\n")
    );
}

#[test]
fn malicious_fixtures_are_flagged_high() {
    let mut failures = Vec::new();
    for path in fixtures("malicious") {
        let (_, findings) = scan(&path);
        let detected = findings
            .iter()
            .any(|f| f.severity >= Severity::High && f.rule.id.starts_with("pickle/"));
        if !detected {
            failures.push(format!("{}:\n{}", path.display(), common::dump(&findings)));
        }
    }
    assert!(
        failures.is_empty(),
        "malicious fixtures not detected:\n{}",
        failures.join("\n")
    );
}

#[test]
fn stream_kinds_are_recognised() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/benign");
    let (legacy, _) = scan(&dir.join("torch_legacy.pt"));
    assert_eq!(
        (legacy.kind, legacy.pickles, legacy.protocol),
        (StreamKind::TorchLegacy, 5, Some(2))
    );
    let (joblib, _) = scan(&dir.join("joblib_arrays.joblib"));
    assert_eq!(joblib.kind, StreamKind::Joblib);
    let (two, _) = scan(&dir.join("two_pickles.pkl"));
    assert_eq!(
        (two.kind, two.pickles, two.protocol),
        (StreamKind::Plain, 2, Some(4))
    );
}

/// Prints what fixtures yield: `FIXTURE=name cargo test -p rampart-pickle show_fixture --
/// --ignored --nocapture`; `FIXTURE_DIR=/some/dir` scans another directory instead.
#[test]
#[ignore]
fn show_fixture() {
    let name = std::env::var("FIXTURE").unwrap_or_default();
    let paths = match std::env::var("FIXTURE_DIR") {
        Ok(dir) => {
            let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            paths.sort();
            paths
        }
        Err(_) => [fixtures("benign"), fixtures("malicious")].concat(),
    };
    for path in paths.iter().filter(|p| p.to_string_lossy().contains(&name)) {
        let (info, findings) = scan(path);
        println!("{} {info:?}\n{}", path.display(), common::dump(&findings));
    }
}
