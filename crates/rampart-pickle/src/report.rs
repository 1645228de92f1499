//! Collects one scan's findings: repeated findings about the same subject (the same
//! global called a thousand times) become one finding with a count, and the total is
//! capped so that a crafted file cannot flood the report.

use std::collections::HashMap;

use rampart_core::{Finding, Location, Rule, rules as core_rules};

/// Distinct findings one scan reports before it summarises the rest.
const MAX_FINDINGS: usize = 256;

#[derive(Default)]
pub(crate) struct Reporter {
    findings: Vec<Finding>,
    /// `rule id:subject` to the index of its finding.
    seen: HashMap<String, usize>,
    /// Extra occurrences per finding index.
    repeats: HashMap<usize, u64>,
    suppressed: u64,
    first_suppressed: Option<Location>,
}

impl Reporter {
    /// True (and counted) when a finding of `rule` about `subject` was reported before:
    /// callers check this before rendering evidence for a repeat.
    pub(crate) fn repeat(&mut self, rule: &Rule, subject: &str) -> bool {
        let key = format!("{}:{subject}", rule.id);
        match self.seen.get(&key) {
            Some(&index) => {
                *self.repeats.entry(index).or_default() += 1;
                true
            }
            None => false,
        }
    }

    /// Adds a finding; one with the same rule and `subject` as an earlier one only
    /// increments that one's count.
    pub(crate) fn report(&mut self, finding: Finding, subject: Option<String>) {
        if let Some(subject) = subject {
            if self.repeat(finding.rule, &subject) {
                return;
            }
            if self.findings.len() < MAX_FINDINGS {
                self.seen.insert(
                    format!("{}:{subject}", finding.rule.id),
                    self.findings.len(),
                );
            }
        }
        if self.findings.len() >= MAX_FINDINGS {
            self.suppressed += 1;
            self.first_suppressed.get_or_insert(finding.location);
            return;
        }
        self.findings.push(finding);
    }

    pub(crate) fn finish(mut self, out: &mut Vec<Finding>) {
        for (index, extra) in self.repeats {
            if let Some(finding) = self.findings.get_mut(index) {
                finding.message.push_str(&format!(
                    " (and {extra} more time{})",
                    if extra == 1 { "" } else { "s" }
                ));
            }
        }
        out.append(&mut self.findings);
        if self.suppressed > 0 {
            out.push(Finding::new(
                &core_rules::LIMIT_EXCEEDED,
                self.first_suppressed.unwrap_or_default(),
                format!(
                    "the pickle produced more than {MAX_FINDINGS} distinct findings; {} more were not reported",
                    self.suppressed
                ),
            ));
        }
    }
}
