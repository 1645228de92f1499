//! The user's policy, applied once after every scanner has run: severity overrides and
//! waivers. Allowlists are scanner-specific and live with their scanners' config.

use std::collections::BTreeMap;

use globset::{Glob, GlobMatcher};
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::{Finding, Severity};

/// Accepts a known finding: it is still reported, marked as waived, but does not fail
/// the gate. A reason is mandatory; an expiry date makes the acceptance temporary.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Waiver {
    pub rule: String,
    /// A glob matched against the file path (`models/legacy/*.pkl`) or the container path
    /// (`model.zip!/archive/data.pkl`).
    pub path: String,
    /// Narrows the waiver to findings about one thing inside the file, a glob matched
    /// against the finding's resource: a data column (`column amount`), an IaC resource
    /// (`aws_s3_bucket.logs`), a workflow job. Without it every resource in `path` matches.
    #[serde(default)]
    pub resource: Option<String>,
    pub reason: String,
    /// Last day on which the waiver applies: `expires = 2027-01-31` (a TOML date) or the
    /// same as a string.
    #[serde(default, deserialize_with = "deserialize_date")]
    pub expires: Option<Date>,
}

fn deserialize_date<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Date>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum RawDate {
        Text(String),
        Toml(toml::value::Datetime),
    }
    let text = match RawDate::deserialize(d)? {
        RawDate::Text(text) => text,
        RawDate::Toml(datetime) => datetime.to_string(),
    };
    text.parse::<Date>().map(Some).map_err(|e| {
        serde::de::Error::custom(format!(
            "invalid expiry date `{text}` (expected YYYY-MM-DD): {e}"
        ))
    })
}

/// What the report says about a waiver that covered a finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AppliedWaiver {
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("waiver for `{rule}` on `{path}` has no reason: every waiver must say why")]
    MissingReason { rule: String, path: String },
    #[error("waiver for `{rule}` has an invalid path glob `{path}`: {source}")]
    BadGlob {
        rule: String,
        path: String,
        source: globset::Error,
    },
    #[error("unknown rule id `{0}` (run `rampart rules` to list them)")]
    UnknownRule(String),
}

/// Severity overrides and waivers, validated and ready to apply.
#[derive(Debug, Default)]
pub struct Policy {
    severity: BTreeMap<String, Severity>,
    waivers: Vec<CompiledWaiver>,
}

#[derive(Debug)]
struct CompiledWaiver {
    waiver: Waiver,
    path: GlobMatcher,
    resource: Option<GlobMatcher>,
}

impl CompiledWaiver {
    fn matches(&self, finding: &Finding, container_path: &str) -> bool {
        self.waiver.rule == finding.rule.id
            && (self.path.is_match(&finding.location.path) || self.path.is_match(container_path))
            && self.resource.as_ref().is_none_or(|resource| {
                finding
                    .location
                    .resource
                    .as_deref()
                    .is_some_and(|name| resource.is_match(name))
            })
    }

    /// How notices name the waiver: its rule, path and resource.
    fn describe(&self) -> String {
        match &self.waiver.resource {
            Some(resource) => format!(
                "`{}` on `{}` (resource `{resource}`)",
                self.waiver.rule, self.waiver.path
            ),
            None => format!("`{}` on `{}`", self.waiver.rule, self.waiver.path),
        }
    }
}

impl Policy {
    /// Validates the policy: every rule id must be one of `known_rule_ids`, every waiver
    /// needs a reason and a valid glob.
    pub fn new<'a>(
        severity: BTreeMap<String, Severity>,
        waivers: Vec<Waiver>,
        known_rule_ids: impl IntoIterator<Item = &'a str> + Clone,
    ) -> Result<Self, PolicyError> {
        let known = |id: &str| known_rule_ids.clone().into_iter().any(|k| k == id);
        if let Some(unknown) = severity.keys().find(|id| !known(id)) {
            return Err(PolicyError::UnknownRule(unknown.clone()));
        }
        let mut compiled = Vec::with_capacity(waivers.len());
        for waiver in waivers {
            if !known(&waiver.rule) {
                return Err(PolicyError::UnknownRule(waiver.rule));
            }
            if waiver.reason.trim().is_empty() {
                return Err(PolicyError::MissingReason {
                    rule: waiver.rule,
                    path: waiver.path,
                });
            }
            let glob = |pattern: &str| {
                Glob::new(pattern)
                    .map(|glob| glob.compile_matcher())
                    .map_err(|source| PolicyError::BadGlob {
                        rule: waiver.rule.clone(),
                        path: pattern.to_owned(),
                        source,
                    })
            };
            let path = glob(&waiver.path)?;
            let resource = waiver.resource.as_deref().map(glob).transpose()?;
            compiled.push(CompiledWaiver {
                waiver,
                path,
                resource,
            });
        }
        Ok(Policy {
            severity,
            waivers: compiled,
        })
    }

    /// Applies overrides, then waivers, and returns notices about the policy itself
    /// (expired waivers, waivers that matched nothing) for the report.
    pub fn apply(&self, findings: &mut [Finding], today: Date) -> Vec<String> {
        let mut used = vec![false; self.waivers.len()];
        for finding in findings.iter_mut() {
            if let Some(&severity) = self.severity.get(finding.rule.id) {
                finding.severity = severity;
            }
            let container_path = finding.location.container_path();
            for (i, compiled) in self.waivers.iter().enumerate() {
                if !compiled.matches(finding, &container_path) {
                    continue;
                }
                let waiver = &compiled.waiver;
                used[i] = true;
                if waiver.expires.is_some_and(|expiry| expiry < today) {
                    continue;
                }
                finding.waiver = Some(AppliedWaiver {
                    reason: waiver.reason.clone(),
                    expires: waiver.expires.map(|d| d.to_string()),
                });
                break;
            }
        }
        let mut notices = Vec::new();
        for (compiled, used) in self.waivers.iter().zip(used) {
            match compiled.waiver.expires {
                Some(expiry) if expiry < today => notices.push(format!(
                    "waiver for {} expired on {expiry}; it no longer applies{}",
                    compiled.describe(),
                    if used {
                        " and its findings count again"
                    } else {
                        ""
                    }
                )),
                _ if !used => notices.push(format!(
                    "waiver for {} matched no finding; remove it if the problem is fixed",
                    compiled.describe()
                )),
                _ => {}
            }
        }
        notices
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Location, rules};

    fn waiver(path: &str, expires: Option<&str>) -> Waiver {
        Waiver {
            rule: "scan/malformed".into(),
            path: path.into(),
            resource: None,
            reason: "vendor file, tracked in TICKET-1".into(),
            expires: expires.map(|d| d.parse().unwrap()),
        }
    }

    fn finding(path: &str) -> Finding {
        Finding::new(&rules::MALFORMED, Location::file(path), "truncated")
    }

    const IDS: [&str; 2] = ["scan/malformed", "scan/encrypted"];

    #[test]
    fn waiver_applies_until_expiry_and_then_says_so() {
        let today: Date = "2026-11-23".parse().unwrap();
        let policy = Policy::new(
            BTreeMap::new(),
            vec![
                waiver("models/*.pkl", Some("2026-11-23")),
                waiver("old/*", Some("2026-01-01")),
            ],
            IDS,
        )
        .unwrap();
        let mut findings = vec![
            finding("models/a.pkl"),
            finding("old/b.pkl"),
            finding("c.pkl"),
        ];
        let notices = policy.apply(&mut findings, today);
        assert!(findings[0].waiver.is_some(), "valid through its expiry day");
        assert!(
            findings[1].waiver.is_none(),
            "expired waiver must not apply"
        );
        assert!(findings[2].waiver.is_none());
        assert_eq!(notices.len(), 1);
        assert!(notices[0].contains("expired on 2026-01-01"), "{notices:?}");
    }

    #[test]
    fn rejects_reasonless_waivers_and_unknown_rules() {
        let mut w = waiver("*", None);
        w.reason = "  ".into();
        assert!(matches!(
            Policy::new(BTreeMap::new(), vec![w], IDS),
            Err(PolicyError::MissingReason { .. })
        ));
        let severity = BTreeMap::from([("pickle/nope".to_owned(), Severity::Low)]);
        assert!(matches!(
            Policy::new(severity, vec![], IDS),
            Err(PolicyError::UnknownRule(_))
        ));
    }

    #[test]
    fn a_resource_narrows_the_waiver_to_matching_findings_in_the_file() {
        let mut narrow = waiver("data/*.csv", None);
        narrow.resource = Some("column amount*".into());
        let policy = Policy::new(BTreeMap::new(), vec![narrow], IDS).unwrap();
        let about = |resource: Option<&str>| {
            let mut finding = finding("data/current.csv");
            finding.location.resource = resource.map(str::to_owned);
            finding
        };
        let mut findings = vec![
            about(Some("column amount_usd")),
            about(Some("column country")),
            about(None),
        ];
        let notices = policy.apply(&mut findings, "2026-01-01".parse().unwrap());
        assert!(findings[0].waiver.is_some());
        assert!(findings[1].waiver.is_none(), "another column");
        assert!(findings[2].waiver.is_none(), "no resource to match");
        assert!(notices.is_empty(), "{notices:?}");
        let mut unused = vec![about(Some("column country"))];
        let notices = policy.apply(&mut unused, "2026-01-01".parse().unwrap());
        assert!(
            notices[0].contains("(resource `column amount*`) matched no finding"),
            "{notices:?}"
        );
    }

    #[test]
    fn severity_override_applies() {
        let severity = BTreeMap::from([("scan/malformed".to_owned(), Severity::Low)]);
        let policy = Policy::new(severity, vec![], IDS).unwrap();
        let mut findings = vec![finding("x")];
        policy.apply(&mut findings, "2026-01-01".parse().unwrap());
        assert_eq!(findings[0].severity, Severity::Low);
    }
}
