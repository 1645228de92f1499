//! Checking that an issuer's key signed a certificate. Supported: ECDSA with SHA-256/384/512
//! by P-256, P-384 or P-521 keys (any pairing), Ed25519, and RSA (at least 2048 bits)
//! with PKCS #1 v1.5 or PSS (MGF1 with the same hash) over SHA-256/384/512.
//! Everything else is refused by name, never guessed.

use const_oid::ObjectIdentifier;
use const_oid::db::{rfc5912, rfc8410};
use der::asn1::ObjectIdentifier as Oid;
use der::{Decode, Encode};
use ecdsa::signature::Verifier;
use ecdsa::signature::hazmat::PrehashVerifier;
use rsa::pkcs1::RsaPssParamsOwned;
use rsa::pkcs8::DecodePublicKey;
use rsa::traits::PublicKeyParts;
use sha2::{Digest, Sha256, Sha384, Sha512};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

use crate::certificate::{Certificate, describe_oid};

/// RSA keys shorter than this are refused: 1024-bit RSA is within reach of a determined
/// attacker, and no current CA issues such keys.
pub(crate) const MIN_RSA_BITS: usize = 2048;

/// Why a signature could not be accepted.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The algorithm, curve or key type is not supported; names it.
    Unsupported(String),
    /// The issuer's key or the algorithm parameters cannot be decoded.
    Malformed(String),
    /// The signature does not verify (or cannot have been made with this key); says with
    /// what it was checked.
    Invalid(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Hash {
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    fn from_oid(oid: &ObjectIdentifier) -> Option<Hash> {
        match *oid {
            rfc5912::ID_SHA_256 => Some(Hash::Sha256),
            rfc5912::ID_SHA_384 => Some(Hash::Sha384),
            rfc5912::ID_SHA_512 => Some(Hash::Sha512),
            _ => None,
        }
    }

    fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            Hash::Sha256 => Sha256::digest(data).to_vec(),
            Hash::Sha384 => Sha384::digest(data).to_vec(),
            Hash::Sha512 => Sha512::digest(data).to_vec(),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Hash::Sha256 => "SHA-256",
            Hash::Sha384 => "SHA-384",
            Hash::Sha512 => "SHA-512",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Algorithm {
    Ecdsa(Hash),
    Ed25519,
    RsaPkcs1(Hash),
    RsaPss { hash: Hash, salt_length: u8 },
}

impl Algorithm {
    fn parse(identifier: &AlgorithmIdentifierOwned) -> Result<Algorithm, Failure> {
        let oid = identifier.oid;
        let no_parameters = identifier.parameters.is_none();
        let null_or_none = identifier
            .parameters
            .as_ref()
            .is_none_or(|any| any.is_null());
        let algorithm = match oid {
            rfc5912::ECDSA_WITH_SHA_256 if no_parameters => Algorithm::Ecdsa(Hash::Sha256),
            rfc5912::ECDSA_WITH_SHA_384 if no_parameters => Algorithm::Ecdsa(Hash::Sha384),
            rfc5912::ECDSA_WITH_SHA_512 if no_parameters => Algorithm::Ecdsa(Hash::Sha512),
            rfc8410::ID_ED_25519 if no_parameters => Algorithm::Ed25519,
            rfc5912::SHA_256_WITH_RSA_ENCRYPTION if null_or_none => {
                Algorithm::RsaPkcs1(Hash::Sha256)
            }
            rfc5912::SHA_384_WITH_RSA_ENCRYPTION if null_or_none => {
                Algorithm::RsaPkcs1(Hash::Sha384)
            }
            rfc5912::SHA_512_WITH_RSA_ENCRYPTION if null_or_none => {
                Algorithm::RsaPkcs1(Hash::Sha512)
            }
            rfc5912::ID_RSASSA_PSS => return pss(identifier),
            rfc5912::ECDSA_WITH_SHA_256
            | rfc5912::ECDSA_WITH_SHA_384
            | rfc5912::ECDSA_WITH_SHA_512
            | rfc8410::ID_ED_25519
            | rfc5912::SHA_256_WITH_RSA_ENCRYPTION
            | rfc5912::SHA_384_WITH_RSA_ENCRYPTION
            | rfc5912::SHA_512_WITH_RSA_ENCRYPTION => {
                return Err(Failure::Malformed(format!(
                    "the signature algorithm {} carries parameters it must not have",
                    describe_oid(&oid)
                )));
            }
            _ => {
                return Err(Failure::Unsupported(format!(
                    "signature algorithm {}",
                    describe_oid(&oid)
                )));
            }
        };
        Ok(algorithm)
    }

    fn describe(self) -> String {
        match self {
            Algorithm::Ecdsa(hash) => format!("ECDSA with {}", hash.name()),
            Algorithm::Ed25519 => "Ed25519".to_owned(),
            Algorithm::RsaPkcs1(hash) => format!("RSA PKCS #1 v1.5 with {}", hash.name()),
            Algorithm::RsaPss { hash, salt_length } => {
                format!("RSA-PSS with {} (salt {salt_length} bytes)", hash.name())
            }
        }
    }
}

/// RSASSA-PSS parameters: one hash for the message and MGF1, trailer 0xBC.
fn pss(identifier: &AlgorithmIdentifierOwned) -> Result<Algorithm, Failure> {
    let malformed = |what: &str| Failure::Malformed(format!("RSASSA-PSS parameters: {what}"));
    let encoded = identifier
        .parameters
        .as_ref()
        .ok_or_else(|| malformed("missing"))?
        .to_der()
        .map_err(|error| malformed(&error.to_string()))?;
    let parameters =
        RsaPssParamsOwned::from_der(&encoded).map_err(|error| malformed(&error.to_string()))?;
    let hash = Hash::from_oid(&parameters.hash.oid).ok_or_else(|| {
        Failure::Unsupported(format!(
            "RSA-PSS with hash {}",
            describe_oid(&parameters.hash.oid)
        ))
    })?;
    let mask_hash = parameters
        .mask_gen
        .parameters
        .as_ref()
        .map(|mgf_hash| mgf_hash.oid);
    if parameters.mask_gen.oid != rfc5912::ID_MGF_1 || mask_hash != Some(parameters.hash.oid) {
        return Err(Failure::Unsupported(format!(
            "RSA-PSS with mask generation {} over {}",
            describe_oid(&parameters.mask_gen.oid),
            mask_hash
                .as_ref()
                .map(describe_oid)
                .unwrap_or_else(|| "nothing".to_owned()),
        )));
    }
    Ok(Algorithm::RsaPss {
        hash,
        salt_length: parameters.salt_len,
    })
}

enum PublicKey {
    P256(p256::ecdsa::VerifyingKey),
    P384(p384::ecdsa::VerifyingKey),
    P521(p521::ecdsa::VerifyingKey),
    Ed25519(ed25519_dalek::VerifyingKey),
    Rsa(rsa::PublicKey),
}

impl PublicKey {
    fn parse(spki: &SubjectPublicKeyInfoOwned) -> Result<PublicKey, Failure> {
        let malformed = |what: &str| Failure::Malformed(format!("the issuer's public key: {what}"));
        let bits = spki
            .subject_public_key
            .as_bytes()
            .ok_or_else(|| malformed("the key BIT STRING has unused bits"))?;
        match spki.algorithm.oid {
            rfc5912::ID_EC_PUBLIC_KEY => {
                let curve: Oid = spki
                    .algorithm
                    .parameters
                    .as_ref()
                    .ok_or_else(|| malformed("no named curve"))?
                    .decode_as()
                    .map_err(|_| {
                        Failure::Unsupported("EC key with explicit curve parameters".to_owned())
                    })?;
                let invalid_point = |_| malformed("not a point on its curve");
                match curve {
                    rfc5912::SECP_256_R_1 => p256::ecdsa::VerifyingKey::from_sec1_bytes(bits)
                        .map(PublicKey::P256)
                        .map_err(invalid_point),
                    rfc5912::SECP_384_R_1 => p384::ecdsa::VerifyingKey::from_sec1_bytes(bits)
                        .map(PublicKey::P384)
                        .map_err(invalid_point),
                    rfc5912::SECP_521_R_1 => p521::ecdsa::VerifyingKey::from_sec1_bytes(bits)
                        .map(PublicKey::P521)
                        .map_err(invalid_point),
                    other => Err(Failure::Unsupported(format!(
                        "EC curve {}",
                        describe_oid(&other)
                    ))),
                }
            }
            rfc8410::ID_ED_25519 => {
                let bytes: &[u8; 32] = bits
                    .try_into()
                    .map_err(|_| malformed("an Ed25519 key is 32 bytes"))?;
                ed25519_dalek::VerifyingKey::from_bytes(bytes)
                    .map(PublicKey::Ed25519)
                    .map_err(|_| malformed("not a valid Ed25519 point"))
            }
            rfc5912::RSA_ENCRYPTION => {
                let der = spki
                    .to_der()
                    .map_err(|error| malformed(&error.to_string()))?;
                let key = rsa::PublicKey::from_public_key_der(&der)
                    .map_err(|error| malformed(&error.to_string()))?;
                let size = key.size().saturating_mul(8);
                if size < MIN_RSA_BITS {
                    return Err(Failure::Unsupported(format!(
                        "RSA key of {size} bits (at least {MIN_RSA_BITS} required)"
                    )));
                }
                Ok(PublicKey::Rsa(key))
            }
            other => Err(Failure::Unsupported(format!(
                "public key type {}",
                describe_oid(&other)
            ))),
        }
    }

    fn describe(&self) -> &'static str {
        match self {
            PublicKey::P256(_) => "P-256",
            PublicKey::P384(_) => "P-384",
            PublicKey::P521(_) => "P-521",
            PublicKey::Ed25519(_) => "Ed25519",
            PublicKey::Rsa(_) => "RSA",
        }
    }

    /// Whether `signature` over `message` verifies; `None` when `algorithm` cannot be
    /// used with this kind of key.
    fn verify(&self, algorithm: Algorithm, message: &[u8], signature: &[u8]) -> Option<bool> {
        let verified = match (self, algorithm) {
            (PublicKey::P256(key), Algorithm::Ecdsa(hash)) => {
                p256::ecdsa::DerSignature::from_bytes(signature)
                    .is_ok_and(|sig| key.verify_prehash(&hash.digest(message), &sig).is_ok())
            }
            (PublicKey::P384(key), Algorithm::Ecdsa(hash)) => {
                p384::ecdsa::DerSignature::from_bytes(signature)
                    .is_ok_and(|sig| key.verify_prehash(&hash.digest(message), &sig).is_ok())
            }
            (PublicKey::P521(key), Algorithm::Ecdsa(hash)) => {
                p521::ecdsa::DerSignature::from_bytes(signature)
                    .is_ok_and(|sig| key.verify_prehash(&hash.digest(message), &sig).is_ok())
            }
            (PublicKey::Ed25519(key), Algorithm::Ed25519) => {
                ed25519_dalek::Signature::from_slice(signature)
                    .is_ok_and(|sig| key.verify_strict(message, &sig).is_ok())
            }
            (PublicKey::Rsa(key), Algorithm::RsaPkcs1(hash)) => match hash {
                Hash::Sha256 => rsa_pkcs1::<Sha256>(key, message, signature),
                Hash::Sha384 => rsa_pkcs1::<Sha384>(key, message, signature),
                Hash::Sha512 => rsa_pkcs1::<Sha512>(key, message, signature),
            },
            (PublicKey::Rsa(key), Algorithm::RsaPss { hash, salt_length }) => {
                let salt = usize::from(salt_length);
                match hash {
                    Hash::Sha256 => rsa_pss::<Sha256>(key, salt, message, signature),
                    Hash::Sha384 => rsa_pss::<Sha384>(key, salt, message, signature),
                    Hash::Sha512 => rsa_pss::<Sha512>(key, salt, message, signature),
                }
            }
            _ => return None,
        };
        Some(verified)
    }
}

fn rsa_pkcs1<D>(key: &rsa::PublicKey, message: &[u8], signature: &[u8]) -> bool
where
    D: Digest + const_oid::AssociatedOid,
{
    let verifier = rsa::pkcs1v15::VerifyingKey::<D>::new(key.clone());
    rsa::pkcs1v15::Signature::try_from(signature)
        .is_ok_and(|sig| verifier.verify(message, &sig).is_ok())
}

fn rsa_pss<D>(key: &rsa::PublicKey, salt: usize, message: &[u8], signature: &[u8]) -> bool
where
    D: Digest + sha2::digest::FixedOutputReset,
{
    let verifier = rsa::pss::VerifyingKey::<D>::new_with_salt_len(key.clone(), salt);
    rsa::pss::Signature::try_from(signature).is_ok_and(|sig| verifier.verify(message, &sig).is_ok())
}

/// Checks that `issuer`'s key made the signature on `child`.
pub(crate) fn verify_issued_by(child: &Certificate, issuer: &Certificate) -> Result<(), Failure> {
    let algorithm = Algorithm::parse(child.parsed().signature_algorithm())?;
    let key = PublicKey::parse(issuer.parsed().tbs_certificate().subject_public_key_info())?;
    let signature =
        child.parsed().signature().as_bytes().ok_or_else(|| {
            Failure::Invalid("the signature BIT STRING has unused bits".to_owned())
        })?;
    match key.verify(algorithm, child.signed_bytes(), signature) {
        Some(true) => Ok(()),
        Some(false) => Err(Failure::Invalid(format!(
            "{} by a {} key",
            algorithm.describe(),
            key.describe()
        ))),
        None => Err(Failure::Invalid(format!(
            "{} cannot be made with a {} key",
            algorithm.describe(),
            key.describe()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use der::asn1::Any;

    use super::*;

    fn fixture(name: &str) -> Certificate {
        let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        let bytes = std::fs::read(&path).unwrap_or_else(|error| panic!("{path}: {error}"));
        crate::parse_certificates(&bytes).expect("parses").remove(0)
    }

    fn identifier(oid: ObjectIdentifier, parameters: Option<Any>) -> AlgorithmIdentifierOwned {
        AlgorithmIdentifierOwned { oid, parameters }
    }

    #[test]
    fn an_algorithm_never_verifies_with_another_key_type() {
        let p384 = fixture("root-p384.pem");
        let key = PublicKey::parse(p384.parsed().tbs_certificate().subject_public_key_info())
            .expect("P-384 key");
        assert_eq!(key.describe(), "P-384");
        assert_eq!(
            key.verify(Algorithm::RsaPkcs1(Hash::Sha256), b"m", b"s"),
            None
        );
        assert_eq!(key.verify(Algorithm::Ed25519, b"m", b"s"), None);
        assert_eq!(
            key.verify(Algorithm::Ecdsa(Hash::Sha384), b"m", b"not DER"),
            Some(false)
        );
    }

    #[test]
    fn unknown_or_misparameterised_algorithms_are_refused_by_name() {
        let sha1_rsa = identifier(rfc5912::SHA_1_WITH_RSA_ENCRYPTION, None);
        assert!(
            matches!(Algorithm::parse(&sha1_rsa), Err(Failure::Unsupported(what)) if what.contains("1.2.840.113549.1.1.5"))
        );
        let with_null = identifier(rfc5912::ECDSA_WITH_SHA_256, Some(Any::null()));
        assert!(matches!(
            Algorithm::parse(&with_null),
            Err(Failure::Malformed(_))
        ));
        let rsa_with_null = identifier(rfc5912::SHA_256_WITH_RSA_ENCRYPTION, Some(Any::null()));
        assert_eq!(
            Algorithm::parse(&rsa_with_null).ok(),
            Some(Algorithm::RsaPkcs1(Hash::Sha256))
        );
        let pss_without_parameters = identifier(rfc5912::ID_RSASSA_PSS, None);
        assert!(matches!(
            Algorithm::parse(&pss_without_parameters),
            Err(Failure::Malformed(_))
        ));
    }

    #[test]
    fn pss_parameters_are_read() {
        let leaf = fixture("leaf-by-rsa-pss.pem");
        assert_eq!(
            Algorithm::parse(leaf.parsed().signature_algorithm()).ok(),
            Some(Algorithm::RsaPss {
                hash: Hash::Sha256,
                salt_length: 32
            })
        );
    }
}
