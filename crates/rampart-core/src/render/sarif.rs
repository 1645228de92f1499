use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::{Finding, Report, Rule};

const INFORMATION_URI: &str = "https://github.com/rampart-sec/rampart";

/// SARIF 2.1.0, as accepted by GitHub code scanning: one run, the rules that fired as
/// `reportingDescriptor`s, one result per finding with a stable partial fingerprint.
/// Waived findings are kept as results with an external suppression.
pub fn render_sarif(report: &Report) -> String {
    let mut rule_index: BTreeMap<&str, usize> = BTreeMap::new();
    let mut rules: Vec<&'static Rule> = Vec::new();
    for finding in &report.findings {
        rule_index.entry(finding.rule.id).or_insert_with(|| {
            rules.push(finding.rule);
            rules.len() - 1
        });
    }
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|f| result(f, rule_index[f.rule.id]))
        .collect();
    let notifications: Vec<Value> = report
        .notices
        .iter()
        .map(|n| json!({ "level": "warning", "message": { "text": n } }))
        .collect();
    let sarif = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": report.tool.name,
                "version": report.tool.version,
                "semanticVersion": report.tool.version,
                "informationUri": INFORMATION_URI,
                "rules": rules.iter().map(|r| descriptor(r)).collect::<Vec<_>>(),
            }},
            "invocations": [{
                "executionSuccessful": true,
                "toolConfigurationNotifications": notifications,
            }],
            "results": results,
        }],
    });
    let mut out = serde_json::to_string_pretty(&sarif).unwrap_or_default();
    out.push('\n');
    out
}

fn descriptor(rule: &Rule) -> Value {
    let mut tags = vec!["security".to_owned(), rule.scanner.to_owned()];
    tags.extend(rule.references.iter().map(|r| r.id()));
    let references: String = rule
        .references
        .iter()
        .map(|r| format!("\n- [{}]({})", r.id(), r.url()))
        .collect();
    json!({
        "id": rule.id,
        "name": rule.id,
        "shortDescription": { "text": rule.title },
        "fullDescription": { "text": rule.description },
        "help": {
            "text": format!("{}\n\nFix: {}", rule.description, rule.remediation),
            "markdown": format!("{}\n\n**Fix:** {}\n\n**References:**{references}", rule.description, rule.remediation),
        },
        "defaultConfiguration": { "level": rule.severity.sarif_level() },
        "properties": {
            "tags": tags,
            "security-severity": rule.severity.security_score(),
            "precision": "high",
        },
    })
}

fn result(finding: &Finding, rule_index: usize) -> Value {
    let loc = &finding.location;
    let mut text = finding.message.clone();
    if !loc.members.is_empty() || loc.offset.is_some() {
        text.push_str(&format!(" (at {loc})"));
    }
    if let Some(evidence) = &finding.evidence {
        text.push_str(&format!(". Evidence: {evidence}"));
    }
    let mut physical = json!({ "artifactLocation": { "uri": uri(&loc.path) } });
    if let Some(line) = loc.line {
        let mut region = json!({ "startLine": line });
        if let Some(column) = loc.column {
            region["startColumn"] = json!(column);
        }
        physical["region"] = region;
    }
    let mut location = json!({ "physicalLocation": physical });
    if let Some(resource) = &loc.resource {
        location["logicalLocations"] = json!([{ "fullyQualifiedName": resource }]);
    }
    let mut result = json!({
        "ruleId": finding.rule.id,
        "ruleIndex": rule_index,
        "level": finding.severity.sarif_level(),
        "message": { "text": text },
        "locations": [location],
        "partialFingerprints": { "rampartFinding/v1": finding.fingerprint() },
        "properties": {
            "severity": finding.severity,
            "security-severity": finding.severity.security_score(),
            "containerPath": loc.container_path(),
            "byteOffset": loc.offset,
            "evidence": finding.evidence,
            "remediation": finding.remediation(),
        },
    });
    if let Some(waiver) = &finding.waiver {
        result["suppressions"] = json!([{ "kind": "external", "justification": waiver.reason }]);
    }
    result
}

/// A relative URI reference for a file path: forward slashes, and the characters a URI
/// may not carry percent-encoded.
fn uri(path: &str) -> String {
    let path = path.replace('\\', "/");
    let path = path.strip_prefix("./").unwrap_or(&path);
    let mut out = String::with_capacity(path.len());
    for byte in path.bytes() {
        match byte {
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b'-'
            | b'.'
            | b'_'
            | b'~'
            | b'/'
            | b':'
            | b'@'
            | b'!'
            | b'$'
            | b'&'
            | b'\''
            | b'('
            | b')'
            | b'*'
            | b'+'
            | b','
            | b';'
            | b'=' => out.push(char::from(byte)),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::uri;

    #[test]
    fn uris_are_relative_and_encoded() {
        assert_eq!(uri("./models/my model#1.pkl"), "models/my%20model%231.pkl");
        assert_eq!(uri("a\\b.pt"), "a/b.pt");
    }
}
