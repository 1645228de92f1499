//! Provenance of training runs: an in-toto Statement v1 with a SLSA Provenance v1 predicate
//! in a DSSE envelope — which materials (data, code, config) went in, which products (model
//! files) came out, by what command, on which builder, when.
//!
//! A file is identified by the SHA-256 of its content, a directory by its OMS root digest
//! (files mode, SHA-256: the same identity `rampart sign` gives a model), marked with the
//! `rampart.digestKind` annotation.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Value, json};

use crate::dsse::{Envelope, IN_TOTO_PAYLOAD_TYPE};
use crate::hash::{HashOptions, hash_model};
use crate::keys::{SigningKey, VerifyingKey};
use crate::manifest::{HashAlgorithm, Serialization};
use crate::{Error, model_name};

pub const SLSA_PROVENANCE_V1: &str = "https://slsa.dev/provenance/v1";
/// The build type whose parameters rampart records (command, parameters, working directory).
pub const TRAINING_BUILD_TYPE: &str = "https://rampart.dev/training/v1";
/// Annotation value for a directory identified by its OMS root digest.
pub const OMS_ROOT_DIGEST_KIND: &str = "oms-v1.0-files-sha256-root";
const DIGEST_KIND: &str = "rampart.digestKind";

/// A material or product: a name and the SHA-256 identifying its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    pub name: String,
    pub sha256: String,
    /// True for a directory (OMS root digest), false for a file (content digest).
    pub is_directory: bool,
}

impl Artifact {
    /// Hashes `path`: a file by content, a directory by its OMS root digest.
    pub fn of(path: &Path) -> Result<Artifact, Error> {
        let metadata = std::fs::metadata(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        let options = HashOptions::new(Serialization::Files {
            hash: HashAlgorithm::Sha256,
        });
        let manifest = hash_model(path, &options)?;
        let (sha256, is_directory) = if metadata.is_dir() {
            (hex::encode(manifest.root_digest()), true)
        } else {
            let digest = manifest
                .resources
                .first()
                .map(|resource| hex::encode(&resource.digest));
            (digest.unwrap_or_default(), false)
        };
        Ok(Artifact {
            name: display_name(path),
            sha256,
            is_directory,
        })
    }

    fn descriptor(&self) -> Value {
        let mut descriptor = json!({ "name": self.name, "digest": { "sha256": self.sha256 } });
        if self.is_directory {
            descriptor["annotations"] = json!({ DIGEST_KIND: OMS_ROOT_DIGEST_KIND });
        }
        descriptor
    }
}

/// The path as the user gave it, `/`-separated, or the model's name for `.`.
fn display_name(path: &Path) -> String {
    let text = path.to_string_lossy().replace('\\', "/");
    let trimmed = text.trim_start_matches("./").trim_end_matches('/');
    if trimmed.is_empty() || trimmed == "." {
        model_name(path)
    } else {
        trimmed.to_owned()
    }
}

/// The source tree a run was started from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitSource {
    pub commit: String,
    /// `git+<remote>@<ref>` when a remote is known.
    pub uri: Option<String>,
    /// Uncommitted changes existed: the commit alone does not describe the code that ran.
    pub dirty: bool,
}

/// Everything recorded about one run.
#[derive(Debug, Clone)]
pub struct Run {
    pub command: Vec<String>,
    pub working_directory: String,
    /// `--param KEY=VALUE` pairs: hyper-parameters and other choices of the requester.
    pub parameters: BTreeMap<String, String>,
    pub materials: Vec<Artifact>,
    pub products: Vec<Artifact>,
    pub git: Option<GitSource>,
    pub builder_id: String,
    pub invocation_id: String,
    /// RFC 3339.
    pub started_on: String,
    pub finished_on: String,
    pub internal: BTreeMap<String, String>,
}

impl Run {
    /// The in-toto statement (subjects = products) with the SLSA Provenance v1 predicate.
    pub fn statement(&self) -> Value {
        let mut dependencies: Vec<Value> = Vec::new();
        if let Some(git) = &self.git {
            let mut source = json!({ "digest": { "gitCommit": git.commit } });
            if let Some(uri) = &git.uri {
                source["uri"] = json!(uri);
            }
            if git.dirty {
                source["annotations"] = json!({ "rampart.worktreeDirty": true });
            }
            dependencies.push(source);
        }
        dependencies.extend(self.materials.iter().map(Artifact::descriptor));
        json!({
            "_type": crate::bundle::STATEMENT_TYPE,
            "subject": self.products.iter().map(Artifact::descriptor).collect::<Vec<_>>(),
            "predicateType": SLSA_PROVENANCE_V1,
            "predicate": {
                "buildDefinition": {
                    "buildType": TRAINING_BUILD_TYPE,
                    "externalParameters": {
                        "command": self.command,
                        "workingDirectory": self.working_directory,
                        "parameters": self.parameters,
                    },
                    "internalParameters": self.internal,
                    "resolvedDependencies": dependencies,
                },
                "runDetails": {
                    "builder": {
                        "id": self.builder_id,
                        "version": { "rampart": env!("CARGO_PKG_VERSION") },
                    },
                    "metadata": {
                        "invocationId": self.invocation_id,
                        "startedOn": self.started_on,
                        "finishedOn": self.finished_on,
                    },
                },
            },
        })
    }

    /// The signed DSSE envelope, as JSON bytes.
    pub fn sign(&self, key: &SigningKey) -> Vec<u8> {
        let payload = serde_json::to_vec(&self.statement()).unwrap_or_default();
        let envelope = Envelope::sign(IN_TOTO_PAYLOAD_TYPE, &payload, key);
        let mut json = serde_json::to_vec_pretty(&envelope).unwrap_or_default();
        json.push(b'\n');
        json
    }
}

/// A provenance attestation whose signature verified.
#[derive(Debug)]
pub struct Attestation {
    pub statement: Value,
    /// `(name, sha256)` of each subject.
    pub subjects: Vec<(String, String)>,
    /// `(name or uri, sha256 or gitCommit)` of each resolved dependency.
    pub dependencies: Vec<(String, BTreeMap<String, String>)>,
}

/// Why an attestation does not verify (exit 1).
#[derive(Debug, thiserror::Error)]
pub enum AttestationFailure {
    #[error("not a DSSE envelope: {0}")]
    Malformed(String),
    #[error("the envelope's payloadType is `{0}`, expected `{IN_TOTO_PAYLOAD_TYPE}`")]
    PayloadType(String),
    #[error("bad signature: {0}")]
    Signature(#[from] crate::dsse::EnvelopeError),
    #[error("bad statement: {0}")]
    Statement(String),
    #[error("{0}")]
    Mismatch(String),
}

impl Attestation {
    /// Checks the envelope's signature with `key` and reads the statement.
    pub fn verify(envelope: &[u8], key: &VerifyingKey) -> Result<Attestation, AttestationFailure> {
        let envelope: Envelope = serde_json::from_slice(envelope)
            .map_err(|error| AttestationFailure::Malformed(error.to_string()))?;
        if envelope.payload_type != IN_TOTO_PAYLOAD_TYPE {
            return Err(AttestationFailure::PayloadType(envelope.payload_type));
        }
        let payload = envelope.verify(IN_TOTO_PAYLOAD_TYPE, key)?;
        let statement: Value = serde_json::from_slice(&payload).map_err(|error| {
            AttestationFailure::Statement(format!("the payload is not JSON: {error}"))
        })?;
        if statement["_type"] != crate::bundle::STATEMENT_TYPE {
            return Err(AttestationFailure::Statement(format!(
                "`_type` is {}",
                statement["_type"]
            )));
        }
        if statement["predicateType"] != SLSA_PROVENANCE_V1 {
            return Err(AttestationFailure::Statement(format!(
                "the predicate type is {}, not `{SLSA_PROVENANCE_V1}`",
                statement["predicateType"]
            )));
        }
        let subjects = descriptors(&statement["subject"])
            .into_iter()
            .filter_map(|(name, digest)| digest.get("sha256").map(|sha| (name, sha.clone())))
            .collect::<Vec<_>>();
        if subjects.is_empty() {
            return Err(AttestationFailure::Statement(
                "no subject carries a sha256 digest".to_owned(),
            ));
        }
        let dependencies =
            descriptors(&statement["predicate"]["buildDefinition"]["resolvedDependencies"]);
        Ok(Attestation {
            statement,
            subjects,
            dependencies,
        })
    }

    /// Requires `product` to be one of the subjects (same digest).
    pub fn check_product(&self, product: &Artifact) -> Result<String, AttestationFailure> {
        match self
            .subjects
            .iter()
            .find(|(_, sha)| sha.eq_ignore_ascii_case(&product.sha256))
        {
            Some((name, _)) => Ok(name.clone()),
            None => Err(AttestationFailure::Mismatch(format!(
                "product {} (sha256:{}) is none of the attested subjects ({}): it is not the output of this run",
                product.name,
                product.sha256,
                self.subjects
                    .iter()
                    .map(|(name, _)| name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    /// Requires `material` to be one of the recorded dependencies (same sha256).
    pub fn check_material(&self, material: &Artifact) -> Result<String, AttestationFailure> {
        let recorded = self.dependencies.iter().find(|(_, digest)| {
            digest
                .get("sha256")
                .is_some_and(|sha| sha.eq_ignore_ascii_case(&material.sha256))
        });
        match recorded {
            Some((name, _)) => Ok(name.clone()),
            None => Err(AttestationFailure::Mismatch(format!(
                "material {} (sha256:{}) is not among the run's recorded dependencies: the run used other data or code",
                material.name, material.sha256
            ))),
        }
    }
}

/// `(name or uri, digest map)` of each ResourceDescriptor in `list`.
fn descriptors(list: &Value) -> Vec<(String, BTreeMap<String, String>)> {
    let Some(items) = list.as_array() else {
        return Vec::new();
    };
    items
        .iter()
        .map(|item| {
            let name = item["name"]
                .as_str()
                .or(item["uri"].as_str())
                .unwrap_or("(unnamed)")
                .to_owned();
            let digest = item["digest"]
                .as_object()
                .map(|digest| {
                    digest
                        .iter()
                        .filter_map(|(algorithm, value)| {
                            value.as_str().map(|v| (algorithm.clone(), v.to_owned()))
                        })
                        .collect()
                })
                .unwrap_or_default();
            (name, digest)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURES: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/model-signing"
    );

    fn public(name: &str) -> VerifyingKey {
        VerifyingKey::from_pem(&std::fs::read(format!("{FIXTURES}/keys/{name}.pub.pem")).unwrap())
            .unwrap()
    }

    #[test]
    fn the_reference_example_verifies_against_its_model_and_dataset() {
        let envelope = std::fs::read(format!(
            "{FIXTURES}/provenance/training-provenance.dsse.json"
        ))
        .unwrap();
        let attestation = Attestation::verify(&envelope, &public("signer-p256")).unwrap();
        let model = Artifact::of(Path::new(&format!("{FIXTURES}/models/large"))).unwrap();
        assert_eq!(attestation.check_product(&model).unwrap(), "large");
        let weights = Artifact::of(Path::new(&format!(
            "{FIXTURES}/models/large/model.safetensors"
        )))
        .unwrap();
        assert_eq!(
            attestation.check_product(&weights).unwrap(),
            "model.safetensors"
        );
        let dataset = Artifact::of(Path::new(&format!("{FIXTURES}/models/small"))).unwrap();
        assert_eq!(
            attestation.check_material(&dataset).unwrap(),
            "dataset:example-corpus/train"
        );
        let tampered =
            Artifact::of(Path::new(&format!("{FIXTURES}/models/large-tampered"))).unwrap();
        assert!(attestation.check_product(&tampered).is_err());
        let other_data =
            Artifact::of(Path::new(&format!("{FIXTURES}/models/small-tampered"))).unwrap();
        assert!(attestation.check_material(&other_data).is_err());
        assert!(matches!(
            Attestation::verify(&envelope, &public("other-p256")),
            Err(AttestationFailure::Signature(_))
        ));
    }

    #[test]
    fn runs_sign_and_verify_with_ecdsa_and_ed25519() {
        let run = Run {
            command: vec!["python".into(), "train.py".into()],
            working_directory: ".".into(),
            parameters: BTreeMap::from([("epochs".into(), "3".into())]),
            materials: vec![Artifact {
                name: "data".into(),
                sha256: "ab".repeat(32),
                is_directory: true,
            }],
            products: vec![Artifact {
                name: "model.bin".into(),
                sha256: "cd".repeat(32),
                is_directory: false,
            }],
            git: Some(GitSource {
                commit: "0".repeat(40),
                uri: None,
                dirty: true,
            }),
            builder_id: "https://example.com/builder".into(),
            invocation_id: "run-1".into(),
            started_on: "2026-01-01T00:00:00Z".into(),
            finished_on: "2026-01-01T00:01:00Z".into(),
            internal: BTreeMap::new(),
        };
        for key in [
            SigningKey::Ed25519(ed25519_dalek::SigningKey::from_bytes(&[3u8; 32])),
            SigningKey::from_pem(
                &std::fs::read(format!("{FIXTURES}/keys/signer-p256.key.pem")).unwrap(),
                None,
            )
            .unwrap(),
        ] {
            let envelope = run.sign(&key);
            let attestation = Attestation::verify(&envelope, &key.verifying_key()).unwrap();
            assert_eq!(
                attestation.subjects,
                [("model.bin".to_owned(), "cd".repeat(32))]
            );
            assert_eq!(
                attestation.check_material(&run.materials[0]).unwrap(),
                "data"
            );
            assert_eq!(
                attestation.statement["predicate"]["buildDefinition"]["resolvedDependencies"][0]["annotations"]
                    ["rampart.worktreeDirty"],
                true
            );
        }
    }
}
