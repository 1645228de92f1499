//! Building and checking the path from a signing certificate to a trust anchor.
//!
//! Semantics, and where they differ from the reference verifier (model_signing 1.1.1,
//! which asks OpenSSL to verify at the leaf's notBefore and then checks key usage):
//!
//! * Anchors are trusted as given: a path may end at any anchor, including an
//!   intermediate CA or the signing certificate itself (OpenSSL would insist on reaching a
//!   self-signed root unless `X509_V_FLAG_PARTIAL_CHAIN` is set). An anchor's own signature
//!   is not checked; its validity period, CA status, keyUsage, pathLenConstraint and
//!   critical extensions are, as OpenSSL does.
//! * Intermediates are untrusted candidates in any order; duplicates and junk are
//!   skipped. Candidates are chosen by issuer name (string values compared
//!   case-insensitively, as OpenSSL does) and, when both sides carry them, by the
//!   authorityKeyIdentifier. The search backtracks, never revisits a certificate, stops at
//!   [`MAX_PATH_CERTIFICATES`] and gives up after [`MAX_SIGNATURE_CHECKS`] signatures.
//! * Every certificate in the path must be valid at the validation time.
//! * Issuers must be CAs: basicConstraints cA TRUE (an anchor without basicConstraints is
//!   tolerated when it is a v1 certificate or carries keyUsage, as OpenSSL tolerates
//!   roots), keyUsage (if present) with keyCertSign, and pathLenConstraint respected.
//! * A critical extension other than basicConstraints, keyUsage, extKeyUsage,
//!   subjectAltName, certificatePolicies and the key identifiers fails the path.
//!   nameConstraints and policy constraints are not enforced, so certificates that mark
//!   them critical are refused (OpenSSL would enforce them; rampart fails closed).
//! * The signing certificate needs keyUsage digitalSignature or, failing that,
//!   extendedKeyUsage codeSigning (the reference rule). In addition, if it has an
//!   extendedKeyUsage extension, that extension must allow codeSigning or
//!   anyExtendedKeyUsage: RFC 5280 §4.2.1.12 restricts the key to the listed purposes,
//!   so a TLS-server-only certificate cannot sign models even with digitalSignature (the
//!   reference accepts it). A certificate without keyUsage but with EKU codeSigning is
//!   accepted (the reference fails on it because it reads keyUsage unconditionally).
//! * Identity: when the policy lists identities, the signing certificate must carry one
//!   of them exactly (SAN e-mail, URI or DNS value, or subject CN). The reference checks
//!   none.

use std::time::SystemTime;

use const_oid::ObjectIdentifier;
use const_oid::db::rfc5280::{ANY_EXTENDED_KEY_USAGE, ID_KP_CODE_SIGNING};
use x509_cert::certificate::Version;

use crate::certificate::{Certificate, Identity, describe_oid};
use crate::name::names_match;
use crate::signature::{self, Failure};

#[cfg(test)]
mod tests;

/// Most certificates a path may hold, signing certificate and anchor included.
pub const MAX_PATH_CERTIFICATES: usize = 8;

/// Most signatures one path search verifies before giving up (bounds the work a bundle
/// full of same-named certificates can cause).
pub const MAX_SIGNATURE_CHECKS: usize = 64;

/// The time at which every certificate of the path must be valid.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ValidationTime {
    /// The signing certificate's notBefore, as model_signing does: an expired signing
    /// certificate still verifies (the caller learns of it from [`VerifiedPath::leaf_expired`]).
    #[default]
    LeafNotBefore,
    /// A given time, typically now.
    At(SystemTime),
}

/// What a path must satisfy besides chaining to an anchor.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PathPolicy {
    /// When the certificates must be valid.
    pub time: ValidationTime,
    /// Empty: no identity required. Otherwise the leaf must carry one of these values (exact match against
    /// any SAN email/URI/DNS value or the subject CN).
    pub identities: Vec<String>,
}

/// A checked path.
#[derive(Clone, Debug)]
pub struct VerifiedPath {
    /// Leaf first, trust anchor last.
    pub chain: Vec<Certificate>,
    /// The signing certificate's notAfter has passed (the caller reports it as a warning).
    pub leaf_expired: bool,
    /// The leaf identity that satisfied [`PathPolicy::identities`], if any were required.
    pub matched_identity: Option<Identity>,
}

/// Why a signing certificate is not trusted. Certificates are named by subject.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// No trust anchor was given.
    #[error("no trust anchors were given")]
    NoAnchors,
    /// No certificate among the anchors and intermediates can have issued `subject`.
    #[error(
        "no path to a trust anchor: `{subject}` was issued by `{issuer}`, which is neither a given trust anchor nor among the certificates that chain to one"
    )]
    UntrustedIssuer {
        /// The certificate whose issuer is missing.
        subject: String,
        /// The issuer name it carries.
        issuer: String,
    },
    /// The signature on `subject` does not verify with the key of `issuer`.
    #[error("the signature on `{subject}` does not verify with the key of `{issuer}` ({detail})")]
    BadSignature {
        /// The signed certificate.
        subject: String,
        /// The candidate issuer.
        issuer: String,
        /// Algorithm and key the check used.
        detail: String,
    },
    /// A certificate's validity starts after the validation time.
    #[error("`{subject}` is not valid before {not_before}; the validation time is {at}")]
    NotYetValid {
        /// The certificate.
        subject: String,
        /// Its notBefore (RFC 3339).
        not_before: String,
        /// The validation time and where it came from.
        at: String,
    },
    /// A certificate's validity ended before the validation time.
    #[error("`{subject}` expired at {not_after}; the validation time is {at}")]
    Expired {
        /// The certificate.
        subject: String,
        /// Its notAfter (RFC 3339).
        not_after: String,
        /// The validation time and where it came from.
        at: String,
    },
    /// An issuer is not a CA.
    #[error("`{issuer}` issued `{subject}` but is not a CA: {reason}")]
    NotCa {
        /// The would-be issuer.
        issuer: String,
        /// The certificate it signed.
        subject: String,
        /// What its basicConstraints say.
        reason: String,
    },
    /// An issuer's keyUsage does not include keyCertSign.
    #[error("`{issuer}` issued `{subject}` but its keyUsage does not include keyCertSign")]
    NoKeyCertSign {
        /// The would-be issuer.
        issuer: String,
        /// The certificate it signed.
        subject: String,
    },
    /// More intermediate CAs below an issuer than its pathLenConstraint allows.
    #[error(
        "`{issuer}` allows at most {path_len} intermediate CA certificate(s) below it, but the path has {found}"
    )]
    PathLenExceeded {
        /// The constrained CA.
        issuer: String,
        /// Its pathLenConstraint.
        path_len: u8,
        /// Non-self-issued intermediates below it.
        found: usize,
    },
    /// The leaf is not meant for signing.
    #[error(
        "the signing certificate `{subject}` is not for signing: it has neither keyUsage digitalSignature nor extendedKeyUsage codeSigning (keyUsage: {key_usage}; extendedKeyUsage: {extended_key_usage})"
    )]
    NoSigningUsage {
        /// The leaf.
        subject: String,
        /// Its keyUsage bits, or `absent`.
        key_usage: String,
        /// Its extendedKeyUsage purposes, or `absent`.
        extended_key_usage: String,
    },
    /// The leaf's extendedKeyUsage restricts it to purposes other than code signing.
    #[error(
        "the signing certificate `{subject}` is restricted to other purposes: its extendedKeyUsage ({extended_key_usage}) has neither codeSigning nor anyExtendedKeyUsage"
    )]
    CodeSigningNotPermitted {
        /// The leaf.
        subject: String,
        /// Its extendedKeyUsage purposes.
        extended_key_usage: String,
    },
    /// The leaf carries none of the required identities.
    #[error(
        "the signing certificate `{subject}` carries none of the required identities (wanted: {}; found: {})",
        list(.wanted), list(.found)
    )]
    IdentityMismatch {
        /// The leaf.
        subject: String,
        /// The identities the policy accepts.
        wanted: Vec<String>,
        /// The leaf's identities, as `kind:value`.
        found: Vec<String>,
    },
    /// A signature algorithm, curve or key type this validator does not check.
    #[error("cannot check the signature on `{subject}` by `{issuer}`: unsupported {what}")]
    UnsupportedAlgorithm {
        /// The signed certificate.
        subject: String,
        /// The issuer whose key would check it.
        issuer: String,
        /// The algorithm (name and OID).
        what: String,
    },
    /// A critical extension this validator does not process.
    #[error("`{subject}` has a critical extension rampart does not process: {oid}")]
    UnknownCriticalExtension {
        /// The certificate.
        subject: String,
        /// The extension (name and OID).
        oid: String,
    },
    /// A certificate's content cannot be used (e.g. its public key does not decode).
    #[error("`{subject}` is malformed: {reason}")]
    Malformed {
        /// The certificate.
        subject: String,
        /// What is wrong.
        reason: String,
    },
    /// The path would hold more than [`MAX_PATH_CERTIFICATES`].
    #[error("no trust anchor within {max} certificates: the chain above `{subject}` is longer")]
    PathTooLong {
        /// The last certificate that still fitted.
        subject: String,
        /// The cap.
        max: usize,
    },
    /// The search verified [`MAX_SIGNATURE_CHECKS`] signatures without finding a path.
    #[error("gave up after checking {max} signatures: too many candidate issuers")]
    SearchLimit {
        /// The cap.
        max: usize,
    },
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_owned()
    } else {
        items.join(", ")
    }
}

/// Builds a path from `leaf` through `intermediates` to one of `anchors` and checks it
/// under `policy` (see the module documentation for the rules).
pub fn verify_path(
    leaf: &Certificate,
    intermediates: &[Certificate],
    anchors: &[Certificate],
    policy: &PathPolicy,
) -> Result<VerifiedPath, PathError> {
    if anchors.is_empty() {
        return Err(PathError::NoAnchors);
    }
    let clock = Clock::new(leaf, policy.time);
    clock.check(leaf)?;
    check_critical_extensions(leaf)?;

    let mut candidates: Vec<&Certificate> = Vec::new();
    for certificate in intermediates {
        if certificate != leaf
            && !anchors.contains(certificate)
            && !candidates.contains(&certificate)
        {
            candidates.push(certificate);
        }
    }
    let mut search = Search {
        anchors,
        intermediates: candidates,
        clock,
        signature_checks: 0,
        best: None,
    };
    let start = Node {
        certificate: leaf,
        anchor: anchors.contains(leaf),
    };
    let mut path = vec![start];
    if !search.extend(&mut path)? {
        return Err(search
            .best
            .map(|(_, error)| error)
            .unwrap_or_else(|| untrusted(leaf)));
    }

    check_signing_usage(leaf)?;
    let matched_identity = match_identity(leaf, &policy.identities)?;
    Ok(VerifiedPath {
        chain: path.iter().map(|node| node.certificate.clone()).collect(),
        leaf_expired: leaf.not_after() < SystemTime::now(),
        matched_identity,
    })
}

#[derive(Clone, Copy)]
struct Node<'a> {
    certificate: &'a Certificate,
    anchor: bool,
}

/// The validation time and how to name it in errors.
struct Clock {
    time: SystemTime,
    description: String,
}

impl Clock {
    fn new(leaf: &Certificate, time: ValidationTime) -> Clock {
        match time {
            ValidationTime::LeafNotBefore => {
                let time = leaf.not_before();
                Clock {
                    time,
                    description: format!(
                        "{} (the signing certificate's notBefore)",
                        format_time(time)
                    ),
                }
            }
            ValidationTime::At(time) => Clock {
                time,
                description: format_time(time),
            },
        }
    }

    fn check(&self, certificate: &Certificate) -> Result<(), PathError> {
        if self.time < certificate.not_before() {
            return Err(PathError::NotYetValid {
                subject: certificate.subject(),
                not_before: format_time(certificate.not_before()),
                at: self.description.clone(),
            });
        }
        if self.time > certificate.not_after() {
            return Err(PathError::Expired {
                subject: certificate.subject(),
                not_after: format_time(certificate.not_after()),
                at: self.description.clone(),
            });
        }
        Ok(())
    }
}

/// Depth-first search with backtracking; remembers the failure that got furthest so the
/// error names the real obstacle rather than the last junk candidate tried.
struct Search<'a> {
    anchors: &'a [Certificate],
    intermediates: Vec<&'a Certificate>,
    clock: Clock,
    signature_checks: usize,
    /// (progress, error): progress is 2 per certificate placed in the path, plus 1 if
    /// the failing candidate's signature had verified.
    best: Option<(usize, PathError)>,
}

impl<'a> Search<'a> {
    /// Whether `path` can be completed to an anchor. `Err` only when the search gives up.
    fn extend(&mut self, path: &mut Vec<Node<'a>>) -> Result<bool, PathError> {
        let Some(&child) = path.last() else {
            return Ok(false);
        };
        if child.anchor {
            return Ok(true);
        }
        let progress = path.len().saturating_mul(2);
        let issuers: Vec<Node<'a>> = self
            .anchors
            .iter()
            .map(|certificate| Node {
                certificate,
                anchor: true,
            })
            .chain(self.intermediates.iter().map(|&certificate| Node {
                certificate,
                anchor: false,
            }))
            .filter(|candidate| may_have_issued(child.certificate, candidate.certificate))
            .filter(|candidate| {
                !path
                    .iter()
                    .any(|node| node.certificate == candidate.certificate)
            })
            .collect();
        if issuers.is_empty() {
            self.record(progress, untrusted(child.certificate));
            return Ok(false);
        }
        if path.len() >= MAX_PATH_CERTIFICATES {
            let error = PathError::PathTooLong {
                subject: child.certificate.subject(),
                max: MAX_PATH_CERTIFICATES,
            };
            self.record(progress, error);
            return Ok(false);
        }
        for issuer in issuers {
            if self.signature_checks >= MAX_SIGNATURE_CHECKS {
                return Err(PathError::SearchLimit {
                    max: MAX_SIGNATURE_CHECKS,
                });
            }
            self.signature_checks = self.signature_checks.saturating_add(1);
            if let Err(error) = check_signature(child.certificate, issuer.certificate) {
                self.record(progress, error);
                continue;
            }
            if let Err(error) = self.check_issuer(path, issuer) {
                self.record(progress.saturating_add(1), error);
                continue;
            }
            path.push(issuer);
            if self.extend(path)? {
                return Ok(true);
            }
            path.pop();
        }
        Ok(false)
    }

    fn record(&mut self, progress: usize, error: PathError) {
        if self.best.as_ref().is_none_or(|(best, _)| progress > *best) {
            self.best = Some((progress, error));
        }
    }

    /// Whether `issuer` may have issued the last certificate of `path`, once its signature
    /// on it has verified.
    fn check_issuer(&self, path: &[Node<'a>], issuer: Node<'a>) -> Result<(), PathError> {
        let certificate = issuer.certificate;
        let subject = path
            .last()
            .map(|node| node.certificate.subject())
            .unwrap_or_default();
        let extensions = certificate.extensions();
        match &extensions.basic_constraints {
            Some(constraints) if !constraints.ca => {
                return Err(PathError::NotCa {
                    issuer: certificate.subject(),
                    subject,
                    reason: "its basicConstraints say cA FALSE".to_owned(),
                });
            }
            Some(_) => {}
            None => {
                let tolerated_root = issuer.anchor
                    && (certificate.parsed().tbs_certificate().version() == Version::V1
                        || extensions.key_usage.is_some());
                if !tolerated_root {
                    return Err(PathError::NotCa {
                        issuer: certificate.subject(),
                        subject,
                        reason: "it has no basicConstraints extension".to_owned(),
                    });
                }
            }
        }
        if extensions
            .key_usage
            .is_some_and(|usage| !usage.key_cert_sign())
        {
            return Err(PathError::NoKeyCertSign {
                issuer: certificate.subject(),
                subject,
            });
        }
        if let Some(path_len) = extensions
            .basic_constraints
            .as_ref()
            .and_then(|constraints| constraints.path_len_constraint)
        {
            let found = path
                .iter()
                .skip(1)
                .filter(|node| !node.certificate.is_self_issued())
                .count();
            if found > usize::from(path_len) {
                return Err(PathError::PathLenExceeded {
                    issuer: certificate.subject(),
                    path_len,
                    found,
                });
            }
        }
        self.clock.check(certificate)?;
        check_critical_extensions(certificate)
    }
}

/// Name (and, when both sides have them, key identifier and serial) say `issuer` may
/// have issued `child`.
fn may_have_issued(child: &Certificate, issuer: &Certificate) -> bool {
    if !names_match(
        child.parsed().tbs_certificate().issuer(),
        issuer.parsed().tbs_certificate().subject(),
    ) {
        return false;
    }
    let wanted = child.extensions();
    let key_matches = match (
        &wanted.authority_key_id,
        &issuer.extensions().subject_key_id,
    ) {
        (Some(wanted), Some(actual)) => wanted == actual,
        _ => true,
    };
    let serial_matches = wanted
        .authority_serial
        .as_deref()
        .is_none_or(|serial| serial == issuer.serial());
    key_matches && serial_matches
}

fn check_signature(child: &Certificate, issuer: &Certificate) -> Result<(), PathError> {
    signature::verify_issued_by(child, issuer).map_err(|failure| match failure {
        Failure::Unsupported(what) => PathError::UnsupportedAlgorithm {
            subject: child.subject(),
            issuer: issuer.subject(),
            what,
        },
        Failure::Malformed(reason) => PathError::Malformed {
            subject: issuer.subject(),
            reason: format!(
                "cannot check its signature on `{}`: {reason}",
                child.subject()
            ),
        },
        Failure::Invalid(detail) => PathError::BadSignature {
            subject: child.subject(),
            issuer: issuer.subject(),
            detail,
        },
    })
}

fn check_critical_extensions(certificate: &Certificate) -> Result<(), PathError> {
    match certificate.extensions().unknown_critical {
        Some(oid) => Err(PathError::UnknownCriticalExtension {
            subject: certificate.subject(),
            oid: describe_oid(&oid),
        }),
        None => Ok(()),
    }
}

fn untrusted(certificate: &Certificate) -> PathError {
    PathError::UntrustedIssuer {
        subject: certificate.subject(),
        issuer: certificate.issuer(),
    }
}

fn check_signing_usage(leaf: &Certificate) -> Result<(), PathError> {
    let extensions = leaf.extensions();
    let digital_signature = extensions
        .key_usage
        .is_some_and(|usage| usage.digital_signature());
    let purposes = extensions.extended_key_usage.as_deref();
    let code_signing = purposes.is_some_and(|purposes| purposes.contains(&ID_KP_CODE_SIGNING));
    if !digital_signature && !code_signing {
        let key_usage = match extensions.key_usage {
            Some(usage) => {
                let bits: Vec<String> = usage.0.into_iter().map(|bit| format!("{bit:?}")).collect();
                if bits.is_empty() {
                    "no bits".to_owned()
                } else {
                    bits.join(", ")
                }
            }
            None => "absent".to_owned(),
        };
        return Err(PathError::NoSigningUsage {
            subject: leaf.subject(),
            key_usage,
            extended_key_usage: purposes
                .map(describe_purposes)
                .unwrap_or_else(|| "absent".to_owned()),
        });
    }
    if let Some(purposes) = purposes
        && !code_signing
        && !purposes.contains(&ANY_EXTENDED_KEY_USAGE)
    {
        return Err(PathError::CodeSigningNotPermitted {
            subject: leaf.subject(),
            extended_key_usage: describe_purposes(purposes),
        });
    }
    Ok(())
}

fn describe_purposes(purposes: &[ObjectIdentifier]) -> String {
    purposes
        .iter()
        .map(describe_oid)
        .collect::<Vec<_>>()
        .join(", ")
}

fn match_identity(leaf: &Certificate, wanted: &[String]) -> Result<Option<Identity>, PathError> {
    if wanted.is_empty() {
        return Ok(None);
    }
    let identities = leaf.identities();
    match identities
        .iter()
        .find(|identity| wanted.iter().any(|value| value == identity.value()))
    {
        Some(identity) => Ok(Some(identity.clone())),
        None => Err(PathError::IdentityMismatch {
            subject: leaf.subject(),
            wanted: wanted.to_vec(),
            found: identities
                .iter()
                .map(|identity| format!("{}:{}", identity.kind(), identity.value()))
                .collect(),
        }),
    }
}

/// RFC 3339 in UTC, e.g. `2025-01-01T00:00:00Z`.
fn format_time(time: SystemTime) -> String {
    match der::DateTime::from_system_time(time) {
        Ok(date) => date.to_string(),
        Err(_) => match time.duration_since(SystemTime::UNIX_EPOCH) {
            Ok(after) => format!("{} s after 1970-01-01T00:00:00Z", after.as_secs()),
            Err(before) => format!(
                "{} s before 1970-01-01T00:00:00Z",
                before.duration().as_secs()
            ),
        },
    }
}
