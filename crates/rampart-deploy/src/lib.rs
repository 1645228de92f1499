//! Deployment and pipeline checks for ML systems: Kubernetes manifests (training jobs,
//! inference servers, operators' CRDs with pod templates), Dockerfiles, GitHub Actions
//! workflows and GitLab CI pipelines.
//!
//! The engine routes files here with [`detect`] (by name and first bytes) and calls
//! [`scan`]; each kind also has its own `scan` in its module. Findings point at the line
//! and column of the offending setting and name the object they are about
//! (`Deployment/trainer/server`, `build.checkout`, job `deploy`).
//!
//! This crate must never run, render or evaluate what it reads: scripts are tokenised, not
//! executed; Helm templates are not rendered; `${{ }}` expressions are matched, not
//! evaluated; nothing is fetched. Work is bounded: input size, YAML nesting, nodes and
//! alias expansion are capped, and whatever cannot be parsed is reported as
//! `scan/malformed` or `scan/limit-exceeded`, never skipped silently.

mod ci;
mod credentials;
pub mod dockerfile;
pub mod github;
pub mod gitlab;
mod image;
pub mod kubernetes;
pub mod rules;
mod shell;
mod text;
mod yaml;

use rampart_core::{Finding, Location, rules as core_rules};

pub use rules::RULES;

/// Largest file analysed; bigger ones are reported as `scan/limit-exceeded`.
pub const MAX_INPUT_BYTES: usize = 8 << 20;

/// The kinds of file this crate analyses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Kubernetes,
    Dockerfile,
    GithubWorkflow,
    GitlabCi,
}

/// Decides from a file's path (relative to the scan root, or absolute; `/` or `\`
/// separators) and its first bytes whether it is one of this crate's kinds. Cheap: no
/// parsing beyond looking for top-level `apiVersion:` and `kind:` keys.
pub fn detect(name: &str, head: &[u8]) -> Option<Kind> {
    if head.contains(&0) {
        return None;
    }
    let path = name.replace('\\', "/");
    let file = path.rsplit('/').next().unwrap_or(&path);
    let lower = file.to_ascii_lowercase();
    let yaml = lower.ends_with(".yml") || lower.ends_with(".yaml");
    if yaml && is_github_workflow_path(&path) {
        return Some(Kind::GithubWorkflow);
    }
    if lower == ".gitlab-ci.yml"
        || lower.ends_with(".gitlab-ci.yml")
        || lower.ends_with(".gitlab-ci.yaml")
    {
        return Some(Kind::GitlabCi);
    }
    if is_dockerfile_name(&lower) {
        return Some(Kind::Dockerfile);
    }
    if (yaml || lower.ends_with(".json")) && looks_like_kubernetes(head) {
        return Some(Kind::Kubernetes);
    }
    None
}

/// `.github/workflows/<file>`: GitHub reads workflows from that directory only, not from
/// its subdirectories.
fn is_github_workflow_path(path: &str) -> bool {
    let mut parts = path.rsplit('/');
    let _file = parts.next();
    parts.next() == Some("workflows") && parts.next() == Some(".github")
}

fn is_dockerfile_name(lower: &str) -> bool {
    const NOT_DOCKERFILES: &[&str] = &[
        ".md",
        ".rst",
        ".txt",
        ".json",
        ".yml",
        ".yaml",
        ".sh",
        ".py",
        ".ps1",
        ".bak",
        ".orig",
        ".swp",
        ".j2",
        ".tpl",
        ".tmpl",
        ".template",
    ];
    let named = ["dockerfile", "containerfile"].iter().any(|base| {
        lower == *base
            || lower.starts_with(&format!("{base}."))
            || lower.ends_with(&format!(".{base}"))
    });
    named && !NOT_DOCKERFILES.iter().any(|ext| lower.ends_with(ext))
}

/// Top-level `apiVersion:` and `kind:` keys (YAML), or both keys quoted (JSON).
fn looks_like_kubernetes(head: &[u8]) -> bool {
    let text = String::from_utf8_lossy(head);
    let mut api_version = false;
    let mut kind = false;
    for line in text.lines() {
        api_version |= line.starts_with("apiVersion:");
        kind |= line.starts_with("kind:");
    }
    let json = text.trim_start().starts_with('{')
        && text.contains("\"apiVersion\"")
        && text.contains("\"kind\"");
    (api_version && kind) || json
}

/// Scans `data` as `kind`.
pub fn scan(kind: Kind, data: &[u8], location: &Location, out: &mut Vec<Finding>) {
    match kind {
        Kind::Kubernetes => kubernetes::scan(data, location, out),
        Kind::Dockerfile => dockerfile::scan(data, location, out),
        Kind::GithubWorkflow => github::scan(data, location, out),
        Kind::GitlabCi => gitlab::scan(data, location, out),
    }
}

/// The file as text, or a fail-closed finding when it is too large or not UTF-8.
fn decode<'a>(
    data: &'a [u8],
    location: &Location,
    what: &str,
    out: &mut Vec<Finding>,
) -> Option<&'a str> {
    if data.len() > MAX_INPUT_BYTES {
        out.push(Finding::new(
            &core_rules::LIMIT_EXCEEDED,
            location.clone(),
            format!(
                "This {what} is {} bytes, more than the {MAX_INPUT_BYTES} bytes rampart \
                 analyses; none of it was checked",
                data.len()
            ),
        ));
        return None;
    }
    let data = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
    match std::str::from_utf8(data) {
        Ok(text) => Some(text),
        Err(error) => {
            let valid = data.get(..error.valid_up_to()).unwrap_or(&[]);
            let line = valid
                .iter()
                .filter(|b| **b == b'\n')
                .count()
                .saturating_add(1);
            let line = u32::try_from(line).unwrap_or(u32::MAX);
            out.push(Finding::new(
                &core_rules::MALFORMED,
                location.at_line(line, None).at(error.valid_up_to() as u64),
                format!(
                    "This {what} is not valid UTF-8 (at byte {}, line {line}), so it could not \
                     be analysed",
                    error.valid_up_to()
                ),
            ));
            None
        }
    }
}

/// Reports why a YAML stream was not loaded completely, and duplicate keys.
fn report_load_problems(
    stream: &yaml::Stream,
    location: &Location,
    what: &str,
    out: &mut Vec<Finding>,
) {
    if let Some(error) = &stream.error {
        let (line, column) = error.position();
        let rule = if error.is_limit() {
            &core_rules::LIMIT_EXCEEDED
        } else {
            &core_rules::MALFORMED
        };
        out.push(Finding::new(
            rule,
            location.at_line(line, Some(column)),
            format!(
                "This {what} could not be read past line {line}, column {column} ({error}); \
                 what follows was not checked"
            ),
        ));
    }
    for duplicate in &stream.duplicates {
        out.push(Finding::new(
            &core_rules::MALFORMED,
            location.at_line(duplicate.line, Some(duplicate.column)),
            format!(
                "The key `{}` appears twice in one mapping (lines {} and {}); tools disagree \
                 about which value applies (rampart checked the last one), so the file can say \
                 one thing to a reviewer and another to the cluster or runner",
                duplicate.key, duplicate.first_line, duplicate.line
            ),
        ));
    }
}

/// Drops repeated findings from `out[from..]`: a template merged into several jobs (YAML
/// anchors) reports each problem once, at the template's line.
fn dedupe(out: &mut Vec<Finding>, from: usize) {
    let mut seen = std::collections::HashSet::new();
    let mut index = 0usize;
    out.retain(|finding| {
        let keep = index < from || {
            let key = (
                finding.rule.id,
                finding.location.line,
                finding.location.column,
                finding
                    .evidence
                    .clone()
                    .unwrap_or_else(|| finding.message.clone()),
            );
            seen.insert(key)
        };
        index += 1;
        keep
    });
}

#[cfg(test)]
pub(crate) mod test_support {
    use rampart_core::{Finding, Location};

    /// Runs a scan on a fresh location and checks what every finding must carry.
    pub(crate) fn findings_of(scan: impl FnOnce(&Location, &mut Vec<Finding>)) -> Vec<Finding> {
        let location = Location::file("test");
        let mut out = Vec::new();
        scan(&location, &mut out);
        for finding in &out {
            assert!(finding.location.line.is_some(), "no line: {finding:?}");
            assert!(!finding.message.is_empty());
        }
        out
    }

    pub(crate) fn ids(findings: &[Finding]) -> Vec<&'static str> {
        findings.iter().map(|f| f.rule.id).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_kinds_by_path_and_content() {
        let manifest = b"# comment\napiVersion: apps/v1\nkind: Deployment\n";
        let cases: &[(&str, &[u8], Option<Kind>)] = &[
            ("deploy/app.yaml", manifest, Some(Kind::Kubernetes)),
            (
                "k8s/pod.json",
                b"{\"apiVersion\": \"v1\", \"kind\": \"Pod\"}",
                Some(Kind::Kubernetes),
            ),
            ("README.md", manifest, None),
            ("chart/Chart.yaml", b"apiVersion: v2\nname: x\n", None),
            ("values.yaml", b"image:\n  kind: x\n", None),
            ("Dockerfile", b"FROM x\n", Some(Kind::Dockerfile)),
            ("docker/Dockerfile.gpu", b"FROM x\n", Some(Kind::Dockerfile)),
            ("serve.Dockerfile", b"FROM x\n", Some(Kind::Dockerfile)),
            ("Containerfile", b"FROM x\n", Some(Kind::Dockerfile)),
            ("Dockerfile.md", b"FROM x\n", None),
            (".dockerignore", b"*\n", None),
            (
                ".github/workflows/ci.yml",
                b"on: push\n",
                Some(Kind::GithubWorkflow),
            ),
            (
                "repo\\.github\\workflows\\release.yaml",
                b"on: push\n",
                Some(Kind::GithubWorkflow),
            ),
            (".github/workflows/sub/x.yml", b"on: push\n", None),
            (".github/dependabot.yml", b"version: 2\n", None),
            (".gitlab-ci.yml", b"stages: [test]\n", Some(Kind::GitlabCi)),
            (
                "ci/train.gitlab-ci.yml",
                b"stages: [test]\n",
                Some(Kind::GitlabCi),
            ),
            ("Dockerfile", b"\x00\x01", None),
        ];
        for (name, head, expected) in cases {
            assert_eq!(detect(name, head), *expected, "{name}");
        }
    }

    #[test]
    fn oversized_and_non_utf8_files_fail_closed() {
        let location = Location::file("big.yaml");
        let mut out = Vec::new();
        let big = vec![b'#'; MAX_INPUT_BYTES + 1];
        scan(Kind::Kubernetes, &big, &location, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].rule.id, "scan/limit-exceeded");
        out.clear();
        scan(Kind::GitlabCi, b"a: 1\nb: \xff\n", &location, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].rule.id, "scan/malformed");
        assert_eq!(out[0].location.line, Some(2));
    }

    fn fixture(path: &str) -> Vec<u8> {
        let full = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(path);
        std::fs::read(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
    }

    fn scan_fixture(kind: Kind, path: &str) -> Vec<Finding> {
        let mut out = Vec::new();
        scan(kind, &fixture(path), &Location::file(path), &mut out);
        out
    }

    #[test]
    fn fixtures_fire_every_rule_and_near_misses_are_clean() {
        let fire = [
            (Kind::Kubernetes, "kubernetes/fire.yaml"),
            (Kind::Kubernetes, "kubernetes/helm-template.yaml"),
            (Kind::Dockerfile, "docker/Dockerfile.fire"),
            (Kind::GithubWorkflow, "github/fire.yml"),
            (Kind::GitlabCi, "gitlab/fire.gitlab-ci.yml"),
        ];
        let mut fired = std::collections::BTreeSet::new();
        for (kind, path) in fire {
            let findings = scan_fixture(kind, path);
            for finding in &findings {
                assert!(
                    !finding.rule.id.starts_with("scan/"),
                    "{path}: {finding:#?}"
                );
                fired.insert(finding.rule.id);
            }
        }
        let missing: Vec<&str> = RULES
            .iter()
            .map(|r| r.id)
            .filter(|id| !fired.contains(id))
            .collect();
        assert!(
            missing.is_empty(),
            "rules that no fixture fires: {missing:?}"
        );

        for (kind, path) in [
            (Kind::Kubernetes, "kubernetes/near-miss.yaml"),
            (Kind::Dockerfile, "docker/Dockerfile.near-miss"),
            (Kind::GithubWorkflow, "github/near-miss.yml"),
            (Kind::GitlabCi, "gitlab/near-miss.gitlab-ci.yml"),
        ] {
            let findings = scan_fixture(kind, path);
            assert!(findings.is_empty(), "{path}: {findings:#?}");
        }
    }

    /// Every fixture line commented with a rule id gets a finding of that rule on that line.
    #[test]
    fn fixture_findings_are_on_the_annotated_lines() {
        for (kind, path) in [
            (Kind::Kubernetes, "kubernetes/fire.yaml"),
            (Kind::GithubWorkflow, "github/fire.yml"),
            (Kind::GitlabCi, "gitlab/fire.gitlab-ci.yml"),
        ] {
            let text = String::from_utf8(fixture(path)).unwrap();
            let findings = scan_fixture(kind, path);
            for (index, line) in text.lines().enumerate() {
                let Some((_, comment)) =
                    line.split_once("   # ").or_else(|| line.split_once("  # "))
                else {
                    continue;
                };
                let rule = comment.split_whitespace().next().unwrap_or("");
                if !RULES.iter().any(|r| r.id == rule)
                    || comment.contains("gha/permissions-undeclared")
                {
                    continue;
                }
                let line_number = u32::try_from(index + 1).unwrap();
                assert!(
                    findings
                        .iter()
                        .any(|f| f.rule.id == rule && f.location.line == Some(line_number)),
                    "{path}:{line_number}: no {rule} there; findings: {:#?}",
                    findings
                        .iter()
                        .map(|f| (f.rule.id, f.location.line))
                        .collect::<Vec<_>>()
                );
            }
        }
    }

    const FUZZ_TARGETS: &[(&str, Kind)] = &[
        ("deploy_kubernetes", Kind::Kubernetes),
        ("deploy_dockerfile", Kind::Dockerfile),
        ("deploy_github", Kind::GithubWorkflow),
        ("deploy_gitlab", Kind::GitlabCi),
    ];

    #[test]
    fn fuzz_corpus_replays_without_panic() {
        let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus");
        let mut replayed = 0;
        for (target, kind) in FUZZ_TARGETS {
            let dir = corpus.join(target);
            let entries =
                std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
            for entry in entries {
                let path = entry.unwrap().path();
                let data = std::fs::read(&path).unwrap();
                let mut out = Vec::new();
                scan(
                    *kind,
                    &data,
                    &Location::file(path.display().to_string()),
                    &mut out,
                );
                replayed += 1;
            }
        }
        assert!(
            replayed >= FUZZ_TARGETS.len() * 2,
            "corpus too small: {replayed}"
        );
    }

    #[test]
    fn dedupe_keeps_earlier_findings_and_first_occurrences() {
        let location = Location::file("f").at_line(3, Some(1));
        let finding = || Finding::new(&rules::IMAGE_UNPINNED, location.clone(), "m");
        let mut out = vec![finding(), finding(), finding(), finding()];
        dedupe(&mut out, 2);
        assert_eq!(out.len(), 3);
    }
}

#[cfg(test)]
mod property_tests {
    use proptest::collection::vec;
    use proptest::prelude::*;
    use rampart_core::Location;

    use super::*;

    const KINDS: [Kind; 4] = [
        Kind::Kubernetes,
        Kind::Dockerfile,
        Kind::GithubWorkflow,
        Kind::GitlabCi,
    ];

    const SEEDS: &[&[u8]] = &[
        include_bytes!("../tests/fixtures/kubernetes/fire.yaml"),
        include_bytes!("../tests/fixtures/kubernetes/near-miss.yaml"),
        include_bytes!("../tests/fixtures/docker/Dockerfile.fire"),
        include_bytes!("../tests/fixtures/docker/Dockerfile.near-miss"),
        include_bytes!("../tests/fixtures/github/fire.yml"),
        include_bytes!("../tests/fixtures/gitlab/fire.gitlab-ci.yml"),
    ];

    fn scan_as_every_kind(data: &[u8]) {
        for kind in KINDS {
            let mut out = Vec::new();
            scan(kind, data, &Location::file("prop"), &mut out);
            for finding in &out {
                assert!(finding.location.line.is_some(), "{finding:?}");
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn arbitrary_bytes_never_panic(data in vec(any::<u8>(), 0..2048)) {
            scan_as_every_kind(&data);
        }

        #[test]
        fn mutated_fixtures_never_panic(
            seed in 0..SEEDS.len(),
            edits in vec((any::<prop::sample::Index>(), any::<u8>()), 1..24),
            cut in any::<prop::sample::Index>(),
        ) {
            let mut data = SEEDS[seed].to_vec();
            for (at, byte) in edits {
                let i = at.index(data.len());
                data[i] = byte;
            }
            scan_as_every_kind(&data);
            data.truncate(cut.index(data.len() + 1));
            scan_as_every_kind(&data);
        }

        #[test]
        fn yaml_shaped_text_never_panics(text in "[ a-zA-Z0-9:,\\-\\[\\]{}|>&*!#'\"%@`?~\n\t]{0,600}") {
            scan_as_every_kind(text.as_bytes());
        }

        #[test]
        fn shell_shaped_scripts_never_panic(script in "[ a-z|&;$(){}`'\"\\\\<>#=.:/\n-]{0,400}") {
            let dockerfile = format!("FROM scratch\nRUN {script}\n");
            scan_as_every_kind(dockerfile.as_bytes());
            let issues = shell::check(&script);
            for issue in issues {
                prop_assert!(issue.offset <= script.len());
            }
        }
    }
}
