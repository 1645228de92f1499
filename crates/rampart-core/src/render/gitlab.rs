use std::collections::BTreeMap;

use jiff::Timestamp;
use serde_json::{Value, json};

use crate::{Finding, Reference, Report, Severity};

/// The GitLab Security Report schema release both reports follow. 15.0.7 is accepted by
/// every GitLab release that still validates reports (15.x schemas only since GitLab 16);
/// its SAST `scan` and `vulnerabilities` fields are identical to those of 15.2.x, and it is
/// the last dependency-scanning schema with `dependency_files` (removed in 15.1.0).
pub const GITLAB_SAST_SCHEMA_VERSION: &str = "15.0.7";
const SCHEMA_BASE: &str =
    "https://gitlab.com/gitlab-org/security-products/security-report-schemas/-/raw/v15.0.7/dist";
const INFORMATION_URI: &str = "https://github.com/rampart-sec/rampart";

// Length limits of the schema (in characters): GitLab rejects the whole report when one
// vulnerability exceeds them.
const MAX_NAME_CHARS: usize = 255;
const MAX_DESCRIPTION_CHARS: usize = 1_048_576;
const MAX_SOLUTION_CHARS: usize = 7_000;

/// When the run that produced a report started and finished; the report itself carries no
/// clock readings.
#[derive(Clone, Copy, Debug)]
pub struct ScanWindow {
    pub started: Timestamp,
    pub finished: Timestamp,
}

/// One manifest, lock file or environment and every package it resolved, for GitLab's
/// dependency list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DependencyFile {
    pub path: String,
    /// GitLab's name for the tool that reads the file (`pip`, `poetry`, `pipenv`, `conda`…).
    pub package_manager: String,
    /// (name, version) pairs; a package without a pinned version carries its specifier.
    pub dependencies: Vec<(String, String)>,
}

/// GitLab's SAST security report (`artifacts:reports:sast`), for the merge request widget
/// and the vulnerability report. One vulnerability per active finding; waived and
/// baselined findings are accepted risks and are left out (GitLab has no suppression
/// field), with a scan message saying how many.
pub fn render_gitlab_sast(report: &Report, window: ScanWindow) -> String {
    render(report, window, None)
}

/// GitLab's dependency-scanning report (`artifacts:reports:dependency_scanning`): every
/// active finding about a package is a vulnerability located at that package in its file,
/// and `dependency_files` lists every package of every file for the dependency list.
/// Findings about no package (an unreadable lock file) cannot be placed in this format;
/// a `warn` scan message counts them so they are never silently dropped.
pub fn render_gitlab_dependency_scanning(
    report: &Report,
    window: ScanWindow,
    files: &[DependencyFile],
) -> String {
    render(report, window, Some(files))
}

fn render(
    report: &Report,
    window: ScanWindow,
    dependency_files: Option<&[DependencyFile]>,
) -> String {
    let tool = json!({
        "id": report.tool.name,
        "name": report.tool.name,
        "version": report.tool.version,
        "url": INFORMATION_URI,
        "vendor": { "name": report.tool.name },
    });
    let dependency_report = dependency_files.is_some();
    // Ids must be unique within the report: identical findings (same rule, place and
    // evidence) get an occurrence number.
    let mut occurrences: BTreeMap<String, usize> = BTreeMap::new();
    let mut unplaced = 0usize;
    let mut vulnerabilities: Vec<Value> = Vec::new();
    for finding in report.findings.iter().filter(|finding| finding.is_active()) {
        if dependency_report && finding.package.is_none() {
            unplaced += 1;
            continue;
        }
        let fingerprint = finding.fingerprint();
        let seen = occurrences.entry(fingerprint.clone()).or_insert(0);
        *seen += 1;
        vulnerabilities.push(vulnerability(
            finding,
            format!("rampart-{fingerprint}-{seen}"),
        ));
    }
    let mut messages: Vec<Value> = report
        .notices
        .iter()
        .map(|notice| json!({ "level": "info", "value": notice }))
        .collect();
    if report.summary.waived > 0 {
        messages.push(json!({
            "level": "info",
            "value": format!(
                "{} waived or baselined findings are not listed (see rampart.toml and the baseline)",
                report.summary.waived
            ),
        }));
    }
    if report.summary.incomplete_files > 0 {
        messages.push(json!({
            "level": "warn",
            "value": format!(
                "{} files could not be fully scanned; their scan/* vulnerabilities say why",
                report.summary.incomplete_files
            ),
        }));
    }
    if unplaced > 0 {
        messages.push(json!({
            "level": "warn",
            "value": format!(
                "{unplaced} findings are about no single package (e.g. a file that could not be read) \
                 and cannot be listed here: see `rampart audit --format json`"
            ),
        }));
    }
    let (kind, schema) = match dependency_report {
        true => (
            "dependency_scanning",
            "dependency-scanning-report-format.json",
        ),
        false => ("sast", "sast-report-format.json"),
    };
    let mut document = json!({
        "schema": format!("{SCHEMA_BASE}/{schema}"),
        "version": GITLAB_SAST_SCHEMA_VERSION,
        "scan": {
            "analyzer": tool,
            "scanner": tool,
            "type": kind,
            "start_time": gitlab_time(window.started),
            "end_time": gitlab_time(window.finished),
            "status": "success",
            "messages": messages,
        },
        "vulnerabilities": vulnerabilities,
    });
    if let Some(files) = dependency_files {
        document["dependency_files"] = files
            .iter()
            .map(|file| {
                json!({
                    "path": report_path(&file.path),
                    "package_manager": file.package_manager,
                    "dependencies": file
                        .dependencies
                        .iter()
                        .map(|(name, version)| dependency(name, version))
                        .collect::<Vec<_>>(),
                })
            })
            .collect();
    }
    let mut out = serde_json::to_string_pretty(&document).unwrap_or_default();
    out.push('\n');
    out
}

fn dependency(name: &str, version: &str) -> Value {
    json!({ "package": { "name": name }, "version": version })
}

/// Repository-relative with forward slashes, as GitLab links files.
fn report_path(path: &str) -> String {
    let path = path.replace('\\', "/");
    path.strip_prefix("./").unwrap_or(&path).to_owned()
}

/// `yyyy-mm-ddThh:mm:ss` in UTC, without zone or fraction: the only form the schema allows.
fn gitlab_time(at: Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%S").to_string()
}

fn vulnerability(finding: &Finding, id: String) -> Value {
    let rule = finding.rule;
    let loc = &finding.location;
    let mut description = finding.message.clone();
    if !loc.members.is_empty() || loc.offset.is_some() || loc.resource.is_some() {
        description.push_str(&format!("\n\nLocation: {}", code_span(&loc.to_string())));
    }
    if let Some(evidence) = &finding.evidence {
        description.push_str(&format!("\n\nEvidence: {}", code_span(evidence)));
    }
    description.push_str(&format!("\n\n{}", rule.description));

    let mut identifiers = vec![json!({
        "type": "rampart_rule",
        "name": format!("rampart {}", rule.id),
        "value": rule.id,
    })];
    identifiers.extend(rule.references.iter().filter_map(identifier));
    let links: Vec<Value> = rule
        .references
        .iter()
        .map(|r| json!({ "name": r.id(), "url": r.url() }))
        .filter(|link| link["url"].as_str().is_some_and(is_http_url))
        .collect();

    let mut location = json!({ "file": report_path(&loc.path) });
    match &finding.package {
        Some(package) => {
            let version = package.version.as_deref().unwrap_or("unpinned");
            location["dependency"] = dependency(&package.name, version);
        }
        None => {
            if let Some(line) = loc.line {
                location["start_line"] = json!(line);
            }
        }
    }
    json!({
        // GitLab tracks vulnerabilities across pipelines by its own hash of the primary
        // identifier and the location, not by this id.
        "id": id,
        "name": truncate(rule.title, MAX_NAME_CHARS),
        "description": truncate(&description, MAX_DESCRIPTION_CHARS),
        "severity": gitlab_severity(finding.severity),
        "solution": truncate(finding.remediation(), MAX_SOLUTION_CHARS),
        "identifiers": identifiers,
        "links": links,
        "location": location,
    })
}

/// CWE and CVE/GHSA references become identifiers (GitLab links and groups by them);
/// ATLAS and OWASP ids stay links.
fn identifier(reference: &Reference) -> Option<Value> {
    let (kind, value) = match reference {
        Reference::Cwe(n) => ("cwe", n.to_string()),
        Reference::Advisory(id) if id.starts_with("GHSA-") => ("ghsa", (*id).to_owned()),
        Reference::Advisory(id) => ("cve", (*id).to_owned()),
        Reference::Atlas(_) | Reference::Owasp(_) | Reference::Url(_) => return None,
    };
    Some(json!({
        "type": kind,
        "name": reference.id(),
        "value": value,
        "url": reference.url(),
    }))
}

fn gitlab_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Info => "Info",
        Severity::Low => "Low",
        Severity::Medium => "Medium",
        Severity::High => "High",
        Severity::Critical => "Critical",
    }
}

fn is_http_url(url: &str) -> bool {
    url.starts_with("https://") || url.starts_with("http://")
}

fn truncate(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((end, _)) => text[..end].to_owned(),
        None => text.to_owned(),
    }
}

/// A Markdown code span that survives backticks in the text (evidence quotes source code).
fn code_span(text: &str) -> String {
    let longest_run = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest_run + 1);
    format!("{fence} {text} {fence}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FileVerdict, Location, rules};

    fn window() -> ScanWindow {
        ScanWindow {
            started: "2026-03-01T10:00:00.123Z".parse().unwrap(),
            finished: "2026-03-01T10:00:05Z".parse().unwrap(),
        }
    }

    fn report(findings: Vec<Finding>) -> Report {
        Report::new(
            "scan",
            "0.1.0",
            Severity::High,
            vec![FileVerdict::new("./models/a.pkl", "pickle", 10)],
            findings,
            vec!["a notice".to_owned()],
        )
    }

    #[test]
    fn maps_findings_to_vulnerabilities() {
        let finding = Finding::new(
            &rules::MALFORMED,
            Location::file("./models/a.pkl").member("data.pkl").at(7),
            "truncated pickle",
        )
        .with_evidence("a `tick`");
        let doc: Value =
            serde_json::from_str(&render_gitlab_sast(&report(vec![finding]), window())).unwrap();
        assert_eq!(doc["version"], GITLAB_SAST_SCHEMA_VERSION);
        assert_eq!(doc["scan"]["type"], "sast");
        assert_eq!(doc["scan"]["start_time"], "2026-03-01T10:00:00");
        assert_eq!(doc["scan"]["end_time"], "2026-03-01T10:00:05");
        assert_eq!(doc["scan"]["messages"][0]["value"], "a notice");
        let vuln = &doc["vulnerabilities"][0];
        assert_eq!(vuln["severity"], "High");
        assert_eq!(vuln["location"]["file"], "models/a.pkl");
        assert!(vuln["location"].get("start_line").is_none());
        assert_eq!(vuln["identifiers"][0]["value"], "scan/malformed");
        assert_eq!(vuln["identifiers"][1]["type"], "cwe");
        assert_eq!(vuln["identifiers"][1]["value"], "693");
        assert_eq!(
            vuln["identifiers"].as_array().unwrap().len(),
            2,
            "ATLAS/OWASP are links"
        );
        assert_eq!(vuln["links"].as_array().unwrap().len(), 3);
        let description = vuln["description"].as_str().unwrap();
        assert!(
            description.contains("Location: ` ./models/a.pkl!/data.pkl@7 `"),
            "{description}"
        );
        assert!(
            description.contains("Evidence: `` a `tick` ``"),
            "{description}"
        );
    }

    #[test]
    fn leaves_waived_findings_out_and_says_so() {
        let mut waived = Finding::new(&rules::MALFORMED, Location::file("a.pkl"), "x");
        waived.waiver = Some(crate::policy::AppliedWaiver {
            reason: "vendor".into(),
            expires: None,
        });
        let text = render_gitlab_sast(&report(vec![waived]), window());
        let doc: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(doc["vulnerabilities"].as_array().unwrap().len(), 0);
        assert!(text.contains("1 waived or baselined findings are not listed"));
    }

    #[test]
    fn identical_findings_get_distinct_ids() {
        let same = || Finding::new(&rules::MALFORMED, Location::file("a.pkl"), "x");
        let doc: Value =
            serde_json::from_str(&render_gitlab_sast(&report(vec![same(), same()]), window()))
                .unwrap();
        let ids: Vec<&str> = doc["vulnerabilities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids.len(), 2);
        assert_ne!(ids[0], ids[1]);
    }

    #[test]
    fn dependency_report_places_package_findings_and_counts_the_rest() {
        let vulnerable = Finding::new(
            &rules::MALFORMED,
            Location::file("./requirements.txt").at_line(3, Some(1)),
            "torch 1.0 is vulnerable",
        )
        .with_package(crate::PackageCoordinate {
            ecosystem: "PyPI".into(),
            name: "torch".into(),
            version: Some("1.0".into()),
            fixed_version: Some("2.6.0".into()),
        });
        let unplaced = Finding::new(&rules::MALFORMED, Location::file("poetry.lock"), "bad toml");
        let files = [DependencyFile {
            path: "./requirements.txt".into(),
            package_manager: "pip".into(),
            dependencies: vec![
                ("torch".into(), "1.0".into()),
                ("numpy".into(), ">=1".into()),
            ],
        }];
        let text = render_gitlab_dependency_scanning(
            &report(vec![vulnerable, unplaced]),
            window(),
            &files,
        );
        let doc: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(doc["scan"]["type"], "dependency_scanning");
        assert!(
            doc["schema"]
                .as_str()
                .unwrap()
                .ends_with("/dependency-scanning-report-format.json")
        );
        let vulns = doc["vulnerabilities"].as_array().unwrap();
        assert_eq!(vulns.len(), 1);
        assert_eq!(vulns[0]["location"]["file"], "requirements.txt");
        assert_eq!(
            vulns[0]["location"]["dependency"]["package"]["name"],
            "torch"
        );
        assert_eq!(vulns[0]["location"]["dependency"]["version"], "1.0");
        assert!(vulns[0]["location"].get("start_line").is_none());
        assert_eq!(doc["dependency_files"][0]["path"], "requirements.txt");
        assert_eq!(
            doc["dependency_files"][0]["dependencies"][1]["version"],
            ">=1"
        );
        assert!(
            text.contains("1 findings are about no single package"),
            "{text}"
        );
        let sast: Value = serde_json::from_str(&render_gitlab_sast(
            &report(vec![Finding::new(
                &rules::MALFORMED,
                Location::file("a").at_line(2, Some(1)),
                "x",
            )]),
            window(),
        ))
        .unwrap();
        assert!(sast.get("dependency_files").is_none());
        assert_eq!(sast["vulnerabilities"][0]["location"]["start_line"], 2);
    }

    #[test]
    fn truncates_by_characters() {
        assert_eq!(truncate("héllo", 2), "hé");
        assert_eq!(truncate("hi", 7000), "hi");
    }
}
