//! C2SP signed notes (`c2sp.org/signed-note`): text ending in a newline, a blank line, then
//! signature lines `— <key name> <base64(key ID || signature)>`; Ed25519 signer and verifier
//! keys in the Go `sumdb/note` text forms; and timestamped Ed25519 witness cosignatures
//! (`c2sp.org/tlog-cosignature`, `cosignature/v1`).
//!
//! Verification follows the spec: signatures from unknown keys are ignored, a signature from a
//! known key that fails rejects the whole note, and at least one known key must have signed.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::{Error, Format};

/// Largest note accepted (text and signatures), far above any checkpoint.
pub const MAX_NOTE_LEN: usize = 1 << 20;

/// Most signature lines accepted in one note (Go `sumdb/note` uses the same cap; the spec asks
/// for at least 16).
pub const MAX_SIGNATURES: usize = 100;

const SIGNATURE_PREFIX: &str = "\u{2014} ";
const PRIVATE_KEY_PREFIX: &str = "PRIVATE+KEY+";
const ED25519_KEY_LEN: usize = 32;
const COSIGNATURE_HEADER: &str = "cosignature/v1\n";
const COSIGNATURE_LEN: usize = 8 + ed25519_dalek::SIGNATURE_LENGTH;

/// The signature types rampart speaks (the signed-note type byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyType {
    /// `0x01`: an Ed25519 signature over the note text (how logs sign checkpoints).
    Ed25519,
    /// `0x04`: a timestamped Ed25519 witness cosignature (`c2sp.org/tlog-cosignature`).
    Cosignature,
}

impl KeyType {
    /// The signed-note signature type byte.
    pub fn type_byte(self) -> u8 {
        match self {
            KeyType::Ed25519 => 0x01,
            KeyType::Cosignature => 0x04,
        }
    }

    fn from_type_byte(byte: u8) -> Option<Self> {
        match byte {
            0x01 => Some(KeyType::Ed25519),
            0x04 => Some(KeyType::Cosignature),
            _ => None,
        }
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyType::Ed25519 => "Ed25519 (0x01)",
            KeyType::Cosignature => "Ed25519 cosignature (0x04)",
        })
    }
}

/// The key ID: the first 4 bytes, big-endian, of `SHA-256(name || 0x0A || type || public key)`.
pub fn key_id(name: &str, key_type: KeyType, public_key: &[u8; 32]) -> u32 {
    let digest = Sha256::new()
        .chain_update(name.as_bytes())
        .chain_update([b'\n', key_type.type_byte()])
        .chain_update(public_key)
        .finalize();
    let mut id = [0u8; 4];
    id.copy_from_slice(digest.get(..4).unwrap_or(&[0; 4]));
    u32::from_be_bytes(id)
}

/// A public key that verifies note signatures, identified by name and key ID. Its text form
/// (a "vkey") is `<name>+<hex key ID>+<base64(type || public key)>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifierKey {
    name: String,
    key_id: u32,
    key_type: KeyType,
    public_key: VerifyingKey,
}

impl VerifierKey {
    /// Parses the vkey text form; surrounding whitespace (a file's final newline) is ignored.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let malformed = |reason| Error::Malformed {
            format: Format::VerifierKey,
            offset: 0,
            reason,
        };
        let text = text.trim();
        let mut fields = text.splitn(3, '+');
        let (Some(name), Some(id), Some(key)) = (fields.next(), fields.next(), fields.next())
        else {
            return Err(malformed("expected <name>+<key id>+<key>"));
        };
        check_key_name(name).map_err(malformed)?;
        let key_id = parse_key_id(id).ok_or_else(|| malformed("the key ID is not 8 hex digits"))?;
        let (key_type, public_key) = decode_typed_key(key).map_err(malformed)?;
        let public_key = VerifyingKey::from_bytes(&public_key)
            .map_err(|_| malformed("the Ed25519 public key is not a valid curve point"))?;
        let verifier = Self {
            name: name.to_owned(),
            key_id,
            key_type,
            public_key,
        };
        if verifier.computed_key_id() != key_id {
            return Err(malformed("the key ID does not match the name and key"));
        }
        Ok(verifier)
    }

    /// The key's name (for a log, its origin).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The 4-byte key ID.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// What the key signs.
    pub fn key_type(&self) -> KeyType {
        self.key_type
    }

    /// The raw Ed25519 public key.
    pub fn public_key(&self) -> &VerifyingKey {
        &self.public_key
    }

    fn computed_key_id(&self) -> u32 {
        key_id(&self.name, self.key_type, self.public_key.as_bytes())
    }

    fn matches(&self, signature: &NoteSignature) -> bool {
        self.name == signature.name && self.key_id == signature.key_id
    }

    /// Verifies one signature line of a note whose text is `text`; returns the cosignature
    /// timestamp for cosigning keys.
    fn verify(&self, text: &str, signature: &NoteSignature) -> Result<Option<u64>, Error> {
        let rejected = || Error::BadSignature {
            name: self.name.clone(),
            key_id: self.key_id,
        };
        match self.key_type {
            KeyType::Ed25519 => {
                let signature =
                    Signature::from_slice(&signature.signature).map_err(|_| rejected())?;
                self.public_key
                    .verify_strict(text.as_bytes(), &signature)
                    .map_err(|_| rejected())?;
                Ok(None)
            }
            KeyType::Cosignature => {
                let bytes: &[u8; COSIGNATURE_LEN] = signature
                    .signature
                    .as_slice()
                    .try_into()
                    .map_err(|_| rejected())?;
                let (timestamp, signature) = bytes.split_at(8);
                let mut timestamp_bytes = [0u8; 8];
                timestamp_bytes.copy_from_slice(timestamp);
                let timestamp = u64::from_be_bytes(timestamp_bytes);
                if timestamp > i64::MAX as u64 {
                    return Err(rejected());
                }
                let signature = Signature::from_slice(signature).map_err(|_| rejected())?;
                let message = cosigned_message(timestamp, text);
                self.public_key
                    .verify_strict(&message, &signature)
                    .map_err(|_| rejected())?;
                Ok(Some(timestamp))
            }
        }
    }
}

impl fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}+{:08x}+{}",
            self.name,
            self.key_id,
            encode_typed_key(self.key_type, self.public_key.as_bytes())
        )
    }
}

/// A private Ed25519 key that signs notes (or cosigns checkpoints). Its text form is
/// `PRIVATE+KEY+<name>+<hex key ID>+<base64(type || 32-byte seed)>`, as Go `sumdb/note` writes.
#[derive(Clone)]
pub struct SignerKey {
    name: String,
    key_id: u32,
    key_type: KeyType,
    secret: SigningKey,
}

impl SignerKey {
    /// A new random key from the operating system's generator.
    pub fn generate(name: &str, key_type: KeyType) -> Result<Self, Error> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(Error::Random)?;
        Self::from_seed(name, key_type, &seed)
    }

    /// The key whose Ed25519 seed (RFC 8032 private key) is `seed`.
    pub fn from_seed(name: &str, key_type: KeyType, seed: &[u8; 32]) -> Result<Self, Error> {
        check_key_name(name).map_err(|reason| Error::Malformed {
            format: Format::SignerKey,
            offset: 0,
            reason,
        })?;
        let secret = SigningKey::from_bytes(seed);
        let key_id = key_id(name, key_type, secret.verifying_key().as_bytes());
        Ok(Self {
            name: name.to_owned(),
            key_id,
            key_type,
            secret,
        })
    }

    /// Parses the private key text form; surrounding whitespace is ignored. Error messages never
    /// quote the key.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let malformed = |reason| Error::Malformed {
            format: Format::SignerKey,
            offset: 0,
            reason,
        };
        let rest = text
            .trim()
            .strip_prefix(PRIVATE_KEY_PREFIX)
            .ok_or_else(|| malformed("does not start with PRIVATE+KEY+"))?;
        let mut fields = rest.splitn(3, '+');
        let (Some(name), Some(id), Some(key)) = (fields.next(), fields.next(), fields.next())
        else {
            return Err(malformed("expected PRIVATE+KEY+<name>+<key id>+<key>"));
        };
        let key_id = parse_key_id(id).ok_or_else(|| malformed("the key ID is not 8 hex digits"))?;
        let (key_type, seed) = decode_typed_key(key).map_err(malformed)?;
        let signer = Self::from_seed(name, key_type, &seed)?;
        if signer.key_id != key_id {
            return Err(malformed("the key ID does not match the name and key"));
        }
        Ok(signer)
    }

    /// The private key text form. Keep it secret.
    pub fn to_private_text(&self) -> String {
        format!(
            "{PRIVATE_KEY_PREFIX}{}+{:08x}+{}",
            self.name,
            self.key_id,
            encode_typed_key(self.key_type, self.secret.as_bytes())
        )
    }

    /// The matching public key.
    pub fn verifier(&self) -> VerifierKey {
        VerifierKey {
            name: self.name.clone(),
            key_id: self.key_id,
            key_type: self.key_type,
            public_key: self.secret.verifying_key(),
        }
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The 4-byte key ID.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// What the key signs.
    pub fn key_type(&self) -> KeyType {
        self.key_type
    }

    fn require_type(&self, expected: KeyType) -> Result<(), Error> {
        if self.key_type == expected {
            Ok(())
        } else {
            Err(Error::WrongKeyType {
                name: self.name.clone(),
                expected,
                found: self.key_type,
            })
        }
    }
}

impl fmt::Debug for SignerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignerKey")
            .field("name", &self.name)
            .field("key_id", &format_args!("{:08x}", self.key_id))
            .field("key_type", &self.key_type)
            .finish_non_exhaustive()
    }
}

/// One signature line of a note, verified or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    name: String,
    key_id: u32,
    signature: Vec<u8>,
}

impl NoteSignature {
    /// The signing key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The signing key's ID.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The signature bytes after the key ID.
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }
}

impl fmt::Display for NoteSignature {
    /// The signature line, with its final newline.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut bytes = Vec::with_capacity(4 + self.signature.len());
        bytes.extend_from_slice(&self.key_id.to_be_bytes());
        bytes.extend_from_slice(&self.signature);
        writeln!(
            f,
            "{SIGNATURE_PREFIX}{} {}",
            self.name,
            BASE64.encode(bytes)
        )
    }
}

/// A signature that verified against a trusted key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedSignature {
    /// The key's name.
    pub name: String,
    /// The key's ID.
    pub key_id: u32,
    /// The key's type.
    pub key_type: KeyType,
    /// For cosignatures, when the witness signed (POSIX seconds).
    pub timestamp: Option<u64>,
}

/// A signed note: its text and its signature lines. Parsing checks the syntax only; call
/// [`Note::verify`] before trusting the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    text: String,
    signatures: Vec<NoteSignature>,
}

impl Note {
    /// An unsigned note. The text must be non-empty, end with a newline and contain no control
    /// characters other than newlines.
    pub fn new(text: impl Into<String>) -> Result<Self, Error> {
        let text = text.into();
        check_note_characters(&text, Format::SignedNote)?;
        if !text.ends_with('\n') {
            return Err(Error::Malformed {
                format: Format::SignedNote,
                offset: text.len(),
                reason: "the text does not end with a newline",
            });
        }
        if text.len() > MAX_NOTE_LEN {
            return Err(Error::Malformed {
                format: Format::SignedNote,
                offset: MAX_NOTE_LEN,
                reason: "the note is over 1 MiB",
            });
        }
        Ok(Self {
            text,
            signatures: Vec::new(),
        })
    }

    /// Parses a signed note (text, blank line, one or more signature lines).
    pub fn parse(input: &[u8]) -> Result<Self, Error> {
        let malformed = |offset, reason| Error::Malformed {
            format: Format::SignedNote,
            offset,
            reason,
        };
        if input.len() > MAX_NOTE_LEN {
            return Err(malformed(MAX_NOTE_LEN, "the note is over 1 MiB"));
        }
        let input = std::str::from_utf8(input)
            .map_err(|error| malformed(error.valid_up_to(), "not valid UTF-8"))?;
        check_note_characters(input, Format::SignedNote)?;
        // The text ends at the last blank line: signature lines never contain one.
        let split = input
            .rfind("\n\n")
            .ok_or_else(|| malformed(input.len(), "no blank line before the signatures"))?;
        let (Some(text), Some(signature_block)) = (input.get(..=split), input.get(split + 2..))
        else {
            return Err(malformed(split, "no blank line before the signatures"));
        };
        if signature_block.is_empty() {
            return Err(malformed(input.len(), "the note has no signature lines"));
        }
        if !signature_block.ends_with('\n') {
            return Err(malformed(
                input.len(),
                "the last signature line does not end with a newline",
            ));
        }
        let mut signatures = Vec::new();
        let mut offset = split + 2;
        for line in signature_block.split_terminator('\n') {
            if signatures.len() == MAX_SIGNATURES {
                return Err(malformed(offset, "more than 100 signature lines"));
            }
            signatures
                .push(parse_signature_line(line).map_err(|reason| malformed(offset, reason))?);
            offset += line.len() + 1;
        }
        Ok(Self {
            text: text.to_owned(),
            signatures,
        })
    }

    /// The signed text, including its final newline.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The signature lines in order.
    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// Adds an Ed25519 signature by `key` (which must be an [`KeyType::Ed25519`] key).
    pub fn sign(&mut self, key: &SignerKey) -> Result<(), Error> {
        key.require_type(KeyType::Ed25519)?;
        let signature = key.secret.sign(self.text.as_bytes()).to_bytes().to_vec();
        self.push_signature(key, signature)
    }

    /// Adds a witness cosignature by `key` (a [`KeyType::Cosignature`] key) made at `timestamp`
    /// (POSIX seconds, at most 2^63 - 1). Only meaningful on checkpoints.
    pub fn cosign(&mut self, key: &SignerKey, timestamp: u64) -> Result<(), Error> {
        key.require_type(KeyType::Cosignature)?;
        if timestamp > i64::MAX as u64 {
            return Err(Error::InvalidTimestamp(timestamp));
        }
        let signature = key.secret.sign(&cosigned_message(timestamp, &self.text));
        let mut bytes = timestamp.to_be_bytes().to_vec();
        bytes.extend_from_slice(&signature.to_bytes());
        self.push_signature(key, bytes)
    }

    fn push_signature(&mut self, key: &SignerKey, signature: Vec<u8>) -> Result<(), Error> {
        self.add_signature(NoteSignature {
            name: key.name.clone(),
            key_id: key.key_id,
            signature,
        })
    }

    /// Appends a signature line taken from another copy of the same note.
    pub(crate) fn add_signature(&mut self, signature: NoteSignature) -> Result<(), Error> {
        if self.signatures.len() >= MAX_SIGNATURES {
            return Err(Error::Malformed {
                format: Format::SignedNote,
                offset: self.text.len(),
                reason: "more than 100 signature lines",
            });
        }
        self.signatures.push(signature);
        Ok(())
    }

    /// Verifies the signatures by `trusted` keys, ignoring the others. Fails if a trusted key's
    /// signature does not verify or if no trusted key signed. Repeated signatures by one key
    /// count once.
    pub fn verify(&self, trusted: &[VerifierKey]) -> Result<Vec<VerifiedSignature>, Error> {
        let mut verified: Vec<VerifiedSignature> = Vec::new();
        for signature in &self.signatures {
            let Some(key) = trusted.iter().find(|key| key.matches(signature)) else {
                continue;
            };
            if verified
                .iter()
                .any(|seen| seen.name == key.name && seen.key_id == key.key_id)
            {
                continue;
            }
            let timestamp = key.verify(&self.text, signature)?;
            verified.push(VerifiedSignature {
                name: key.name.clone(),
                key_id: key.key_id,
                key_type: key.key_type,
                timestamp,
            });
        }
        if verified.is_empty() {
            let expected = trusted
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            return Err(Error::Unsigned { expected });
        }
        Ok(verified)
    }
}

impl fmt::Display for Note {
    /// The note exactly as it is exchanged: text, blank line, signature lines.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)?;
        f.write_str("\n")?;
        self.signatures
            .iter()
            .try_for_each(|signature| signature.fmt(f))
    }
}

/// The message a `cosignature/v1` signs: header, timestamp line, then the checkpoint text.
fn cosigned_message(timestamp: u64, text: &str) -> Vec<u8> {
    format!("{COSIGNATURE_HEADER}time {timestamp}\n{text}").into_bytes()
}

fn parse_signature_line(line: &str) -> Result<NoteSignature, &'static str> {
    let rest = line
        .strip_prefix(SIGNATURE_PREFIX)
        .ok_or("a signature line does not start with an em dash and a space")?;
    let (name, encoded) = rest
        .split_once(' ')
        .ok_or("a signature line has no signature")?;
    check_key_name(name)?;
    let bytes = BASE64
        .decode(encoded)
        .map_err(|_| "a signature is not canonical base64")?;
    let (id, signature) = bytes
        .split_first_chunk::<4>()
        .filter(|(_, signature)| !signature.is_empty())
        .ok_or("a signature is shorter than 5 bytes")?;
    Ok(NoteSignature {
        name: name.to_owned(),
        key_id: u32::from_be_bytes(*id),
        signature: signature.to_vec(),
    })
}

/// Key names are non-empty and contain no Unicode space, no `+` and no control character.
fn check_key_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("the key name is empty");
    }
    if name
        .chars()
        .any(|c| c.is_whitespace() || c == '+' || c.is_control())
    {
        return Err("the key name contains a space, a plus sign or a control character");
    }
    Ok(())
}

/// Notes are UTF-8 with no ASCII control characters other than newline.
fn check_note_characters(text: &str, format: Format) -> Result<(), Error> {
    match text.bytes().position(|byte| byte < 0x20 && byte != b'\n') {
        Some(offset) => Err(Error::Malformed {
            format,
            offset,
            reason: "a control character other than newline",
        }),
        None => Ok(()),
    }
}

fn parse_key_id(hex: &str) -> Option<u32> {
    if hex.len() != 8 || !hex.bytes().all(|byte| byte.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(hex, 16).ok()
}

fn decode_typed_key(encoded: &str) -> Result<(KeyType, [u8; ED25519_KEY_LEN]), &'static str> {
    let bytes = BASE64
        .decode(encoded)
        .map_err(|_| "the key is not canonical base64")?;
    let (&type_byte, key) = bytes.split_first().ok_or("the key is empty")?;
    let key_type = KeyType::from_type_byte(type_byte)
        .ok_or("unsupported signature type (only 0x01 and 0x04)")?;
    let key = key
        .try_into()
        .map_err(|_| "an Ed25519 key is not 32 bytes")?;
    Ok((key_type, key))
}

fn encode_typed_key(key_type: KeyType, key: &[u8; ED25519_KEY_LEN]) -> String {
    let mut bytes = Vec::with_capacity(1 + ED25519_KEY_LEN);
    bytes.push(key_type.type_byte());
    bytes.extend_from_slice(key);
    BASE64.encode(bytes)
}

#[cfg(test)]
mod tests;
