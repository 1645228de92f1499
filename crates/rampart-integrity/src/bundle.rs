//! The OMS v1.0 signature file: a Sigstore bundle (v0.3) whose DSSE envelope carries an
//! in-toto statement, whose predicate lists the model's resources.
//!
//! The reference reader rejects unknown fields anywhere, so the writer emits exactly the
//! fields it knows; the reader here is as strict about the bundle's shape.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use crate::dsse::{Envelope, IN_TOTO_PAYLOAD_TYPE};
use crate::keys::SigningKey;
use crate::manifest::{
    Manifest, ResourceEntry, SerializationBlock, manifest_from_parts, resource_entries,
};

pub const BUNDLE_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
pub const OMS_PREDICATE_TYPE: &str = "https://model_signing/signature/v1.0";
/// model_signing v0.2's format: one subject per file, no predicate. Recognised to explain it.
pub const OMS_V01_PREDICATE_TYPE: &str = "https://model_signing/Digests/v0.1";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Bundle {
    pub media_type: String,
    pub verification_material: VerificationMaterial,
    pub dsse_envelope: Envelope,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VerificationMaterial {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<PublicKeyIdentifier>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x509_certificate_chain: Option<CertificateChain>,
    /// The single-certificate form of keyless Sigstore bundles (not used by key or
    /// certificate mode; recognised so the error can say what the bundle is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<RawBytes>,
    #[serde(default)]
    pub tlog_entries: Vec<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp_verification_data: Option<serde_json::Value>,
}

/// Other fields are ignored rather than refused: the reference reader drops `rawBytes` and
/// `keyDetails` here, and the key that counts is always the verifier's own.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PublicKeyIdentifier {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificateChain {
    pub certificates: Vec<RawBytes>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RawBytes {
    pub raw_bytes: String,
}

impl RawBytes {
    pub fn decode(&self) -> Option<Vec<u8>> {
        STANDARD.decode(&self.raw_bytes).ok()
    }
}

/// The in-toto statement inside the envelope.
#[derive(Debug, Serialize, Deserialize)]
pub struct Statement {
    #[serde(rename = "_type")]
    pub statement_type: String,
    pub subject: Vec<Subject>,
    #[serde(rename = "predicateType")]
    pub predicate_type: String,
    pub predicate: serde_json::Value,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Subject {
    pub name: String,
    pub digest: BTreeMap<String, String>,
}

/// The OMS v1.0 predicate. Unknown fields are allowed: v1.0 reserves them for future use.
#[derive(Debug, Serialize, Deserialize)]
pub struct Predicate {
    pub serialization: SerializationBlock,
    pub resources: Vec<ResourceEntry>,
}

/// How the signer is identified in the bundle.
pub enum Material<'a> {
    /// Key mode: the bundle carries the key's hint.
    Key,
    /// Certificate mode: leaf first, then the chain, as DER.
    Certificates(&'a [Vec<u8>]),
}

/// The statement bytes for `manifest`: compact JSON, fields in a fixed order, `shard_size` an
/// integer (the reference verifier accepts any JSON formatting; it never re-serialises).
pub fn statement_payload(manifest: &Manifest) -> Vec<u8> {
    let mut resources = resource_entries(manifest);
    for resource in &mut resources {
        resource.size = None;
    }
    let predicate = Predicate {
        serialization: SerializationBlock::of(manifest),
        resources,
    };
    let statement = Statement {
        statement_type: STATEMENT_TYPE.to_owned(),
        subject: vec![Subject {
            name: manifest.name.clone(),
            digest: BTreeMap::from([("sha256".to_owned(), hex::encode(manifest.root_digest()))]),
        }],
        predicate_type: OMS_PREDICATE_TYPE.to_owned(),
        predicate: serde_json::to_value(predicate).unwrap_or_default(),
    };
    serde_json::to_vec(&statement).unwrap_or_default()
}

/// Signs `manifest` into a bundle, serialised as OMS writes it (compact JSON).
pub fn sign_manifest(manifest: &Manifest, key: &SigningKey, material: Material<'_>) -> Vec<u8> {
    let envelope = Envelope::sign(IN_TOTO_PAYLOAD_TYPE, &statement_payload(manifest), key);
    let verification_material = match material {
        Material::Key => VerificationMaterial {
            public_key: Some(PublicKeyIdentifier {
                hint: Some(key.verifying_key().hint()),
            }),
            ..VerificationMaterial::default()
        },
        Material::Certificates(chain) => VerificationMaterial {
            x509_certificate_chain: Some(CertificateChain {
                certificates: chain
                    .iter()
                    .map(|der| RawBytes {
                        raw_bytes: STANDARD.encode(der),
                    })
                    .collect(),
            }),
            ..VerificationMaterial::default()
        },
    };
    let bundle = Bundle {
        media_type: BUNDLE_MEDIA_TYPE.to_owned(),
        verification_material,
        dsse_envelope: envelope,
    };
    serde_json::to_vec(&bundle).unwrap_or_default()
}

/// Why a verified payload is not an acceptable OMS statement.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatementError {
    #[error("the payload is not JSON: {0}")]
    NotJson(String),
    #[error("the payload's _type is `{0}`, not `{STATEMENT_TYPE}`")]
    WrongType(String),
    #[error(
        "the predicate type is `{0}`, not `{OMS_PREDICATE_TYPE}`: this is not an OpenSSF Model Signing v1.0 signature"
    )]
    WrongPredicateType(String),
    #[error(
        "the statement uses model_signing v0.2's format (`{OMS_V01_PREDICATE_TYPE}`), which rampart does not read; sign the model again"
    )]
    LegacyFormat,
    #[error("the statement has {0} subjects; OMS requires exactly one")]
    SubjectCount(usize),
    #[error("the subject has no sha256 digest")]
    NoSubjectDigest,
    #[error("the predicate is malformed: {0}")]
    BadPredicate(String),
    #[error(
        "the manifest is inconsistent: the subject digest is {claimed} but the listed resources give {computed}"
    )]
    Inconsistent { claimed: String, computed: String },
}

/// Reads a verified statement into the manifest it signs, checking its type, predicate type
/// and that the subject digest matches the listed resources.
pub fn parse_statement(payload: &[u8]) -> Result<Manifest, StatementError> {
    let statement: Statement = serde_json::from_slice(payload)
        .map_err(|error| StatementError::NotJson(error.to_string()))?;
    if statement.statement_type != STATEMENT_TYPE {
        return Err(StatementError::WrongType(statement.statement_type));
    }
    if statement.predicate_type == OMS_V01_PREDICATE_TYPE {
        return Err(StatementError::LegacyFormat);
    }
    if statement.predicate_type != OMS_PREDICATE_TYPE {
        return Err(StatementError::WrongPredicateType(statement.predicate_type));
    }
    let [subject] = statement.subject.as_slice() else {
        return Err(StatementError::SubjectCount(statement.subject.len()));
    };
    let claimed = subject
        .digest
        .get("sha256")
        .ok_or(StatementError::NoSubjectDigest)?;
    let predicate: Predicate = serde_json::from_value(statement.predicate)
        .map_err(|error| StatementError::BadPredicate(error.to_string()))?;
    let manifest = manifest_from_parts(
        subject.name.clone(),
        &predicate.serialization,
        predicate.resources,
    )
    .map_err(StatementError::BadPredicate)?;
    let computed = hex::encode(manifest.root_digest());
    if !computed.eq_ignore_ascii_case(claimed) {
        return Err(StatementError::Inconsistent {
            claimed: claimed.clone(),
            computed,
        });
    }
    Ok(manifest)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use proptest::prelude::*;

    use super::*;
    use crate::keys::VerifyingKey;
    use crate::manifest::ManifestDocument;

    fn corpus(target: &str) -> Vec<Vec<u8>> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fuzz/corpus")
            .join(target);
        std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| std::fs::read(entry.unwrap().path()).unwrap())
            .collect()
    }

    fn exercise(data: &[u8]) {
        if let Ok(bundle) = serde_json::from_slice::<Bundle>(data)
            && let Ok(payload) = bundle.dsse_envelope.payload_bytes()
        {
            let _ = parse_statement(&payload);
        }
        let _ = parse_statement(data);
        let _ = ManifestDocument::parse(data);
        let _ = SigningKey::from_pem(data, Some(b"password"));
        let _ = VerifyingKey::from_pem(data);
    }

    #[test]
    fn fuzz_corpus_replays_without_panic() {
        let mut seen = 0;
        for target in ["oms_bundle", "oms_manifest", "pem_key"] {
            for input in corpus(target) {
                exercise(&input);
                seen += 1;
            }
        }
        assert!(seen >= 10, "the corpora went missing");
    }

    #[test]
    fn reference_bundles_parse_into_their_manifests() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/oms_bundle");
        for (name, resources) in [("key-p256.sig", 10), ("shards.sig", 23)] {
            let bundle: Bundle =
                serde_json::from_slice(&std::fs::read(dir.join(name)).unwrap()).unwrap();
            let payload = bundle.dsse_envelope.payload_bytes().unwrap();
            assert_eq!(
                parse_statement(&payload).unwrap().resources.len(),
                resources,
                "{name}"
            );
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
            exercise(&data);
        }

        #[test]
        fn mutated_bundles_never_panic(index in 0usize..3, position in any::<prop::sample::Index>(), byte in any::<u8>()) {
            let inputs = corpus("oms_bundle");
            let mut data = inputs[index % inputs.len()].clone();
            let at = position.index(data.len());
            data[at] = byte;
            exercise(&data);
        }
    }
}
