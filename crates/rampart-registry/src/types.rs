//! The registry's records: tokens and roles, namespaces and their policies, versions, their
//! gate results, approvals and stage history. They are what the API returns and what a
//! [`crate::store::MetadataStore`] keeps.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::names::Digest;

/// What a token may do, in one namespace or in all (`*`). Roles do not nest: an admin is not
/// an approver, an approver is not a publisher; every role may read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Read metadata, the audit log, and the blobs of versions that passed their gates.
    Reader,
    /// Also upload blobs and create versions.
    Publisher,
    /// Also approve, promote and roll back versions published by someone else.
    Approver,
    /// Also manage namespaces, policies and tokens, yank versions and override (with a
    /// reason) promotion requirements.
    Admin,
}

impl Role {
    /// Every role, in increasing order of privilege.
    pub const ALL: [Role; 4] = [Role::Reader, Role::Publisher, Role::Approver, Role::Admin];

    /// The lower-case name used on the command line and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Role::Reader => "reader",
            Role::Publisher => "publisher",
            Role::Approver => "approver",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|role| role.name() == text)
            .ok_or_else(|| {
                format!("unknown role {text:?}: use reader, publisher, approver or admin")
            })
    }
}

/// What a request wants to do; [`Principal::may`] decides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Permission {
    Read,
    Publish,
    Approve,
    Administer,
}

/// The namespace a token is limited to, or every namespace.
pub const ALL_NAMESPACES: &str = "*";

/// An issued token, without its secret (only the secret's SHA-256 is stored).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct TokenRecord {
    pub id: String,
    pub user: String,
    pub role: Role,
    /// A namespace name or `*`.
    pub namespace: String,
    /// RFC 3339; `None` never expires.
    pub expires_at: Option<String>,
    pub revoked: bool,
    pub created_at: String,
    pub created_by: String,
}

/// The authenticated caller of a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub user: String,
    pub role: Role,
    pub namespace: String,
    pub token_id: String,
}

impl Principal {
    /// Whether this principal's token covers `namespace`.
    pub fn covers(&self, namespace: &str) -> bool {
        self.namespace == ALL_NAMESPACES || self.namespace == namespace
    }

    /// Whether the role grants `permission` in `namespace`.
    pub fn may(&self, permission: Permission, namespace: &str) -> bool {
        let granted = match permission {
            Permission::Read => true,
            Permission::Publish => self.role == Role::Publisher,
            Permission::Approve => self.role == Role::Approver,
            Permission::Administer => self.role == Role::Admin,
        };
        granted && self.covers(namespace)
    }
}

/// What a stage requires of a version before it may be promoted into it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StagePolicy {
    /// A signature by one of the namespace's trusted keys must have verified.
    #[serde(default)]
    pub require_signature: bool,
    /// A provenance attestation by a trusted key, naming the model as its product, must have
    /// verified.
    #[serde(default)]
    pub require_provenance: bool,
    /// Distinct approvers (never the publisher) needed; at least 1.
    #[serde(default = "one")]
    pub approvals: u32,
}

fn one() -> u32 {
    1
}

impl Default for StagePolicy {
    fn default() -> Self {
        StagePolicy {
            require_signature: false,
            require_provenance: false,
            approvals: 1,
        }
    }
}

/// A namespace's configuration, set by an admin with `PUT /namespaces/{ns}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamespacePolicy {
    /// PEM public keys whose signatures and attestations the gates accept.
    #[serde(default)]
    pub trusted_keys: Vec<String>,
    /// Requirements per stage; a stage not listed needs one approval and nothing else.
    #[serde(default)]
    pub stages: BTreeMap<String, StagePolicy>,
}

impl NamespacePolicy {
    /// The requirements of `stage`.
    pub fn stage(&self, stage: &str) -> StagePolicy {
        self.stages.get(stage).cloned().unwrap_or_default()
    }
}

/// A namespace and its policy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Namespace {
    pub name: String,
    pub policy: NamespacePolicy,
    pub updated_at: String,
    pub updated_by: String,
}

/// Where a version is in its life. It only moves forward (to `yanked` from anywhere).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Created; gates not run or a gate failed (see the reason). Never served.
    Quarantined,
    /// The scan passed; no signature was given.
    Scanned,
    /// The scan passed and the signature verified.
    Verified,
    /// Approved by at least one approver other than the publisher.
    Approved,
    /// Withdrawn by an admin; never served again.
    Yanked,
}

impl State {
    /// The lower-case name stored and returned.
    pub fn name(self) -> &'static str {
        match self {
            State::Quarantined => "quarantined",
            State::Scanned => "scanned",
            State::Verified => "verified",
            State::Approved => "approved",
            State::Yanked => "yanked",
        }
    }

    /// Whether its files may be downloaded: every gate it was given passed and it is not
    /// yanked.
    pub fn servable(self) -> bool {
        matches!(self, State::Scanned | State::Verified | State::Approved)
    }
}

impl FromStr for State {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        [
            State::Quarantined,
            State::Scanned,
            State::Verified,
            State::Approved,
            State::Yanked,
        ]
        .into_iter()
        .find(|state| state.name() == text)
        .ok_or_else(|| format!("unknown state {text:?}"))
    }
}

/// One file of a version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    pub path: String,
    pub digest: Digest,
    pub size: u64,
}

/// The outcome of one gate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateResult {
    /// `passed`, `failed` or `absent` (nothing to check: no signature or provenance given).
    pub status: GateStatus,
    /// What was checked and what was found, for people.
    pub detail: String,
}

/// See [`GateResult::status`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GateStatus {
    Passed,
    Failed,
    Absent,
}

/// Every gate's outcome for a version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gates {
    pub scan: GateResult,
    /// The `rampart scan` JSON report of the version's files.
    pub scan_report: serde_json::Value,
    pub signature: GateResult,
    pub provenance: GateResult,
}

/// An approval of a version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    pub user: String,
    pub time: String,
}

/// One move of a stage pointer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageEvent {
    pub stage: String,
    pub version: String,
    /// `promote`, `rollback` or `override`.
    pub action: String,
    pub actor: String,
    pub time: String,
    /// Given for overrides.
    pub reason: Option<String>,
}

/// A log entry recorded for an object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRef {
    pub action: String,
    /// Its index in the transparency log (`None` only in the instant between the database
    /// commit and the log append).
    pub index: Option<u64>,
}

/// A model version and everything known about it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionRecord {
    pub namespace: String,
    pub model: String,
    pub version: String,
    pub files: Vec<FileEntry>,
    /// SHA-256 of the canonical manifest (sorted `path digest size` lines): the version's
    /// content identity.
    pub manifest_digest: Digest,
    /// The OMS signature bundle given at creation, if any.
    pub signature: Option<serde_json::Value>,
    /// The SLSA provenance envelope given at creation, if any.
    pub provenance: Option<serde_json::Value>,
    pub publisher: String,
    pub state: State,
    /// Why it is quarantined or yanked.
    pub reason: Option<String>,
    pub created_at: String,
    pub gates: Option<Gates>,
    pub approvals: Vec<Approval>,
    pub audit: Vec<AuditRef>,
    /// Every time a stage was pointed at this version.
    #[serde(default)]
    pub stage_history: Vec<StageEvent>,
}

impl VersionRecord {
    /// `ns/model:version`, the object name in audit entries.
    pub fn object(&self) -> String {
        version_object(&self.namespace, &self.model, &self.version)
    }
}

/// `ns/model:version`.
pub fn version_object(namespace: &str, model: &str, version: &str) -> String {
    format!("{namespace}/{model}:{version}")
}

/// The content identity of a file list: SHA-256 over `path\0digest\0size\n` lines sorted by
/// path, so the same files in any order give the same digest.
pub fn manifest_digest(files: &[FileEntry]) -> Digest {
    let mut sorted: Vec<&FileEntry> = files.iter().collect();
    sorted.sort_by(|a, b| a.path.cmp(&b.path));
    let mut text = Vec::new();
    for file in sorted {
        text.extend_from_slice(
            format!("{}\0{}\0{}\n", file.path, file.digest, file.size).as_bytes(),
        );
    }
    crate::names::sha256(&text)
}

/// A model and where its stages point.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelSummary {
    pub namespace: String,
    pub model: String,
    pub versions: u64,
    /// Stage name → current version.
    pub stages: BTreeMap<String, String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_do_not_nest() {
        let principal = |role| Principal {
            user: "u".into(),
            role,
            namespace: "ns".into(),
            token_id: "t".into(),
        };
        assert!(principal(Role::Admin).may(Permission::Administer, "ns"));
        assert!(!principal(Role::Admin).may(Permission::Approve, "ns"));
        assert!(!principal(Role::Admin).may(Permission::Publish, "ns"));
        assert!(!principal(Role::Approver).may(Permission::Publish, "ns"));
        assert!(!principal(Role::Publisher).may(Permission::Approve, "ns"));
        assert!(principal(Role::Reader).may(Permission::Read, "ns"));
        assert!(!principal(Role::Reader).may(Permission::Read, "other"));
    }

    #[test]
    fn manifest_digest_ignores_order_but_not_content() {
        let a = FileEntry {
            path: "a".into(),
            digest: crate::names::sha256(b"a"),
            size: 1,
        };
        let b = FileEntry {
            path: "b".into(),
            digest: crate::names::sha256(b"b"),
            size: 1,
        };
        assert_eq!(
            manifest_digest(&[a.clone(), b.clone()]),
            manifest_digest(&[b.clone(), a.clone()])
        );
        let mut changed = b.clone();
        changed.size = 2;
        assert_ne!(
            manifest_digest(&[a.clone(), b]),
            manifest_digest(&[a, changed])
        );
    }

    #[test]
    fn policies_reject_unknown_fields_and_default_to_one_approval() {
        let policy: NamespacePolicy =
            serde_json::from_str(r#"{"stages":{"production":{"require_signature":true}}}"#)
                .expect("valid policy");
        assert_eq!(policy.stage("production").approvals, 1);
        assert!(policy.stage("production").require_signature);
        assert!(!policy.stage("staging").require_signature);
        assert!(serde_json::from_str::<NamespacePolicy>(r#"{"stagez":{}}"#).is_err());
    }
}
