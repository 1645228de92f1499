//! End-to-end tests through the `rampart` binary: exit codes, report formats, policy.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

/// `rampart` run from the repository root with no config discovery surprises.
fn rampart() -> Command {
    let mut cmd = Command::cargo_bin("rampart").expect("binary builds");
    cmd.current_dir(repo_root()).env("NO_COLOR", "1");
    cmd
}

fn json_report(args: &[&str]) -> (i32, Value) {
    let output = rampart()
        .args(["scan", "--no-config", "--format", "json"])
        .args(args)
        .output()
        .expect("runs");
    let report: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "invalid JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    });
    (output.status.code().expect("exit code"), report)
}

mod exit_codes {
    use super::*;

    #[test]
    fn backdoored_example_fails_and_clean_examples_pass() {
        rampart()
            .args([
                "scan",
                "--no-config",
                "examples/models/backdoored_checkpoint.pt",
            ])
            .assert()
            .code(1)
            .stdout(predicate::str::contains("pickle/disallowed-call"))
            .stdout(predicate::str::contains(
                "examples/models/backdoored_checkpoint.pt!/model/extra_state.bin",
            ));
        rampart()
            .args([
                "scan",
                "--no-config",
                "examples/models/clean_checkpoint.pt",
                "examples/models/clean.safetensors",
                "examples/models/tokenizer_config.json",
            ])
            .assert()
            .code(0)
            .stdout(predicate::str::contains(
                "PASS: 3 files scanned: no findings",
            ));
    }

    #[test]
    fn missing_path_is_a_usage_error() {
        rampart()
            .args(["scan", "no/such/model.pt"])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(
                "path `no/such/model.pt` does not exist",
            ));
    }

    #[test]
    fn bad_arguments_are_usage_errors() {
        rampart()
            .args(["scan", "--fail-on", "severe", "examples"])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("unknown severity `severe`"));
        rampart().args(["scan"]).assert().code(2);
        rampart()
            .args(["scan", "--config", "nope.toml", "examples"])
            .assert()
            .code(2);
    }

    #[test]
    fn fail_on_sets_the_threshold() {
        // The backdoor is critical: a critical threshold still fails...
        rampart()
            .args([
                "scan",
                "--no-config",
                "--fail-on",
                "critical",
                "examples/models",
            ])
            .assert()
            .code(1);
        // ...and findings below the threshold are reported without failing.
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("empty.pt"), b"").unwrap();
        rampart()
            .args(["scan", "--no-config"])
            .arg(dir.path())
            .assert()
            .code(0)
            .stdout(predicate::str::contains("scan/malformed"));
        rampart()
            .args(["scan", "--no-config", "--fail-on", "low"])
            .arg(dir.path())
            .assert()
            .code(1);
    }
}

mod reports {
    use super::*;

    #[test]
    fn json_report_lists_every_file_with_format_and_verdict() {
        let (code, report) = json_report(&["examples/models"]);
        assert_eq!(code, 1);
        assert_eq!(report["schema_version"], "1.0");
        let files = report["files"].as_array().unwrap();
        let by_path = |p: &str| {
            files
                .iter()
                .find(|f| f["path"] == p)
                .unwrap_or_else(|| panic!("{p} missing from {files:?}"))
        };
        assert_eq!(
            by_path("examples/models/clean.safetensors")["format"],
            "safetensors"
        );
        assert_eq!(
            by_path("examples/models/clean_checkpoint.pt")["verdict"],
            "pass"
        );
        let bad = by_path("examples/models/backdoored_checkpoint.pt");
        assert_eq!(bad["format"], "pytorch-zip");
        assert_eq!(bad["verdict"], "fail");
        assert_eq!(bad["max_severity"], "critical");
        let finding = &report["findings"][0];
        assert_eq!(finding["rule_id"], "pickle/disallowed-call");
        assert_eq!(finding["location"]["members"][0], "model/extra_state.bin");
        assert!(
            finding["evidence"].as_str().unwrap().contains("system"),
            "{finding}"
        );
        assert!(
            finding["references"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["id"] == "CWE-502")
        );
    }

    #[test]
    fn json_report_snapshot() {
        let (_, report) = json_report(&["examples/models"]);
        insta::assert_json_snapshot!("scan_examples_json", report, {
            ".tool.version" => "[version]",
        });
    }

    #[test]
    fn sarif_report_snapshot_and_shape() {
        let output = rampart()
            .args([
                "scan",
                "--no-config",
                "--format",
                "sarif",
                "examples/models",
            ])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1));
        let sarif: Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(sarif["version"], "2.1.0");
        let run = &sarif["runs"][0];
        let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
        for result in run["results"].as_array().unwrap() {
            let index = result["ruleIndex"].as_u64().unwrap() as usize;
            assert_eq!(rules[index]["id"], result["ruleId"]);
            assert!(result["partialFingerprints"]["rampartFinding/v1"].is_string());
        }
        insta::assert_json_snapshot!("scan_examples_sarif", sarif, {
            ".runs[0].tool.driver.version" => "[version]",
            ".runs[0].tool.driver.semanticVersion" => "[version]",
        });
    }

    #[test]
    fn table_report_snapshot() {
        let output = rampart()
            .args(["scan", "--no-config", "--list-files", "examples/models"])
            .output()
            .unwrap();
        insta::assert_snapshot!(
            "scan_examples_table",
            String::from_utf8_lossy(&output.stdout)
        );
    }

    #[test]
    fn output_file_gets_the_report_and_stderr_the_summary() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("report.sarif");
        rampart()
            .args([
                "scan",
                "--no-config",
                "-f",
                "sarif",
                "examples/models",
                "--output",
            ])
            .arg(&out)
            .assert()
            .code(1)
            .stdout(predicate::str::is_empty())
            .stderr(predicate::str::contains("FAIL"));
        let sarif: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
        assert_eq!(sarif["version"], "2.1.0");
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file left behind");
    }
}

mod policy {
    use super::*;

    fn scan_with_config(config: &str) -> assert_cmd::assert::Assert {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rampart.toml");
        std::fs::write(&path, config).unwrap();
        let assert = rampart()
            .args([
                "scan",
                "examples/models/backdoored_checkpoint.pt",
                "--config",
            ])
            .arg(&path)
            .assert();
        drop(dir);
        assert
    }

    #[test]
    fn waiver_with_reason_accepts_a_finding() {
        scan_with_config(
            r#"
            [[waiver]]
            rule = "pickle/disallowed-call"
            path = "examples/models/backdoored_*.pt"
            reason = "demo file, see SEC-1"
            expires = 2999-12-31
            "#,
        )
        .code(0)
        .stdout(predicate::str::contains("Waived findings"))
        .stdout(predicate::str::contains("demo file, see SEC-1"));
    }

    #[test]
    fn expired_waiver_stops_applying_and_says_so() {
        scan_with_config(
            r#"
            [[waiver]]
            rule = "pickle/disallowed-call"
            path = "examples/**"
            reason = "temporary"
            expires = 2020-01-01
            "#,
        )
        .code(1)
        .stdout(predicate::str::contains("expired on 2020-01-01"));
    }

    #[test]
    fn invalid_policies_are_usage_errors() {
        scan_with_config(
            "[[waiver]]\nrule = \"pickle/disallowed-call\"\npath = \"*\"\nreason = \"\"\n",
        )
        .code(2)
        .stderr(predicate::str::contains("has no reason"));
        scan_with_config("[severity]\n\"pickle/no-such-rule\" = \"low\"\n")
            .code(2)
            .stderr(predicate::str::contains(
                "unknown rule id `pickle/no-such-rule`",
            ));
        scan_with_config("fail_on = \"high\"\nunknown_key = 1\n")
            .code(2)
            .stderr(predicate::str::contains("unknown field"));
    }

    #[test]
    fn severity_override_and_config_threshold() {
        scan_with_config("[severity]\n\"pickle/disallowed-call\" = \"medium\"\n").code(0);
        scan_with_config(
            "fail_on = \"medium\"\n[severity]\n\"pickle/disallowed-call\" = \"medium\"\n",
        )
        .code(1);
    }

    #[test]
    fn allowlist_extends_to_a_teams_own_callables() {
        let dir = tempfile::tempdir().unwrap();
        // GLOBAL 'mylab.layers make_layer', EMPTY_TUPLE, REDUCE, STOP (protocol 0).
        std::fs::write(
            dir.path().join("model.pkl"),
            b"cmylab.layers\nmake_layer\n)R.",
        )
        .unwrap();
        rampart()
            .args(["scan", "--no-config"])
            .arg(dir.path())
            .assert()
            .code(1);
        std::fs::write(
            dir.path().join("rampart.toml"),
            "[pickle]\nallow = [\"mylab.*\"]\n",
        )
        .unwrap();
        rampart()
            .current_dir(dir.path())
            .args(["scan", "."])
            .assert()
            .code(0);
    }
}

mod rules_command {
    use super::*;

    #[test]
    fn lists_every_rule_with_documentation() {
        let output = rampart()
            .args(["rules", "--format", "json"])
            .output()
            .unwrap();
        assert!(output.status.success());
        let rules: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap();
        let ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
        let mut unique = ids.clone();
        unique.dedup();
        assert_eq!(ids, unique, "ids are sorted and unique");
        for rule in &rules {
            let id = rule["id"].as_str().unwrap();
            assert!(id.contains('/') && id == id.to_lowercase(), "{id}");
            for field in ["title", "description", "remediation"] {
                assert!(
                    rule[field].as_str().is_some_and(|s| s.len() > 10),
                    "{id}: {field}"
                );
            }
            assert!(
                !rule["references"].as_array().unwrap().is_empty(),
                "{id}: references"
            );
        }
        for expected in [
            "pickle/disallowed-call",
            "scan/malformed",
            "format/polyglot",
        ] {
            assert!(ids.contains(&expected), "{expected}");
        }
        rampart()
            .arg("rules")
            .assert()
            .success()
            .stdout(predicate::str::contains("Fix: "));
    }
}

/// Every fixture corpus in the workspace through the binary: each benign fixture (a
/// `benign` directory or a `benign*` file name) passes with no finding, each malicious one
/// (a `malicious` directory) fails the default gate.
mod fixture_corpora {
    use super::*;

    fn fixtures(class: &str) -> Vec<PathBuf> {
        let mut found = Vec::new();
        let crates = repo_root().join("crates");
        for krate in std::fs::read_dir(&crates).unwrap().flatten() {
            let root = krate.path().join("tests/fixtures");
            collect(&root, class, false, &mut found);
        }
        found.sort();
        found
    }

    fn collect(dir: &Path, class: &str, inside: bool, found: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                collect(&path, class, inside || name == class, found);
            } else if (inside || name.starts_with(class))
                && !name.ends_with(".md")
                && !name.ends_with(".py")
                && !name.ends_with(".onnx.data")
            {
                found.push(path);
            }
        }
    }

    fn verdicts(files: &[PathBuf]) -> Vec<Value> {
        let output = rampart()
            .args(["scan", "--no-config", "--format", "json"])
            .args(files)
            .output()
            .unwrap();
        let report: Value = serde_json::from_slice(&output.stdout).unwrap();
        let findings = report["findings"].as_array().unwrap().clone();
        report["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|file| {
                let own: Vec<&Value> = findings
                    .iter()
                    .filter(|f| f["location"]["path"] == file["path"])
                    .map(|f| &f["message"])
                    .collect();
                serde_json::json!({ "path": file["path"], "verdict": file["verdict"],
                                    "findings": file["findings"], "messages": own })
            })
            .collect()
    }

    #[test]
    fn every_benign_fixture_is_clean() {
        let files = fixtures("benign");
        assert!(
            files.len() > 150,
            "only {} benign fixtures found",
            files.len()
        );
        let dirty: Vec<Value> = verdicts(&files)
            .into_iter()
            .filter(|v| v["findings"] != 0)
            .collect();
        assert!(
            dirty.is_empty(),
            "benign fixtures with findings: {dirty:#?}"
        );
    }

    #[test]
    fn every_malicious_fixture_fails() {
        let files = fixtures("malicious");
        assert!(
            files.len() > 40,
            "only {} malicious fixtures found",
            files.len()
        );
        let missed: Vec<Value> = verdicts(&files)
            .into_iter()
            .filter(|v| v["verdict"] != "fail")
            .collect();
        assert!(
            missed.is_empty(),
            "malicious fixtures that pass: {missed:#?}"
        );
    }
}

#[path = "cli/integrity.rs"]
mod integrity;

#[cfg(unix)]
#[path = "cli/provenance.rs"]
mod provenance;

#[path = "cli/config.rs"]
mod config;

#[path = "cli/audit.rs"]
mod audit;

/// `rampart scan/sbom/audit IMAGE` on images assembled from bytes in the tests.
#[path = "cli/image.rs"]
mod image;

#[path = "cli/report_html.rs"]
mod report_html;

#[path = "cli/ci_integrations.rs"]
mod ci_integrations;

/// The model registry: `registry`, `serve`, `push`, `pull`, `approve`, `promote`, `rollback`.
#[path = "cli/registry.rs"]
mod registry;

/// `rampart serve` SIGKILLed at random points during uploads and version creation.
#[cfg(unix)]
#[path = "cli/registry_crash.rs"]
mod registry_crash;

#[path = "cli/redteam.rs"]
mod redteam;

/// `rampart drift` and `rampart data check`.
#[path = "cli/drift.rs"]
mod drift;
