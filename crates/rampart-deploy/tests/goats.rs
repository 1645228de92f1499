//! Real-world check against kubernetes-goat (from the shared goats corpus, which is not
//! committed): every manifest is routed and scanned, the deliberately vulnerable settings
//! are found, and nothing fails to parse except Helm templates, which are reported as such.
//!
//! Ignored by default because the corpus lives outside the repository; run with
//! `RAMPART_GOATS=/path/to/goats.tar.gz cargo test -p rampart-deploy --test goats -- --ignored`
//! (the default path is the shared corpus location).
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use rampart_core::{Finding, Location};

fn extract() -> PathBuf {
    let archive = std::env::var("RAMPART_GOATS")
        .unwrap_or_else(|_| "/work/shared/data/corpora/goats.tar.gz".to_owned());
    let target = std::env::temp_dir().join(format!("rampart-deploy-goats-{}", std::process::id()));
    std::fs::create_dir_all(&target).unwrap();
    let status = Command::new("tar")
        .arg("-xzf")
        .arg(&archive)
        .arg("-C")
        .arg(&target)
        .status()
        .expect("tar runs");
    assert!(status.success(), "could not extract {archive}");
    target.join("goats/kubernetes-goat")
}

fn files(root: &Path) -> Vec<PathBuf> {
    let mut stack = vec![root.to_path_buf()];
    let mut found = Vec::new();
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

#[test]
#[ignore = "needs the goats corpus outside the repository"]
fn kubernetes_goat() {
    let root = extract();
    let mut findings: Vec<Finding> = Vec::new();
    let mut scanned = 0;
    for path in files(&root) {
        let relative = path
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let data = std::fs::read(&path).unwrap();
        let head = &data[..data.len().min(4096)];
        let Some(kind) = rampart_deploy::detect(&relative, head) else {
            continue;
        };
        scanned += 1;
        rampart_deploy::scan(kind, &data, &Location::file(relative), &mut findings);
    }
    let mut per_rule: BTreeMap<&str, usize> = BTreeMap::new();
    for finding in &findings {
        *per_rule.entry(finding.rule.id).or_default() += 1;
        println!(
            "{:<36} {:<8} {}  {}",
            finding.rule.id, finding.severity, finding.location, finding.message
        );
    }
    println!(
        "{scanned} manifests, {} findings: {per_rule:#?}",
        findings.len()
    );
    std::fs::remove_dir_all(root.parent().unwrap().parent().unwrap()).ok();

    assert_eq!(scanned, 19, "manifests routed to the Kubernetes scanner");
    let has = |rule: &str, path: &str, resource: &str| {
        findings.iter().any(|f| {
            f.rule.id == rule
                && f.location.path.ends_with(path)
                && f.location.resource.as_deref() == Some(resource)
        })
    };
    let expected = [
        (
            "k8s/privileged-container",
            "system-monitor/deployment.yaml",
            "Deployment/system-monitor-deployment/system-monitor",
        ),
        (
            "k8s/host-namespace",
            "system-monitor/deployment.yaml",
            "Deployment/system-monitor-deployment",
        ),
        (
            "k8s/host-path-volume",
            "system-monitor/deployment.yaml",
            "Deployment/system-monitor-deployment",
        ),
        (
            "k8s/secret-data-in-manifest",
            "system-monitor/deployment.yaml",
            "Secret/goatvault",
        ),
        (
            "k8s/host-path-volume",
            "health-check/deployment.yaml",
            "Deployment/health-check-deployment",
        ),
        (
            "k8s/privileged-container",
            "health-check/deployment.yaml",
            "Deployment/health-check-deployment/health-check",
        ),
        (
            "k8s/added-capability",
            "docker-bench-security/deployment.yaml",
            "DaemonSet/docker-bench-security/docker-bench",
        ),
        (
            "k8s/runs-as-root",
            "docker-bench-security/deployment.yaml",
            "DaemonSet/docker-bench-security/docker-bench",
        ),
        (
            "k8s/rbac-wildcard",
            "hunger-check/deployment.yaml",
            "Role/secret-reader",
        ),
        (
            "k8s/missing-memory-limit",
            "hunger-check/deployment.yaml",
            "Deployment/hunger-check-deployment/hunger-check",
        ),
        (
            "k8s/cluster-admin-binding",
            "insecure-rbac/setup.yaml",
            "ClusterRoleBinding/superadmin",
        ),
        (
            "image/unpinned",
            "kube-bench-security/node-job.yaml",
            "Job/kube-bench-node/kube-bench",
        ),
        (
            "k8s/unrendered-template",
            "metadata-db/templates/deployment.yaml",
            "",
        ),
    ];
    for (rule, path, resource) in expected {
        let found = if resource.is_empty() {
            findings
                .iter()
                .any(|f| f.rule.id == rule && f.location.path.ends_with(path))
        } else {
            has(rule, path, resource)
        };
        assert!(found, "{rule} in {path} ({resource})");
    }
    let malformed: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.rule.id.starts_with("scan/"))
        .collect();
    assert!(malformed.is_empty(), "{malformed:#?}");
}
