//! What an audit says about each package.

use serde::Serialize;

use crate::compile::{AdvisoryKind, Rating};

/// A package to check: its name as the manifest or environment spells it, and its
/// installed or pinned version (`None` when nothing pins it).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct PackageRef {
    pub name: String,
    pub version: Option<String>,
}

impl PackageRef {
    pub fn new(name: impl Into<String>, version: impl Into<String>) -> Self {
        PackageRef {
            name: name.into(),
            version: Some(version.into()),
        }
    }
}

/// An OS package to check: the OSV ecosystem of its distribution release (`Debian:12`,
/// `Alpine:v3.20`), its source package name (what Debian and Alpine advisories name) and
/// that source package's version.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct OsPackageRef {
    pub ecosystem: String,
    pub name: String,
    pub version: Option<String>,
}

/// The audit of one package.
#[derive(Clone, Debug, Serialize)]
pub struct PackageVerdict {
    pub package: PackageRef,
    /// The PEP 503 name the database was searched for.
    pub normalized_name: String,
    /// Advisories that affect the version (withdrawn ones excluded), most severe first.
    /// When the version could not be checked, only those affecting every version.
    pub matches: Vec<AdvisoryMatch>,
    /// Withdrawn advisories that would otherwise match: counted, never reported as
    /// vulnerabilities.
    pub withdrawn: Vec<String>,
    /// The least known version above the installed one that no matched vulnerability
    /// affects (a final release when one qualifies). `None` when nothing matched, a
    /// matched advisory is malicious (no upgrade fixes malware), or no such version is known.
    pub fix: Option<String>,
    /// Set when the package could not be checked: never read as "no known vulnerabilities".
    pub unchecked: Option<Unchecked>,
}

impl PackageVerdict {
    pub fn is_malicious(&self) -> bool {
        self.matches
            .iter()
            .any(|m| m.kind == AdvisoryKind::Malicious)
    }

    /// Checked, and no advisory matched.
    pub fn is_clean(&self) -> bool {
        self.unchecked.is_none() && self.matches.is_empty()
    }
}

/// Why a package could not be checked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Unchecked {
    #[error("no version is pinned or installed")]
    MissingVersion,
    #[error("version '{version}' is not a valid version of its ecosystem ({error})")]
    InvalidVersion { version: String, error: String },
    #[error("its entry in the advisory database is damaged ({detail})")]
    DamagedEntry { detail: String },
}

/// One advisory that affects the audited version.
#[derive(Clone, Debug, Serialize)]
pub struct AdvisoryMatch {
    pub id: String,
    /// CVE, GHSA and other ids of the same advisory.
    pub aliases: Vec<String>,
    pub summary: String,
    pub kind: AdvisoryKind,
    pub rating: Rating,
    /// Every `fixed` version the advisory gives for this package, ascending (one per
    /// release branch).
    pub fixed: Vec<String>,
    /// `last_affected` versions, for advisories that know no fix.
    pub last_affected: Vec<String>,
    /// Version strings in the advisory that are not PEP 440 and were skipped.
    pub unparsed_versions: Vec<String>,
    pub published: Option<String>,
    pub modified: Option<String>,
}
