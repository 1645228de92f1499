//! `rampart db`, `rampart sbom` and `rampart audit`: offline, exact, and never a silent pass.

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

fn shared() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared")
}

fn project() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/rampart-inventory/tests/fixtures/project")
}

fn rampart_in(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("rampart").unwrap();
    cmd.current_dir(dir)
        .env("NO_COLOR", "1")
        .env("XDG_CACHE_HOME", dir.join("cache"));
    cmd
}

fn audit_json(dir: &Path, args: &[&str]) -> (i32, Value) {
    let output = rampart_in(dir)
        .args(["audit", "--no-config", "--format", "json"])
        .args(args)
        .output()
        .unwrap();
    let report = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stderr)));
    (output.status.code().unwrap(), report)
}

fn findings_of<'a>(report: &'a Value, rule: &str) -> Vec<&'a Value> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule_id"] == rule)
        .collect()
}

#[test]
fn an_environment_is_audited_against_an_imported_database() {
    let temp = tempfile::tempdir().unwrap();
    let osv = shared().join("data/osv");
    rampart_in(temp.path())
        .args(["db", "import"])
        .arg(&osv)
        .arg("--top-list")
        .arg(shared().join("data/pypi-top.txt"))
        .assert()
        .success()
        .stdout(predicate::str::contains("2664 advisories"))
        .stdout(predicate::str::contains("5000 popular names"));
    rampart_in(temp.path())
        .args(["db", "info"])
        .assert()
        .success()
        .stdout(predicate::str::contains("3 malicious"));

    let (code, report) = audit_json(temp.path(), &[project().to_str().unwrap()]);
    assert_eq!(code, 1);
    let vulnerable = findings_of(&report, "audit/vulnerable-package");
    let urllib3: Vec<&str> = vulnerable
        .iter()
        .filter(|f| f["message"].as_str().unwrap().starts_with("urllib3 1.26.4"))
        .map(|f| f["evidence"].as_str().unwrap())
        .collect();
    assert_eq!(urllib3.len(), 3, "{urllib3:?}");
    assert!(urllib3.iter().any(|e| e.ends_with("PYSEC-2021-108")));
    assert!(vulnerable.iter().all(|f| {
        f["location"]["path"]
            .as_str()
            .unwrap()
            .ends_with("METADATA")
            || f["location"]["line"].is_u64()
    }));

    // A stale database is refused rather than trusted.
    rampart_in(temp.path())
        .args(["audit", "--no-config", "--max-db-age", "0"])
        .arg(project())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("days old"));
}

#[test]
fn missing_or_empty_databases_are_errors_not_passes() {
    let temp = tempfile::tempdir().unwrap();
    rampart_in(temp.path())
        .args(["audit", "--no-config"])
        .arg(project())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("rampart db import"));
    let empty = temp.path().join("empty-osv");
    fs::create_dir(&empty).unwrap();
    rampart_in(temp.path())
        .args(["audit", "--no-config", "--db"])
        .arg(&empty)
        .arg(project())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("empty"));
}

#[test]
fn malicious_typosquatted_unpinned_and_direct_dependencies_are_findings() {
    let temp = tempfile::tempdir().unwrap();
    fs::write(
        temp.path().join("requirements.txt"),
        "0requests==0.0.1\nreqeusts==2.31.0\ntorch>=2.0\nnumpy==1.26.4\nmylib @ git+https://github.com/example/mylib\n",
    )
    .unwrap();
    let osv = shared().join("data/osv");
    let (code, report) = audit_json(
        temp.path(),
        &[
            "--db",
            osv.to_str().unwrap(),
            "--top-list",
            shared().join("data/pypi-top.txt").to_str().unwrap(),
            "requirements.txt",
        ],
    );
    assert_eq!(code, 1);
    let malicious = findings_of(&report, "audit/malicious-package");
    assert_eq!(malicious.len(), 1);
    assert_eq!(malicious[0]["severity"], "critical");
    assert_eq!(malicious[0]["location"]["line"], 1);
    let squats = findings_of(&report, "audit/typosquat");
    assert!(
        squats
            .iter()
            .any(|f| f["message"].as_str().unwrap().contains("requests")),
        "{squats:?}"
    );
    assert_eq!(
        findings_of(&report, "audit/unpinned-requirement")[0]["location"]["line"],
        3
    );
    assert_eq!(findings_of(&report, "audit/unhashed-requirement").len(), 3);
    assert_eq!(
        findings_of(&report, "audit/direct-url-dependency")[0]["location"]["line"],
        5
    );
}

#[test]
fn sboms_describe_packages_models_and_datasets() {
    let temp = tempfile::tempdir().unwrap();
    let output = rampart_in(temp.path())
        .args(["sbom"])
        .arg(project())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let bom: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(bom["bomFormat"], "CycloneDX");
    assert_eq!(bom["specVersion"], "1.6");
    let components = bom["components"].as_array().unwrap();
    let of_type = |kind: &str| components.iter().filter(|c| c["type"] == kind).count();
    assert!(of_type("library") >= 10);
    assert!(of_type("machine-learning-model") >= 1);
    assert!(of_type("data") >= 1);
    assert!(
        components
            .iter()
            .any(|c| c["purl"] == "pkg:pypi/urllib3@1.26.4")
    );

    for (format, marker) in [
        ("spdx", "SPDX-2.3"),
        ("spdx3", "https://spdx.org/rdf/3.0.1/spdx-context.jsonld"),
    ] {
        rampart_in(temp.path())
            .args(["sbom", "--format", format, "-o", "out.json"])
            .arg(project())
            .assert()
            .success();
        assert!(
            fs::read_to_string(temp.path().join("out.json"))
                .unwrap()
                .contains(marker),
            "{format}"
        );
    }

    // What rampart wrote, rampart can audit.
    rampart_in(temp.path())
        .args(["sbom", "-o", "bom.json"])
        .arg(project())
        .assert()
        .success();
    let osv = shared().join("data/osv");
    let (code, report) = audit_json(temp.path(), &["--db", osv.to_str().unwrap(), "bom.json"]);
    assert_eq!(code, 1);
    assert!(findings_of(&report, "audit/vulnerable-package").len() >= 3);
}
