//! What could not be read or understood. Collection goes on past every problem; the CLI turns
//! each into a finding so that nothing is dropped silently.

use rampart_core::rules::{LIMIT_EXCEEDED, MALFORMED, UNREADABLE};
use rampart_core::{Finding, Location};
use serde::Serialize;

use crate::rules::UNSUPPORTED_ENTRY;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProblemKind {
    /// The file (or one entry of it) does not follow its format.
    Malformed,
    /// A bound in [`rampart_core::Limits`] was reached; the rest was not read.
    LimitExceeded,
    /// An I/O error, or a file a manifest names that does not exist.
    Unreadable,
    /// Well-formed, but nothing rampart can inventory or audit: an include by URL, a
    /// non-Python SBOM component, an unknown lock-file version.
    Unsupported,
}

/// One thing the inventory could not take in, and where.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub kind: ProblemKind,
    pub location: Location,
    /// What failed and why, naming the entry (and offset or line when the location has none).
    pub message: String,
}

impl Problem {
    pub fn new(kind: ProblemKind, location: Location, message: impl Into<String>) -> Self {
        Problem {
            kind,
            location,
            message: message.into(),
        }
    }

    /// The finding the CLI reports: the shared fail-closed rule for the kind (`scan/*`), or
    /// `inventory/unsupported-entry`.
    pub fn to_finding(&self) -> Finding {
        let rule = match self.kind {
            ProblemKind::Malformed => &MALFORMED,
            ProblemKind::LimitExceeded => &LIMIT_EXCEEDED,
            ProblemKind::Unreadable => &UNREADABLE,
            ProblemKind::Unsupported => &UNSUPPORTED_ENTRY,
        };
        Finding::new(rule, self.location.clone(), self.message.clone())
    }
}
