//! Audit results as findings in the common report.

use rampart_core::{Finding, Location};

use crate::compile::{AdvisoryKind, RatingBasis};
use crate::rules::{MALICIOUS_PACKAGE, TYPOSQUAT, UNCHECKED_PACKAGE, VULNERABLE_PACKAGE};
use crate::typosquat::Typosquat;
use crate::verdict::{AdvisoryMatch, PackageRef, PackageVerdict};

/// Findings for one audited package at `location` (where its manifest or environment
/// names it): one per matched advisory, so that each can be waived on its own, plus one
/// `audit/unchecked-package` when the version could not be checked. A clean verdict and
/// withdrawn advisories give none.
pub fn verdict_findings(verdict: &PackageVerdict, location: &Location, out: &mut Vec<Finding>) {
    let name = &verdict.package.name;
    let version = verdict
        .package
        .version
        .as_deref()
        .unwrap_or("(unknown version)");
    for advisory in &verdict.matches {
        let finding = match advisory.kind {
            AdvisoryKind::Malicious => Finding::new(
                &MALICIOUS_PACKAGE,
                location.clone(),
                format!(
                    "{name} {version} is a known malicious package: {}: {}",
                    identify(advisory),
                    advisory.summary
                ),
            )
            .with_fix(format!(
                "Remove {name} now and treat every machine it was installed on as compromised: \
                 rotate the credentials its environment could read."
            )),
            AdvisoryKind::Vulnerability => Finding::new(
                &VULNERABLE_PACKAGE,
                location.clone(),
                vulnerability_message(verdict, advisory, name, version),
            )
            .with_fix(match &verdict.fix {
                Some(fix) => format!(
                    "Upgrade {name} to {fix} or later: the least known release that fixes all {} \
                     advisor{} matched for {name} {version}.",
                    verdict.matches.len(),
                    if verdict.matches.len() == 1 {
                        "y"
                    } else {
                        "ies"
                    }
                ),
                None => format!(
                    "No release is known to fix every advisory for {name} {version}: remove it, \
                     or mitigate and waive the finding with an expiry date."
                ),
            }),
        };
        out.push(
            finding
                .with_severity(advisory.rating.severity)
                .with_evidence(format!("{name}=={version} {}", advisory.id)),
        );
    }
    if let Some(reason) = &verdict.unchecked {
        out.push(
            Finding::new(
                &UNCHECKED_PACKAGE,
                location.clone(),
                format!("{name} could not be checked against the advisory database: {reason}"),
            )
            .with_evidence(format!("{name} {version}")),
        );
    }
}

/// The finding for a dependency whose name imitates a popular package.
pub fn typosquat_finding(package: &PackageRef, squat: &Typosquat, location: &Location) -> Finding {
    Finding::new(
        &TYPOSQUAT,
        location.clone(),
        format!(
            "{} is not a popular package, but its name imitates the popular {} ({})",
            package.name, squat.target, squat.technique
        ),
    )
    .with_evidence(format!("{} ~ {}", squat.name, squat.target))
    .with_fix(format!(
        "Check that {} is the project you meant; if you meant {}, correct the name and check \
         what {} ran when it was installed.",
        package.name, squat.target, package.name
    ))
}

/// `PYSEC-2021-98 (CVE-2021-33203, GHSA-68w8-qjq3-2gfm)`.
fn identify(advisory: &AdvisoryMatch) -> String {
    if advisory.aliases.is_empty() {
        advisory.id.clone()
    } else {
        format!("{} ({})", advisory.id, advisory.aliases.join(", "))
    }
}

fn vulnerability_message(
    verdict: &PackageVerdict,
    advisory: &AdvisoryMatch,
    name: &str,
    version: &str,
) -> String {
    let rating = &advisory.rating;
    let severity = match (&rating.basis, rating.score) {
        (RatingBasis::Cvss { vector }, Some(score)) => {
            format!("{} (CVSS {score:.1}, {vector})", rating.severity)
        }
        (RatingBasis::Label { label }, _) => {
            format!("{} (advisory label {label})", rating.severity)
        }
        _ => format!("{} (the advisory gives no rating)", rating.severity),
    };
    let mut message = format!(
        "{name} {version} is affected by {}: {}; severity {severity}",
        identify(advisory),
        advisory.summary
    );
    if advisory.fixed.is_empty() {
        message.push_str("; no fixed version is published");
    } else {
        message.push_str(&format!("; fixed in {}", advisory.fixed.join(", ")));
    }
    if !advisory.last_affected.is_empty() {
        message.push_str(&format!(
            "; last affected {}",
            advisory.last_affected.join(", ")
        ));
    }
    match &verdict.fix {
        Some(fix) => message.push_str(&format!("; upgrade to {fix}")),
        None => message.push_str("; no known upgrade fixes all its advisories"),
    }
    if !advisory.unparsed_versions.is_empty() {
        message.push_str(&format!(
            " (the advisory also lists {} version string(s) that are not PEP 440 and were \
             ignored, e.g. '{}')",
            advisory.unparsed_versions.len(),
            advisory
                .unparsed_versions
                .first()
                .map_or("", String::as_str)
        ));
    }
    message
}

#[cfg(test)]
mod tests {
    use rampart_core::Severity;

    use super::*;
    use crate::compile::Rating;
    use crate::verdict::Unchecked;

    fn advisory(id: &str, kind: AdvisoryKind, rating: Rating) -> AdvisoryMatch {
        AdvisoryMatch {
            id: id.into(),
            aliases: vec!["CVE-2021-1".into(), "GHSA-aaaa-bbbb-cccc".into()],
            summary: "Something bad".into(),
            kind,
            rating,
            fixed: vec!["2.2.24".into(), "3.2.4".into()],
            last_affected: Vec::new(),
            unparsed_versions: vec!["0.3.2d".into()],
            published: None,
            modified: None,
        }
    }

    fn verdict(matches: Vec<AdvisoryMatch>, fix: Option<&str>) -> PackageVerdict {
        PackageVerdict {
            package: PackageRef::new("Django", "3.2.1"),
            normalized_name: "django".into(),
            matches,
            withdrawn: vec!["PYSEC-W".into()],
            fix: fix.map(Into::into),
            unchecked: None,
        }
    }

    #[test]
    fn one_finding_per_advisory_naming_everything_the_user_needs() {
        let cvss = Rating {
            severity: Severity::Critical,
            score: Some(9.8),
            basis: RatingBasis::Cvss {
                vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H".into(),
            },
        };
        let unrated = Rating {
            severity: Severity::High,
            score: None,
            basis: RatingBasis::Unrated,
        };
        let v = verdict(
            vec![
                advisory("PYSEC-1", AdvisoryKind::Vulnerability, cvss),
                advisory("PYSEC-2", AdvisoryKind::Vulnerability, unrated),
            ],
            Some("3.2.4"),
        );
        let mut out = Vec::new();
        verdict_findings(
            &v,
            &Location::file("requirements.txt").at_line(3, None),
            &mut out,
        );
        assert_eq!(out.len(), 2, "withdrawn advisories give no finding");
        let first = &out[0];
        assert_eq!(first.rule.id, "audit/vulnerable-package");
        assert_eq!(first.severity, Severity::Critical);
        for part in [
            "Django 3.2.1",
            "PYSEC-1 (CVE-2021-1, GHSA-aaaa-bbbb-cccc)",
            "Something bad",
            "critical (CVSS 9.8, CVSS:3.1/",
            "fixed in 2.2.24, 3.2.4",
            "upgrade to 3.2.4",
            "'0.3.2d'",
        ] {
            assert!(
                first.message.contains(part),
                "{part} missing: {}",
                first.message
            );
        }
        assert_eq!(first.evidence.as_deref(), Some("Django==3.2.1 PYSEC-1"));
        assert!(first.remediation().contains("Upgrade Django to 3.2.4"));
        assert!(first.remediation().contains("all 2 advisories"));
        assert_eq!(out[1].severity, Severity::High);
        assert!(out[1].message.contains("no rating"));
        assert_ne!(first.fingerprint(), out[1].fingerprint());
    }

    #[test]
    fn malicious_packages_are_critical_and_unchecked_ones_are_reported() {
        let mal = Rating {
            severity: Severity::Critical,
            score: None,
            basis: RatingBasis::Malicious,
        };
        let mut v = verdict(
            vec![advisory("MAL-2026-1", AdvisoryKind::Malicious, mal)],
            None,
        );
        v.unchecked = Some(Unchecked::MissingVersion);
        let mut out = Vec::new();
        verdict_findings(&v, &Location::file("env"), &mut out);
        assert_eq!(out[0].rule.id, "audit/malicious-package");
        assert_eq!(out[0].severity, Severity::Critical);
        assert!(out[0].remediation().contains("Remove Django"));
        assert_eq!(out[1].rule.id, "audit/unchecked-package");
        assert!(out[1].message.contains("no version is pinned"));
    }

    #[test]
    fn clean_verdicts_give_nothing() {
        let mut out = Vec::new();
        verdict_findings(&verdict(Vec::new(), None), &Location::file("env"), &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn typosquat_findings_name_the_target_and_technique() {
        let squat = Typosquat {
            name: "0requests".into(),
            target: "requests".into(),
            technique: crate::typosquat::Technique::Affix { affix: "0".into() },
        };
        let finding = typosquat_finding(
            &PackageRef::new("0requests", "0.0.1"),
            &squat,
            &Location::file("requirements.txt"),
        );
        assert_eq!(finding.rule.id, "audit/typosquat");
        assert!(
            finding
                .message
                .contains("imitates the popular requests ('0' added")
        );
    }
}
