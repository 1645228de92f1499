//! A crafted header can hold millions of broken entries; reporting each one would turn the
//! report itself into a denial of service. [`CappedFindings`] keeps the first few findings
//! of every rule and summarises the rest in one more finding of that rule.

use rampart_core::{Finding, Location, Rule};

/// How many findings of one rule one scanned object may report individually.
pub(crate) const MAX_FINDINGS_PER_RULE: usize = 32;

pub(crate) struct CappedFindings<'a> {
    out: &'a mut Vec<Finding>,
    /// Per rule: how many were pushed, and where the first suppressed one was.
    counts: Vec<(&'static Rule, usize, Option<Location>)>,
}

impl<'a> CappedFindings<'a> {
    pub(crate) fn new(out: &'a mut Vec<Finding>) -> Self {
        CappedFindings {
            out,
            counts: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, finding: Finding) {
        let index = match self
            .counts
            .iter()
            .position(|(rule, _, _)| *rule == finding.rule)
        {
            Some(index) => index,
            None => {
                self.counts.push((finding.rule, 0, None));
                self.counts.len() - 1
            }
        };
        let (_, count, first_suppressed) = &mut self.counts[index];
        *count += 1;
        if *count <= MAX_FINDINGS_PER_RULE {
            self.out.push(finding);
        } else if first_suppressed.is_none() {
            *first_suppressed = Some(finding.location);
        }
    }

    /// Adds one summary finding per rule that went over the cap.
    pub(crate) fn finish(self) {
        for (rule, count, first_suppressed) in self.counts {
            if let Some(location) = first_suppressed {
                let more = count - MAX_FINDINGS_PER_RULE;
                self.out.push(Finding::new(
                    rule,
                    location,
                    format!("{more} more findings of this rule, starting here, were not listed one by one"),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rampart_core::rules::MALFORMED;

    #[test]
    fn caps_each_rule_and_summarises_the_rest() {
        let mut out = Vec::new();
        let mut capped = CappedFindings::new(&mut out);
        for i in 0..(MAX_FINDINGS_PER_RULE + 5) {
            capped.push(Finding::new(
                &MALFORMED,
                Location::file("f").at(i as u64),
                "x",
            ));
        }
        capped.finish();
        assert_eq!(out.len(), MAX_FINDINGS_PER_RULE + 1);
        let summary = out.last().unwrap();
        assert!(summary.message.starts_with("5 more"));
        assert_eq!(summary.location.offset, Some(MAX_FINDINGS_PER_RULE as u64));
    }
}
