//! The CI integrations: the GitLab SAST report against the schema's constraints, the
//! action, workflow and GitLab template passing rampart's own config scanner, the action's
//! script run for real, and `rampart init`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command as Process;

use assert_cmd::Command;
use serde_json::{Value, json};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn rampart(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("rampart").unwrap();
    cmd.current_dir(dir).env("NO_COLOR", "1");
    cmd
}

fn read(path: &str) -> String {
    fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A commit SHA for tests: well-formed, and no claim about any real repository.
const TEST_SHA: &str = "0123456789abcdef0123456789abcdef01234567";

mod gitlab_sast {
    use super::*;

    /// The constraints of GitLab's SAST report schema (security-report-schemas 15.0.7,
    /// `dist/sast-report-format.json`; identical in 15.2.1) on every field rampart writes:
    /// required fields, enums, patterns and lengths, transcribed from the official text.
    fn schema() -> Value {
        report_schema("sast")
    }

    /// The shared security-report constraints for one report type; the dependency-scanning
    /// type (15.0.7 `dist/dependency-scanning-report-format.json`) adds `dependency_files`
    /// and a location that names the package (`file` + `dependency.package.name` +
    /// `dependency.version`, all required).
    pub(super) fn report_schema(report_type: &str) -> Value {
        let tool = json!({
            "type": "object",
            "required": ["id", "name", "version", "vendor"],
            "properties": {
                "id": { "type": "string", "minLength": 1 },
                "name": { "type": "string", "minLength": 1 },
                "url": { "type": "string", "pattern": "^https?://.+" },
                "version": { "type": "string", "minLength": 1 },
                "vendor": {
                    "type": "object",
                    "required": ["name"],
                    "properties": { "name": { "type": "string", "minLength": 1 } },
                },
            },
        });
        let time =
            json!({ "type": "string", "pattern": "^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}$" });
        json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "required": ["scan", "version", "vulnerabilities"],
            "properties": {
                "schema": { "type": "string", "pattern": "^https?://.+" },
                "version": { "type": "string", "pattern": "^[0-9]+\\.[0-9]+\\.[0-9]+$" },
                "scan": {
                    "type": "object",
                    "required": ["analyzer", "end_time", "scanner", "start_time", "status", "type"],
                    "properties": {
                        "analyzer": tool,
                        "scanner": tool,
                        "start_time": time,
                        "end_time": time,
                        "status": { "enum": ["success", "failure"] },
                        "type": { "enum": [report_type] },
                        "messages": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["level", "value"],
                                "properties": {
                                    "level": { "enum": ["info", "warn", "fatal"] },
                                    "value": { "type": "string", "minLength": 1 },
                                },
                            },
                        },
                    },
                },
                "vulnerabilities": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["id", "identifiers", "location"],
                        "properties": {
                            "id": { "type": "string", "minLength": 1 },
                            "name": { "type": "string", "maxLength": 255 },
                            "description": { "type": "string", "maxLength": 1_048_576 },
                            "severity": { "enum": ["Info", "Unknown", "Low", "Medium", "High", "Critical"] },
                            "solution": { "type": "string", "maxLength": 7000 },
                            "identifiers": {
                                "type": "array",
                                "minItems": 1,
                                "items": {
                                    "type": "object",
                                    "required": ["type", "name", "value"],
                                    "properties": {
                                        "type": { "type": "string", "minLength": 1 },
                                        "name": { "type": "string", "minLength": 1 },
                                        "url": { "type": "string", "pattern": "^(https?|ftp)://.+" },
                                        "value": { "type": "string", "minLength": 1 },
                                    },
                                },
                            },
                            "links": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "required": ["url"],
                                    "properties": {
                                        "name": { "type": "string" },
                                        "url": { "type": "string", "pattern": "^(https?|ftp)://.+" },
                                    },
                                },
                            },
                            "location": {
                                "type": "object",
                                "properties": {
                                    "file": { "type": "string" },
                                    "start_line": { "type": "number" },
                                    "end_line": { "type": "number" },
                                },
                            },
                        },
                    },
                },
            },
        })
    }

    fn assert_valid(document: &Value) {
        assert_valid_as(document, &schema());
    }

    pub(super) fn assert_valid_as(document: &Value, schema: &Value) {
        let validator = jsonschema::validator_for(schema).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(document)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .take(10)
            .collect();
        assert!(
            errors.is_empty(),
            "invalid GitLab security report:\n{}",
            errors.join("\n")
        );
    }

    fn report(args: &[&str]) -> (i32, Value) {
        let output = rampart(&root())
            .args(["scan", "--no-config", "--format", "gitlab-sast"])
            .args(args)
            .output()
            .unwrap();
        let document = serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stderr)));
        (output.status.code().unwrap(), document)
    }

    #[test]
    fn the_schema_rejects_what_gitlab_would() {
        // The validator used below must be able to fail.
        let validator = jsonschema::validator_for(&schema()).unwrap();
        let mut document = json!({
            "version": "15.0.7",
            "scan": {
                "analyzer": { "id": "a", "name": "a", "version": "1", "vendor": { "name": "a" } },
                "scanner": { "id": "a", "name": "a", "version": "1", "vendor": { "name": "a" } },
                "type": "sast", "status": "success",
                "start_time": "2026-01-01T00:00:00", "end_time": "2026-01-01T00:00:00",
            },
            "vulnerabilities": [],
        });
        assert!(validator.is_valid(&document));
        document["scan"]["end_time"] = json!("2026-01-01T00:00:00Z");
        assert!(!validator.is_valid(&document));
    }

    #[test]
    fn malicious_model_becomes_a_valid_vulnerability() {
        let (code, document) = report(&["examples/models"]);
        assert_eq!(code, 1, "the gate still fails with this format");
        assert_valid(&document);
        let vulnerabilities = document["vulnerabilities"].as_array().unwrap();
        let call = vulnerabilities
            .iter()
            .find(|v| v["identifiers"][0]["value"] == "pickle/disallowed-call")
            .unwrap_or_else(|| panic!("no pickle/disallowed-call in {document:#}"));
        assert_eq!(call["severity"], "Critical");
        assert_eq!(
            call["location"]["file"],
            "examples/models/backdoored_checkpoint.pt"
        );
        let description = call["description"].as_str().unwrap();
        assert!(
            description.contains("backdoored_checkpoint.pt!/model/extra_state.bin"),
            "{description}"
        );
        assert!(
            call["identifiers"]
                .as_array()
                .unwrap()
                .iter()
                .any(|i| i["type"] == "cwe" && i["value"] == "502"),
            "{call:#}"
        );
        assert_eq!(document["scan"]["analyzer"]["id"], "rampart");
    }

    #[test]
    fn clean_models_give_an_empty_valid_report() {
        let (code, document) = report(&[
            "examples/models/clean.safetensors",
            "examples/models/clean_checkpoint.pt",
        ]);
        assert_eq!(code, 0);
        assert_valid(&document);
        assert_eq!(document["vulnerabilities"], json!([]));
        assert_eq!(document["scan"]["status"], "success");
    }

    #[test]
    fn text_findings_carry_their_line() {
        let dir = tempfile::tempdir().unwrap();
        let workflows = dir.path().join(".github/workflows");
        fs::create_dir_all(&workflows).unwrap();
        fs::write(
            workflows.join("ci.yml"),
            "on: push\npermissions: write-all\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo hi\n",
        )
        .unwrap();
        let output = rampart(dir.path())
            .args(["scan", "--no-config", "--format", "gitlab-sast", "."])
            .output()
            .unwrap();
        let document: Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_valid(&document);
        let write_all = document["vulnerabilities"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["identifiers"][0]["value"] == "gha/permissions-write-all")
            .unwrap_or_else(|| panic!("{document:#}"));
        assert_eq!(write_all["location"]["file"], ".github/workflows/ci.yml");
        assert_eq!(write_all["location"]["start_line"], 2);
    }
}

mod gitlab_dependency_scanning {
    use super::gitlab_sast::{assert_valid_as, report_schema};
    use super::*;

    fn schema() -> Value {
        let dependency = json!({
            "type": "object",
            "required": ["package", "version"],
            "properties": {
                "package": {
                    "type": "object",
                    "required": ["name"],
                    "properties": { "name": { "type": "string", "minLength": 1 } },
                },
                "version": { "type": "string" },
            },
        });
        let mut schema = report_schema("dependency_scanning");
        schema["required"] = json!(["scan", "version", "vulnerabilities", "dependency_files"]);
        schema["properties"]["vulnerabilities"]["items"]["properties"]["location"] = json!({
            "type": "object",
            "required": ["file", "dependency"],
            "properties": { "file": { "type": "string", "minLength": 1 }, "dependency": dependency },
        });
        schema["properties"]["dependency_files"] = json!({
            "type": "array",
            "items": {
                "type": "object",
                "required": ["path", "package_manager", "dependencies"],
                "properties": {
                    "path": { "type": "string", "minLength": 1 },
                    "package_manager": { "type": "string", "minLength": 1 },
                    "dependencies": { "type": "array", "items": dependency },
                },
            },
        });
        schema
    }

    #[test]
    fn vulnerable_and_malicious_packages_are_placed_at_their_package() {
        let temp = tempfile::tempdir().unwrap();
        fs::write(
            temp.path().join("requirements.txt"),
            "0requests==0.0.1\nurllib3==1.26.4\ntorch>=2.0\n",
        )
        .unwrap();
        let osv = root().join("../shared/data/osv");
        let output = rampart(temp.path())
            .env("XDG_CACHE_HOME", temp.path().join("cache"))
            .args([
                "audit",
                "--no-config",
                "--format",
                "gitlab-dependency-scanning",
                "--db",
            ])
            .arg(&osv)
            .arg("requirements.txt")
            .output()
            .unwrap();
        assert_eq!(
            output.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let document: Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_valid_as(&document, &schema());
        assert!(
            !jsonschema::validator_for(&schema()).unwrap().is_valid(
                &json!({ "version": "15.0.7", "scan": document["scan"], "vulnerabilities": [] })
            ),
            "the schema requires dependency_files"
        );
        let vulnerabilities = document["vulnerabilities"].as_array().unwrap();
        let at = |name: &str| -> Vec<&Value> {
            vulnerabilities
                .iter()
                .filter(|v| v["location"]["dependency"]["package"]["name"] == name)
                .collect()
        };
        let urllib3 = at("urllib3");
        assert!(urllib3.len() >= 3, "{document:#}");
        assert!(
            urllib3
                .iter()
                .all(|v| v["location"]["file"] == "requirements.txt"
                    && v["location"]["dependency"]["version"] == "1.26.4")
        );
        assert!(urllib3.iter().any(|v| {
            v["identifiers"]
                .as_array()
                .unwrap()
                .iter()
                .any(|i| i["value"] == "audit/vulnerable-package")
        }));
        assert_eq!(at("0requests")[0]["severity"], "Critical");
        // The unpinned requirement is a finding too, at its specifier.
        assert_eq!(at("torch")[0]["location"]["dependency"]["version"], ">=2.0");
        let files = document["dependency_files"].as_array().unwrap();
        assert_eq!(files.len(), 1);
        assert_eq!(files[0]["path"], "requirements.txt");
        assert_eq!(files[0]["package_manager"], "pip");
        assert_eq!(files[0]["dependencies"].as_array().unwrap().len(), 3);
    }

    #[test]
    fn scan_refuses_the_format_with_a_pointer_to_gitlab_sast() {
        rampart(&root())
            .args([
                "scan",
                "--no-config",
                "--format",
                "gitlab-dependency-scanning",
                "examples/models",
            ])
            .assert()
            .code(2)
            .stderr(predicates::str::contains("--format gitlab-sast"));
    }
}

mod ci_files {
    use super::*;

    /// Scans `dir` with every scanner and returns the exit code, the formats detected per
    /// file, and the findings.
    fn scan(dir: &Path) -> (i32, Vec<(String, String)>, Vec<Value>) {
        let output = rampart(dir)
            .args(["scan", "--no-config", "--format", "json", "."])
            .output()
            .unwrap();
        let report: Value = serde_json::from_slice(&output.stdout).unwrap();
        let files = report["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["path"].as_str().unwrap().to_owned(),
                    f["format"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        (
            output.status.code().unwrap(),
            files,
            report["findings"].as_array().unwrap().clone(),
        )
    }

    #[test]
    fn action_workflow_and_gitlab_template_pass_rampart() {
        let dir = tempfile::tempdir().unwrap();
        let put = |relative: &str, text: &str| {
            let path = dir.path().join(relative);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
        };
        // Where GitHub and GitLab (and so rampart's detection) expect each kind of file.
        put("action.yml", &read("action.yml"));
        put(
            ".github/workflows/rampart.yml",
            &read("ci/github/rampart.yml").replace("RAMPART_COMMIT_SHA", TEST_SHA),
        );
        put(
            ".gitlab/rampart.gitlab-ci.yml",
            &read("ci/gitlab/rampart.gitlab-ci.yml"),
        );
        put("docs/ci.md", &read("docs/ci.md"));
        put(".pre-commit-hooks.yaml", &read(".pre-commit-hooks.yaml"));
        let (code, files, findings) = scan(dir.path());
        assert!(findings.is_empty(), "{findings:#?}");
        assert_eq!(code, 0);
        // The config scanner really read the workflow and the pipeline.
        let format_of = |name: &str| {
            files
                .iter()
                .find(|(path, _)| path.ends_with(name))
                .map(|(_, format)| format.clone())
                .unwrap_or_else(|| panic!("{name} not scanned: {files:?}"))
        };
        assert!(format_of("rampart.yml").contains("workflow"), "{files:?}");
        assert!(
            format_of("rampart.gitlab-ci.yml").contains("gitlab"),
            "{files:?}"
        );
    }

    #[test]
    fn the_same_checks_catch_an_unpinned_action() {
        // The test above could pass by not looking: the same placement must fire on a tag.
        let dir = tempfile::tempdir().unwrap();
        let workflows = dir.path().join(".github/workflows");
        fs::create_dir_all(&workflows).unwrap();
        fs::write(
            workflows.join("rampart.yml"),
            read("ci/github/rampart.yml").replace("RAMPART_COMMIT_SHA", "v1"),
        )
        .unwrap();
        let (_, _, findings) = scan(dir.path());
        assert!(
            findings
                .iter()
                .any(|f| f["rule_id"] == "gha/unpinned-action"),
            "{findings:#?}"
        );
    }

    #[test]
    fn every_action_is_pinned_by_full_commit_sha() {
        for file in ["action.yml", "ci/github/rampart.yml"] {
            let text = read(file).replace("RAMPART_COMMIT_SHA", TEST_SHA);
            let uses: Vec<&str> = text
                .lines()
                .filter_map(|line| {
                    line.trim_start()
                        .trim_start_matches("- ")
                        .strip_prefix("uses: ")
                })
                .collect();
            assert!(!uses.is_empty(), "{file} uses no action");
            for reference in uses {
                let (target, comment) = reference.split_once(" # ").unwrap_or((reference, ""));
                let sha = target.rsplit_once('@').map_or("", |(_, sha)| sha);
                assert!(
                    sha.len() == 40 && sha.bytes().all(|b| b.is_ascii_hexdigit()),
                    "{file}: `{reference}` is not pinned to a commit"
                );
                assert!(
                    !comment.is_empty(),
                    "{file}: `{reference}` has no tag comment"
                );
            }
        }
    }

    #[test]
    fn docs_show_the_workflow_init_writes() {
        assert!(
            read("docs/ci.md").contains(&read("ci/github/rampart.yml")),
            "docs/ci.md must quote ci/github/rampart.yml verbatim"
        );
    }
}

mod action {
    use super::*;

    /// The script of the action's `run` step, as the runner would execute it.
    fn run_step_script() -> String {
        let action = read("action.yml");
        let start = action
            .find("      id: run\n")
            .expect("a step with id `run`");
        let body = &action[start..];
        let script_start = body.find("      run: |\n").unwrap() + "      run: |\n".len();
        body[script_start..]
            .lines()
            .take_while(|line| line.is_empty() || line.starts_with("        "))
            .map(|line| line.get(8..).unwrap_or(""))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Runs the step like GitHub does (`bash -e`), with `rampart` from this build on PATH.
    fn run_step(workspace: &Path, commands: &str, paths: &str) -> (i32, String) {
        let binary = assert_cmd::cargo::cargo_bin("rampart");
        let path = format!(
            "{}:{}",
            binary.parent().unwrap().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let output_file = workspace.join("github_output");
        fs::write(&output_file, "").unwrap();
        let output = Process::new("bash")
            .args([
                "--noprofile",
                "--norc",
                "-eo",
                "pipefail",
                "-c",
                &run_step_script(),
            ])
            .current_dir(workspace)
            .env("PATH", path)
            .env("NO_COLOR", "1")
            .env("GITHUB_OUTPUT", &output_file)
            .env("COMMANDS", commands)
            .env("SCAN_PATHS", paths)
            .env("FAIL_ON", "")
            .env("CONFIG", "")
            .env("SARIF", "true")
            .env("SBOM", "true")
            .env("SBOM_PATH", ".")
            .env("AUDIT_PATH", ".")
            .env("AUDIT_DB", "")
            .env("VERIFY_MODEL", "")
            .env("VERIFY_SIGNATURE", "")
            .env("VERIFY_KEY", "")
            .env("VERIFY_CHAIN", "")
            .env("OUT", "rampart-results")
            .output()
            .unwrap();
        assert!(
            output.status.code().is_some(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        (
            output.status.code().unwrap(),
            fs::read_to_string(output_file).unwrap(),
        )
    }

    #[test]
    fn step_reports_a_failed_gate_after_writing_sarif_and_sbom() {
        let dir = tempfile::tempdir().unwrap();
        fs::copy(
            root().join("examples/models/backdoored_checkpoint.pt"),
            dir.path().join("model.pt"),
        )
        .unwrap();
        fs::write(dir.path().join("requirements.txt"), "numpy==2.1.0\n").unwrap();
        let (code, outputs) = run_step(dir.path(), "scan", "model.pt requirements.txt");
        assert_eq!(
            code, 0,
            "the step itself succeeds; a later step fails the job"
        );
        assert!(outputs.contains("failed=true"), "{outputs}");
        let sarif: Value = serde_json::from_slice(
            &fs::read(dir.path().join("rampart-results/scan.sarif")).unwrap(),
        )
        .unwrap();
        assert_eq!(sarif["version"], "2.1.0");
        assert!(
            sarif.to_string().contains("pickle/disallowed-call"),
            "{sarif:#}"
        );
        let sbom: Value = serde_json::from_slice(
            &fs::read(dir.path().join("rampart-results/sbom.cdx.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(sbom["bomFormat"], "CycloneDX");
    }

    #[test]
    fn step_passes_clean_inputs_and_stops_on_usage_errors() {
        let dir = tempfile::tempdir().unwrap();
        fs::copy(
            root().join("examples/models/clean.safetensors"),
            dir.path().join("model.safetensors"),
        )
        .unwrap();
        let (code, outputs) = run_step(dir.path(), "scan", "model.safetensors");
        assert_eq!(code, 0);
        assert!(outputs.contains("failed=false"), "{outputs}");

        let (code, _) = run_step(dir.path(), "scan", "missing.pt");
        assert_eq!(code, 2, "a usage error must stop the job, not pass it");
        let (code, _) = run_step(dir.path(), "scna", ".");
        assert_eq!(code, 2, "an unknown command must stop the job");
    }
}

mod init {
    use super::*;

    /// The template with every commented example (`#key = …`, `#[[waiver]]`) switched on.
    fn with_examples_enabled(text: &str) -> String {
        text.lines()
            .map(|line| match line.strip_prefix('#') {
                Some(rest) if !rest.is_empty() && !rest.starts_with(' ') => rest,
                _ => line,
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn written_config_loads_with_and_without_its_examples() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join(".git")).unwrap();
        rampart(dir.path()).args(["init"]).assert().code(0);
        let written = fs::read_to_string(dir.path().join("rampart.toml")).unwrap();
        for key in [
            "fail_on",
            "[severity]",
            "[[waiver]]",
            "reason",
            "expires",
            "[scan]",
            "[limits]",
            "[pickle]",
        ] {
            assert!(written.contains(key), "rampart.toml lacks {key}");
        }
        fs::copy(
            root().join("examples/models/clean.safetensors"),
            dir.path().join("model.safetensors"),
        )
        .unwrap();
        // Discovered from the working directory, loaded without error, nothing to report.
        rampart(dir.path())
            .args(["scan", "."])
            .assert()
            .code(0)
            .stdout(predicates::str::contains("PASS"));

        let enabled = with_examples_enabled(&written);
        assert!(enabled.contains("\n[[waiver]]\n"), "{enabled}");
        fs::write(dir.path().join("rampart.toml"), &enabled).unwrap();
        let output = rampart(dir.path())
            .args(["scan", "--format", "json", "."])
            .output()
            .unwrap();
        assert_eq!(
            output.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let report: Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(report["fail_on"], "high");
        assert!(
            report["notices"].to_string().contains("matched no finding"),
            "the example waiver was read: {report:#}"
        );
    }

    #[test]
    fn never_overwrites_without_force() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("rampart.toml"), "fail_on = \"low\"\n").unwrap();
        rampart(dir.path())
            .args(["init", "--ci", "gitlab"])
            .assert()
            .code(2)
            .stderr(predicates::str::contains("not overwriting rampart.toml"));
        assert_eq!(
            fs::read_to_string(dir.path().join("rampart.toml")).unwrap(),
            "fail_on = \"low\"\n"
        );
        assert!(
            !dir.path().join(".gitlab").exists(),
            "nothing is written when anything would be overwritten"
        );
        rampart(dir.path())
            .args(["init", "--ci", "gitlab", "--force"])
            .assert()
            .code(0);
        assert!(
            fs::read_to_string(dir.path().join("rampart.toml"))
                .unwrap()
                .contains("[[waiver]]")
        );
        assert_eq!(
            fs::read_to_string(dir.path().join(".gitlab/rampart.gitlab-ci.yml")).unwrap(),
            read("ci/gitlab/rampart.gitlab-ci.yml")
        );
    }

    #[test]
    fn ci_snippets_pin_rampart_and_pass_the_scan() {
        let dir = tempfile::tempdir().unwrap();
        rampart(dir.path())
            .args(["init", "--ci", "github", "--ci", "pre-commit"])
            .assert()
            .code(2)
            .stderr(predicates::str::contains("--rampart-ref"));
        rampart(dir.path())
            .args(["init", "--ci", "github", "--rampart-ref", "v1.0.0"])
            .assert()
            .code(2);
        rampart(dir.path())
            .args([
                "init",
                "--ci",
                "github,gitlab,pre-commit",
                "--rampart-ref",
                TEST_SHA,
            ])
            .assert()
            .code(0);
        let workflow =
            fs::read_to_string(dir.path().join(".github/workflows/rampart.yml")).unwrap();
        assert!(workflow.contains(&format!("rampart-sec/rampart@{TEST_SHA} # rampart ")));
        let hooks = fs::read_to_string(dir.path().join(".pre-commit-config.yaml")).unwrap();
        assert!(hooks.contains(&format!("rev: {TEST_SHA}")), "{hooks}");
        assert!(hooks.contains("- id: rampart-scan\n"), "{hooks}");
        rampart(dir.path())
            .args(["scan", "."])
            .assert()
            .code(0)
            .stdout(predicates::str::contains("no findings"));
    }
}
