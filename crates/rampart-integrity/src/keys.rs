//! Signing and verifying keys: ECDSA P-256/P-384/P-521 (what OMS accepts, each with its
//! curve's hash) and Ed25519 (a rampart extension the reference tool cannot verify).
//! Signatures are DER for ECDSA, as OMS writes them, and the raw 64 bytes for Ed25519.

use std::fmt;

use der::asn1::ObjectIdentifier;
use der::pem::LineEnding;
use ecdsa::signature::{Signer, Verifier};
use pkcs8::{DecodePrivateKey, EncryptedPrivateKeyInfoRef, PrivateKeyInfoRef};
use sha2::{Digest, Sha256};
use spki::{DecodePublicKey, EncodePublicKey, SubjectPublicKeyInfoRef};

const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const SECP256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const SECP384R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const SECP521R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.35");
const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
const RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

/// Why a key could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("no PEM key block found (expected `BEGIN PUBLIC KEY` or `BEGIN PRIVATE KEY`)")]
    NoPem,
    #[error("malformed key: {0}")]
    Malformed(String),
    #[error(
        "unsupported key type {0}: OpenSSF Model Signing accepts ECDSA P-256, P-384 and P-521 (rampart also signs with Ed25519)"
    )]
    Unsupported(String),
    #[error("the private key is encrypted: give its password")]
    PasswordNeeded,
    #[error("could not decrypt the private key (wrong password?)")]
    Decrypt,
    #[error("this is a {found}; {wanted}")]
    WrongKind {
        found: &'static str,
        wanted: &'static str,
    },
}

/// The signature algorithms rampart signs and verifies with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAlgorithm {
    EcdsaP256,
    EcdsaP384,
    EcdsaP521,
    Ed25519,
}

impl KeyAlgorithm {
    /// Whether the OMS reference tool (model_signing) can verify signatures by this key.
    pub fn oms_compatible(self) -> bool {
        self != KeyAlgorithm::Ed25519
    }
}

impl fmt::Display for KeyAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyAlgorithm::EcdsaP256 => "ECDSA P-256 with SHA-256",
            KeyAlgorithm::EcdsaP384 => "ECDSA P-384 with SHA-384",
            KeyAlgorithm::EcdsaP521 => "ECDSA P-521 with SHA-512",
            KeyAlgorithm::Ed25519 => "Ed25519 (rampart extension)",
        })
    }
}

/// A private key.
pub enum SigningKey {
    P256(p256::ecdsa::SigningKey),
    P384(p384::ecdsa::SigningKey),
    P521(p521::ecdsa::SigningKey),
    Ed25519(ed25519_dalek::SigningKey),
}

/// A public key.
#[derive(Clone)]
pub enum VerifyingKey {
    P256(p256::ecdsa::VerifyingKey),
    P384(p384::ecdsa::VerifyingKey),
    P521(p521::ecdsa::VerifyingKey),
    Ed25519(ed25519_dalek::VerifyingKey),
}

/// The PEM blocks of a file, label and DER, skipping anything between them
/// (`openssl ecparam -genkey` writes an `EC PARAMETERS` block first).
fn pem_blocks(text: &[u8]) -> Vec<(String, Vec<u8>)> {
    let Ok(text) = std::str::from_utf8(text) else {
        return Vec::new();
    };
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(begin) = rest.find("-----BEGIN ") {
        let block = &rest[begin..];
        let Some(label_end) = block["-----BEGIN ".len()..].find("-----") else {
            break;
        };
        let label = &block["-----BEGIN ".len()..][..label_end];
        let end_marker = format!("-----END {label}-----");
        let Some(end) = block.find(&end_marker) else {
            break;
        };
        let whole = &block[..end + end_marker.len()];
        if let Ok((_, der)) = der::pem::decode_vec(whole.as_bytes()) {
            blocks.push((label.to_owned(), der));
        }
        rest = &block[end + end_marker.len()..];
    }
    blocks
}

fn curve_name(oid: Option<ObjectIdentifier>) -> String {
    match oid {
        Some(oid) => format!("EC curve {oid}"),
        None => "EC key without a named curve".to_owned(),
    }
}

fn algorithm_name(oid: ObjectIdentifier) -> String {
    if oid == RSA {
        "RSA".to_owned()
    } else {
        format!("with algorithm {oid}")
    }
}

impl SigningKey {
    /// Reads a PEM private key: PKCS#8 (`PRIVATE KEY`), encrypted PKCS#8 (`ENCRYPTED PRIVATE
    /// KEY`, needs `password`) or SEC1 (`EC PRIVATE KEY`).
    pub fn from_pem(text: &[u8], password: Option<&[u8]>) -> Result<SigningKey, KeyError> {
        for (label, der) in pem_blocks(text) {
            match label.as_str() {
                "PRIVATE KEY" => return Self::from_pkcs8_der(&der),
                "ENCRYPTED PRIVATE KEY" => {
                    let password = password.ok_or(KeyError::PasswordNeeded)?;
                    let encrypted = EncryptedPrivateKeyInfoRef::try_from(der.as_slice())
                        .map_err(|error| KeyError::Malformed(error.to_string()))?;
                    let plain = encrypted.decrypt(password).map_err(|_| KeyError::Decrypt)?;
                    return Self::from_pkcs8_der(plain.as_bytes());
                }
                "EC PRIVATE KEY" => return Self::from_sec1_der(&der),
                "PUBLIC KEY" => {
                    return Err(KeyError::WrongKind {
                        found: "public key",
                        wanted: "signing needs the private key",
                    });
                }
                "CERTIFICATE" => {
                    return Err(KeyError::WrongKind {
                        found: "certificate",
                        wanted: "signing needs the private key (give the certificate with --certificate)",
                    });
                }
                _ => {}
            }
        }
        Err(KeyError::NoPem)
    }

    fn from_pkcs8_der(der: &[u8]) -> Result<SigningKey, KeyError> {
        let info = PrivateKeyInfoRef::try_from(der)
            .map_err(|error| KeyError::Malformed(error.to_string()))?;
        let malformed = |error: pkcs8::Error| KeyError::Malformed(error.to_string());
        let oid = info.algorithm.oid;
        if oid == ED25519 {
            return ed25519_dalek::SigningKey::from_pkcs8_der(der)
                .map(SigningKey::Ed25519)
                .map_err(malformed);
        }
        if oid != EC_PUBLIC_KEY {
            return Err(KeyError::Unsupported(algorithm_name(oid)));
        }
        match info.algorithm.parameters_oid().ok() {
            Some(SECP256R1) => p256::ecdsa::SigningKey::from_pkcs8_der(der)
                .map(SigningKey::P256)
                .map_err(malformed),
            Some(SECP384R1) => p384::ecdsa::SigningKey::from_pkcs8_der(der)
                .map(SigningKey::P384)
                .map_err(malformed),
            Some(SECP521R1) => p521::ecdsa::SigningKey::from_pkcs8_der(der)
                .map(SigningKey::P521)
                .map_err(malformed),
            other => Err(KeyError::Unsupported(curve_name(other))),
        }
    }

    fn from_sec1_der(der: &[u8]) -> Result<SigningKey, KeyError> {
        let malformed = |error: sec1::Error| KeyError::Malformed(error.to_string());
        let key = sec1::EcPrivateKey::try_from(der).map_err(malformed)?;
        let curve = key
            .parameters
            .and_then(|parameters| parameters.named_curve());
        let secret = key.private_key;
        let bad_scalar = |_| KeyError::Malformed("private scalar out of range".to_owned());
        match curve {
            Some(SECP256R1) => p256::ecdsa::SigningKey::from_slice(secret)
                .map(SigningKey::P256)
                .map_err(bad_scalar),
            Some(SECP384R1) => p384::ecdsa::SigningKey::from_slice(secret)
                .map(SigningKey::P384)
                .map_err(bad_scalar),
            Some(SECP521R1) => p521::ecdsa::SigningKey::from_slice(secret)
                .map(SigningKey::P521)
                .map_err(bad_scalar),
            other => Err(KeyError::Unsupported(curve_name(other))),
        }
    }

    pub fn algorithm(&self) -> KeyAlgorithm {
        self.verifying_key().algorithm()
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        match self {
            SigningKey::P256(key) => VerifyingKey::P256(*key.verifying_key()),
            SigningKey::P384(key) => VerifyingKey::P384(*key.verifying_key()),
            SigningKey::P521(key) => VerifyingKey::P521(*key.verifying_key()),
            SigningKey::Ed25519(key) => VerifyingKey::Ed25519(key.verifying_key()),
        }
    }

    /// Signs `message`: DER ECDSA with the curve's hash, or raw Ed25519.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        match self {
            SigningKey::P256(key) => {
                let signature: p256::ecdsa::Signature = key.sign(message);
                signature.to_der().as_bytes().to_vec()
            }
            SigningKey::P384(key) => {
                let signature: p384::ecdsa::Signature = key.sign(message);
                signature.to_der().as_bytes().to_vec()
            }
            SigningKey::P521(key) => {
                let signature: p521::ecdsa::Signature = key.sign(message);
                signature.to_der().as_bytes().to_vec()
            }
            SigningKey::Ed25519(key) => key.sign(message).to_bytes().to_vec(),
        }
    }
}

impl VerifyingKey {
    /// Reads a PEM `PUBLIC KEY` (SubjectPublicKeyInfo).
    pub fn from_pem(text: &[u8]) -> Result<VerifyingKey, KeyError> {
        for (label, der) in pem_blocks(text) {
            match label.as_str() {
                "PUBLIC KEY" => return Self::from_spki_der(&der),
                "PRIVATE KEY" | "EC PRIVATE KEY" | "ENCRYPTED PRIVATE KEY" => {
                    return Err(KeyError::WrongKind {
                        found: "private key",
                        wanted: "verifying needs the public key (`openssl pkey -in KEY -pubout`); keep the private key secret",
                    });
                }
                "CERTIFICATE" => {
                    return Err(KeyError::WrongKind {
                        found: "certificate",
                        wanted: "verify certificate-signed models with --certificate-chain",
                    });
                }
                _ => {}
            }
        }
        Err(KeyError::NoPem)
    }

    /// Reads a DER SubjectPublicKeyInfo (also what a certificate carries).
    pub fn from_spki_der(der: &[u8]) -> Result<VerifyingKey, KeyError> {
        let info = SubjectPublicKeyInfoRef::try_from(der)
            .map_err(|error| KeyError::Malformed(error.to_string()))?;
        let malformed = |error: spki::Error| KeyError::Malformed(error.to_string());
        let oid = info.algorithm.oid;
        if oid == ED25519 {
            return ed25519_dalek::VerifyingKey::from_public_key_der(der)
                .map(VerifyingKey::Ed25519)
                .map_err(malformed);
        }
        if oid != EC_PUBLIC_KEY {
            return Err(KeyError::Unsupported(algorithm_name(oid)));
        }
        match info.algorithm.parameters_oid().ok() {
            Some(SECP256R1) => p256::ecdsa::VerifyingKey::from_public_key_der(der)
                .map(VerifyingKey::P256)
                .map_err(malformed),
            Some(SECP384R1) => p384::ecdsa::VerifyingKey::from_public_key_der(der)
                .map(VerifyingKey::P384)
                .map_err(malformed),
            Some(SECP521R1) => p521::ecdsa::VerifyingKey::from_public_key_der(der)
                .map(VerifyingKey::P521)
                .map_err(malformed),
            other => Err(KeyError::Unsupported(curve_name(other))),
        }
    }

    pub fn algorithm(&self) -> KeyAlgorithm {
        match self {
            VerifyingKey::P256(_) => KeyAlgorithm::EcdsaP256,
            VerifyingKey::P384(_) => KeyAlgorithm::EcdsaP384,
            VerifyingKey::P521(_) => KeyAlgorithm::EcdsaP521,
            VerifyingKey::Ed25519(_) => KeyAlgorithm::Ed25519,
        }
    }

    /// The key as PEM SubjectPublicKeyInfo, re-encoded canonically (uncompressed point,
    /// 64-column base64, LF line endings) whatever form the key file had.
    pub fn to_pem(&self) -> String {
        let encoded = match self {
            VerifyingKey::P256(key) => key.to_public_key_pem(LineEnding::LF),
            VerifyingKey::P384(key) => key.to_public_key_pem(LineEnding::LF),
            VerifyingKey::P521(key) => key.to_public_key_pem(LineEnding::LF),
            VerifyingKey::Ed25519(key) => key.to_public_key_pem(LineEnding::LF),
        };
        // Encoding a valid in-memory key cannot fail; an empty string would only make the
        // hint mismatch, never verify.
        encoded.unwrap_or_default()
    }

    /// The OMS key hint: lowercase hex SHA-256 of [`VerifyingKey::to_pem`].
    pub fn hint(&self) -> String {
        hex::encode(Sha256::digest(self.to_pem().as_bytes()))
    }

    /// Checks `signature` (DER ECDSA or raw Ed25519) over `message`.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match self {
            VerifyingKey::P256(key) => p256::ecdsa::Signature::from_der(signature)
                .is_ok_and(|signature| key.verify(message, &signature).is_ok()),
            VerifyingKey::P384(key) => p384::ecdsa::Signature::from_der(signature)
                .is_ok_and(|signature| key.verify(message, &signature).is_ok()),
            VerifyingKey::P521(key) => p521::ecdsa::Signature::from_der(signature)
                .is_ok_and(|signature| key.verify(message, &signature).is_ok()),
            VerifyingKey::Ed25519(key) => ed25519_dalek::Signature::from_slice(signature)
                .is_ok_and(|signature| key.verify_strict(message, &signature).is_ok()),
        }
    }
}

impl PartialEq for VerifyingKey {
    fn eq(&self, other: &Self) -> bool {
        self.to_pem() == other.to_pem()
    }
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} key {}", self.algorithm(), self.hint())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEYS: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/model-signing/keys"
    );

    fn read(name: &str) -> Vec<u8> {
        std::fs::read(format!("{KEYS}/{name}")).unwrap()
    }

    #[test]
    fn fixture_keys_load_and_round_trip() {
        for (name, algorithm) in [
            ("signer-p256", KeyAlgorithm::EcdsaP256),
            ("signer-p384", KeyAlgorithm::EcdsaP384),
            ("signer-p521", KeyAlgorithm::EcdsaP521),
        ] {
            let private = SigningKey::from_pem(&read(&format!("{name}.key.pem")), None).unwrap();
            let public = VerifyingKey::from_pem(&read(&format!("{name}.pub.pem"))).unwrap();
            assert_eq!(private.algorithm(), algorithm);
            assert_eq!(private.verifying_key(), public);
            let signature = private.sign(b"message");
            assert!(public.verify(b"message", &signature));
            assert!(!public.verify(b"messagf", &signature));
        }
    }

    #[test]
    fn hint_is_the_sha256_of_the_canonical_pem() {
        let public = VerifyingKey::from_pem(&read("signer-p256.pub.pem")).unwrap();
        let file = String::from_utf8(read("signer-p256.pub.pem")).unwrap();
        assert_eq!(public.to_pem(), file);
        assert_eq!(public.hint(), hex::encode(Sha256::digest(file.as_bytes())));
    }

    #[test]
    fn wrong_kinds_are_named() {
        assert!(matches!(
            VerifyingKey::from_pem(&read("signer-p256.key.pem")),
            Err(KeyError::WrongKind {
                found: "private key",
                ..
            })
        ));
        assert!(matches!(
            SigningKey::from_pem(&read("signer-p256.pub.pem"), None),
            Err(KeyError::WrongKind {
                found: "public key",
                ..
            })
        ));
        assert!(matches!(
            SigningKey::from_pem(b"garbage", None),
            Err(KeyError::NoPem)
        ));
    }

    const LOCAL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/keys");

    fn local(name: &str) -> Vec<u8> {
        std::fs::read(format!("{LOCAL}/{name}")).unwrap()
    }

    #[test]
    fn every_private_key_form_loads_and_matches_its_public_key() {
        for (private, public, password) in [
            ("ed25519.key.pem", "ed25519.pub.pem", None),
            ("p256-sec1.key.pem", "p256-sec1.pub.pem", None),
            (
                "p384-encrypted.key.pem",
                "p384-encrypted.pub.pem",
                Some(&b"correct-horse"[..]),
            ),
        ] {
            let key = SigningKey::from_pem(&local(private), password).unwrap();
            let public = VerifyingKey::from_pem(&local(public)).unwrap();
            assert_eq!(key.verifying_key(), public, "{private}");
            assert!(public.verify(b"m", &key.sign(b"m")));
        }
    }

    #[test]
    fn encrypted_keys_need_the_right_password() {
        let text = local("p384-encrypted.key.pem");
        assert!(matches!(
            SigningKey::from_pem(&text, None),
            Err(KeyError::PasswordNeeded)
        ));
        assert!(matches!(
            SigningKey::from_pem(&text, Some(b"wrong")),
            Err(KeyError::Decrypt)
        ));
    }

    #[test]
    fn keys_oms_does_not_accept_are_refused_by_name() {
        let rsa = SigningKey::from_pem(&local("rsa.key.pem"), None)
            .err()
            .unwrap()
            .to_string();
        assert!(rsa.contains("RSA"), "{rsa}");
        assert!(VerifyingKey::from_pem(&local("rsa.pub.pem")).is_err());
        let k1 = SigningKey::from_pem(&local("secp256k1.key.pem"), None)
            .err()
            .unwrap()
            .to_string();
        assert!(k1.contains("1.3.132.0.10"), "{k1}");
    }

    #[test]
    fn ed25519_signs_raw_64_byte_signatures() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
        let signer = SigningKey::Ed25519(key);
        let signature = signer.sign(b"m");
        assert_eq!(signature.len(), 64);
        assert!(signer.verifying_key().verify(b"m", &signature));
        assert!(!signer.algorithm().oms_compatible());
    }
}
