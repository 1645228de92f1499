//! Baselines: the findings of an earlier report, accepted once, so only new findings fail a
//! gate. A baseline is any rampart JSON report; findings are matched by fingerprint, as many
//! times as the baseline holds each one.

use std::collections::HashMap;

use crate::Finding;
use crate::policy::AppliedWaiver;

/// Fingerprints accepted by a baseline report, with how many times each was present.
#[derive(Debug, Clone)]
pub struct Baseline {
    source: String,
    accepted: HashMap<String, usize>,
}

#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error("{source_name} is not a rampart JSON report (`rampart scan --format json`): {reason}")]
    NotAReport { source_name: String, reason: String },
}

impl Baseline {
    /// Reads a JSON report written by `rampart … --format json`.
    pub fn from_report(bytes: &[u8], source_name: &str) -> Result<Baseline, BaselineError> {
        let not_a_report = |reason: String| BaselineError::NotAReport {
            source_name: source_name.to_owned(),
            reason,
        };
        let report: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|error| not_a_report(error.to_string()))?;
        let findings = report["findings"]
            .as_array()
            .ok_or_else(|| not_a_report("it has no `findings` list".to_owned()))?;
        let mut accepted = HashMap::new();
        for (index, finding) in findings.iter().enumerate() {
            let fingerprint = finding["fingerprint"]
                .as_str()
                .ok_or_else(|| not_a_report(format!("finding {index} has no fingerprint")))?;
            *accepted.entry(fingerprint.to_owned()).or_insert(0) += 1;
        }
        Ok(Baseline {
            source: source_name.to_owned(),
            accepted,
        })
    }

    /// Marks findings present in the baseline as accepted (reported, but not failing the
    /// gate). Findings already waived keep their waiver. Returns a notice on what happened.
    pub fn apply(&self, findings: &mut [Finding]) -> String {
        let mut remaining = self.accepted.clone();
        let mut matched = 0;
        for finding in findings
            .iter_mut()
            .filter(|finding| finding.waiver.is_none())
        {
            if let Some(count) = remaining.get_mut(&finding.fingerprint())
                && *count > 0
            {
                *count -= 1;
                matched += 1;
                finding.waiver = Some(AppliedWaiver {
                    reason: format!("accepted in baseline {}", self.source),
                    expires: None,
                });
            }
        }
        let gone: usize = remaining.values().sum();
        format!(
            "baseline {}: {matched} findings accepted; {gone} baseline findings no longer occur",
            self.source
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Location, rules};

    #[test]
    fn accepts_each_baselined_finding_once_and_only_those() {
        let old = Finding::new(&rules::MALFORMED, Location::file("a.pt"), "broken");
        let report = serde_json::json!({ "findings": [{ "fingerprint": old.fingerprint() }] });
        let baseline = Baseline::from_report(report.to_string().as_bytes(), "base.json").unwrap();
        let moved = Finding::new(
            &rules::MALFORMED,
            Location::file("a.pt").at_line(40, None),
            "broken",
        );
        let twin = moved.clone();
        let new = Finding::new(&rules::MALFORMED, Location::file("b.pt"), "broken");
        let mut findings = vec![moved, twin, new];
        let notice = baseline.apply(&mut findings);
        assert!(
            findings[0].waiver.is_some(),
            "a finding that moved lines is still the same"
        );
        assert!(findings[1].waiver.is_none(), "a second occurrence is new");
        assert!(findings[2].waiver.is_none());
        assert!(notice.contains("1 findings accepted"));
        assert!(Baseline::from_report(b"{}", "x").is_err());
    }
}
