use std::collections::BTreeMap;

use jiff::Timestamp;
use serde_json::{Value, json};

use crate::{Finding, Reference, Report, Severity};

/// The GitLab Security Report schema release the SAST report follows. 15.0.7 is accepted by
/// every GitLab release that still validates reports (15.x schemas only since GitLab 16),
/// and its `scan` and `vulnerabilities` fields are identical to those of 15.2.x.
pub const GITLAB_SAST_SCHEMA_VERSION: &str = "15.0.7";
const SCHEMA_URL: &str = "https://gitlab.com/gitlab-org/security-products/security-report-schemas/-/raw/v15.0.7/dist/sast-report-format.json";
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

/// GitLab's SAST security report (`artifacts:reports:sast`), for the merge request widget
/// and the vulnerability report. One vulnerability per active finding; waived and
/// baselined findings are accepted risks and are left out (GitLab has no suppression
/// field), with a scan message saying how many.
pub fn render_gitlab_sast(report: &Report, window: ScanWindow) -> String {
    let tool = json!({
        "id": report.tool.name,
        "name": report.tool.name,
        "version": report.tool.version,
        "url": INFORMATION_URI,
        "vendor": { "name": report.tool.name },
    });
    // Ids must be unique within the report: identical findings (same rule, place and
    // evidence) get an occurrence number.
    let mut occurrences: BTreeMap<String, usize> = BTreeMap::new();
    let vulnerabilities: Vec<Value> = report
        .findings
        .iter()
        .filter(|finding| finding.is_active())
        .map(|finding| {
            let fingerprint = finding.fingerprint();
            let seen = occurrences.entry(fingerprint.clone()).or_insert(0);
            *seen += 1;
            vulnerability(finding, format!("rampart-{fingerprint}-{seen}"))
        })
        .collect();
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
    let document = json!({
        "schema": SCHEMA_URL,
        "version": GITLAB_SAST_SCHEMA_VERSION,
        "scan": {
            "analyzer": tool,
            "scanner": tool,
            "type": "sast",
            "start_time": gitlab_time(window.started),
            "end_time": gitlab_time(window.finished),
            "status": "success",
            "messages": messages,
        },
        "vulnerabilities": vulnerabilities,
    });
    let mut out = serde_json::to_string_pretty(&document).unwrap_or_default();
    out.push('\n');
    out
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

    let path = loc.path.replace('\\', "/");
    let mut location = json!({ "file": path.strip_prefix("./").unwrap_or(&path) });
    if let Some(line) = loc.line {
        location["start_line"] = json!(line);
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
    fn truncates_by_characters() {
        assert_eq!(truncate("héllo", 2), "hé");
        assert_eq!(truncate("hi", 7000), "hi");
    }
}
