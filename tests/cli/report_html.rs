//! `--format html`: one offline page whose every report string is inert text, plus
//! `rampart coverage`, `rampart completions` and `rampart manpage`.

use base64::Engine;
use sha2::{Digest, Sha256};

use super::*;

fn html_of(args: &[&str]) -> (i32, String) {
    let output = rampart()
        .args(["scan", "--no-config", "--format", "html"])
        .args(args)
        .output()
        .unwrap();
    (
        output.status.code().unwrap(),
        String::from_utf8(output.stdout).unwrap(),
    )
}

/// The text between the first `open` and the next `close` after it.
fn between<'a>(text: &'a str, open: &str, close: &str) -> &'a str {
    let start = text.find(open).unwrap() + open.len();
    let len = text[start..].find(close).unwrap();
    &text[start..start + len]
}

#[test]
fn examples_scan_snapshot() {
    let (code, html) = html_of(&["examples/models"]);
    assert_eq!(code, 1);
    insta::with_settings!({filters => vec![(r"rampart \d+\.\d+\.\d+[^ .<]*", "rampart [version]")]}, {
        insta::assert_snapshot!("scan_examples_html", html);
    });
}

#[test]
fn the_only_script_is_the_one_the_policy_pins() {
    let (_, html) = html_of(&["examples/models"]);
    let policy = between(&html, "Content-Security-Policy\" content=\"", "\"");
    assert!(policy.contains("default-src 'none'"), "{policy}");
    let pinned = between(policy, "script-src '", "'");
    let script = between(&html, "<script>", "</script>");
    let digest = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(script));
    assert_eq!(pinned, format!("sha256-{digest}"));
    assert_eq!(html.matches("<script").count(), 1);
}

#[test]
fn hostile_file_name_and_evidence_render_inert() {
    let dir = tempfile::tempdir().unwrap();
    // File names cannot contain `/`, so no closing tag; an opening one is enough to attack.
    let name = "\"'><svg onload=alert(1)><script>.pkl";
    // Protocol 0: GLOBAL posix.system, then a call with a markup-laden argument.
    let pickle = b"cposix\nsystem\n(S'<img src=x onerror=alert(2)>'\ntR.";
    std::fs::write(dir.path().join(name), pickle).unwrap();
    let output = rampart()
        .args(["scan", "--no-config", "-f", "html"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "the pickle is detected");
    let html = String::from_utf8(output.stdout).unwrap();
    assert!(html.contains("pickle/disallowed-call"));
    assert!(html.contains("&quot;&#39;&gt;&lt;svg onload=alert(1)&gt;&lt;script&gt;.pkl"));
    assert!(html.contains("&lt;img src=x onerror=alert(2)&gt;"));
    assert!(!html.contains("<img") && !html.contains("<svg"));
    assert_eq!(html.matches("<script").count(), 1, "only the filter script");
}

#[test]
fn html_report_written_to_a_file_keeps_the_summary_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report.html");
    rampart()
        .args(["scan", "--no-config", "-f", "html", "examples/models", "-o"])
        .arg(&out)
        .assert()
        .code(1)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains("FAIL"));
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<span class=\"verdict fail\">FAIL</span>"));
}

#[test]
fn clean_scan_renders_a_passing_page() {
    let (code, html) = html_of(&["examples/models/clean.safetensors"]);
    assert_eq!(code, 0);
    assert!(html.contains("<span class=\"verdict pass\">PASS</span>"));
    assert!(html.contains("No findings."));
}

#[test]
fn coverage_lists_covered_and_uncovered_atlas_techniques() {
    let output = rampart()
        .args(["coverage", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let coverage: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(coverage["atlas_version"], "5.6.0");
    let entries = coverage["entries"].as_array().unwrap();
    let status = |id: &str| {
        entries.iter().find(|e| e["id"] == id).unwrap()["status"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(status("AML.T0011.000"), "covered");
    assert_eq!(status("ML06:2023"), "covered");
    assert!(entries.iter().any(|e| e["status"] == "uncovered"));
    let unsafe_artifacts = entries.iter().find(|e| e["id"] == "AML.T0011.000").unwrap();
    assert!(
        unsafe_artifacts["rules"]
            .as_array()
            .unwrap()
            .contains(&Value::from("pickle/disallowed-call"))
    );

    rampart()
        .arg("coverage")
        .assert()
        .code(0)
        .stdout(predicate::str::contains("MITRE ATLAS 5.6.0 (2026-04-30)"))
        .stdout(predicate::str::is_match(r"(?m)^covered\s+AML\.T0050\s").unwrap());
    rampart()
        .args(["coverage", "-f", "html"])
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with("<!DOCTYPE html>"))
        .stdout(predicate::str::contains("script-src 'none'"));
}

#[test]
fn rules_json_lists_atlas_ids() {
    let output = rampart()
        .args(["rules", "--format", "json"])
        .output()
        .unwrap();
    let rules: Value = serde_json::from_slice(&output.stdout).unwrap();
    let pickle = rules
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "pickle/disallowed-call")
        .unwrap();
    assert!(
        pickle["references"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["type"] == "atlas" && r["id"] == "AML.T0011.000")
    );
}

#[test]
fn completions_for_each_shell_name_the_subcommands() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        rampart()
            .args(["completions", shell])
            .assert()
            .code(0)
            .stdout(predicate::str::contains("coverage"))
            .stdout(predicate::str::contains("fail-on"));
    }
    rampart().args(["completions", "tcsh"]).assert().code(2);
    // The bash script must at least parse.
    let script = rampart().args(["completions", "bash"]).output().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rampart.bash");
    std::fs::write(&path, script.stdout).unwrap();
    std::process::Command::new("bash")
        .arg("-n")
        .arg(&path)
        .status()
        .map(|status| assert!(status.success(), "bash -n rejects the completion script"))
        .unwrap_or_else(|e| eprintln!("bash not available ({e}); syntax not checked"));
}

#[test]
fn manpage_renders_roff_and_one_page_per_command() {
    rampart()
        .arg("manpage")
        .assert()
        .code(0)
        .stdout(predicate::str::contains(".TH rampart 1"))
        .stdout(predicate::str::contains("Exit codes"));
    let dir = tempfile::tempdir().unwrap();
    rampart()
        .arg("manpage")
        .arg("--dir")
        .arg(dir.path())
        .assert()
        .code(0);
    let scan = std::fs::read_to_string(dir.path().join("rampart-scan.1")).unwrap();
    assert!(scan.contains("fail\\-on"), "{scan}");
}
