//! Findings from one container, with a cap per rule: a crafted archive with 100 000
//! overlapping members must not turn into 100 000 findings.

use rampart_core::{Finding, Location, Rule};

/// How many findings of one rule a container reports before summarising the rest.
const PER_RULE_CAP: usize = 20;

pub(crate) struct Reporter<'o> {
    out: &'o mut Vec<Finding>,
    /// Where the summary of suppressed findings points: the container itself.
    container: Location,
    counts: Vec<(&'static Rule, usize)>,
}

impl<'o> Reporter<'o> {
    pub fn new(out: &'o mut Vec<Finding>, container: &Location) -> Self {
        Reporter {
            out,
            container: container.clone(),
            counts: Vec::new(),
        }
    }

    pub fn push(&mut self, finding: Finding) {
        let rule = finding.rule;
        let index = match self.counts.iter().position(|(r, _)| r.id == rule.id) {
            Some(index) => index,
            None => {
                self.counts.push((rule, 0));
                self.counts.len() - 1
            }
        };
        let count = &mut self.counts[index].1;
        *count += 1;
        if *count <= PER_RULE_CAP {
            self.out.push(finding);
        }
    }

    /// Adds one summary finding per rule whose findings were cut off.
    pub fn finish(self) {
        for (rule, count) in self.counts {
            if count > PER_RULE_CAP {
                self.out.push(Finding::new(
                    rule,
                    self.container.clone(),
                    format!(
                        "{} more findings of this kind in this container were not listed \
                         ({count} in total)",
                        count - PER_RULE_CAP
                    ),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rampart_core::rules::{MALFORMED, UNKNOWN_FORMAT};

    #[test]
    fn caps_each_rule_and_summarises() {
        let mut out = Vec::new();
        let location = Location::file("a.zip");
        let mut reporter = Reporter::new(&mut out, &location);
        for i in 0..25 {
            reporter.push(Finding::new(
                &MALFORMED,
                location.clone(),
                format!("bad {i}"),
            ));
        }
        reporter.push(Finding::new(&UNKNOWN_FORMAT, location.clone(), "once"));
        reporter.finish();
        assert_eq!(out.len(), PER_RULE_CAP + 2);
        assert!(out.last().is_some_and(|f| f.message.starts_with("5 more")));
    }
}
