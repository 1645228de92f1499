//! DSSE v1 envelopes: a payload, its type, and signatures over the pre-authentication
//! encoding (PAE) of both, so a signature can never be replayed over another payload type.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use crate::keys::{SigningKey, VerifyingKey};

/// The payload type of in-toto statements.
pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// `DSSEv1 SP LEN(type) SP type SP LEN(body) SP body`, lengths in ASCII decimal.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let header = format!(
        "DSSEv1 {} {payload_type} {} ",
        payload_type.len(),
        payload.len()
    );
    let mut message = Vec::with_capacity(header.len() + payload.len());
    message.extend_from_slice(header.as_bytes());
    message.extend_from_slice(payload);
    message
}

/// A DSSE envelope as JSON: base64 (standard, padded) payload and signatures.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Envelope {
    pub payload: String,
    pub payload_type: String,
    pub signatures: Vec<EnvelopeSignature>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct EnvelopeSignature {
    pub sig: String,
    /// OMS writes the empty string; verifiers never select keys by it.
    #[serde(default)]
    pub keyid: String,
}

/// Why an envelope does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    #[error("the envelope has no signature")]
    Unsigned,
    #[error("the envelope's {0} is not valid base64")]
    Base64(&'static str),
    #[error(
        "the signature does not verify with the given key (the payload or signature was changed, or another key signed it)"
    )]
    BadSignature,
}

impl Envelope {
    /// Signs `payload` with one signature, as OMS does.
    pub fn sign(payload_type: &str, payload: &[u8], key: &SigningKey) -> Envelope {
        let signature = key.sign(&pae(payload_type, payload));
        Envelope {
            payload: STANDARD.encode(payload),
            payload_type: payload_type.to_owned(),
            signatures: vec![EnvelopeSignature {
                sig: STANDARD.encode(signature),
                keyid: String::new(),
            }],
        }
    }

    /// The decoded payload bytes, exactly as signed.
    pub fn payload_bytes(&self) -> Result<Vec<u8>, EnvelopeError> {
        STANDARD
            .decode(&self.payload)
            .map_err(|_| EnvelopeError::Base64("payload"))
    }

    /// Verifies the first signature (the only one OMS writes or reads) over the PAE of
    /// `payload_type` and the payload, returning the payload. The type used in the PAE is the
    /// caller's expected type, so an envelope claiming another type cannot verify.
    pub fn verify(&self, payload_type: &str, key: &VerifyingKey) -> Result<Vec<u8>, EnvelopeError> {
        let signature = self.signatures.first().ok_or(EnvelopeError::Unsigned)?;
        let signature = STANDARD
            .decode(&signature.sig)
            .map_err(|_| EnvelopeError::Base64("signature"))?;
        let payload = self.payload_bytes()?;
        if key.verify(&pae(payload_type, &payload), &signature) {
            Ok(payload)
        } else {
            Err(EnvelopeError::BadSignature)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pae_matches_the_dsse_spec_example() {
        // From the DSSE protocol document: type "http://example.com/HelloWorld", body "hello world".
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
        );
    }

    #[test]
    fn signatures_bind_payload_and_type() {
        let key = SigningKey::Ed25519(ed25519_dalek::SigningKey::from_bytes(&[1u8; 32]));
        let envelope = Envelope::sign(IN_TOTO_PAYLOAD_TYPE, b"{}", &key);
        let public = key.verifying_key();
        assert_eq!(
            envelope.verify(IN_TOTO_PAYLOAD_TYPE, &public).unwrap(),
            b"{}"
        );
        assert_eq!(
            envelope.verify("text/plain", &public),
            Err(EnvelopeError::BadSignature)
        );
        let mut swapped = envelope.clone();
        swapped.payload = STANDARD.encode(b"[]");
        assert_eq!(
            swapped.verify(IN_TOTO_PAYLOAD_TYPE, &public),
            Err(EnvelopeError::BadSignature)
        );
        let mut truncated = envelope;
        truncated.signatures[0].sig.truncate(10);
        assert!(truncated.verify(IN_TOTO_PAYLOAD_TYPE, &public).is_err());
    }
}
