//! `rampart scan` with the config and secret scanners: the seed examples, scanner selection,
//! exclusions, inline suppressions and baselines.

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

fn seeds() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/seed-examples")
}

fn scan_json(dir: &Path, args: &[&str]) -> (i32, Value) {
    let output = Command::cargo_bin("rampart")
        .unwrap()
        .current_dir(dir)
        .args(["scan", "--no-config", "--format", "json"])
        .args(args)
        .output()
        .unwrap();
    let report = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stderr)));
    (output.status.code().unwrap(), report)
}

/// `(rule, file name, line, resource)` of every finding, sorted.
fn summary(report: &Value) -> Vec<(String, String, u64, String)> {
    let mut rows: Vec<_> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|finding| {
            let location = &finding["location"];
            let path = location["path"].as_str().unwrap();
            (
                finding["rule_id"].as_str().unwrap().to_owned(),
                path.rsplit('/').next().unwrap().to_owned(),
                location["line"].as_u64().unwrap_or(0),
                location["resource"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    rows.sort();
    rows
}

fn row(rule: &str, file: &str, line: u64, resource: &str) -> (String, String, u64, String) {
    (rule.to_owned(), file.to_owned(), line, resource.to_owned())
}

#[test]
fn the_seed_examples_give_exactly_the_real_defects_at_their_lines() {
    let (code, report) = scan_json(&seeds(), &["."]);
    assert_eq!(code, 1);
    let bucket = "aws_s3_bucket.ai_data_lake";
    assert_eq!(
        summary(&report),
        [
            row("aws/s3-no-public-access-block", "main.tf", 1, bucket),
            row(
                "aws/s3-tls-deny-incomplete",
                "main.tf",
                52,
                "aws_s3_bucket_policy.ai_data_lake_policy"
            ),
            row("iam/condition-operator-mismatch", "iam_policy.json", 28, ""),
            row("terraform/deprecated-argument", "main.tf", 4, bucket),
            row("terraform/deprecated-argument", "main.tf", 12, bucket),
            row("terraform/invalid-block", "main.tf", 16, bucket),
        ]
    );
    let messages: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    let said = |needle: &str| messages.iter().any(|message| message.contains(needle));
    assert!(said("aws_s3_bucket_public_access_block"));
    assert!(said(
        "uploads (s3:PutObject), deletes (s3:DeleteObject), listing (s3:ListBucket)"
    ));
    assert!(said(
        "`Bool` compares true/false values, but `s3:x-amz-acl` is a String key"
    ));
    assert!(said("deprecated since AWS provider v4"));
}

fn project() -> tempfile::TempDir {
    let temp = tempfile::tempdir().unwrap();
    fs::copy(seeds().join("main.tf"), temp.path().join("main.tf")).unwrap();
    fs::create_dir(temp.path().join("k8s")).unwrap();
    fs::write(
        temp.path().join("k8s/train.yaml"),
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: train\nspec:\n  template:\n    spec:\n      containers:\n      - name: trainer\n        image: trainer:latest\n        securityContext:\n          privileged: true\n",
    )
    .unwrap();
    temp
}

fn rules_of(report: &Value) -> Vec<String> {
    let mut rules: Vec<String> = summary(report).into_iter().map(|(rule, ..)| rule).collect();
    rules.dedup();
    rules
}

#[test]
fn scanners_can_be_chosen_and_paths_excluded() {
    let temp = project();
    let (_, all) = scan_json(temp.path(), &["."]);
    assert!(rules_of(&all).iter().any(|rule| rule.starts_with("k8s/")));
    assert!(
        rules_of(&all)
            .iter()
            .any(|rule| rule.starts_with("terraform/"))
    );
    let (code, model_only) = scan_json(temp.path(), &["--scanners", "model", "."]);
    assert_eq!((code, rules_of(&model_only)), (0, Vec::<String>::new()));
    let (_, excluded) = scan_json(temp.path(), &["--exclude", "k8s", "."]);
    assert!(
        !rules_of(&excluded)
            .iter()
            .any(|rule| rule.starts_with("k8s/"))
    );
    assert_eq!(excluded["summary"]["excluded"], 1);
    let listed = excluded["files"].as_array().unwrap();
    assert!(
        listed
            .iter()
            .any(|file| file["path"] == "k8s" && file["format"] == "excluded")
    );
}

#[test]
fn inline_suppressions_need_a_reason() {
    let temp = project();
    let main = temp.path().join("main.tf");
    let text = fs::read_to_string(&main).unwrap();
    let lines: Vec<String> = text
        .lines()
        .enumerate()
        .map(|(index, line)| match index + 1 {
            4 => format!(
                "{line} # rampart:ignore terraform/deprecated-argument migrating in INFRA-12"
            ),
            12 => format!("{line} # rampart:ignore terraform/deprecated-argument"),
            _ => line.to_owned(),
        })
        .collect();
    fs::write(&main, lines.join("\n") + "\n").unwrap();
    let (_, report) = scan_json(temp.path(), &["main.tf"]);
    let deprecated: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule_id"] == "terraform/deprecated-argument")
        .collect();
    assert_eq!(deprecated.len(), 2);
    let waived_at = |line: u64| {
        deprecated
            .iter()
            .find(|f| f["location"]["line"] == line)
            .unwrap()["waived"]
            .clone()
    };
    assert!(
        waived_at(4)["reason"]
            .as_str()
            .unwrap()
            .ends_with("migrating in INFRA-12")
    );
    assert!(waived_at(12).is_null());
    let notices = report["notices"].as_array().unwrap();
    assert!(
        notices
            .iter()
            .any(|n| n.as_str().unwrap().contains("main.tf:12")
                && n.as_str().unwrap().contains("no reason"))
    );
}

#[test]
fn a_baseline_accepts_old_findings_and_fails_only_on_new_ones() {
    let temp = project();
    let elsewhere = tempfile::tempdir().unwrap();
    let baseline = elsewhere.path().join("baseline.json");
    let (code, report) = scan_json(temp.path(), &["."]);
    assert_eq!(code, 1);
    fs::write(&baseline, report.to_string()).unwrap();
    let baseline = baseline.to_str().unwrap();
    let (code, report) = scan_json(temp.path(), &["--baseline", baseline, "."]);
    assert_eq!(code, 0, "{report}");
    // Lines added above existing findings do not make them new.
    let main = temp.path().join("main.tf");
    let text = fs::read_to_string(&main).unwrap();
    fs::write(&main, format!("# owner: data-platform\n\n{text}")).unwrap();
    let (code, _) = scan_json(temp.path(), &["--baseline", baseline, "."]);
    assert_eq!(code, 0);
    fs::write(
        temp.path().join("k8s/serve.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: serve\nspec:\n  hostNetwork: true\n  containers:\n  - name: s\n    image: server@sha256:0000000000000000000000000000000000000000000000000000000000000000\n",
    )
    .unwrap();
    let (code, report) = scan_json(temp.path(), &["--baseline", baseline, "."]);
    assert_eq!(code, 1);
    let active: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["waived"].is_null())
        .collect();
    assert!(
        active.iter().all(|f| f["location"]["path"]
            .as_str()
            .unwrap()
            .ends_with("serve.yaml")),
        "{active:?}"
    );
}
