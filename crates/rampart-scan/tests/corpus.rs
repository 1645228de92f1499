//! The engine against its fixture corpus: every fixture's verdict, format and rules as
//! recorded in `fixtures/expected.json` (written by `fixtures/generate.py`).

use std::collections::BTreeSet;
use std::path::Path;

use rampart_core::Severity;
use rampart_scan::{Config, Scanner, WalkOptions, walk};
use serde_json::Value;

#[test]
fn every_fixture_gets_its_expected_verdict() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let expected: Value =
        serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap()).unwrap();
    let scanner = Scanner::new(&Config::default(), Path::new("")).unwrap();
    let mut failures = Vec::new();
    for (name, want) in expected.as_object().unwrap() {
        let inputs = walk(&[dir.join(name)], &WalkOptions::default()).unwrap();
        let output = scanner.scan_input(&inputs[0]);
        let rules: BTreeSet<&str> = output.findings.iter().map(|f| f.rule.id).collect();
        let failed = output.findings.iter().any(|f| f.severity >= Severity::High);
        let want_rules: BTreeSet<&str> = want["rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap())
            .collect();
        let format_ok = want["format"]
            .as_str()
            .is_none_or(|f| output.verdict.format.starts_with(f));
        if failed != want["fail"].as_bool().unwrap() || rules != want_rules || !format_ok {
            failures.push(format!(
                "{name}: format {} failed={failed} rules={rules:?}; expected {want}\n  {}",
                output.verdict.format,
                output
                    .findings
                    .iter()
                    .map(|f| format!("{} {} {}", f.rule.id, f.location, f.message))
                    .collect::<Vec<_>>()
                    .join("\n  ")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn fuzz_corpus_replays_without_panic() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus");
    let scanner = Scanner::new(&Config::default(), Path::new("")).unwrap();
    let Ok(targets) = std::fs::read_dir(&corpus) else {
        return;
    };
    for target in targets.flatten() {
        for input in std::fs::read_dir(target.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            let data = std::fs::read(input.path()).unwrap();
            let output = scanner.scan_bytes(&input.file_name().to_string_lossy(), &data);
            assert!(
                output
                    .findings
                    .iter()
                    .all(|f| f.rule.id != "scan/internal-error"),
                "{}: analyzer panicked",
                input.path().display()
            );
        }
    }
}
