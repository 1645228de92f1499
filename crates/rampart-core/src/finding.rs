use serde::Serialize;
use serde::ser::SerializeStruct;

use crate::policy::AppliedWaiver;
use crate::{Location, Rule, Severity};

/// One problem found in one place. Every scanner, now and later, reports through this type.
#[derive(Clone, Debug)]
pub struct Finding {
    pub rule: &'static Rule,
    /// Starts as the rule's default; analyzers may rank it (a denylisted call is
    /// critical), and the policy may override it.
    pub severity: Severity,
    /// What is wrong in this instance, in one sentence.
    pub message: String,
    pub location: Location,
    /// What was seen, e.g. the resolved call `os.system('id')`. Scanners that may see
    /// secrets redact them before they get here.
    pub evidence: Option<String>,
    /// A fix specific to this instance; the rule's remediation applies otherwise.
    pub fix: Option<String>,
    /// Set by the policy when a waiver covers this finding: it is reported, but does not
    /// fail the gate.
    pub waiver: Option<AppliedWaiver>,
    /// The third-party package a dependency finding is about, so dependency reports can
    /// name it without parsing the message.
    pub package: Option<PackageCoordinate>,
}

/// A package as dependency reports name it: ecosystem (OSV's names: `PyPI`, `Debian:12`,
/// `Alpine:v3.20`), name, installed version and the least version that fixes the finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PackageCoordinate {
    pub ecosystem: String,
    pub name: String,
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixed_version: Option<String>,
}

impl Finding {
    pub fn new(rule: &'static Rule, location: Location, message: impl Into<String>) -> Self {
        Finding {
            rule,
            severity: rule.severity,
            message: message.into(),
            location,
            evidence: None,
            fix: None,
            waiver: None,
            package: None,
        }
    }

    pub fn with_severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    pub fn with_evidence(mut self, evidence: impl Into<String>) -> Self {
        self.evidence = Some(evidence.into());
        self
    }

    pub fn with_fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }

    pub fn with_package(mut self, package: PackageCoordinate) -> Self {
        self.package = Some(package);
        self
    }

    /// True for the fail-closed rules (`scan/*`): the file could not be fully scanned.
    pub fn marks_incomplete(&self) -> bool {
        self.rule.id.starts_with("scan/")
    }

    pub fn remediation(&self) -> &str {
        self.fix.as_deref().unwrap_or(self.rule.remediation)
    }

    /// A finding counts against `--fail-on` unless a waiver covers it.
    pub fn is_active(&self) -> bool {
        self.waiver.is_none()
    }

    /// Stable identity across runs, for baselines and SARIF: rule, container path, logical
    /// resource and evidence (or the message without its digits), deliberately without lines
    /// and byte offsets, which move when unrelated lines are added above.
    pub fn fingerprint(&self) -> String {
        use std::hash::{Hash, Hasher};
        // FNV-1a: stable across Rust versions, unlike DefaultHasher.
        struct Fnv(u64);
        impl Hasher for Fnv {
            fn finish(&self) -> u64 {
                self.0
            }
            fn write(&mut self, bytes: &[u8]) {
                for b in bytes {
                    self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
                }
            }
        }
        let mut h = Fnv(0xcbf2_9ce4_8422_2325);
        self.rule.id.hash(&mut h);
        self.location.container_path().hash(&mut h);
        self.location.resource.hash(&mut h);
        match &self.evidence {
            Some(evidence) => evidence.hash(&mut h),
            // Messages cite lines and offsets ("the block at line 16"); those move when
            // unrelated lines are added, so digits do not count.
            None => self
                .message
                .chars()
                .filter(|c| !c.is_ascii_digit())
                .for_each(|c| c.hash(&mut h)),
        }
        format!("{:016x}", h.finish())
    }
}

impl Serialize for Finding {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("Finding", 12)?;
        s.serialize_field("rule_id", self.rule.id)?;
        s.serialize_field("severity", &self.severity)?;
        s.serialize_field("title", self.rule.title)?;
        s.serialize_field("message", &self.message)?;
        s.serialize_field("location", &LocationJson(&self.location))?;
        s.serialize_field("evidence", &self.evidence)?;
        s.serialize_field("remediation", self.remediation())?;
        s.serialize_field("references", self.rule.references)?;
        s.serialize_field("fingerprint", &self.fingerprint())?;
        s.serialize_field("waived", &self.waiver)?;
        match &self.package {
            Some(package) => s.serialize_field("package", package)?,
            None => s.skip_field("package")?,
        }
        s.end()
    }
}

/// The JSON shape of a location: the structured parts plus the display string.
struct LocationJson<'a>(&'a Location);

impl Serialize for LocationJson<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let loc = self.0;
        let mut s = serializer.serialize_struct("Location", 7)?;
        s.serialize_field("path", &loc.path)?;
        s.serialize_field("members", &loc.members)?;
        s.serialize_field("offset", &loc.offset)?;
        s.serialize_field("line", &loc.line)?;
        s.serialize_field("column", &loc.column)?;
        s.serialize_field("resource", &loc.resource)?;
        s.serialize_field("display", &loc.to_string())?;
        s.end()
    }
}
