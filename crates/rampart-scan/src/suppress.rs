//! Inline suppressions: a comment `rampart:ignore RULE[,RULE…] reason` on a finding's line,
//! or on the line above it, accepts that finding in place. The reason is mandatory, as for
//! waivers in rampart.toml: a suppression without one is not honoured, and the report says so.

use rampart_core::Finding;
use rampart_core::policy::AppliedWaiver;

const MARKER: &str = "rampart:ignore";

/// Applies the suppression comments of `data` (the text of the file at `path`) to the
/// findings located on its lines. Returns notices for comments that were not honoured.
pub fn apply_inline(data: &[u8], path: &str, findings: &mut [Finding]) -> Vec<String> {
    let mut notices = Vec::new();
    if !findings.iter().any(|finding| in_this_file(finding, path)) {
        return notices;
    }
    let lines: Vec<&[u8]> = data.split(|&byte| byte == b'\n').collect();
    for finding in findings
        .iter_mut()
        .filter(|finding| in_this_file(finding, path))
    {
        let Some(line) = finding.location.line else {
            continue;
        };
        let line = line as usize;
        for candidate in [line, line.saturating_sub(1)] {
            let Some(text) = candidate.checked_sub(1).and_then(|index| lines.get(index)) else {
                continue;
            };
            let Some(suppression) = parse(&String::from_utf8_lossy(text)) else {
                continue;
            };
            if !suppression.rules.iter().any(|rule| rule == finding.rule.id) {
                continue;
            }
            if suppression.reason.is_empty() {
                notices.push(format!(
                    "{path}:{candidate}: `rampart:ignore {}` has no reason, so it is not honoured: say why after the rule id",
                    finding.rule.id
                ));
                break;
            }
            finding.waiver = Some(AppliedWaiver {
                reason: format!("inline at {path}:{candidate}: {}", suppression.reason),
                expires: None,
            });
            break;
        }
    }
    notices.sort();
    notices.dedup();
    notices
}

fn in_this_file(finding: &Finding, path: &str) -> bool {
    finding.location.path == path
        && finding.location.members.is_empty()
        && finding.location.line.is_some()
        && finding.waiver.is_none()
}

struct Suppression {
    rules: Vec<String>,
    reason: String,
}

fn parse(line: &str) -> Option<Suppression> {
    let after = &line[line.find(MARKER)? + MARKER.len()..];
    let after = after.trim_start();
    let (rules, reason) = after.split_once(char::is_whitespace).unwrap_or((after, ""));
    let rules: Vec<String> = rules
        .split(',')
        .filter(|rule| !rule.is_empty())
        .map(str::to_owned)
        .collect();
    // Comment closers of the languages that need them are not part of the reason.
    let reason = reason
        .trim()
        .trim_end_matches("-->")
        .trim_end_matches("*/")
        .trim();
    (!rules.is_empty()).then(|| Suppression {
        rules,
        reason: reason.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use rampart_core::{Location, rules};

    use super::*;

    fn finding(line: u32) -> Finding {
        Finding::new(
            &rules::MALFORMED,
            Location::file("main.tf").at_line(line, None),
            "m",
        )
    }

    #[test]
    fn a_comment_on_the_line_or_above_with_a_reason_suppresses() {
        let text = b"a = 1 # rampart:ignore scan/malformed vendored, reviewed in SEC-12\n\
            # rampart:ignore scan/other,scan/malformed known issue -->\n\
            b = 2\n\
            c = 3 # rampart:ignore scan/malformed\n\
            d = 4\n";
        let mut findings = vec![finding(1), finding(3), finding(4), finding(5)];
        let notices = apply_inline(text, "main.tf", &mut findings);
        assert!(
            findings[0]
                .waiver
                .as_ref()
                .unwrap()
                .reason
                .ends_with("vendored, reviewed in SEC-12")
        );
        assert!(
            findings[1]
                .waiver
                .as_ref()
                .unwrap()
                .reason
                .ends_with("known issue")
        );
        assert!(findings[2].waiver.is_none(), "no reason, not honoured");
        assert!(
            findings[3].waiver.is_none(),
            "the comment above names no reason either"
        );
        assert_eq!(notices.len(), 1);
        assert!(notices[0].contains("main.tf:4"));
    }

    #[test]
    fn other_rules_and_other_files_are_untouched() {
        let text = b"x # rampart:ignore scan/encrypted because\n";
        let mut findings = vec![finding(1)];
        assert!(apply_inline(text, "main.tf", &mut findings).is_empty());
        assert!(findings[0].waiver.is_none());
        let mut elsewhere = vec![finding(1)];
        apply_inline(
            b"x # rampart:ignore scan/malformed why\n",
            "other.tf",
            &mut elsewhere,
        );
        assert!(elsewhere[0].waiver.is_none());
    }
}
