//! Verification of an OMS bundle (or a detached manifest) against the files on disk, in the
//! reference verifier's order: bundle shape, signer, signature, statement, manifest
//! consistency, then a fresh hash of the model compared file by file.

use std::path::Path;

use rampart_x509::{Certificate, PathPolicy, verify_path};

use crate::Error;
use crate::bundle::{BUNDLE_MEDIA_TYPE, Bundle, StatementError, parse_statement};
use crate::dsse::{EnvelopeError, IN_TOTO_PAYLOAD_TYPE};
use crate::hash::{HashOptions, hash_model, hash_named, normalize_relative};
use crate::keys::{KeyAlgorithm, VerifyingKey};
use crate::manifest::{Diff, GIT_PATHS, HashAlgorithm, Manifest, Serialization};

/// Whom to trust.
pub enum Trust {
    /// Key mode: exactly this public key.
    Key(VerifyingKey),
    /// Certificate mode: a leaf chaining to one of these anchors under `policy`.
    Certificates {
        anchors: Vec<Certificate>,
        policy: PathPolicy,
    },
}

/// How to verify. Hashing follows the signed `serialization` unless `hashing` overrides it.
pub struct VerifyOptions {
    pub hashing: Option<Serialization>,
    pub ignore_git_paths: bool,
    /// Extra paths (relative to the model root) to leave out, e.g. the signature file.
    pub ignore_paths: Vec<String>,
    pub allow_symlinks: bool,
    /// Hash only the files the manifest names; extra files on disk are not looked at.
    pub ignore_unsigned_files: bool,
    /// Fail when the signature excludes paths other than git files and `ignore_paths`.
    pub reject_signed_ignores: bool,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            hashing: None,
            ignore_git_paths: true,
            ignore_paths: Vec::new(),
            allow_symlinks: false,
            ignore_unsigned_files: false,
            reject_signed_ignores: false,
        }
    }
}

/// Who signed.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Signer {
    Key {
        algorithm: String,
        hint: String,
    },
    Certificate {
        algorithm: String,
        subject: String,
        issuer: String,
        identities: Vec<String>,
        fingerprint_sha256: String,
        not_after: String,
        expired: bool,
        matched_identity: Option<String>,
    },
}

/// A successful verification.
#[derive(Debug)]
pub struct Verified {
    /// The signed manifest.
    pub manifest: Manifest,
    pub signer: Option<Signer>,
    /// How the model on disk was hashed.
    pub hashing: Serialization,
    /// Things the user should know although verification passed.
    pub warnings: Vec<String>,
}

/// Why verification failed (exit 1).
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error("the signature file is not a Sigstore bundle: {0}")]
    MalformedBundle(String),
    #[error("the bundle's mediaType is `{0}`, expected `{BUNDLE_MEDIA_TYPE}`")]
    MediaType(String),
    #[error("{0}")]
    WrongMaterial(String),
    #[error(
        "wrong key: the bundle was signed by the key with hint {bundle}, the given key's hint is {given}"
    )]
    KeyMismatch { bundle: String, given: String },
    #[error("bad signature: {0}")]
    Signature(#[from] EnvelopeError),
    #[error("the signing certificate is not trusted: {0}")]
    Certificate(String),
    #[error("the envelope's payloadType is `{0}`, expected `{IN_TOTO_PAYLOAD_TYPE}`")]
    PayloadType(String),
    #[error("bad statement: {0}")]
    Statement(#[from] StatementError),
    #[error("the manifest is not acceptable: {0}")]
    Policy(String),
    #[error("the files on disk do not match the signed manifest ({})", plural(.0.diff.lines().len(), "difference"))]
    Content(Box<ContentMismatch>),
}

/// What differs, with what was signed and by whom, for reports.
#[derive(Debug)]
pub struct ContentMismatch {
    pub diff: Diff,
    pub manifest: Manifest,
    pub signer: Option<Signer>,
}

/// Failure (exit 1) or inability to verify (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("verification failed: {0}")]
    Failed(#[from] Failure),
    #[error(transparent)]
    Unable(#[from] Error),
}

/// Verifies `bundle` (the bytes of a signature file) for `model` under `trust`.
pub fn verify_bundle(
    model: &Path,
    bundle: &[u8],
    trust: &Trust,
    options: &VerifyOptions,
) -> Result<Verified, VerifyError> {
    let bundle: Bundle = serde_json::from_slice(bundle)
        .map_err(|error| Failure::MalformedBundle(error.to_string()))?;
    if bundle.media_type != BUNDLE_MEDIA_TYPE {
        return Err(Failure::MediaType(bundle.media_type).into());
    }
    let mut warnings = Vec::new();
    let (key, signer) = authenticate(&bundle, trust, &mut warnings)?;
    if bundle.dsse_envelope.payload_type != IN_TOTO_PAYLOAD_TYPE {
        return Err(Failure::PayloadType(bundle.dsse_envelope.payload_type).into());
    }
    let payload = bundle
        .dsse_envelope
        .verify(IN_TOTO_PAYLOAD_TYPE, &key)
        .map_err(Failure::from)?;
    let signed = parse_statement(&payload).map_err(Failure::from)?;
    explain_reference_limits(&signed, &payload, key.algorithm(), &mut warnings);
    compare(model, signed, Some(signer), options, warnings)
}

/// Verifies a detached manifest (no signature; its integrity is the caller's to pin, e.g. by
/// its root digest).
pub fn verify_manifest(
    model: &Path,
    manifest: Manifest,
    options: &VerifyOptions,
) -> Result<Verified, VerifyError> {
    compare(model, manifest, None, options, Vec::new())
}

fn authenticate(
    bundle: &Bundle,
    trust: &Trust,
    warnings: &mut Vec<String>,
) -> Result<(VerifyingKey, Signer), Failure> {
    let material = &bundle.verification_material;
    match trust {
        Trust::Key(key) => {
            let Some(public_key) = &material.public_key else {
                let found = if material.x509_certificate_chain.is_some()
                    || material.certificate.is_some()
                {
                    "was signed with a certificate: verify it with --certificate-chain"
                } else {
                    "names no public key"
                };
                return Err(Failure::WrongMaterial(format!("the bundle {found}")));
            };
            let given = key.hint();
            match &public_key.hint {
                Some(hint) if !hint.eq_ignore_ascii_case(&given) => {
                    return Err(Failure::KeyMismatch {
                        bundle: hint.clone(),
                        given,
                    });
                }
                Some(_) => {}
                None => warnings.push(
                    "the bundle carries no key hint; it was checked against the given key only"
                        .to_owned(),
                ),
            }
            Ok((
                key.clone(),
                Signer::Key {
                    algorithm: key.algorithm().to_string(),
                    hint: given,
                },
            ))
        }
        Trust::Certificates { anchors, policy } => {
            let Some(chain) = &material.x509_certificate_chain else {
                let found = if material.public_key.is_some() {
                    "was signed with a bare key, not a certificate: verify it with --key"
                } else if material.certificate.is_some() {
                    "is a keyless Sigstore bundle (Fulcio certificate), which rampart does not verify yet"
                } else {
                    "carries no certificate chain"
                };
                return Err(Failure::WrongMaterial(format!("the bundle {found}")));
            };
            let mut certificates = Vec::with_capacity(chain.certificates.len());
            for (index, raw) in chain.certificates.iter().enumerate() {
                let der = raw.decode().ok_or_else(|| {
                    Failure::MalformedBundle(format!("certificate {index} is not valid base64"))
                })?;
                let certificate = Certificate::from_der(&der).map_err(|error| {
                    Failure::MalformedBundle(format!("certificate {index}: {error}"))
                })?;
                certificates.push(certificate);
            }
            let Some((leaf, intermediates)) = certificates.split_first() else {
                return Err(Failure::MalformedBundle(
                    "the certificate chain is empty".to_owned(),
                ));
            };
            let path = verify_path(leaf, intermediates, anchors, policy)
                .map_err(|error| Failure::Certificate(error.to_string()))?;
            let key = VerifyingKey::from_spki_der(&leaf.public_key_spki_der())
                .map_err(|error| Failure::Certificate(format!("the leaf's public key: {error}")))?;
            let not_after = jiff::Timestamp::try_from(leaf.not_after())
                .map(|time| time.to_string())
                .unwrap_or_default();
            if path.leaf_expired {
                warnings.push(format!(
                    "the signing certificate expired on {not_after}; the chain was checked at the time it became valid, as the reference tool does (use --reject-expired to refuse it)"
                ));
            }
            if policy.identities.is_empty() {
                warnings.push(format!(
                    "no signer identity was required: any certificate chaining to the anchors is accepted (this one is `{}`); pin it with --certificate-identity",
                    leaf.subject()
                ));
            }
            let signer = Signer::Certificate {
                algorithm: key.algorithm().to_string(),
                subject: leaf.subject(),
                issuer: leaf.issuer(),
                identities: leaf.identities().iter().map(ToString::to_string).collect(),
                fingerprint_sha256: leaf.sha256_fingerprint(),
                not_after,
                expired: path.leaf_expired,
                matched_identity: path.matched_identity.map(|identity| identity.to_string()),
            };
            Ok((key, signer))
        }
    }
}

/// Notes for bundles that rampart verifies but the reference CLI or API would not.
fn explain_reference_limits(
    signed: &Manifest,
    payload: &[u8],
    algorithm: KeyAlgorithm,
    warnings: &mut Vec<String>,
) {
    if !algorithm.oms_compatible() {
        warnings.push(format!(
            "signed with {algorithm}: model_signing cannot verify this bundle"
        ));
    }
    match signed.serialization {
        Serialization::Files { hash: HashAlgorithm::Sha256 } => {}
        Serialization::Files { hash } => warnings.push(format!(
            "files mode with {hash}: model_signing's CLI always re-hashes with sha256 and cannot verify this bundle; its Python API can"
        )),
        Serialization::Shards { .. } => warnings.push(
            "shards mode: model_signing's CLI always re-hashes whole files and cannot verify this bundle; its Python API can, given the shard size"
                .to_owned(),
        ),
    }
    if matches!(signed.serialization, Serialization::Shards { .. }) {
        let written_as_integer = serde_json::from_slice::<serde_json::Value>(payload)
            .ok()
            .is_some_and(|statement| {
                statement["predicate"]["serialization"]["shard_size"].is_u64()
            });
        if !written_as_integer {
            warnings.push(
                "shard_size is written as a float: model_signing's API cannot guess the configuration from this bundle (rampart reads it)"
                    .to_owned(),
            );
        }
    }
    if signed.serialization.hash() == HashAlgorithm::Blake2b {
        warnings.push(
            "hash_type `blake2b` is not a name model_signing's API accepts back, so it cannot guess the configuration from this bundle (rampart reads it)"
                .to_owned(),
        );
    }
}

fn compare(
    model: &Path,
    signed: Manifest,
    signer: Option<Signer>,
    options: &VerifyOptions,
    mut warnings: Vec<String>,
) -> Result<Verified, VerifyError> {
    let hashing = options.hashing.unwrap_or(signed.serialization);
    let caller_ignores: Vec<String> = options
        .ignore_paths
        .iter()
        .filter_map(|path| normalize_relative(path))
        .collect();
    let signed_ignores: Vec<String> = signed
        .ignore_paths
        .iter()
        .filter_map(|path| normalize_relative(path))
        .collect();
    let unusual: Vec<&String> = signed_ignores
        .iter()
        .filter(|path| !GIT_PATHS.contains(&path.as_str()) && !caller_ignores.contains(path))
        .collect();
    if !unusual.is_empty() {
        let list = unusual
            .iter()
            .map(|path| path.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        if options.reject_signed_ignores {
            return Err(Failure::Policy(format!(
                "the signature excludes {list} from coverage, and --reject-signed-ignores is set"
            ))
            .into());
        }
        warnings.push(format!(
            "the signer excluded {list} from the signature: whatever is there is not verified"
        ));
    }
    let mut hash_options = HashOptions::new(hashing);
    hash_options.ignore_git_paths = options.ignore_git_paths;
    hash_options.allow_symlinks = options.allow_symlinks;
    hash_options.ignore_paths = caller_ignores;
    hash_options.ignore_paths.extend(signed_ignores);

    let mut actual = if options.ignore_unsigned_files {
        let mut names: Vec<String> = signed
            .resources
            .iter()
            .map(|resource| resource.key.path.clone())
            .collect();
        names.dedup();
        hash_named(model, &names, &hash_options)?
    } else {
        hash_model(model, &hash_options)?
    };
    // Reference-made shard manifests cannot record empty files; rampart's record them as
    // zero-length shards. Without any, empty files on disk cannot be judged: say so.
    let records_empty = signed
        .resources
        .iter()
        .any(|resource| is_empty_shard(resource.key.range));
    if matches!(hashing, Serialization::Shards { .. }) && !records_empty {
        let uncovered: Vec<String> = actual
            .resources
            .iter()
            .filter(|resource| is_empty_shard(resource.key.range))
            .map(|resource| resource.key.path.clone())
            .collect();
        actual
            .resources
            .retain(|resource| !is_empty_shard(resource.key.range));
        if !uncovered.is_empty() {
            warnings.push(format!(
                "this shards-mode signature cannot cover empty files (model_signing drops them): {} not verified",
                uncovered.join(", ")
            ));
        }
    }
    let diff = signed.diff(&actual);
    if !diff.is_empty() {
        return Err(Failure::Content(Box::new(ContentMismatch {
            diff,
            manifest: signed,
            signer,
        }))
        .into());
    }
    Ok(Verified {
        manifest: signed,
        signer,
        hashing,
        warnings,
    })
}

fn is_empty_shard(range: Option<(u64, u64)>) -> bool {
    matches!(range, Some((start, end)) if start == end)
}

fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}
